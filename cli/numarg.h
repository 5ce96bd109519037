/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/numarg.h - the one parser for the numbers users type: option
 * values and operands (counts, MiB, sizes, offsets).  A value that is not
 * a number in range is a usage error that names the option and the value,
 * found before anything is opened or created.  These functions only
 * parse (unit tests call them); cli.h has the ones that print the usage
 * error.
 */
#ifndef OVFK_CLI_NUMARG_H
#define OVFK_CLI_NUMARG_H

#include <stddef.h>
#include <stdint.h>

/* Sanity ceilings where the platform sets none we could ask (see the
 * callers): above any hypervisor ovfkit targets. */
#define CLI_MAX_CPUS_CEILING 4096u              /* QEMU's x86 limit */
#define CLI_MAX_MEMORY_MIB (16ull << 20)        /* 16 TiB */

/*
 * Parse text as a whole number in [min, max]: decimal digits only (no
 * sign, space, suffix or base prefix); overflow is out of range.  unit
 * ("MiB", or NULL for a count) words the range in why.  Returns 0 with
 * *out set, or -EINVAL (not a number) / -ERANGE (out of range) with the
 * reason in why (len bytes) and *out unchanged.
 */
int numarg_uint(const char *text, uint64_t min, uint64_t max,
                const char *unit, uint64_t *out, char *why, size_t len);

/*
 * The same for a size in bytes: digits with an optional K, M, G or T
 * suffix (powers of 1024; "KiB", "KB" and a plain "B" are accepted too),
 * the syntax of ovfk_parse_size.  The range is worded in KiB..TiB.
 */
int numarg_size(const char *text, uint64_t min, uint64_t max,
                uint64_t *out, char *why, size_t len);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovfkit/common.h - what every ovfkit module shares: error codes, the
 * progress callback, and the "last error" of a constructor that failed
 * before it had a handle to keep its message on.
 *
 * Error convention (all modules): a function returns 0 (or a count) on
 * success and a negative code on failure, chosen by one rule:
 *   - OVFK_ECORRUPT: the input violates its format (a field out of range,
 *     a table outside the file, a bad magic when the format was named);
 *   - OVFK_EUNSUPPORTED: the input is valid but asks for what we do not
 *     handle (a compression, a version, an extent type, a protocol);
 *   - OVFK_EMISMATCH: each file is fine but a link between them disagrees
 *     (a parent's UUID, a digest);
 *   - -EINVAL: the caller's arguments are wrong (the input is not at
 *     fault); limits of ours keep their errno (-EFBIG, -E2BIG, -ELOOP),
 *     refusals on principle -EPERM, and the system's failures theirs.
 * The human-readable message goes where the call was made: a function
 * that takes a handle reports on that handle (ovfk_vhd_error(h),
 * ovfk_hv_error(c) for ovfk_hv_* and ovfk_snap_*, ovfk_sysprep_error(s),
 * ...), valid until the next call on it; only a function without one (a constructor that failed before
 * its handle existed, ovfk_open_source, ovfk_convert_vm, ...) reports
 * through ovfk_last_error().  One call, one place to read.
 */
#ifndef OVFKIT_COMMON_H
#define OVFKIT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OVFKIT_VERSION "0.1.0"

enum {
    OVFK_ECORRUPT = -1000,      /* input violates its format */
    OVFK_EUNSUPPORTED = -1001,  /* valid input we do not handle */
    OVFK_EMISMATCH = -1002,     /* a link (parent UUID, digest) disagrees */
};

/*
 * Progress callback: called with bytes done and bytes in total (total may
 * be 0 when unknown).  A non-zero return cancels the operation, which then
 * fails with -ECANCELED and leaves the state documented for that function.
 */
typedef int (*ovfk_progress_fn)(void *opaque, uint64_t done, uint64_t total);

/*
 * The message of the last constructor (ovfk_vhd_open, ovfk_vhd_create,
 * ...) that failed on this thread without returning a handle.  The pointer stays
 * valid until the next ovfkit call on this thread; never NULL.
 */
const char *ovfk_last_error(void);

/*
 * Warnings: what the library wants said but is no error (a lock taken over
 * from a holder that died, a libxml2 schema warning about a file).  Each is
 * one line without a trailing newline, handed to fn with opaque; fn NULL
 * restores the default, which prints "ovfkit: warning: MSG" on stderr.
 * Process-wide; the handler may be called from any thread.
 */
typedef void (*ovfk_warn_fn)(void *opaque, const char *msg);
void ovfk_set_warn_handler(ovfk_warn_fn fn, void *opaque);

/* A short text for an ovfkit or errno code (never NULL, static storage). */
const char *ovfk_strerror(int code);

/*
 * Parse a size such as "4G", "512M", "1536", "10K" (powers of 1024; an
 * optional trailing "B" or "iB" is accepted).  Returns 0 and stores the
 * value, or -EINVAL (empty, junk, negative) or -ERANGE (overflow).
 */
int ovfk_parse_size(const char *text, uint64_t *out);

/* n bytes for people, in buf: "12 GiB" from 10 GiB up, "37 MiB" from
 * 10 MiB, else KiB rounded up (a free-space check never shows "0 KiB"
 * for a few bytes).  Returns buf. */
const char *ovfk_size_str(uint64_t n, char *buf, size_t len);

/*
 * UUIDs, one implementation for every layer (VHD identifiers, VM UUIDs).
 * ovfk_uuid_str writes "2a7f0c1e-...", lower-case, 36 characters and a
 * NUL, into buf.  ovfk_uuid_parse takes 32 hex digits in pairs, with or
 * without the dashes, and with or without one pair of braces ("{...}",
 * as Hyper-V and VMware write them); anything else is -EINVAL.
 * ovfk_uuid_generate makes a random (version 4, RFC 4122) UUID.
 */
void ovfk_uuid_str(const uint8_t uuid[16], char buf[37]);
int ovfk_uuid_parse(const char *text, uint8_t uuid[16]);
void ovfk_uuid_generate(uint8_t uuid[16]);

#ifdef __cplusplus
}
#endif
#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/numarg.c - parse the numbers users type (see numarg.h).
 *
 * strtoul() and friends accept what no user means: leading space, a sign
 * ("-5" wraps to 2^64 - 5), trailing garbage ("1K" as 1, "lots" as 0 with
 * no error unless the end pointer is checked).  Here a number is digits,
 * and for sizes one suffix; everything else is refused with the reason.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/numarg.h"
#include "ovfkit/common.h"

/* "2040 GiB", "512 KiB", "1000 bytes": the largest unit that divides v. */
static void human(uint64_t v, char *buf, size_t len)
{
    static const char *const units[] = { "TiB", "GiB", "MiB", "KiB" };

    for (int i = 0; i < 4; i++) {
        uint64_t u = 1ull << (10 * (4 - i));
        if (v >= u && v % u == 0) {
            snprintf(buf, len, "%" PRIu64 " %s", v / u, units[i]);
            return;
        }
    }
    snprintf(buf, len, "%" PRIu64 " byte%s", v, v == 1 ? "" : "s");
}

static void counted(uint64_t v, const char *unit, char *buf, size_t len)
{
    if (unit) {
        snprintf(buf, len, "%" PRIu64 " %s", v, unit);
    } else {
        snprintf(buf, len, "%" PRIu64, v);
    }
}

/* The range check and its reason; lo and hi are min and max, worded. */
static int in_range(uint64_t v, int parsed, uint64_t min, uint64_t max,
                    const char *lo, const char *hi, char *why, size_t len)
{
    if (parsed == -ERANGE || v > max) {
        snprintf(why, len, "must be at most %s", hi);
        return -ERANGE;
    }
    if (v < min) {
        snprintf(why, len, "must be at least %s", lo);
        return -ERANGE;
    }
    return 0;
}

int numarg_uint(const char *text, uint64_t min, uint64_t max,
                const char *unit, uint64_t *out, char *why, size_t len)
{
    char lo[64], hi[64];
    uint64_t v = 0;
    int r;

    if (!text || !*text || strspn(text, "0123456789") != strlen(text)) {
        snprintf(why, len, "not a whole number");
        return -EINVAL;
    }
    /* digits only: ovfk_parse_size reads them, checking overflow */
    r = ovfk_parse_size(text, &v);
    if (r < 0 && r != -ERANGE) {
        snprintf(why, len, "not a whole number");
        return -EINVAL;
    }
    counted(min, unit, lo, sizeof(lo));
    counted(max, unit, hi, sizeof(hi));
    r = in_range(v, r, min, max, lo, hi, why, len);
    if (r == 0) {
        *out = v;
    }
    return r;
}

int numarg_size(const char *text, uint64_t min, uint64_t max,
                uint64_t *out, char *why, size_t len)
{
    char lo[64], hi[64];
    uint64_t v = 0;
    int r = text ? ovfk_parse_size(text, &v) : -EINVAL;

    if (r < 0 && r != -ERANGE) {
        snprintf(why, len, "not a size (a whole number with an optional "
                 "K, M, G or T suffix)");
        return -EINVAL;
    }
    human(min, lo, sizeof(lo));
    human(max, hi, sizeof(hi));
    r = in_range(v, r, min, max, lo, hi, why, len);
    if (r == 0) {
        *out = v;
    }
    return r;
}

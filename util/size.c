/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/size.c - parse "4G"-style sizes for the command line and catalogs.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ovfkit/common.h"
#include "util/bytes.h"

int ovfk_parse_size(const char *text, uint64_t *out)
{
    uint64_t v = 0;
    uint64_t mult = 1;
    const char *p = text;

    if (!text || !isdigit((unsigned char)*p)) {
        return -EINVAL;
    }
    while (isdigit((unsigned char)*p)) {
        if (mul_overflow_u64(v, 10, &v) ||
            add_overflow_u64(v, (uint64_t)(*p - '0'), &v)) {
            return -ERANGE;
        }
        p++;
    }
    switch (toupper((unsigned char)*p)) {
    case 'K': mult = 1ULL << 10; p++; break;
    case 'M': mult = 1ULL << 20; p++; break;
    case 'G': mult = 1ULL << 30; p++; break;
    case 'T': mult = 1ULL << 40; p++; break;
    default: break;
    }
    if (mult > 1 && (strcmp(p, "iB") == 0 || strcmp(p, "ib") == 0)) {
        p += 2;
    } else if (*p == 'B' || *p == 'b') {
        p++;
    }
    if (*p != '\0') {
        return -EINVAL;
    }
    if (mul_overflow_u64(v, mult, &v)) {
        return -ERANGE;
    }
    *out = v;
    return 0;
}

const char *ovfk_size_str(uint64_t n, char *buf, size_t len)
{
    if (n >= (10ull << 30)) {
        snprintf(buf, len, "%llu GiB", (unsigned long long)(n >> 30));
    } else if (n >= (10ull << 20)) {
        snprintf(buf, len, "%llu MiB", (unsigned long long)(n >> 20));
    } else {
        snprintf(buf, len, "%llu KiB", (unsigned long long)((n + 1023) >>
                                                             10));
    }
    return buf;
}

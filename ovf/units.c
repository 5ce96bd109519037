/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/units.c - CIM programmatic units (DSP0004 annex C.1) as OVF uses
 * them for capacities and memory: "byte * 2^20", "byte * 10^6", and the
 * words older producers write ("MegaBytes", "KB", "GigaBytes").
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ovf/internal.h"
#include "util/bytes.h"

/* "byte*2^20" -> 2^20; returns -EINVAL for anything else. */
static int power_form(const char *u, uint64_t *mult)
{
    char *end;
    unsigned long base, exp;
    uint64_t m = 1;

    if (strncmp(u, "byte", 4) != 0) {
        return -EINVAL;
    }
    u += 4;
    if (*u == 's') {
        u++;
    }
    if (*u == '\0') {
        *mult = 1;
        return 0;
    }
    if (*u++ != '*') {
        return -EINVAL;
    }
    base = strtoul(u, &end, 10);
    if (end == u || *end != '^' || (base != 2 && base != 10)) {
        return -EINVAL;
    }
    u = end + 1;
    exp = strtoul(u, &end, 10);
    if (end == u || *end != '\0' || exp > 63) {
        return -EINVAL;
    }
    for (unsigned long i = 0; i < exp; i++) {
        if (mul_overflow_u64(m, base, &m)) {
            return -ERANGE;
        }
    }
    *mult = m;
    return 0;
}

static int word_form(const char *u, uint64_t *mult)
{
    static const struct {
        const char *name;
        int shift;
    } words[] = {
        { "kilobytes", 10 }, { "kilobyte", 10 }, { "kb", 10 }, { "kib", 10 },
        { "megabytes", 20 }, { "megabyte", 20 }, { "mb", 20 }, { "mib", 20 },
        { "gigabytes", 30 }, { "gigabyte", 30 }, { "gb", 30 }, { "gib", 30 },
        { "terabytes", 40 }, { "terabyte", 40 }, { "tb", 40 }, { "tib", 40 },
    };

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcmp(u, words[i].name) == 0) {
            *mult = 1ull << words[i].shift;
            return 0;
        }
    }
    return -EINVAL;
}

int ovfk_ovf_units_to_bytes(const char *value, const char *units, uint64_t *out)
{
    char norm[64];
    uint64_t v = 0, mult = 1;
    size_t j = 0;
    const char *p = value;
    int r;

    while (p && isspace((unsigned char)*p)) {
        p++;
    }
    if (!p || !isdigit((unsigned char)*p)) {
        return -EINVAL;
    }
    while (isdigit((unsigned char)*p)) {
        if (mul_overflow_u64(v, 10, &v) ||
            add_overflow_u64(v, (uint64_t)(*p - '0'), &v)) {
            return -ERANGE;
        }
        p++;
    }
    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (*p) {
        return -EINVAL;
    }
    /* normalise: lower case, no spaces */
    for (const char *u = units ? units : ""; *u && j < sizeof(norm) - 1; u++) {
        if (!isspace((unsigned char)*u)) {
            norm[j++] = (char)tolower((unsigned char)*u);
        }
    }
    norm[j] = '\0';
    if (j == 0) {
        mult = 1;
    } else if ((r = power_form(norm, &mult)) == -EINVAL &&
               (r = word_form(norm, &mult)) < 0) {
        return r;
    } else if (r < 0) {
        return r;
    }
    if (mul_overflow_u64(v, mult, out)) {
        return -ERANGE;
    }
    return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tests/unit/test_uuid.c - util/uuid.c: text both ways, braces and dashes,
 * what is refused, random UUIDs' version and variant. */
#include <errno.h>
#include <string.h>

#include "ovfkit/common.h"
#include "ovfkit/hv.h"
#include "tests/unit/harness.h"

static const uint8_t U[16] = { 0x2a, 0x7f, 0x0c, 0x1e, 0x90, 0xab, 0x4c,
                               0xde, 0x8f, 0x01, 0x23, 0x45, 0x67, 0x89,
                               0xab, 0xcd };

static void round_trip(void)
{
    char s[37];
    uint8_t u[16];

    ovfk_uuid_str(U, s);
    CHECK(strcmp(s, "2a7f0c1e-90ab-4cde-8f01-23456789abcd") == 0);
    CHECK(ovfk_uuid_parse(s, u) == 0 && memcmp(u, U, 16) == 0);
    CHECK(ovfk_uuid_parse("{2A7F0C1E-90AB-4CDE-8F01-23456789ABCD}", u) == 0 &&
          memcmp(u, U, 16) == 0);
    CHECK(ovfk_uuid_parse("2a7f0c1e90ab4cde8f0123456789abcd", u) == 0 &&
          memcmp(u, U, 16) == 0);
    /* the public hv_ names are the same implementation */
    CHECK(ovfk_hv_uuid_parse(s, u) == 0 && memcmp(u, U, 16) == 0);
}

static void refused(void)
{
    static const char *const bad[] = {
        "", "{}", "2a7f0c1e-90ab-4cde-8f01-23456789abc",     /* 31 digits */
        "2a7f0c1e-90ab-4cde-8f01-23456789abcde",             /* 33 */
        "2a7f0c1e-90ab-4cde-8f01-23456789abcd00",            /* 17 bytes */
        "{2a7f0c1e-90ab-4cde-8f01-23456789abcd",             /* one brace */
        "2a7f0c1e-90ab-4cde-8f01-23456789abcd}",
        "2a7f0c1e-90ab-4cde-8f01-23456789abcg",              /* not hex */
        "2-a7f0c1e90ab4cde8f0123456789abcd",                 /* split pair */
        "0x7f0c1e-90ab-4cde-8f01-23456789abcd", " 2a7f0c1e-90ab-4cde-8f01-"
        "23456789abc", "app01",
    };
    uint8_t u[16];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_MSG(ovfk_uuid_parse(bad[i], u) == -EINVAL, "'%s' accepted",
                  bad[i]);
    }
    CHECK(ovfk_uuid_parse(NULL, u) == -EINVAL);
}

static void random_v4(void)
{
    uint8_t a[16], b[16];

    ovfk_uuid_generate(a);
    ovfk_uuid_generate(b);
    CHECK(memcmp(a, b, 16) != 0);
    CHECK((a[6] >> 4) == 4 && (b[6] >> 4) == 4);
    CHECK((a[8] & 0xc0) == 0x80 && (b[8] & 0xc0) == 0x80);
}

TEST_MAIN(T(round_trip), T(refused), T(random_v4))

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_numarg.c - the command line's number parser
 * (cli/numarg.c, linked into this test by the Makefile): what is a
 * number, what is in range, and what the reason says when it is not.
 */
#include "cli/numarg.h"
#include "tests/unit/harness.h"

static char why[200];

static int u(const char *text, uint64_t min, uint64_t max, uint64_t *v)
{
    why[0] = '\0';
    return numarg_uint(text, min, max, NULL, v, why, sizeof(why));
}

static int sz(const char *text, uint64_t min, uint64_t max, uint64_t *v)
{
    why[0] = '\0';
    return numarg_size(text, min, max, v, why, sizeof(why));
}

static void plain_numbers_parse(void)
{
    uint64_t v = 0;

    CHECK(u("8", 1, 8, &v) == 0 && v == 8);
    CHECK(u("1", 1, 8, &v) == 0 && v == 1);
    CHECK(u("007", 1, 8, &v) == 0 && v == 7);
    CHECK(u("18446744073709551615", 0, UINT64_MAX, &v) == 0 &&
          v == UINT64_MAX);
}

static void plain_rejects_what_strtoul_accepts(void)
{
    static const char *const bad[] = {
        "", "lots", "-5", "+5", " 5", "5 ", "5\n", "1K", "1k", "0x10",
        "1.5", "5B", "1e3", "--1", "٣",
    };
    uint64_t v = 42;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_MSG(u(bad[i], 0, UINT64_MAX, &v) == -EINVAL,
                  "'%s' accepted as a whole number", bad[i]);
        CHECK_MSG(strstr(why, "not a whole number"), "'%s': why '%s'",
                  bad[i], why);
        CHECK_EQ(v, 42);    /* *out untouched on failure */
    }
    CHECK(u(NULL, 0, 1, &v) == -EINVAL);
}

static void plain_range_ends(void)
{
    uint64_t v = 42;

    CHECK(u("0", 1, 8, &v) == -ERANGE && v == 42);
    CHECK_MSG(!strcmp(why, "must be at least 1"), "why '%s'", why);
    CHECK(u("9", 1, 8, &v) == -ERANGE && v == 42);
    CHECK_MSG(!strcmp(why, "must be at most 8"), "why '%s'", why);
    CHECK(numarg_uint("255", 256, 1024, "MiB", &v, why, sizeof(why)) ==
          -ERANGE);
    CHECK_MSG(!strcmp(why, "must be at least 256 MiB"), "why '%s'", why);
    CHECK(numarg_uint("256", 256, 1024, "MiB", &v, why, sizeof(why)) == 0 &&
          v == 256);
    CHECK(numarg_uint("1024", 256, 1024, "MiB", &v, why, sizeof(why)) == 0 &&
          v == 1024);
}

static void plain_overflow_is_out_of_range(void)
{
    uint64_t v = 42;

    /* 2^64 and far beyond: never wrapped into range */
    CHECK(u("18446744073709551616", 0, UINT64_MAX, &v) == -ERANGE);
    CHECK(u("99999999999999999999999999", 1, 8, &v) == -ERANGE);
    CHECK_MSG(!strcmp(why, "must be at most 8"), "why '%s'", why);
    /* 2^64 + 1 would be 1 after a wrap */
    CHECK(u("18446744073709551617", 1, 8, &v) == -ERANGE && v == 42);
}

static void sizes_take_suffixes(void)
{
    uint64_t v = 0;

    CHECK(sz("64M", 1, UINT64_MAX, &v) == 0 && v == 64ull << 20);
    CHECK(sz("512k", 1, UINT64_MAX, &v) == 0 && v == 512ull << 10);
    CHECK(sz("2G", 1, UINT64_MAX, &v) == 0 && v == 2ull << 30);
    CHECK(sz("3T", 1, UINT64_MAX, &v) == 0 && v == 3ull << 40);
    CHECK(sz("4GiB", 1, UINT64_MAX, &v) == 0 && v == 4ull << 30);
    CHECK(sz("1536", 1, UINT64_MAX, &v) == 0 && v == 1536);
    CHECK(sz("0", 0, 1, &v) == 0 && v == 0);
}

static void sizes_reject_garbage(void)
{
    static const char *const bad[] = {
        "", "lots", "-5", "+5", " 5", "5 ", "12Q", "1.5G", "G", "5GG",
        "0x10", "5 G",
    };
    uint64_t v = 42;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_MSG(sz(bad[i], 0, UINT64_MAX, &v) == -EINVAL,
                  "'%s' accepted as a size", bad[i]);
        CHECK_MSG(strstr(why, "not a size"), "'%s': why '%s'", bad[i], why);
        CHECK_EQ(v, 42);
    }
    CHECK(sz(NULL, 0, 1, &v) == -EINVAL);
}

static void sizes_overflow_and_range_ends(void)
{
    const uint64_t max = 2040ull << 30;
    uint64_t v = 42;

    /* the multiplication by the suffix overflows */
    CHECK(sz("16777216T", 1, UINT64_MAX, &v) == -ERANGE);
    CHECK(sz("99999999999999999999", 1, max, &v) == -ERANGE && v == 42);
    CHECK_MSG(!strcmp(why, "must be at most 2040 GiB"), "why '%s'", why);
    CHECK(sz("2040G", 1, max, &v) == 0 && v == max);
    CHECK(sz("2190433320961", 1, max, &v) == -ERANGE);    /* max + 1 */
    CHECK(sz("0", 1, max, &v) == -ERANGE);
    CHECK_MSG(!strcmp(why, "must be at least 1 byte"), "why '%s'", why);
    CHECK(sz("1023K", 1u << 20, max, &v) == -ERANGE);
    CHECK_MSG(!strcmp(why, "must be at least 1 MiB"), "why '%s'", why);
    CHECK(sz("1M", 1u << 20, max, &v) == 0 && v == 1u << 20);
    CHECK(sz("1000", 1, 999, &v) == -ERANGE);
    CHECK_MSG(!strcmp(why, "must be at most 999 bytes"), "why '%s'", why);
}

TEST_MAIN(T(plain_numbers_parse), T(plain_rejects_what_strtoul_accepts),
          T(plain_range_ends), T(plain_overflow_is_out_of_range),
          T(sizes_take_suffixes), T(sizes_reject_garbage),
          T(sizes_overflow_and_range_ends))

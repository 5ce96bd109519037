/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/harness.h - a small test harness in libarchive's manner: one
 * function per case, each run in a fresh temporary directory, assertions
 * that print the failing expression and the library's error message.
 *
 * Output, one line per case, read by tests/run.sh:
 *   PASS: <file>: <case>
 *   FAIL: <file>: <case>: <where>: <what>
 *   SKIP: <file>: <case>: <reason>
 */
#ifndef OVFK_TEST_HARNESS_H
#define OVFK_TEST_HARNESS_H

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ovfkit/common.h"

struct test_case {
    const char *name;
    void (*fn)(void);
};

static int t_state;          /* 0 pass, 1 fail, 2 skip */
static const char *t_file;

static void t_fail(const char *where, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void t_fail(const char *where, int line, const char *fmt, ...)
{
    va_list ap;

    if (t_state == 1) {
        return;
    }
    t_state = 1;
    printf("FAIL: %s: %s:%d: ", t_file, where, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

#define SKIP(reason) \
    do { \
        t_state = 2; \
        printf("SKIP: %s: %s: %s\n", t_file, __func__, reason); \
        return; \
    } while (0)

#define CHECK(cond) \
    do { \
        if (!(cond)) { \
            t_fail(__func__, __LINE__, "%s", #cond); \
            return; \
        } \
    } while (0)

#define CHECK_MSG(cond, ...) \
    do { \
        if (!(cond)) { \
            t_fail(__func__, __LINE__, __VA_ARGS__); \
            return; \
        } \
    } while (0)

/* expr returns 0/count or negative; the message comes from errfn */
#define CHECK_OK(expr, errmsg) \
    do { \
        long long t_r_ = (long long)(expr); \
        if (t_r_ < 0) { \
            t_fail(__func__, __LINE__, "%s = %lld: %s", #expr, t_r_, \
                   (errmsg)); \
            return; \
        } \
    } while (0)

#define CHECK_EQ(a, b) \
    do { \
        unsigned long long t_a_ = (unsigned long long)(a); \
        unsigned long long t_b_ = (unsigned long long)(b); \
        if (t_a_ != t_b_) { \
            t_fail(__func__, __LINE__, "%s == %s: %llu != %llu", #a, #b, \
                   t_a_, t_b_); \
            return; \
        } \
    } while (0)

/* expect a negative code and a message containing substr */
#define CHECK_ERR(expr, code, errmsg, substr) \
    do { \
        long long t_r_ = (long long)(expr); \
        const char *t_m_ = (errmsg); \
        if (t_r_ != (code) || !strstr(t_m_, (substr))) { \
            t_fail(__func__, __LINE__, "%s = %lld (want %lld), message " \
                   "'%s' (want '%s')", #expr, t_r_, (long long)(code), \
                   t_m_, (substr)); \
            return; \
        } \
    } while (0)

static int t_rm(const char *path, const struct stat *st, int flag,
                struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int t_run(const char *file, const struct test_case *cases, size_t n)
{
    const char *only = getenv("TEST_CASE");
    int failed = 0;
    char top[4096];

    t_file = file;
    if (!getcwd(top, sizeof(top))) {
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        char dir[] = "/tmp/ovfk-unit-XXXXXX";
        if (only && strcmp(only, cases[i].name) != 0) {
            continue;
        }
        if (!mkdtemp(dir) || chdir(dir) < 0) {
            printf("FAIL: %s: %s: cannot make a test directory\n", file,
                   cases[i].name);
            failed++;
            continue;
        }
        t_state = 0;
        cases[i].fn();
        if (t_state == 0) {
            printf("PASS: %s: %s\n", file, cases[i].name);
        }
        failed += t_state == 1;
        fflush(stdout);
        if (chdir(top) < 0) {
            return 1;
        }
        if (t_state != 1 || !getenv("TEST_KEEP")) {
            nftw(dir, t_rm, 16, FTW_DEPTH | FTW_PHYS);
        }
    }
    return failed ? 1 : 0;
}

#define TEST_MAIN(...) \
    int main(void) \
    { \
        static const struct test_case cases[] = { __VA_ARGS__ }; \
        return t_run(__FILE__, cases, sizeof(cases) / sizeof(cases[0])); \
    }

#define T(fn) { #fn, fn }

/* Deterministic test data: xorshift bytes from a seed. */
static inline void t_fill(uint8_t *buf, size_t len, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;

    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
}

/* Path of a file in the source tree's testdata/ (tests run elsewhere). */
static inline const char *t_data(const char *rel)
{
    static char buf[4096];
    const char *top = getenv("OVFK_SRCDIR");

    snprintf(buf, sizeof(buf), "%s/testdata/%s", top ? top : ".", rel);
    return buf;
}

#endif

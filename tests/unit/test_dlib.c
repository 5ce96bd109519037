/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests: loading a library on first use (util/dlib.c), as ovfkit
 * loads libguestfs and libvirt.  zlib stands in for them: it is on every
 * machine that builds ovfkit, and its functions can be called to prove
 * the table points at the real ones.
 */
#include <zlib.h>

#include "util/dlib.h"
#include "tests/unit/harness.h"

static const char *const zlib_names[] = { "zlibVersion", "crc32" };

static void dlib_resolves_every_function(void)
{
    void *fns[2] = { NULL, NULL };
    struct ovfk_dlib lib = { .soname = "libz.so.1", .package = "zlib1g",
                             .names = zlib_names, .fns = fns, .n = 2 };
    ovfk_err e = { 0 };
    const char *(*version)(void);
    uLong (*crc)(uLong, const Bytef *, uInt);

    CHECK_OK(ovfk_dlib_load(&lib, &e), e.msg);
    version = (const char *(*)(void))fns[0];
    crc = (uLong (*)(uLong, const Bytef *, uInt))fns[1];
    CHECK(version && crc);
    CHECK_MSG(!strcmp(version(), zlibVersion()), "version %s", version());
    CHECK_EQ(crc(0, (const Bytef *)"ovfkit", 6),
             crc32(0, (const Bytef *)"ovfkit", 6));
    /* loaded once: a second call changes nothing */
    fns[0] = NULL;
    CHECK_OK(ovfk_dlib_load(&lib, &e), e.msg);
    CHECK(fns[0] == NULL && fns[1] != NULL);
}

static void dlib_missing_library_names_the_package(void)
{
    void *fns[2] = { NULL, NULL };
    struct ovfk_dlib lib = { .soname = "libovfkit-absent.so.9",
                             .package = "ovfkit-absent",
                             .names = zlib_names, .fns = fns, .n = 2 };
    ovfk_err e = { 0 };

    CHECK_ERR(ovfk_dlib_load(&lib, &e), -ENOENT, e.msg,
              "cannot load libovfkit-absent.so.9 (install the package "
              "'ovfkit-absent')");
    CHECK(fns[0] == NULL && fns[1] == NULL);
    /* the failure is remembered, with its message */
    memset(&e, 0, sizeof(e));
    CHECK_ERR(ovfk_dlib_load(&lib, &e), -ENOENT, e.msg, "ovfkit-absent");
}

static void dlib_missing_function_fails_the_whole_table(void)
{
    static const char *const names[] = { "zlibVersion", "ovfk_no_such" };
    void *fns[2] = { NULL, NULL };
    struct ovfk_dlib lib = { .soname = "libz.so.1", .package = "zlib1g",
                             .names = names, .fns = fns, .n = 2 };
    ovfk_err e = { 0 };

    CHECK_ERR(ovfk_dlib_load(&lib, &e), -ENOENT, e.msg,
              "it has no 'ovfk_no_such'");
    /* no half-filled table: nothing may call through it */
    CHECK(fns[0] == NULL && fns[1] == NULL);
}

TEST_MAIN(T(dlib_resolves_every_function),
          T(dlib_missing_library_names_the_package),
          T(dlib_missing_function_fails_the_whole_table))

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysprep/gfs.c - the table of libguestfs functions (see gfs.h).
 */
#include "sysprep/gfs.h"
#include "util/dlib.h"

void *sp_gfs[SP_GFS_COUNT];

static const char *const names[] = {
#define SP_GFS_NAME(n) "guestfs_" #n,
    SP_GFS_FUNCS(SP_GFS_NAME)
#undef SP_GFS_NAME
};

static struct ovfk_dlib lib = {
    .soname = "libguestfs.so.0",
    .package = "libguestfs0",
    .names = names,
    .fns = sp_gfs,
    .n = SP_GFS_COUNT,
};

int sp_gfs_load(ovfk_err *e)
{
    return ovfk_dlib_load(&lib, e);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/fs.c - file-system helpers (util/fs.h).
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>

#include "util/fs.h"

/* nftw passes no user pointer: the first failure is kept per thread */
static __thread int rm_err;

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT && rm_err == 0) {
        rm_err = -errno;
    }
    return 0;   /* go on: remove what can be removed */
}

int ovfk_rm_tree(const char *dir)
{
    int r;

    rm_err = 0;
    r = nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    if (r != 0 && errno != ENOENT && rm_err == 0) {
        rm_err = -errno;
    }
    return rm_err;
}

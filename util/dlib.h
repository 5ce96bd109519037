/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/dlib.h - a shared library loaded on first use.  libguestfs and
 * libvirt (with the ~45 libraries they pull in) are needed only by the
 * guest edits (sysprep/) and the libvirt store (hv/libvirt.c); linking
 * them made every command of ovfkit and libovfkit.so, `vhd merge`
 * included, load them at start (~45 ms with cold caches).  Loaded here
 * instead, they cost only the commands that use them, and a host without
 * them still exports, merges and imports with --keep-guest-config.
 */
#ifndef OVFK_UTIL_DLIB_H
#define OVFK_UTIL_DLIB_H

#include <stddef.h>

#include "util/err.h"

struct ovfk_dlib {
    const char *soname;         /* "libguestfs.so.0" */
    const char *package;        /* the Debian package that ships it */
    const char *const *names;   /* the functions we call, n of them */
    void **fns;                 /* filled in the order of names */
    size_t n;
    int state;                  /* 0 not tried, 1 loaded, < 0 failed */
    char why[256];              /* dlerror() of the failure */
};

/*
 * Load lib once per process (thread-safe) and resolve every name into
 * fns.  Returns 0, or -ENOENT with e set to a message naming the package
 * to install; the failure is remembered, fns stays NULL.  The library is
 * never unloaded: its handles may live until exit.
 */
int ovfk_dlib_load(struct ovfk_dlib *lib, ovfk_err *e);

#endif

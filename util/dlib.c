/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/dlib.c - load a shared library on first use (see dlib.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/dlib.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Resolve every name; the first one missing fails the whole library. */
static int resolve(struct ovfk_dlib *lib, void *h)
{
    for (size_t i = 0; i < lib->n; i++) {
        lib->fns[i] = dlsym(h, lib->names[i]);
        if (!lib->fns[i]) {
            snprintf(lib->why, sizeof(lib->why), "it has no '%s'",
                     lib->names[i]);
            memset(lib->fns, 0, lib->n * sizeof(*lib->fns));
            return -ENOENT;
        }
    }
    return 0;
}

int ovfk_dlib_load(struct ovfk_dlib *lib, ovfk_err *e)
{
    int r;

    pthread_mutex_lock(&lock);
    if (lib->state == 0) {
        /* RTLD_LOCAL: its symbols serve only the table, never interpose */
        void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            const char *d = dlerror();
            snprintf(lib->why, sizeof(lib->why), "%s", d ? d : "not found");
            lib->state = -ENOENT;
        } else {
            lib->state = resolve(lib, h) < 0 ? -ENOENT : 1;
            if (lib->state < 0) {
                dlclose(h);
            }
        }
    }
    r = lib->state < 0 ? lib->state : 0;
    pthread_mutex_unlock(&lock);
    if (r < 0) {
        return ovfk_err_set(e, r, "cannot load %s (install the package "
                            "'%s'): %s", lib->soname, lib->package,
                            lib->why);
    }
    return 0;
}

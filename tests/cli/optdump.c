/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/cli/optdump.c - an LD_PRELOAD library for tests/cli/0120: every
 * getopt_long() call site of the program writes, once, the option table
 * it parses with into the file $OVFK_OPTDUMP:
 *
 *   site OFFSET        the call's return address in its module
 *   short -c           each option character of optstring
 *   long --name        each entry of longopts
 *
 * so the test knows which options each command really accepts, without
 * reading C, and which commands share one table (one call site).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dlfcn.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

typedef int (*getopt_long_fn)(int, char *const *, const char *,
                              const struct option *, int *);

static void dump(void *site, const char *optstring,
                 const struct option *longopts)
{
    static void *seen[32];
    static int n_seen;
    const char *path = getenv("OVFK_OPTDUMP");
    unsigned long off = (unsigned long)site;
    Dl_info di;
    FILE *f;

    for (int i = 0; i < n_seen; i++) {
        if (seen[i] == site) {
            return;
        }
    }
    if (!path || n_seen == 32 || !(f = fopen(path, "a"))) {
        return;
    }
    seen[n_seen++] = site;
    if (dladdr(site, &di) && di.dli_fbase) {
        off -= (unsigned long)di.dli_fbase;
    }
    fprintf(f, "site %lx\n", off);
    for (const char *c = optstring; *c; c++) {
        if (isalnum((unsigned char)*c)) {
            fprintf(f, "short -%c\n", *c);
        }
    }
    for (const struct option *o = longopts; o && o->name; o++) {
        fprintf(f, "long --%s\n", o->name);
    }
    fclose(f);
}

int getopt_long(int argc, char *const *argv, const char *optstring,
                const struct option *longopts, int *longindex)
{
    static getopt_long_fn real;

    if (!real) {
        real = (getopt_long_fn)dlsym(RTLD_NEXT, "getopt_long");
    }
    dump(__builtin_return_address(0), optstring, longopts);
    return real(argc, argv, optstring, longopts, longindex);
}

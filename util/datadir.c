/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/datadir.c - find ovfkit's shipped data (see datadir.h).
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/datadir.h"

const char *ovfk_data_path(const char *name, char *buf, size_t len)
{
    static const char *const rel[] = {
        "/../data/", "/../../data/", "/../../../data/", "/../share/ovfkit/",
    };
    char exe[PATH_MAX], bin[PATH_MAX];
    struct stat st;
    const char *env = getenv("OVFKIT_DATADIR");
    ssize_t n;

    if (env && *env) {
        snprintf(buf, len, "%s/%s", env, name);
        return buf;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        snprintf(bin, sizeof(bin), "%s", dirname(exe));
        for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
            snprintf(buf, len, "%s%s%s", bin, rel[i], name);
            if (stat(buf, &st) == 0) {
                return buf;
            }
        }
    }
    snprintf(buf, len, "%s/%s", OVFK_DATADIR, name);
    return buf;
}

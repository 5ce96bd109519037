/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/datadir.c - find ovfkit's shipped data (see datadir.h).
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
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
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

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

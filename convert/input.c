/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert/input.c - pick the input driver for an image and open it.
 */
#include <errno.h>
#include <string.h>

#include "convert/input.h"
#include "ovfkit/convert.h"
#include "util/err.h"

/* Every input format, in one explicit table; raw bids lowest. */
static const struct input_driver *const drivers[] = {
    &input_vhd,
    &input_vhdx,
    &input_vmdk,
    &input_qcow2,
    &input_raw,
};

#define NDRIVERS (sizeof(drivers) / sizeof(drivers[0]))

static const struct input_driver *best(const char *path)
{
    const struct input_driver *pick = &input_raw;
    int score = 0;

    for (size_t i = 0; i < NDRIVERS; i++) {
        int s = drivers[i]->probe(path);
        if (s > score) {
            score = s;
            pick = drivers[i];
        }
    }
    return pick;
}

const char *ovfk_probe_format(const char *path)
{
    return best(path)->name;
}

int ovfk_open_source(const char *path, const char *format,
                     ovfk_source **out)
{
    const struct input_driver *d = NULL;

    *out = NULL;
    if (!format) {
        d = best(path);
    } else {
        for (size_t i = 0; i < NDRIVERS; i++) {
            if (strcmp(drivers[i]->name, format) == 0) {
                d = drivers[i];
            }
        }
        if (!d) {
            return ovfk_err_last(-EINVAL, "unknown image format '%s'",
                                 format);
        }
    }
    return d->open(path, out);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert/vhd_in.c - VHD files (ours and every producer's) as an input:
 * the whole chain is read, so a differencing disk converts into a
 * standalone image.
 */
#include "image/input.h"
#include "ovfkit/vhd.h"

static void vhd_in_close(void *opaque)
{
    vhd_close(opaque);
}

static int vhd_in_open(const char *path, ovfk_source **out)
{
    vhd_t *h;
    int r = vhd_open(path, 0, &h);

    *out = NULL;
    if (r < 0) {
        return r;
    }
    r = vhd_source(h, out);
    if (r < 0) {
        vhd_close(h);
        return r;
    }
    (*out)->close = vhd_in_close;
    return 0;
}

const struct input_driver input_vhd = {
    .name = "vhd",
    .probe = vhd_probe,
    .open = vhd_in_open,
};

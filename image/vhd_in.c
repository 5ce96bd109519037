/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert/vhd_in.c - VHD files (ours and every producer's) as an input:
 * the whole chain is read, so a differencing disk converts into a
 * standalone image.
 */
#include "image/input.h"
#include "ovfkit/vhd.h"

static int vhd_in_pread(void *opaque, void *buf, size_t len, uint64_t off)
{
    return ovfk_vhd_pread(opaque, buf, len, off);
}

static int vhd_in_status(void *opaque, uint64_t off, uint64_t len,
                         uint64_t *pnum)
{
    int depth;

    return ovfk_vhd_block_status(opaque, off, len, pnum, &depth);
}

static const char *vhd_in_error(void *opaque)
{
    return ovfk_vhd_error(opaque);
}

static void vhd_in_close(void *opaque)
{
    ovfk_vhd_close(opaque);
}

/* ovfk_vhd_source's reading, and the source owns its chain */
static const struct ovfk_source_ops vhd_in_ops = {
    .pread = vhd_in_pread,
    .status = vhd_in_status,
    .error = vhd_in_error,
    .close = vhd_in_close,
};

static int vhd_in_open(const char *path, ovfk_source **out)
{
    ovfk_vhd *h;
    int r = ovfk_vhd_open(path, 0, &h);

    *out = NULL;
    if (r < 0) {
        return r;
    }
    r = ovfk_vhd_source(h, out);
    if (r < 0) {
        ovfk_vhd_close(h);
        return r;
    }
    (*out)->ops = &vhd_in_ops;
    return 0;
}

const struct input_driver input_vhd = {
    .name = "vhd",
    .probe = ovfk_vhd_probe,
    .open = vhd_in_open,
};

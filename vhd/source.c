/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/source.c - an open VHD chain as an ovfk_source, and the probe.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vhd/internal.h"

static int src_pread(void *opaque, void *buf, size_t len, uint64_t off)
{
    return ovfk_vhd_pread(opaque, buf, len, off);
}

static int src_status(void *opaque, uint64_t off, uint64_t len,
                      uint64_t *pnum)
{
    int depth;

    return ovfk_vhd_block_status(opaque, off, len, pnum, &depth);
}

static const char *src_error(void *opaque)
{
    return ovfk_vhd_error(opaque);
}

/* h stays the caller's: no close */
static const struct ovfk_source_ops vhd_source_ops = {
    .pread = src_pread,
    .status = src_status,
    .error = src_error,
};

int ovfk_vhd_source(ovfk_vhd *h, ovfk_source **out)
{
    ovfk_source *s = calloc(1, sizeof(*s));

    *out = NULL;
    if (!s) {
        return -ENOMEM;
    }
    s->opaque = h;
    s->size = h->size;
    s->format = "vhd";
    s->ops = &vhd_source_ops;
    *out = s;
    return 0;
}

int ovfk_vhd_probe(const char *path)
{
    uint8_t buf[VHD_FOOTER_SIZE];
    uint64_t size;
    ovfk_io *io;
    int score = 0;

    if (ovfk_io_open_file(path, OVFK_IO_RDONLY, &io) < 0) {
        return 0;
    }
    if (ovfk_io_size(io, &size) == 0 && size >= VHD_FOOTER_SIZE) {
        if (ovfk_io_pread(io, buf, sizeof(buf), size - VHD_FOOTER_SIZE) == 0 &&
            vhd_footer_cookie_ok(buf)) {
            score = 100;
        } else if (ovfk_io_pread(io, buf, sizeof(buf), 0) == 0 &&
                   vhd_footer_cookie_ok(buf)) {
            score = 100;    /* dynamic disk with a damaged trailing footer */
        }
    }
    ovfk_io_close(io);
    return score;
}

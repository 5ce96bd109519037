/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert/raw.c - raw images and block devices (P2V sources: a disk, or
 * its dd / G4L image).  Allocation comes from SEEK_DATA/SEEK_HOLE, so the
 * holes of a sparse image are never read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "image/input.h"
#include "util/err.h"
#include "util/io.h"

struct raw {
    ovfk_io *io;
    ovfk_err err;
};

static int raw_pread(void *opaque, void *buf, size_t len, uint64_t off)
{
    struct raw *r = opaque;
    int e = ovfk_io_pread(r->io, buf, len, off);

    if (e < 0) {
        return ovfk_err_set(&r->err, e, "read failed at offset %llu: %s",
                            (unsigned long long)off, ovfk_errtext(e));
    }
    return 0;
}

static int raw_status(void *opaque, uint64_t off, uint64_t len,
                      uint64_t *pnum)
{
    struct raw *r = opaque;
    uint64_t start, end;
    int e = ovfk_io_data_extent(r->io, off, &start, &end);

    if (e < 0) {
        return ovfk_err_set(&r->err, e, "cannot map data: %s",
                            ovfk_errtext(e));
    }
    if (start > off) {
        *pnum = start - off < len ? start - off : len;
        return 0;
    }
    *pnum = end - off < len ? end - off : len;
    if (*pnum == 0) {
        *pnum = len;
    }
    return 1;
}

static const char *raw_error(void *opaque)
{
    return ((struct raw *)opaque)->err.msg;
}

static void raw_close(void *opaque)
{
    struct raw *r = opaque;

    ovfk_io_close(r->io);
    free(r);
}

static int raw_probe(const char *path)
{
    (void)path;
    return 1;   /* anything can be a raw image: lowest bid */
}

static const struct ovfk_source_ops raw_ops = {
    .pread = raw_pread,
    .status = raw_status,
    .error = raw_error,
    .close = raw_close,
};

static int raw_open(const char *path, ovfk_source **out)
{
    ovfk_source *s = calloc(1, sizeof(*s));
    struct raw *r = calloc(1, sizeof(*r));
    int e;

    *out = NULL;
    if (!s || !r) {
        free(s);
        free(r);
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    e = ovfk_io_open_file(path, OVFK_IO_RDONLY, &r->io);
    if (e == 0) {
        e = ovfk_io_size(r->io, &s->size);
    }
    if (e < 0) {
        ovfk_io_close(r->io);
        free(r);
        free(s);
        return e;
    }
    s->opaque = r;
    s->format = "raw";
    s->ops = &raw_ops;
    *out = s;
    return 0;
}

const struct input_driver input_raw = {
    .name = "raw",
    .probe = raw_probe,
    .open = raw_open,
};

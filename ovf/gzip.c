/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/gzip.c - ovf:compression="gzip" (DSP0243 5.1) through zlib:
 * compressing as data streams to a sink, and decompressing a file with the
 * output bounded (a gzip bomb stops at the size the descriptor allows).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "ovf/pkg.h"
#include "util/io.h"

#define GZ_CHUNK (256u << 10)

struct gz_out {
    z_stream z;
    ovfk_sink down;
    unsigned char *buf;
    bool init;
};

int gz_out_new(const ovfk_sink *down, gz_out **out)
{
    gz_out *g = calloc(1, sizeof(*g));

    *out = NULL;
    if (!g || !(g->buf = malloc(GZ_CHUNK))) {
        free(g);
        return -ENOMEM;
    }
    /* windowBits 15 + 16: a gzip header and trailer, as ovftool writes */
    if (deflateInit2(&g->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        free(g->buf);
        free(g);
        return -ENOMEM;
    }
    g->init = true;
    g->down = *down;
    *out = g;
    return 0;
}

static int pump(gz_out *g, int flush)
{
    int zr;

    do {
        g->z.next_out = g->buf;
        g->z.avail_out = GZ_CHUNK;
        zr = deflate(&g->z, flush);
        if (zr == Z_STREAM_ERROR) {
            return -EIO;
        }
        if (GZ_CHUNK - g->z.avail_out > 0) {
            int r = g->down.write(g->down.opaque, g->buf,
                                  GZ_CHUNK - g->z.avail_out);
            if (r < 0) {
                return r;
            }
        }
    } while (g->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
    return 0;
}

static int gz_write(void *opaque, const void *buf, size_t len)
{
    gz_out *g = opaque;
    const unsigned char *p = buf;

    /* avail_in is 32 bits: feed at most 1 GiB at a time */
    while (len > 0) {
        size_t n = len > (1u << 30) ? (1u << 30) : len;
        int r;
        g->z.next_in = (unsigned char *)p;
        g->z.avail_in = (uInt)n;
        r = pump(g, Z_NO_FLUSH);
        if (r < 0) {
            return r;
        }
        p += n;
        len -= n;
    }
    return 0;
}

void gz_out_sink(gz_out *g, ovfk_sink *sink)
{
    sink->opaque = g;
    sink->write = gz_write;
}

int gz_out_finish(gz_out *g)
{
    g->z.next_in = NULL;
    g->z.avail_in = 0;
    return pump(g, Z_FINISH);
}

void gz_out_free(gz_out *g)
{
    if (!g) {
        return;
    }
    if (g->init) {
        deflateEnd(&g->z);
    }
    free(g->buf);
    free(g);
}

int gz_decompress_file(const char *src, const char *dst, uint64_t max,
                       ovfk_err *err)
{
    unsigned char *in = malloc(GZ_CHUNK), *outb = malloc(GZ_CHUNK);
    z_stream z = { 0 };
    uint64_t total = 0;
    ovfk_io *o = NULL;
    int fd = -1, r = 0, zr = Z_OK;
    bool init = false, ended = false;

    if (!in || !outb) {
        r = ovfk_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r = ovfk_err_set(err, -errno, "cannot open '%s': %s", src,
                         ovfk_errtext(-errno));
        goto out;
    }
    r = ovfk_io_open_file(dst, OVFK_IO_RDWR | OVFK_IO_CREATE, &o);
    if (r < 0) {
        ovfk_err_set(err, r, "%s", ovfk_last_error());
        goto out;
    }
    /* 15 + 32: accept a gzip (or zlib) header */
    if (inflateInit2(&z, 15 + 32) != Z_OK) {
        r = ovfk_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    init = true;
    for (;;) {
        ssize_t n = read(fd, in, GZ_CHUNK);
        if (n < 0) {
            r = ovfk_err_set(err, -errno, "cannot read '%s'", src);
            goto out;
        }
        if (n == 0) {
            break;
        }
        z.next_in = in;
        z.avail_in = (uInt)n;
        while (z.avail_in > 0) {
            z.next_out = outb;
            z.avail_out = GZ_CHUNK;
            zr = inflate(&z, Z_NO_FLUSH);
            if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
                r = ovfk_err_set(err, OVFK_ECORRUPT, "'%s' is not valid gzip "
                                 "data: %s", src, z.msg ? z.msg : "error");
                goto out;
            }
            size_t got = GZ_CHUNK - z.avail_out;
            if (total + got > max) {
                r = ovfk_err_set(err, OVFK_ECORRUPT, "'%s' expands beyond "
                                 "the %llu bytes its descriptor allows "
                                 "(a decompression bomb?)", src,
                                 (unsigned long long)max);
                goto out;
            }
            if (got) {
                r = ovfk_io_pwrite(o, outb, got, total);
                if (r < 0) {
                    ovfk_err_set(err, r, "cannot write '%s': %s", dst,
                                 ovfk_errtext(r));
                    goto out;
                }
                total += got;
            }
            if (zr == Z_STREAM_END) {
                /* concatenated gzip members continue */
                ended = true;
                inflateReset(&z);
            } else if (zr == Z_BUF_ERROR) {
                break;
            } else {
                ended = false;
            }
        }
    }
    if (!ended) {
        r = ovfk_err_set(err, OVFK_ECORRUPT, "'%s' is truncated gzip data",
                         src);
    }
out:
    if (init) {
        inflateEnd(&z);
    }
    if (fd >= 0) {
        close(fd);
    }
    if (o) {
        if (r == 0) {
            r = ovfk_io_sync(o);
        }
        ovfk_io_close(o);
        if (r < 0) {
            unlink(dst);
        }
    }
    free(in);
    free(outb);
    return r;
}

/* The public face of gz_out (ova.h). */
int ovfk_ova_gzip_new(const ovfk_sink *down, ovfk_ova_gzip **out, ovfk_sink *up)
{
    gz_out *g;
    int r = gz_out_new(down, &g);

    *out = (ovfk_ova_gzip *)g;
    if (r == 0) {
        gz_out_sink(g, up);
    }
    return r;
}

int ovfk_ova_gzip_finish(ovfk_ova_gzip *g)
{
    return gz_out_finish((gz_out *)g);
}

void ovfk_ova_gzip_free(ovfk_ova_gzip *g)
{
    gz_out_free((gz_out *)g);
}

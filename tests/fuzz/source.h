/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/fuzz/source.h - what the image-reader fuzz targets share: the input
 * becomes a file (the readers open paths: backing files, parents and
 * extents are named relative to the image, so a private directory holds
 * it), opened as the format named and as whatever the probe picks, then
 * read at spread offsets and mapped, as a conversion would.
 */
#ifndef OVFK_FUZZ_SOURCE_H
#define OVFK_FUZZ_SOURCE_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ovfkit/convert.h"

static char fz_dir[64];
static char fz_path[128];

static void fz_cleanup(void)
{
    if (fz_path[0]) {
        unlink(fz_path);
    }
    if (fz_dir[0]) {
        rmdir(fz_dir);
    }
}

/* The path the input is written to: DIR/name in a directory of our own. */
static const char *fz_file(const char *name)
{
    if (!fz_dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fz_dir, sizeof(fz_dir), "%s/ovfk-fuzz-XXXXXX", base);
        if (!mkdtemp(fz_dir)) {
            fz_dir[0] = '\0';
            return NULL;
        }
        snprintf(fz_path, sizeof(fz_path), "%s/%s", fz_dir, name);
        atexit(fz_cleanup);
    }
    return fz_path;
}

static void fz_read(ovfk_source *s)
{
    static uint8_t buf[1 << 16];
    uint64_t sz = s->size, off = 0, pnum;
    int steps = 0;

    for (int i = 0; i < 9 && sz; i++) {
        uint64_t at = i == 8 ? (sz > 4096 ? sz - 4096 : 0)
                             : sz / 8 * (uint64_t)i;
        size_t n = sz - at < sizeof(buf) ? (size_t)(sz - at) : sizeof(buf);
        if (s->ops->pread(s->opaque, buf, n, at) < 0) {
            /* the message must be there */
            if (!s->ops->error(s->opaque)[0]) {
                abort();
            }
        }
    }
    while (off < sz && steps++ < 64) {
        int r = s->ops->status(s->opaque, off, sz - off, &pnum);
        if (r < 0 || pnum == 0) {
            break;
        }
        if (pnum > sz - off) {
            abort();        /* a status beyond what was asked */
        }
        off += pnum;
    }
}

/* Write the input as name and open it as format, then by probing. */
static int fz_source(const uint8_t *data, size_t size, const char *name,
                     const char *format)
{
    const char *path = fz_file(name);
    ovfk_source *s;
    int fd;

    if (!path) {
        return 0;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        return 0;
    }
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    close(fd);
    if (ovfk_open_source(path, format, &s) == 0) {
        fz_read(s);
        ovfk_source_free(s);
    } else if (!ovfk_last_error()[0]) {
        abort();            /* a refusal must say why */
    }
    if (ovfk_open_source(path, NULL, &s) == 0) {
        fz_read(s);
        ovfk_source_free(s);
    }
    return 0;
}

#endif

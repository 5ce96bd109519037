/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/images.h - what the image-reader tests share: running
 * qemu-img / qemu-io (the independent oracle: they write the images and
 * say what their bytes are), patching bytes of a file, and comparing what
 * a source of ours reads with what qemu-img converts the image to.
 *
 * The readers of convert/ open paths (a backing file, a parent or an
 * extent is named relative to the image), so these tests work on files in
 * the case's own directory; util/io's memory back end cannot stand in.
 */
#ifndef OVFK_TEST_IMAGES_H
#define OVFK_TEST_IMAGES_H

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "ovfkit/convert.h"

static char t_why[2048];

/* Run a shell command (printf format); its exit status, -1 if it died. */
static int t_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int t_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    st = system(cmd);
    if (st == -1 || !WIFEXITED(st)) {
        return -1;
    }
    return WEXITSTATUS(st);
}

static inline bool t_have(const char *tool)
{
    return t_sh("command -v %s > /dev/null 2>&1", tool) == 0;
}

#define NEED_QEMU() \
    do { \
        if (!t_have("qemu-img") || !t_have("qemu-io")) { \
            SKIP("needs qemu-img and qemu-io (Debian package qemu-utils)"); \
        } \
    } while (0)

/* Overwrite len bytes of path at off. */
static inline int t_patch(const char *path, uint64_t off, const void *buf,
                   size_t len)
{
    int fd = open(path, O_WRONLY);
    ssize_t n;

    if (fd < 0) {
        return -errno;
    }
    n = pwrite(fd, buf, len, (off_t)off);
    close(fd);
    return n == (ssize_t)len ? 0 : -EIO;
}

static inline int t_patch_be32(const char *path, uint64_t off, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
                     (uint8_t)(v >> 8), (uint8_t)v };
    return t_patch(path, off, b, 4);
}

static inline int t_patch_be64(const char *path, uint64_t off, uint64_t v)
{
    int r = t_patch_be32(path, off, (uint32_t)(v >> 32));
    return r ? r : t_patch_be32(path, off + 4, (uint32_t)v);
}

static inline int t_patch_le32(const char *path, uint64_t off, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                     (uint8_t)(v >> 24) };
    return t_patch(path, off, b, 4);
}

static inline int t_patch_le64(const char *path, uint64_t off, uint64_t v)
{
    int r = t_patch_le32(path, off, (uint32_t)v);
    return r ? r : t_patch_le32(path, off + 4, (uint32_t)(v >> 32));
}

static inline int t_write_file(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    size_t n;

    if (!f) {
        return -errno;
    }
    n = fwrite(buf, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -EIO;
}

/* A whole file (caller frees); NULL on failure. */
static inline uint8_t *t_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (!f) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

/*
 * Read all of path through ovfk_open_source (probing; the probe must pick
 * want_format) in pieces of step bytes, which cross cluster and grain
 * boundaries, and compare with `qemu-img convert -O raw`; every range our
 * status map calls zero must read as zero in qemu's copy.  0, or -1 with
 * the reason in t_why.
 */
static inline int t_same_as_qemu(const char *path, const char *want_format,
                          size_t step)
{
    char oracle[4096];
    uint8_t *want = NULL, *got = NULL;
    size_t want_len = 0;
    ovfk_source *s = NULL;
    uint64_t off, pnum;
    int r = -1;

    snprintf(oracle, sizeof(oracle), "%s.oracle.raw", path);
    if (t_sh("qemu-img convert -O raw '%s' '%s'", path, oracle) != 0) {
        snprintf(t_why, sizeof(t_why), "qemu-img cannot convert '%s'", path);
        return -1;
    }
    want = t_slurp(oracle, &want_len);
    unlink(oracle);
    if (!want) {
        snprintf(t_why, sizeof(t_why), "cannot read qemu-img's copy");
        return -1;
    }
    if (ovfk_open_source(path, NULL, &s) < 0) {
        snprintf(t_why, sizeof(t_why), "open '%s': %s", path,
                 ovfk_last_error());
        goto out;
    }
    if (strcmp(s->format, want_format) != 0) {
        snprintf(t_why, sizeof(t_why), "'%s' probed as %s, not %s", path,
                 s->format, want_format);
        goto out;
    }
    if (s->size != want_len) {
        snprintf(t_why, sizeof(t_why), "size %llu, qemu-img says %zu",
                 (unsigned long long)s->size, want_len);
        goto out;
    }
    got = malloc(want_len + 1);
    for (off = 0; got && off < want_len; off += step) {
        size_t n = want_len - off < step ? want_len - off : step;
        if (s->ops->pread(s->opaque, got + off, n, off) < 0) {
            snprintf(t_why, sizeof(t_why), "read at %llu: %s",
                     (unsigned long long)off, s->ops->error(s->opaque));
            goto out;
        }
    }
    if (!got || memcmp(got, want, want_len) != 0) {
        size_t i = 0;
        while (got && i < want_len && got[i] == want[i]) {
            i++;
        }
        snprintf(t_why, sizeof(t_why), "bytes differ from qemu-img's from "
                 "offset %zu", i);
        goto out;
    }
    for (off = 0; off < want_len; off += pnum) {
        int st = s->ops->status(s->opaque, off, want_len - off, &pnum);
        if (st < 0 || pnum == 0 || pnum > want_len - off) {
            snprintf(t_why, sizeof(t_why), "status at %llu: %d, %llu",
                     (unsigned long long)off, st, (unsigned long long)pnum);
            goto out;
        }
        for (uint64_t i = 0; st == 0 && i < pnum; i++) {
            if (want[off + i]) {
                snprintf(t_why, sizeof(t_why), "status calls %llu zero, "
                         "qemu-img reads data", (unsigned long long)off);
                goto out;
            }
        }
    }
    r = 0;
out:
    ovfk_source_free(s);
    free(want);
    free(got);
    return r;
}

/* Open path (format or NULL) and read it all: 0, or the negative code
 * with the message in t_why (the open's or the read's). */
static inline int t_open_read(const char *path, const char *format)
{
    static uint8_t buf[1 << 16];
    ovfk_source *s;
    int r = ovfk_open_source(path, format, &s);

    if (r < 0) {
        snprintf(t_why, sizeof(t_why), "%s", ovfk_last_error());
        return r;
    }
    for (uint64_t off = 0; r == 0 && off < s->size; off += sizeof(buf)) {
        size_t n = s->size - off < sizeof(buf) ? (size_t)(s->size - off)
                                               : sizeof(buf);
        r = s->ops->pread(s->opaque, buf, n, off);
        if (r < 0) {
            snprintf(t_why, sizeof(t_why), "%s", s->ops->error(s->opaque));
        }
    }
    ovfk_source_free(s);
    return r;
}

#endif

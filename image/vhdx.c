/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert/vhdx.c - VHDX (Hyper-V 2012 and later) through libvhdi, which
 * reads fixed, dynamic and differencing VHDX.  A differencing disk's
 * parent is looked for beside it under the name its header records (the
 * path is Windows', so only the last component counts), and must carry
 * the identifier the child expects, as Hyper-V checks.
 */
#include <errno.h>
#include <libgen.h>
#include <libvhdi.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/input.h"
#include "util/err.h"
#include "util/io.h"

#define MAX_DEPTH 64

struct vhdx {
    libvhdi_file_t *files[MAX_DEPTH];   /* [0] the top, then its parents */
    int n;
    char path[PATH_MAX];                /* the top, for messages */
    ovfk_err err;
};

/* A backtrace line without its "libvhdi_function: " and final period. */
static const char *bare(char *line, bool keep_function)
{
    size_t n = strlen(line);
    char *colon = strstr(line, ": ");

    if (n && line[n - 1] == '.') {
        line[n - 1] = '\0';
    }
    return !keep_function && colon ? colon + 2 : line;
}

/*
 * Record libvhdi's error with our context.  Its first line ("unable to
 * open file") says nothing: the backtrace's innermost line is the cause
 * and the one below the open calls says what was being read.
 */
static int lib_error(ovfk_err *err, libvhdi_error_t *e, int code,
                     const char *what, const char *path)
{
    char msg[2048] = "", *lines[16], *l, *next;
    int n = 0;

    if (e) {
        libvhdi_error_backtrace_sprint(e, msg, sizeof(msg));
        libvhdi_error_free(&e);
    }
    for (l = msg; *l && n < 16; l = next) {
        next = l + strcspn(l, "\n");
        if (*next) {
            *next++ = '\0';
        }
        if (*l) {
            lines[n++] = l;
        }
    }
    if (n >= 4) {
        /* ..., what was read, file_open_file_io_handle, file_open */
        const char *cause = bare(lines[0], true);
        return ovfk_err_set(err, code, "%s '%s': %s (%s)", what, path,
                            bare(lines[n - 3], false), cause);
    }
    return ovfk_err_set(err, code, "%s '%s'%s%s", what, path,
                        n ? ": " : "", n ? bare(lines[0], true) : "");
}

static void vhdx_close(void *opaque)
{
    struct vhdx *v = opaque;

    for (int i = v->n - 1; i >= 0; i--) {
        libvhdi_file_close(v->files[i], NULL);
        libvhdi_file_free(&v->files[i], NULL);
    }
    free(v);
}

static int vhdx_pread(void *opaque, void *buf, size_t len, uint64_t off)
{
    struct vhdx *v = opaque;
    libvhdi_error_t *e = NULL;
    ssize_t n = libvhdi_file_read_buffer_at_offset(v->files[0], buf, len,
                                                   (off64_t)off, &e);

    if (n < 0 || (size_t)n != len) {
        char what[64];
        snprintf(what, sizeof(what), "cannot read at offset %llu of",
                 (unsigned long long)off);
        return lib_error(&v->err, e, -EIO, what, v->path);
    }
    return 0;
}

static int vhdx_status(void *opaque, uint64_t off, uint64_t len,
                       uint64_t *pnum)
{
    /* libvhdi does not say which blocks are allocated: all may hold data
     * (the writers skip what reads as zeros) */
    (void)opaque;
    (void)off;
    *pnum = len;
    return 1;
}

static const char *vhdx_error(void *opaque)
{
    return ((struct vhdx *)opaque)->err.msg;
}

static int vhdx_probe(const char *path)
{
    uint8_t sig[8];

    if (ovfk_read_head(path, sig, sizeof(sig)) == 0 &&
        !memcmp(sig, "vhdxfile", 8)) {
        return 100;
    }
    return 0;
}

static int open_one(struct vhdx *v, const char *path)
{
    libvhdi_error_t *e = NULL;
    libvhdi_file_t *f = NULL;

    if (v->n == MAX_DEPTH) {
        return ovfk_err_set(&v->err, -ELOOP, "'%s': the chain of parents "
                            "is deeper than %d", path, MAX_DEPTH);
    }
    if (libvhdi_file_initialize(&f, &e) != 1) {
        return lib_error(&v->err, e, -ENOMEM, "cannot open", path);
    }
    if (libvhdi_file_open(f, path, LIBVHDI_OPEN_READ, &e) != 1) {
        libvhdi_file_free(&f, NULL);
        return lib_error(&v->err, e, OVFK_ECORRUPT, "cannot open the VHDX",
                         path);
    }
    v->files[v->n++] = f;
    return 0;
}

/* Open path's parent beside it, check it is the one meant, attach it. */
static int open_parent(struct vhdx *v, const char *path)
{
    libvhdi_file_t *child = v->files[v->n - 1];
    libvhdi_error_t *e = NULL;
    uint8_t want[16], got[16], name[1024];
    char dir[PATH_MAX], ppath[PATH_MAX + 1024], *base;
    int r;

    if (libvhdi_file_get_utf8_parent_filename(child, name, sizeof(name),
                                              &e) != 1 ||
        libvhdi_file_get_parent_identifier(child, want, 16, &e) != 1) {
        return lib_error(&v->err, e, OVFK_ECORRUPT, "no parent recorded in",
                         path);
    }
    /* a Windows path: only its last component counts (the name is kept
     * as recorded for the messages) */
    base = (char *)name + strlen((char *)name);
    while (base > (char *)name && base[-1] != '\\' && base[-1] != '/') {
        base--;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    snprintf(ppath, sizeof(ppath), "%s/%s", dirname(dir), base);
    if (access(ppath, R_OK) != 0) {
        return ovfk_err_set(&v->err, -ENOENT, "the parent of '%s' is "
                            "missing: '%s' (recorded as '%s')", path, ppath,
                            (char *)name);
    }
    r = open_one(v, ppath);
    if (r < 0) {
        return r;
    }
    if (libvhdi_file_get_identifier(v->files[v->n - 1], got, 16, &e) != 1) {
        return lib_error(&v->err, e, OVFK_ECORRUPT, "cannot read", ppath);
    }
    if (memcmp(want, got, 16) != 0) {
        return ovfk_err_set(&v->err, OVFK_EMISMATCH, "'%s' is not the parent "
                            "of '%s' (identifiers differ)", ppath, path);
    }
    if (libvhdi_file_set_parent_file(child, v->files[v->n - 1], &e) != 1) {
        return lib_error(&v->err, e, OVFK_ECORRUPT, "cannot attach the parent "
                         "of", path);
    }
    return 0;
}

static const struct ovfk_source_ops vhdx_ops = {
    .pread = vhdx_pread,
    .status = vhdx_status,
    .error = vhdx_error,
    .close = vhdx_close,
};

static int vhdx_open(const char *path, ovfk_source **out)
{
    ovfk_source *s = calloc(1, sizeof(*s));
    struct vhdx *v = calloc(1, sizeof(*v));
    char cur[PATH_MAX];
    libvhdi_error_t *e = NULL;
    size64_t size = 0;
    int r;

    *out = NULL;
    if (!s || !v) {
        free(s);
        free(v);
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    snprintf(cur, sizeof(cur), "%s", path);
    snprintf(v->path, sizeof(v->path), "%s", path);
    if (vhdx_probe(path) == 0) {
        /* asked for by name: say what is wrong before libvhdi tries */
        r = access(path, R_OK) == 0 ?
            ovfk_err_set(&v->err, OVFK_ECORRUPT, "'%s' is not a VHDX image (no "
                         "'vhdxfile' signature)", path) :
            ovfk_err_set(&v->err, -errno, "cannot open '%s': %s", path,
                         ovfk_errtext(-errno));
    } else {
        r = open_one(v, cur);
    }
    /* parents first, top to bottom: each differencing file gets its own */
    while (r == 0) {
        uint32_t t = 0;
        if (libvhdi_file_get_disk_type(v->files[v->n - 1], &t, &e) != 1) {
            r = lib_error(&v->err, e, OVFK_ECORRUPT, "cannot read", cur);
            break;
        }
        if (t != LIBVHDI_DISK_TYPE_DIFFERENTIAL) {
            break;
        }
        r = open_parent(v, cur);
        if (r == 0) {
            /* the next level's name, for its own parent */
            char dir[PATH_MAX];
            uint8_t name[1024];
            char *b;
            snprintf(dir, sizeof(dir), "%s", cur);
            libvhdi_file_get_utf8_parent_filename(v->files[v->n - 2], name,
                                                  sizeof(name), NULL);
            for (b = (char *)name; *b; b++) {
                *b = *b == '\\' ? '/' : *b;
            }
            b = strrchr((char *)name, '/');
            snprintf(cur, sizeof(cur), "%s/%s", dirname(dir),
                     b ? b + 1 : (char *)name);
        }
    }
    if (r == 0 && libvhdi_file_get_media_size(v->files[0], &size, &e) != 1) {
        r = lib_error(&v->err, e, OVFK_ECORRUPT, "cannot read the size of",
                      path);
    }
    if (r < 0) {
        ovfk_err_last(r, "%s", v->err.msg);
        vhdx_close(v);
        free(s);
        return r;
    }
    s->opaque = v;
    s->size = size;
    s->format = "vhdx";
    s->ops = &vhdx_ops;
    *out = s;
    return 0;
}

const struct input_driver input_vhdx = {
    .name = "vhdx",
    .probe = vhdx_probe,
    .open = vhdx_open,
};

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/convert.c - write any source (raw image, VHD chain, foreign image)
 * into a new raw, fixed or dynamic file, or into a differencing child that
 * holds only what differs from a backing disk (qemu-img convert -B).
 *
 * Data passes once: ranges the source reports as zero are never read,
 * zero blocks are not allocated, and zero 64 KiB pieces stay file holes.
 * The output is built under a temporary name and renamed when complete.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/bytes.h"
#include "util/tmpfile.h"
#include "vhd/internal.h"

#define CHUNK (2u << 20)

struct job {
    ovfk_source *src;
    const struct ovfk_vhd_convert_opts *o;
    uint64_t size;              /* output logical size */
    uint8_t *buf;
    uint8_t *buf2;
    ovfk_err err;
};

static int progress(struct job *j, uint64_t done)
{
    if (j->o->progress && j->o->progress(j->o->opaque, done, j->src->size)) {
        return ovfk_err_set(&j->err, -ECANCELED, "conversion canceled");
    }
    return 0;
}

static int src_error(struct job *j, int r, const char *what)
{
    return ovfk_err_set(&j->err, r, "cannot %s the source: %s", what,
                        j->src->ops->error
                            ? j->src->ops->error(j->src->opaque)
                            : ovfk_errtext(r));
}

/*
 * The copy loop shared by raw, fixed and dynamic outputs: for every run
 * the source reports as data, read it (at most CHUNK, never across a
 * CHUNK boundary so dynamic blocks are written whole) and hand it to out.
 */
static int copy_data(struct job *j, ovfk_vhd *h, ovfk_io *raw)
{
    uint64_t off = 0, end = j->src->size;
    int r;

    while (off < end) {
        uint64_t n = CHUNK - off % CHUNK, pnum;
        if (n > end - off) {
            n = end - off;
        }
        r = j->src->ops->status(j->src->opaque, off, n, &pnum);
        if (r < 0) {
            return src_error(j, r, "inspect");
        }
        if (pnum == 0 || pnum > n) {
            pnum = n;
        }
        if (r > 0) {
            r = j->src->ops->pread(j->src->opaque, j->buf, pnum, off);
            if (r < 0) {
                return src_error(j, r, "read");
            }
            if (h) {
                r = ovfk_vhd_pwrite(h, j->buf, pnum, off);
                if (r < 0) {
                    return ovfk_err_set(&j->err, r, "%s", ovfk_vhd_error(h));
                }
            } else {
                r = ovfk_io_pwrite_sparse(raw, j->buf, pnum, off);
                if (r < 0) {
                    return ovfk_err_set(&j->err, r, "cannot write: %s",
                                        ovfk_errtext(r));
                }
            }
        }
        off += pnum;
        r = progress(j, off);
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

/* Does grain g of the chunk differ between source and backing? */
static bool grain_differs(struct job *j, size_t pos, size_t n)
{
    size_t len = n - pos < VHD_DIFF_GRAIN ? n - pos : VHD_DIFF_GRAIN;

    return memcmp(j->buf + pos, j->buf2 + pos, len) != 0;
}

/* Write the grains of [off, off + n) where buf (source) differs from
 * buf2 (backing) into the child h (whole grains: see VHD_DIFF_GRAIN). */
static int write_differing(struct job *j, ovfk_vhd *h, uint64_t off, size_t n)
{
    size_t pos = 0;
    int r;

    while (pos < n) {
        size_t start;
        while (pos < n && !grain_differs(j, pos, n)) {
            pos += VHD_DIFF_GRAIN;
        }
        start = pos;
        while (pos < n && grain_differs(j, pos, n)) {
            pos += VHD_DIFF_GRAIN;
        }
        if (pos > n) {
            pos = n;
        }
        if (pos > start) {
            r = ovfk_vhd_pwrite(h, j->buf + start, pos - start, off + start);
            if (r < 0) {
                return ovfk_err_set(&j->err, r, "%s", ovfk_vhd_error(h));
            }
        }
    }
    return 0;
}

static int copy_differences(struct job *j, ovfk_vhd *h)
{
    ovfk_vhd *base = ovfk_vhd_parent(h);
    uint64_t off = 0, end = j->src->size;
    int r;

    while (off < end) {
        uint64_t n = CHUNK - off % CHUNK, pa, pb;
        int db, ra, rb;
        if (n > end - off) {
            n = end - off;
        }
        ra = j->src->ops->status(j->src->opaque, off, n, &pa);
        if (ra < 0) {
            return src_error(j, ra, "inspect");
        }
        rb = ovfk_vhd_block_status(base, off, n, &pb, &db);
        if (rb < 0) {
            return ovfk_err_set(&j->err, rb, "%s", ovfk_vhd_error(base));
        }
        if (ra == 0 && rb == 0) {
            off += pa < pb ? pa : pb;   /* zero on both sides */
            continue;
        }
        r = j->src->ops->pread(j->src->opaque, j->buf, n, off);
        if (r < 0) {
            return src_error(j, r, "read");
        }
        r = ovfk_vhd_pread(base, j->buf2, n, off);
        if (r < 0) {
            return ovfk_err_set(&j->err, r, "%s", ovfk_vhd_error(base));
        }
        r = write_differing(j, h, off, n);
        if (r < 0) {
            return r;
        }
        off += n;
        r = progress(j, off);
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

static int open_output(struct job *j, const char *tmp, ovfk_vhd **h,
                       ovfk_io **raw)
{
    struct ovfk_vhd_create_opts co = { 0 };
    int r;

    co.size = j->size;
    co.block_size = j->o->block_size;
    co.round_to_mib = j->o->round_to_mib;
    switch (j->o->type ? j->o->type : OVFK_VHD_OUT_DYNAMIC) {
    case OVFK_VHD_OUT_RAW:
        r = ovfk_io_open_file(tmp, OVFK_IO_RDWR | OVFK_IO_CREATE, raw);
        if (r == 0) {
            r = ovfk_io_truncate(*raw, j->src->size);
        }
        if (r < 0) {
            return ovfk_err_set(&j->err, r, "cannot create '%s': %s", tmp,
                                ovfk_errtext(r));
        }
        return 0;
    case OVFK_VHD_OUT_FIXED:
        co.type = OVFK_VHD_TYPE_FIXED;
        break;
    default:
        co.type = OVFK_VHD_TYPE_DYNAMIC;
        co.parent = j->o->backing;
        break;
    }
    r = ovfk_vhd_create(tmp, &co, h);
    if (r < 0) {
        return ovfk_err_set(&j->err, r, "%s", ovfk_last_error());
    }
    if (j->o->backing && ovfk_vhd_size(*h) != j->src->size) {
        return ovfk_err_set(&j->err, -EINVAL, "source size %llu differs "
                            "from the size of backing '%s' (%llu)",
                            (unsigned long long)j->src->size, j->o->backing,
                            (unsigned long long)ovfk_vhd_size(*h));
    }
    return 0;
}

int ovfk_vhd_convert(ovfk_source *src, const char *dst,
                const struct ovfk_vhd_convert_opts *o)
{
    struct job j = { .src = src, .o = o };
    char tmp[PATH_MAX];
    ovfk_io *raw = NULL;
    ovfk_vhd *h = NULL;
    int r;

    if (access(dst, F_OK) == 0) {
        return ovfk_err_last(-EEXIST, "'%s' already exists", dst);
    }
    if (o->backing && o->type && o->type != OVFK_VHD_OUT_DYNAMIC) {
        return ovfk_err_last(-EINVAL, "-B writes a differencing VHD; it "
                             "cannot be combined with --type raw or fixed");
    }
    j.size = align_up_u64(src->size, VHD_SECTOR);
    r = ovfk_tmp_name(dst, tmp, sizeof(tmp));
    if (r < 0) {
        return ovfk_err_last(r, "'%s': name too long", dst);
    }
    j.buf = aligned_alloc(4096, CHUNK);
    j.buf2 = aligned_alloc(4096, CHUNK);
    if (!j.buf || !j.buf2) {
        r = ovfk_err_set(&j.err, -ENOMEM, "out of memory");
        goto out;
    }
    r = open_output(&j, tmp, &h, &raw);
    if (r == 0) {
        r = o->backing ? copy_differences(&j, h) : copy_data(&j, h, raw);
    }
    if (r == 0) {
        r = h ? ovfk_vhd_flush(h) : ovfk_io_sync(raw);
        if (r < 0 && h) {
            ovfk_err_set(&j.err, r, "%s", ovfk_vhd_error(h));
        } else if (r < 0) {
            ovfk_err_set(&j.err, r, "cannot sync '%s': %s", tmp,
                         ovfk_errtext(r));
        }
    }
    ovfk_vhd_close(h);
    h = NULL;
    ovfk_io_close(raw);
    raw = NULL;
    if (r == 0) {
        r = ovfk_tmp_commit(tmp, dst, 0);
        if (r < 0) {
            ovfk_err_set(&j.err, r, "cannot rename to '%s': %s", dst,
                         ovfk_errtext(r));
        }
    }
out:
    ovfk_vhd_close(h);
    ovfk_io_close(raw);
    if (r < 0) {
        unlink(tmp);
    }
    free(j.buf);
    free(j.buf2);
    return r < 0 ? ovfk_err_publish(&j.err) : 0;
}

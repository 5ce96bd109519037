/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/compare.c - compare the logical contents of two sources (what
 * `qemu-img compare` does): ranges both report as zero are not read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "util/err.h"
#include "vhd/internal.h"

#define CMP_CHUNK (4u << 20)

static int first_diff(const uint8_t *a, const uint8_t *b, size_t n,
                      size_t *at)
{
    const size_t step = 4096;

    for (size_t pos = 0; pos < n; pos += step) {
        size_t len = n - pos < step ? n - pos : step;
        if (memcmp(a + pos, b + pos, len) != 0) {
            for (size_t i = pos; i < pos + len; i++) {
                if (a[i] != b[i]) {
                    *at = i;
                    return 1;
                }
            }
        }
    }
    return 0;
}

static int status(ovfk_source *s, uint64_t off, uint64_t n, uint64_t *pnum)
{
    int r = s->ops->status(s->opaque, off, n, pnum);

    if (r >= 0 && (*pnum == 0 || *pnum > n)) {
        *pnum = n;
    }
    return r;
}

/* Is the tail [from, end) of s all zeros?  Stores the first non-zero. */
static int tail_zero(ovfk_source *s, uint64_t from, uint8_t *buf,
                     uint64_t *at)
{
    uint64_t off = from;

    while (off < s->size) {
        uint64_t n = s->size - off < CMP_CHUNK ? s->size - off : CMP_CHUNK;
        uint64_t pnum;
        int r = status(s, off, n, &pnum);
        size_t i;
        if (r < 0) {
            return ovfk_err_last(r, "%s", s->ops->error(s->opaque));
        }
        if (r > 0) {
            r = s->ops->pread(s->opaque, buf, pnum, off);
            if (r < 0) {
                return ovfk_err_last(r, "%s", s->ops->error(s->opaque));
            }
            for (i = 0; i < pnum; i++) {
                if (buf[i]) {
                    *at = off + i;
                    return 1;
                }
            }
        }
        off += pnum;
    }
    return 0;
}

int ovfk_vhd_compare(ovfk_source *a, ovfk_source *b, uint64_t *diff_off,
                ovfk_progress_fn progress, void *opaque)
{
    uint64_t common = a->size < b->size ? a->size : b->size;
    uint8_t *ba = malloc(CMP_CHUNK), *bb = malloc(CMP_CHUNK);
    uint64_t off = 0;
    int r = 0;

    if (!ba || !bb) {
        r = ovfk_err_last(-ENOMEM, "out of memory");
        goto out;
    }
    while (off < common) {
        uint64_t n = common - off < CMP_CHUNK ? common - off : CMP_CHUNK;
        uint64_t pa, pb;
        size_t at;
        int sa = status(a, off, n, &pa);
        int sb = status(b, off, n, &pb);
        if (sa < 0 || sb < 0) {
            ovfk_source *s = sa < 0 ? a : b;
            r = ovfk_err_last(sa < 0 ? sa : sb, "%s", s->ops->error(s->opaque));
            goto out;
        }
        if (sa == 0 && sb == 0) {
            off += pa < pb ? pa : pb;
            continue;
        }
        r = a->ops->pread(a->opaque, ba, n, off);
        if (r < 0) {
            r = ovfk_err_last(r, "%s", a->ops->error(a->opaque));
            goto out;
        }
        r = b->ops->pread(b->opaque, bb, n, off);
        if (r < 0) {
            r = ovfk_err_last(r, "%s", b->ops->error(b->opaque));
            goto out;
        }
        if (first_diff(ba, bb, n, &at)) {
            *diff_off = off + at;
            r = 1;
            goto out;
        }
        off += n;
        if (progress && progress(opaque, off, common)) {
            r = ovfk_err_last(-ECANCELED, "canceled");
            goto out;
        }
    }
    /* sizes differ: the longer side must be zero past the shorter */
    r = tail_zero(a->size > b->size ? a : b, common, ba, diff_off);
out:
    free(ba);
    free(bb);
    return r;
}

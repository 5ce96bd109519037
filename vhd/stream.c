/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/stream.c - write a VHD to a sink that cannot seek (a tar member, a
 * hash, a pipe).  The BAT precedes the blocks in a dynamic VHD, so the
 * blocks to allocate are decided first, from the source's allocation
 * status alone (no data is read), which also gives the exact output size a
 * tar header needs.  The data is then read once, in order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "vhd/internal.h"

struct ovfk_vhd_stream {
    ovfk_source *src;
    enum ovfk_vhd_out_type type;
    uint64_t size;              /* logical size of the VHD (512-aligned) */
    uint32_t block_size;
    uint32_t bitmap_size;
    uint32_t entries;
    uint8_t *alloc;             /* one byte per block: 1 = write it */
    uint32_t nalloc;
    uint64_t first_block;       /* file offset of the first block */
    uint64_t total;             /* bytes the stream will produce */
    vhd_footer ft;
    ovfk_err err;
};

static int plan_blocks(ovfk_vhd_stream *s)
{
    for (uint32_t b = 0; b < s->entries; b++) {
        uint64_t off = (uint64_t)b * s->block_size;
        uint64_t end = off + s->block_size;
        if (end > s->src->size) {
            end = s->src->size;
        }
        while (off < end) {
            uint64_t pnum;
            int r = s->src->ops->status(s->src->opaque, off, end - off, &pnum);
            if (r < 0) {
                return ovfk_err_set(&s->err, r, "cannot inspect the source: "
                                    "%s", s->src->ops->error(s->src->opaque));
            }
            if (r > 0) {
                s->alloc[b] = 1;
                s->nalloc++;
                break;
            }
            off += pnum ? pnum : end - off;
        }
    }
    return 0;
}

int ovfk_vhd_stream_new(ovfk_source *src, enum ovfk_vhd_out_type type,
                   uint32_t block_size, ovfk_vhd_stream **out)
{
    ovfk_vhd_stream *s = calloc(1, sizeof(*s));
    uint64_t meta;
    int r;

    *out = NULL;
    if (!s) {
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    s->src = src;
    s->type =
        type == OVFK_VHD_OUT_FIXED ? OVFK_VHD_OUT_FIXED : OVFK_VHD_OUT_DYNAMIC;
    s->size = align_up_u64(src->size, VHD_SECTOR);
    if (s->size > OVFK_VHD_MAX_SIZE) {
        free(s);
        return ovfk_err_last(-EFBIG, "disk of %llu bytes exceeds the VHD "
                             "maximum of 2040 GiB",
                             (unsigned long long)src->size);
    }
    vhd_footer_init(&s->ft, s->type == OVFK_VHD_OUT_FIXED ? OVFK_VHD_TYPE_FIXED
                                                     : OVFK_VHD_TYPE_DYNAMIC,
                    s->size);
    if (s->type == OVFK_VHD_OUT_FIXED) {
        s->total = s->size + VHD_FOOTER_SIZE;
        *out = s;
        return 0;
    }
    s->block_size = block_size ? block_size : OVFK_VHD_DEFAULT_BLOCK_SIZE;
    if (!is_pow2_u64(s->block_size) || s->block_size < VHD_MIN_CREATE_BLOCK ||
        s->block_size > VHD_MAX_BLOCK_SIZE) {
        free(s);
        return ovfk_err_last(-EINVAL, "block size %u is not a power of two "
                             "between 64 KiB and 256 MiB", block_size);
    }
    s->bitmap_size = (uint32_t)align_up_u64(s->block_size / VHD_SECTOR / 8,
                                            VHD_SECTOR);
    s->entries = (uint32_t)((s->size + s->block_size - 1) / s->block_size);
    s->alloc = calloc(s->entries + 1, 1);
    if (!s->alloc) {
        free(s);
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    r = plan_blocks(s);
    if (r < 0) {
        ovfk_err_publish(&s->err);
        ovfk_vhd_stream_free(s);
        return r;
    }
    meta = VHD_FOOTER_SIZE + VHD_DYNHDR_SIZE +
           align_up_u64((uint64_t)s->entries * 4, VHD_SECTOR);
    s->first_block = vhd_next_block_pos(meta, s->bitmap_size);
    s->total = s->first_block +
               (uint64_t)s->nalloc * (s->bitmap_size + s->block_size) +
               VHD_FOOTER_SIZE;
    *out = s;
    return 0;
}

uint64_t ovfk_vhd_stream_size(const ovfk_vhd_stream *s)
{
    return s->total;
}

const char *ovfk_vhd_stream_error(const ovfk_vhd_stream *s)
{
    return s->err.msg;
}

void ovfk_vhd_stream_free(ovfk_vhd_stream *s)
{
    if (s) {
        free(s->alloc);
        free(s);
    }
}

static int emit(ovfk_vhd_stream *s, const ovfk_sink *sink, const void *buf,
                size_t len)
{
    int r = sink->write(sink->opaque, buf, len);

    if (r < 0) {
        return ovfk_err_set(&s->err, r, "cannot write the VHD stream: %s",
                            ovfk_errtext(r));
    }
    return 0;
}

/*
 * Read [off, off + len) of the source into buf; zeros past its end.  What
 * the source reports as zeros (unallocated, or holes inside its allocated
 * blocks) is not read: a dynamic VHD's blocks are often a third holes.
 */
static int read_src(ovfk_vhd_stream *s, uint8_t *buf, uint64_t off, size_t len)
{
    size_t n = off >= s->src->size ? 0 :
               (s->src->size - off < len ? (size_t)(s->src->size - off) : len);
    size_t pos = 0;
    int r = 0;

    while (pos < n) {
        uint64_t pnum = 0;
        int st = s->src->ops->status(s->src->opaque, off + pos, n - pos, &pnum);
        if (st < 0) {
            return ovfk_err_set(&s->err, st, "cannot inspect the source: %s",
                                s->src->ops->error(s->src->opaque));
        }
        if (pnum == 0 || pnum > n - pos) {
            pnum = n - pos;
        }
        if (st == 0) {
            memset(buf + pos, 0, (size_t)pnum);
        } else if ((r = s->src->ops->pread(s->src->opaque, buf + pos,
                                      (size_t)pnum, off + pos)) < 0) {
            return ovfk_err_set(&s->err, r, "cannot read the source: %s",
                                s->src->ops->error(s->src->opaque));
        }
        pos += (size_t)pnum;
    }
    memset(buf + n, 0, len - n);
    return 0;
}

static int tick(ovfk_vhd_stream *s, ovfk_progress_fn progress, void *opaque,
                uint64_t done)
{
    if (progress && progress(opaque, done, s->size)) {
        return ovfk_err_set(&s->err, -ECANCELED, "canceled");
    }
    return 0;
}

static int write_fixed(ovfk_vhd_stream *s, const ovfk_sink *sink, uint8_t *buf,
                       ovfk_progress_fn progress, void *opaque)
{
    const size_t chunk = 4u << 20;
    uint8_t ft[VHD_FOOTER_SIZE];
    int r = 0;

    for (uint64_t off = 0; r == 0 && off < s->size; off += chunk) {
        size_t n = s->size - off < chunk ? (size_t)(s->size - off) : chunk;
        uint64_t pnum;
        int st = s->src->ops->status(s->src->opaque, off, n, &pnum);
        if (st == 0 && pnum >= n) {
            memset(buf, 0, n);
        } else {
            r = read_src(s, buf, off, n);
        }
        if (r == 0) {
            r = emit(s, sink, buf, n);
        }
        if (r == 0) {
            r = tick(s, progress, opaque, off + n);
        }
    }
    if (r == 0) {
        vhd_footer_encode(&s->ft, ft);
        r = emit(s, sink, ft, sizeof(ft));
    }
    return r;
}

static int write_meta(ovfk_vhd_stream *s, const ovfk_sink *sink)
{
    uint64_t bat_bytes = align_up_u64((uint64_t)s->entries * 4, VHD_SECTOR);
    uint64_t pad = s->first_block - (VHD_FOOTER_SIZE + VHD_DYNHDR_SIZE +
                                     bat_bytes);
    uint8_t ft[VHD_FOOTER_SIZE], hdr[VHD_DYNHDR_SIZE];
    uint8_t *bat = malloc(bat_bytes + pad);
    uint64_t next = s->first_block;
    vhd_dynhdr dh = { 0 };
    int r;

    if (!bat) {
        return ovfk_err_set(&s->err, -ENOMEM, "out of memory");
    }
    memset(bat, 0xff, bat_bytes);
    memset(bat + bat_bytes, 0, pad);
    for (uint32_t b = 0; b < s->entries; b++) {
        if (s->alloc[b]) {
            put_be32(bat + (size_t)b * 4, (uint32_t)(next / VHD_SECTOR));
            next += s->bitmap_size + s->block_size;
        }
    }
    dh.data_offset = VHD_DATA_OFFSET_FIXED;
    dh.table_offset = VHD_FOOTER_SIZE + VHD_DYNHDR_SIZE;
    dh.version = VHD_VERSION;
    dh.max_entries = s->entries;
    dh.block_size = s->block_size;
    vhd_footer_encode(&s->ft, ft);
    vhd_dynhdr_encode(&dh, hdr);
    r = emit(s, sink, ft, sizeof(ft));
    if (r == 0) {
        r = emit(s, sink, hdr, sizeof(hdr));
    }
    if (r == 0) {
        r = emit(s, sink, bat, bat_bytes + pad);
    }
    free(bat);
    return r;
}

int ovfk_vhd_stream_write(ovfk_vhd_stream *s, const ovfk_sink *sink,
                     ovfk_progress_fn progress, void *opaque)
{
    uint8_t ft[VHD_FOOTER_SIZE];
    size_t buflen = s->type == OVFK_VHD_OUT_FIXED ? 4u << 20
                                             : s->bitmap_size + s->block_size;
    uint8_t *buf = aligned_alloc(4096, align_up_u64(buflen, 4096));
    int r;

    if (!buf) {
        return ovfk_err_set(&s->err, -ENOMEM, "out of memory");
    }
    if (s->type == OVFK_VHD_OUT_FIXED) {
        r = write_fixed(s, sink, buf, progress, opaque);
        free(buf);
        return r;
    }
    r = write_meta(s, sink);
    memset(buf, 0xff, s->bitmap_size);
    for (uint32_t b = 0; r == 0 && b < s->entries; b++) {
        uint64_t off = (uint64_t)b * s->block_size;
        if (!s->alloc[b]) {
            continue;
        }
        r = read_src(s, buf + s->bitmap_size, off, s->block_size);
        if (r == 0) {
            r = emit(s, sink, buf, s->bitmap_size + s->block_size);
        }
        if (r == 0) {
            r = tick(s, progress, opaque, off + s->block_size);
        }
    }
    if (r == 0) {
        vhd_footer_encode(&s->ft, ft);
        r = emit(s, sink, ft, sizeof(ft));
    }
    free(buf);
    return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/rw.c - read and write the logical disk of a VHD chain.
 *
 * NOTES (block allocation mutates the file; spec "Block Allocation Table
 * and Data Blocks"):
 *
 * States of a block: free (BAT entry 0xFFFFFFFF) or allocated (the entry
 * holds the sector of its bitmap; the data follows the bitmap).
 *
 * Invariants:
 *   1. The trailing footer is always the last 512 bytes of the file.
 *   2. A BAT entry only ever points at a bitmap and data that are fully
 *      written (the entry is written last).
 *   3. Space between the last referenced block and the footer is
 *      unreferenced (a "leak" for vhd check, dropped by vhd repair).
 *
 * Write order for a new block at the old footer position P:
 *   footer at the new end  ->  bitmap + data at P  ->  BAT entry.
 * A crash after step 1 or 2 leaves a valid file with leaked space; a crash
 * during step 1 leaves the old footer intact at P... or, if the new footer
 * write was torn, a damaged trailing footer that vhd repair restores from
 * the copy at offset 0.  No fsync is issued per block: callers that need
 * durability (merge, convert) call ovfk_vhd_flush at their commit points.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "vhd/internal.h"

#define ZERO_PIECE (64u << 10)   /* granularity of holes in new blocks */

static int check_range(ovfk_vhd *h, size_t len, uint64_t off)
{
    if (off > h->size || len > h->size - off) {
        return ovfk_err_set(&h->err, -EINVAL, "access to %zu bytes at offset "
                            "%llu is beyond the end of '%s' (%llu bytes)",
                            len, (unsigned long long)off, h->path,
                            (unsigned long long)h->size);
    }
    return 0;
}

static int io_error(ovfk_vhd *h, int r, const char *what)
{
    return ovfk_err_set(&h->err, r, "cannot %s '%s': %s", what, h->path,
                        ovfk_errtext(r));
}

/* Read where h has no data: the parent's bytes, or zeros. */
static int read_below(ovfk_vhd *h, uint8_t *buf, size_t len, uint64_t off)
{
    ovfk_vhd *p = h->parent;
    size_t n;
    int r;

    if (h->ft.type != OVFK_VHD_TYPE_DIFF) {
        memset(buf, 0, len);
        return 0;
    }
    if (!p) {
        return ovfk_err_set(&h->err, -ENOENT, "'%s' was opened without its "
                            "parent and cannot read unallocated data",
                            h->path);
    }
    /* a parent smaller than the child reads as zeros past its end */
    n = off >= p->size ? 0 : (p->size - off < len ? p->size - off : len);
    if (n > 0) {
        r = ovfk_vhd_pread(p, buf, n, off);
        if (r < 0) {
            return ovfk_err_set(&h->err, r, "%s", p->err.msg);
        }
    }
    memset(buf + n, 0, len - n);
    return 0;
}

/* Read n bytes at in_off inside allocated block blk of a diff disk. */
static int read_diff_block(ovfk_vhd *h, uint32_t blk, uint8_t *buf, uint32_t in,
                           uint32_t n)
{
    uint64_t base = (uint64_t)blk * h->dh.block_size;
    uint64_t data = vhd_block_offset(h, blk) + h->bitmap_size;
    uint32_t pos = in, end = in + n;
    int r;

    r = vhd_bitmap_load(h, blk);
    if (r < 0) {
        return r;
    }
    while (pos < end) {
        uint32_t s = pos / VHD_SECTOR;
        bool set = bm_test(h->bm, s);
        uint32_t run_end = (s + 1) * VHD_SECTOR;
        while (run_end < end && bm_test(h->bm, run_end / VHD_SECTOR) == set) {
            run_end += VHD_SECTOR;
        }
        if (run_end > end) {
            run_end = end;
        }
        if (set) {
            r = ovfk_io_pread(h->io, buf + (pos - in), run_end - pos,
                              data + pos);
            if (r < 0) {
                return io_error(h, r, "read");
            }
        } else {
            r = read_below(h, buf + (pos - in), run_end - pos, base + pos);
            if (r < 0) {
                return r;
            }
        }
        pos = run_end;
    }
    return 0;
}

/*
 * Read h through the merge in flight into it (merge.c NOTES 6): the
 * sectors its child C holds are read from C, the rest from h itself (C's
 * parent is h; in_merging makes that read h's own).  Past C's end, h's.
 */
static int read_merging(ovfk_vhd *h, uint8_t *buf, size_t len, uint64_t off)
{
    ovfk_vhd *c = h->merging;
    size_t n = off >= c->size ? 0 : (c->size - off < len ? c->size - off
                                                          : len);
    int r = 0;

    h->in_merging = true;
    if (n > 0) {
        r = ovfk_vhd_pread(c, buf, n, off);
        if (r < 0) {
            ovfk_err_set(&h->err, r, "%s", c->err.msg);
        }
    }
    if (r == 0 && n < len) {
        r = ovfk_vhd_pread(h, buf + n, len - n, off + n);
    }
    h->in_merging = false;
    return r;
}

int ovfk_vhd_pread(ovfk_vhd *h, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    uint32_t bs = h->dh.block_size;
    int r = check_range(h, len, off);

    if (r < 0) {
        return r;
    }
    if (h->merging && !h->in_merging) {
        return read_merging(h, buf, len, off);
    }
    if (h->ft.type == OVFK_VHD_TYPE_FIXED) {
        r = ovfk_io_pread(h->io, buf, len, off);
        return r < 0 ? io_error(h, r, "read") : 0;
    }
    while (len > 0) {
        uint32_t blk = (uint32_t)(off / bs);
        uint32_t in = (uint32_t)(off % bs);
        uint32_t n = len < bs - in ? (uint32_t)len : bs - in;
        if (h->bat[blk] == VHD_BAT_FREE) {
            r = read_below(h, p, n, off);
        } else if (h->ft.type == OVFK_VHD_TYPE_DYNAMIC) {
            /* Dynamic disks: an allocated block is read whole; its bitmap
             * is not consulted (as QEMU and libvhdi do). */
            r = ovfk_io_pread(h->io, p, n,
                              vhd_block_offset(h, blk) + h->bitmap_size + in);
            if (r < 0) {
                r = io_error(h, r, "read");
            }
        } else {
            r = read_diff_block(h, blk, p, in, n);
        }
        if (r < 0) {
            return r;
        }
        p += n;
        off += n;
        len -= n;
    }
    return 0;
}

/* Write the runs of non-zero ZERO_PIECE pieces of data (a new block's
 * data area is a hole that reads as zeros). */
static int write_sparse(ovfk_vhd *h, const uint8_t *data, uint32_t len,
                        uint64_t file_off, uint32_t in)
{
    size_t pos = 0, start, end;
    int r;

    while (ovfk_next_data_run(data, len, in, ZERO_PIECE, &pos, &start,
                              &end)) {
        r = ovfk_io_pwrite(h->io, data + start, end - start,
                           file_off + start);
        if (r < 0) {
            return io_error(h, r, "write");
        }
    }
    return 0;
}

/*
 * Allocate block blk at the end of the file holding len bytes of data at
 * in (sector-aligned for differencing disks).  See NOTES for the order.
 */
int vhd_alloc_block(ovfk_vhd *h, uint32_t blk, const uint8_t *data, uint32_t in,
                    uint32_t len)
{
    uint64_t pos = vhd_next_block_pos(h->footer_off, h->bitmap_size);
    uint64_t new_footer = pos + h->bitmap_size + h->dh.block_size;
    uint64_t old_footer = h->footer_off;
    int r;

    if (pos / VHD_SECTOR >= VHD_BAT_FREE) {
        return ovfk_err_set(&h->err, -EFBIG, "'%s' is full: a BAT entry "
                            "cannot address offset %llu", h->path,
                            (unsigned long long)pos);
    }
    r = vhd_write_footer_at(h, new_footer);
    if (r < 0) {
        return r;
    }
    if (h->ft.type == OVFK_VHD_TYPE_DYNAMIC) {
        memset(h->bm, 0xff, h->bitmap_size);
    } else {
        memset(h->bm, 0, h->bitmap_size);
        for (uint32_t s = in / VHD_SECTOR; s < (in + len) / VHD_SECTOR; s++) {
            bm_set(h->bm, s);
        }
    }
    h->bm_valid = false;
    r = ovfk_io_pwrite(h->io, h->bm, h->bitmap_size, pos);
    if (r == 0) {
        r = write_sparse(h, data, len, pos + h->bitmap_size + in, in);
    } else {
        r = io_error(h, r, "write");
    }
    if (r == 0) {
        r = vhd_bat_set(h, blk, (uint32_t)(pos / VHD_SECTOR));
    }
    if (r < 0) {
        /* the block is unreferenced: give the space back if we can */
        if (vhd_write_footer_at(h, old_footer) == 0) {
            ovfk_io_truncate(h->io, old_footer + VHD_FOOTER_SIZE);
            h->file_size = old_footer + VHD_FOOTER_SIZE;
        }
        return r < 0 ? r : -EIO;
    }
    h->bm_block = blk;
    h->bm_valid = true;
    return 0;
}

/* Write within one block (for diff disks, in and n are sector-aligned). */
static int write_block(ovfk_vhd *h, uint32_t blk, const uint8_t *data,
                       uint32_t in, uint32_t n)
{
    uint64_t boff;
    bool changed = false;
    int r;

    if (h->bat[blk] == VHD_BAT_FREE) {
        if (h->ft.type == OVFK_VHD_TYPE_DYNAMIC && ovfk_is_zero(data, n)) {
            return 0;   /* zeros in a free block: nothing to allocate */
        }
        return vhd_alloc_block(h, blk, data, in, n);
    }
    boff = vhd_block_offset(h, blk);
    r = ovfk_io_pwrite(h->io, data, n, boff + h->bitmap_size + in);
    if (r < 0) {
        return io_error(h, r, "write");
    }
    if (h->ft.type != OVFK_VHD_TYPE_DIFF) {
        return 0;
    }
    r = vhd_bitmap_load(h, blk);
    if (r < 0) {
        return r;
    }
    for (uint32_t s = in / VHD_SECTOR; s < (in + n) / VHD_SECTOR; s++) {
        if (!bm_test(h->bm, s)) {
            bm_set(h->bm, s);
            changed = true;
        }
    }
    return changed ? vhd_bitmap_store(h, blk) : 0;
}

static int write_aligned(ovfk_vhd *h, const uint8_t *p, size_t len,
                         uint64_t off)
{
    uint32_t bs = h->dh.block_size;
    int r;

    while (len > 0) {
        uint32_t blk = (uint32_t)(off / bs);
        uint32_t in = (uint32_t)(off % bs);
        uint32_t n = len < bs - in ? (uint32_t)len : bs - in;
        r = write_block(h, blk, p, in, n);
        if (r < 0) {
            return r;
        }
        p += n;
        off += n;
        len -= n;
    }
    return 0;
}

/*
 * Write part of a grain of a diff disk: read the grain through the chain,
 * patch it, write it whole, so its bitmap byte is all set (see
 * VHD_DIFF_GRAIN).  The grain is clipped to the disk size.
 */
static int write_partial_grain(ovfk_vhd *h, const uint8_t *p, size_t len,
                               uint64_t off)
{
    uint8_t grain[VHD_DIFF_GRAIN];
    uint64_t start = off / VHD_DIFF_GRAIN * VHD_DIFF_GRAIN;
    size_t n = h->size - start < VHD_DIFF_GRAIN ? (size_t)(h->size - start)
                                                : VHD_DIFF_GRAIN;
    int r;

    r = ovfk_vhd_pread(h, grain, n, start);
    if (r < 0) {
        return r;
    }
    memcpy(grain + (off - start), p, len);
    return write_aligned(h, grain, n, start);
}

int ovfk_vhd_pwrite(ovfk_vhd *h, const void *buf, size_t len, uint64_t off)
{
    const uint8_t *p = buf;
    int r;

    if (!(h->flags & OVFK_VHD_OPEN_RDWR)) {
        return ovfk_err_set(&h->err, -EROFS, "'%s' is open read-only",
                            h->path);
    }
    r = check_range(h, len, off);
    if (r < 0) {
        return r;
    }
    if (h->ft.type == OVFK_VHD_TYPE_FIXED) {
        r = ovfk_io_pwrite(h->io, buf, len, off);
        return r < 0 ? io_error(h, r, "write") : 0;
    }
    if (h->ft.type == OVFK_VHD_TYPE_DIFF) {
        uint64_t head = off % VHD_DIFF_GRAIN;
        uint64_t end = off + len;
        if (head && len > 0) {
            size_t n = VHD_DIFF_GRAIN - head < len ? VHD_DIFF_GRAIN - head
                                                   : len;
            r = write_partial_grain(h, p, n, off);
            if (r < 0) {
                return r;
            }
            p += n;
            off += n;
            len -= n;
        }
        if (len % VHD_DIFF_GRAIN && end != h->size) {
            size_t tail = len % VHD_DIFF_GRAIN;
            r = write_partial_grain(h, p + len - tail, tail,
                                    off + len - tail);
            if (r < 0) {
                return r;
            }
            len -= tail;
        }
    }
    return write_aligned(h, p, len, off);
}

/*
 * Status of a range h itself does not hold: the parent's, one level
 * deeper.  Without a parent (or past its end) the range reads as zeros;
 * for a differencing disk opened with OVFK_VHD_OPEN_NO_PARENT, depth -1 then
 * means "not in this file".
 */
static int status_below(ovfk_vhd *h, uint64_t off, uint64_t len, uint64_t *pnum,
                        int *depth)
{
    int r;

    if (h->ft.type == OVFK_VHD_TYPE_DIFF && h->parent &&
        off < h->parent->size) {
        if (len > h->parent->size - off) {
            len = h->parent->size - off;
        }
        r = ovfk_vhd_block_status(h->parent, off, len, pnum, depth);
        if (r >= 0 && *depth >= 0) {
            (*depth)++;
        }
        return r;
    }
    *pnum = len;
    *depth = -1;
    return 0;
}

/*
 * Status of n bytes of h's own data at file offset foff: data, or zeros
 * where the file has a hole there.  Our writers leave zero 64 KiB pieces
 * of allocated blocks as holes (a third of a typical dynamic VHD's
 * blocks), so readers can skip them as qemu-img does, without reading and
 * scanning zeros.  Back ends without hole information report data.
 */
static int file_status(ovfk_vhd *h, uint64_t foff, uint64_t n, uint64_t *pnum,
                       int *depth)
{
    uint64_t start, end;
    int r = ovfk_io_data_extent(h->io, foff, &start, &end);

    *depth = 0;
    if (r < 0 || start <= foff) {
        /* data (or cannot tell): up to the end of that data run */
        *pnum = r == 0 && end > foff && end - foff < n ? end - foff : n;
        return 1;
    }
    *pnum = start - foff < n ? start - foff : n;
    return 0;
}

/* Status inside one block; see ovfk_vhd_block_status. */
static int block_status(ovfk_vhd *h, uint64_t off, uint64_t len, uint64_t *pnum,
                        int *depth)
{
    uint32_t bs = h->dh.block_size;
    uint32_t blk = (uint32_t)(off / bs);
    uint32_t in = (uint32_t)(off % bs);
    uint64_t n = len < bs - in ? len : bs - in;
    uint32_t pos, end;
    bool set;
    int r;

    if (h->bat[blk] == VHD_BAT_FREE) {
        return status_below(h, off, n, pnum, depth);
    }
    if (h->ft.type == OVFK_VHD_TYPE_DYNAMIC) {
        return file_status(h, vhd_block_offset(h, blk) + h->bitmap_size + in,
                           n, pnum, depth);
    }
    r = vhd_bitmap_load(h, blk);
    if (r < 0) {
        return r;
    }
    pos = in;
    end = in + (uint32_t)n;
    set = bm_test(h->bm, pos / VHD_SECTOR);
    pos = (pos / VHD_SECTOR + 1) * VHD_SECTOR;
    while (pos < end && bm_test(h->bm, pos / VHD_SECTOR) == set) {
        pos += VHD_SECTOR;
    }
    if (pos > end) {
        pos = end;
    }
    if (set) {
        return file_status(h, vhd_block_offset(h, blk) + h->bitmap_size + in,
                           pos - in, pnum, depth);
    }
    return status_below(h, off, pos - in, pnum, depth);
}

int ovfk_vhd_block_status(ovfk_vhd *h, uint64_t off, uint64_t len,
                          uint64_t *pnum, int *depth)
{
    uint64_t done = 0, n;
    int r, d, first_r = 0, first_d = 0;

    if (off >= h->size || len == 0) {
        return ovfk_err_set(&h->err, -EINVAL, "status beyond the end of "
                            "'%s'", h->path);
    }
    if (len > h->size - off) {
        len = h->size - off;
    }
    if (h->merging && !h->in_merging && off < h->merging->size) {
        /* through the merge in flight (read_merging): C's data and h's
         * are both h's own (depth 0) once the merge completes */
        if (len > h->merging->size - off) {
            len = h->merging->size - off;
        }
        h->in_merging = true;
        r = ovfk_vhd_block_status(h->merging, off, len, pnum, depth);
        h->in_merging = false;
        if (r < 0) {
            return ovfk_err_set(&h->err, r, "%s", h->merging->err.msg);
        }
        if (*depth > 0) {
            (*depth)--;
        }
        return r;
    }
    if (h->ft.type == OVFK_VHD_TYPE_FIXED) {
        return file_status(h, off, len, pnum, depth);
    }
    /* extend over following blocks while the status stays the same */
    while (done < len) {
        r = block_status(h, off + done, len - done, &n, &d);
        if (r < 0) {
            return r;
        }
        if (done == 0) {
            first_r = r;
            first_d = d;
        } else if (r != first_r || d != first_d) {
            break;
        }
        done += n;
    }
    *pnum = done;
    *depth = first_d;
    return first_r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/merge_plan.c - how much free space merging a child into its parent
 * (or into a file further down its chain) takes, before anything is
 * written: ovfk_vhd_merge refuses a merge that would not fit, and
 * `--dry-run` prints the plan.
 *
 * The plan counts what the file system will allocate, by walking the
 * child's sector runs (the merge copies exactly these, merge.c):
 *   - a run landing in a block the parent has: the file system blocks of
 *     the parent's file under it that are holes now (our writer leaves
 *     zero pieces of a block as holes, so a merge can fill them);
 *   - a run landing in a block the parent lacks: the block is added at
 *     the end of the file (rw.c), its bitmap plus the file system blocks
 *     the run covers; the rest of the new block stays a hole;
 *   - a fixed parent: the holes under the run, as for a block it has;
 *   - the trailing footer's new place, a little for the file system's own
 *     extent records, and the journal.
 * A file system that cannot leave holes (FAT, exFAT, HFS) fills a file's
 * growth with zeros: there every new block is counted whole.  A run is
 * rounded out to whole file system blocks, so the plan is an upper bound
 * of the space the merge uses; `tests/cli/0033` checks it on a file system
 * left with only that much free.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "util/bytes.h"
#include "vhd/internal.h"

/* How many of the child's blocks have their bitmaps read ahead. */
#define PLAN_AHEAD 64u
/* The file system's extent records: one block per this many runs.  ext4
 * took one per ~90 runs merging a 212 MiB delta (bench/merge.sh, 3,093
 * runs: 34 blocks beyond the data); 32 keeps a margin. */
#define RUNS_PER_EXTENT_BLOCK 32u

/*
 * The journal's space: the file and, while a new state replaces it, its
 * temporary (a fixed part and each child's saved header as hex), in file
 * system blocks of 4 KiB.  0, or -ENOMEM.
 */
static int journal_bytes(const char *child, uint64_t *bytes)
{
    char dir[PATH_MAX], **kids = NULL;
    size_t n = 0;
    uint64_t one;
    int r;

    snprintf(dir, sizeof(dir), "%s", child);
    r = ovfk_vhd_find_children(child, dirname(dir), &kids, &n);
    if (r == -ENOMEM) {
        return r;
    }
    if (r < 0) {
        n = 16;     /* cannot tell: assume many */
    }
    for (size_t i = 0; i < n && kids; i++) {
        free(kids[i]);
    }
    free(kids);
    one = 2048 + n * (2 * VHD_DYNHDR_SIZE + PATH_MAX / 4);
    *bytes = 2 * align_up_u64(one, 4096);
    return 0;
}

struct walk {
    ovfk_vhd *p;
    uint64_t unit;          /* the file system's block size */
    bool holes;             /* the file system leaves holes */
    uint8_t *need;          /* blocks the parent lacks (dynamic, diff) */
    uint32_t new_blocks;
    uint64_t new_data;      /* bytes of new blocks' data the runs take */
    uint64_t filled;        /* bytes of the parent's holes the runs fill */
    uint64_t runs;
    uint64_t file_done;     /* end of the last run counted (file offset) */
    uint64_t new_done;      /* the same in new blocks: block << 32 | in */
    /* the parent's last answer about its data: from ext_q on, holes up
     * to ext_st, data from there to ext_en (ext_en 0: none yet).  Runs
     * come in the disk's order, which is mostly the parent's file order:
     * one answer serves many runs, where each question costs two seeks
     * that, in a file with few holes, walk its extents to the end */
    uint64_t ext_q, ext_st, ext_en;
};

/* The parent's data extent at or after at (as ovfk_io_data_extent),
 * from the last answer when it covers at. */
static int data_extent(struct walk *w, uint64_t at, uint64_t *st,
                       uint64_t *en)
{
    int r;

    if (!w->ext_en || at < w->ext_q || at >= w->ext_en) {
        r = ovfk_io_data_extent(w->p->io, at, &w->ext_st, &w->ext_en);
        if (r < 0) {
            w->ext_en = 0;
            return r;
        }
        w->ext_q = at;
        if (w->ext_en <= at) {
            /* nothing from at on (past the end): not worth keeping */
            *st = w->ext_st;
            *en = w->ext_en;
            w->ext_en = 0;
            return 0;
        }
    }
    *st = w->ext_st > at ? w->ext_st : at;
    *en = w->ext_en;
    return 0;
}

static void fs_facts(struct walk *w)
{
    int fd = ovfk_io_fd(w->p->io);
    struct statfs sf;
    struct stat st;

    w->unit = 4096;
    w->holes = true;
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_blksize > 0 &&
        is_pow2_u64((uint64_t)st.st_blksize)) {
        w->unit = (uint64_t)st.st_blksize;
    }
    if (fd < 0 || fstatfs(fd, &sf) < 0) {
        w->holes = false;   /* cannot tell: count lengths */
        return;
    }
    switch ((unsigned long)sf.f_type) {
    case 0x4d44:            /* MSDOS_SUPER_MAGIC: FAT */
    case 0x2011bab0:        /* EXFAT_SUPER_MAGIC */
    case 0x4244:            /* HFS_SUPER_MAGIC */
    case 0x482b:            /* HFSPLUS_SUPER_MAGIC */
        w->holes = false;
        break;
    default:
        break;
    }
}

/* Bytes of the file system blocks in [x, y) of the parent's file that are
 * holes now (or past its end).  Runs are disjoint, so only a block shared
 * with the run counted just before can be counted twice: it is not. */
static uint64_t holes_in(struct walk *w, uint64_t x, uint64_t y)
{
    uint64_t at = x / w->unit * w->unit, end = align_up_u64(y, w->unit);
    uint64_t total = 0;

    if (at + w->unit == w->file_done) {
        at = w->file_done;
    }
    w->file_done = end;
    while (at < end) {
        uint64_t st, en;
        if (data_extent(w, at, &st, &en) < 0 ||
            st >= end || en <= st) {
            total += end - at;  /* no data up to end (or cannot tell) */
            break;
        }
        total += st - at;
        at = en;
    }
    return total;
}

/* The child's sectors [off, off + len) land in the parent. */
static void plan_run(struct walk *w, uint64_t off, uint64_t len)
{
    ovfk_vhd *p = w->p;

    w->runs++;
    if (p->ft.type == OVFK_VHD_TYPE_FIXED) {
        w->filled += holes_in(w, off, off + len);
        return;
    }
    while (len > 0) {
        uint32_t bs = p->dh.block_size, pb = (uint32_t)(off / bs);
        uint64_t in = off % bs, n = len < bs - in ? len : bs - in;
        if (p->bat[pb] != VHD_BAT_FREE) {
            uint64_t fo = vhd_block_offset(p, pb) + p->bitmap_size + in;
            w->filled += holes_in(w, fo, fo + n);
        } else {
            /* new blocks' data starts VHD_DATA_ALIGN-aligned (rw.c) */
            uint64_t a = ((uint64_t)pb << 32) + in, s, e;
            if (!w->need[pb]) {
                w->need[pb] = 1;
                w->new_blocks++;
            }
            s = a / w->unit * w->unit;
            e = align_up_u64(a + n, w->unit);
            if (w->unit > VHD_DATA_ALIGN) {
                s = s >= w->unit ? s - w->unit : 0;     /* misaligned */
                e += w->unit;
            }
            if (s + w->unit == w->new_done) {
                s = w->new_done;    /* shared with the run before */
            }
            if (e > s) {
                w->new_data += e - s;
            }
            w->new_done = e;
        }
        off += n;
        len -= n;
    }
}

/* Walk one of the child's blocks: its runs of sectors. */
static int plan_block(struct walk *w, ovfk_vhd *c, uint32_t b)
{
    uint32_t spb = c->dh.block_size / VHD_SECTOR, s = 0;
    uint64_t base = (uint64_t)b * c->dh.block_size;
    int r = vhd_bitmap_load(c, b);

    if (r < 0) {
        return r;
    }
    while (s < spb) {
        uint32_t e;
        uint64_t off = base + (uint64_t)s * VHD_SECTOR, len;
        if (!bm_test(c->bm, s)) {
            s++;
            continue;
        }
        for (e = s; e < spb && bm_test(c->bm, e); e++) {
        }
        len = (uint64_t)(e - s) * VHD_SECTOR;
        if (off < w->p->size) {
            plan_run(w, off, off + len > w->p->size ? w->p->size - off : len);
        }
        s = e;
    }
    return 0;
}

/* How far the parent's file grows when the blocks in need are added at
 * its end, each where rw.c puts it (bitmap first, data aligned). */
static uint64_t growth(ovfk_vhd *p, const uint8_t *need)
{
    uint64_t end = p->footer_off, pos = end;

    for (uint32_t pb = 0; pb < p->dh.max_entries; pb++) {
        if (need[pb]) {
            pos = vhd_next_block_pos(pos, p->bitmap_size) +
                  p->bitmap_size + p->dh.block_size;
        }
    }
    return pos - end;
}

/*
 * An upper bound of the plan from the two BATs alone, reading no bitmap
 * and asking the file system nothing about the parent's holes: every
 * block of the child taken as fully written, each landing as at most its
 * bytes rounded out to file system blocks (and one more for a misaligned
 * parent), each new block of the parent with its bitmap (or whole where
 * the file system leaves no holes), every possible run with its extent
 * records.  With small blocks (a delta's default) it is close to the
 * plan; the merge takes it when the space is there and walks the plan
 * only when it is not: the plan's walk costs two seeks in the parent per
 * run, which on a parent with many extents is much of the merge.
 */
int vhd_merge_bound(const char *child, uint64_t *bytes)
{
    ovfk_vhd *chain = NULL, *c, *p;
    struct walk w;
    uint64_t data = 0, runs = 0, jb = 0, bm;
    int r;

    *bytes = 0;
    memset(&w, 0, sizeof(w));
    r = vhd_open_merge_child(child, 0, &chain);
    if (r < 0) {
        return r;
    }
    c = chain;
    p = ovfk_vhd_parent(chain);
    w.p = p;
    fs_facts(&w);
    if (p->ft.type != OVFK_VHD_TYPE_FIXED &&
        (vhd_merge_alloc_fails() ||
         !(w.need = calloc(p->dh.max_entries + 1, 1)))) {
        ovfk_vhd_close(chain);
        return ovfk_err_last(-ENOMEM, "cannot plan the merge of '%s': out "
                             "of memory", child);
    }
    for (uint32_t b = 0; b < c->dh.max_entries; b++) {
        uint64_t off = (uint64_t)b * c->dh.block_size, len;
        if (c->bat[b] == VHD_BAT_FREE || off >= p->size) {
            continue;
        }
        len = p->size - off < c->dh.block_size ? p->size - off
                                               : c->dh.block_size;
        data += align_up_u64(len, w.unit) + 2 * w.unit;
        /* at most every other sector starts a run */
        runs += (c->dh.block_size / VHD_SECTOR + 1) / 2;
        for (uint64_t at = off; w.need && at < off + len;
             at = (at / p->dh.block_size + 1) * p->dh.block_size) {
            uint32_t pb = (uint32_t)(at / p->dh.block_size);
            if (p->bat[pb] == VHD_BAT_FREE && !w.need[pb]) {
                w.need[pb] = 1;
                w.new_blocks++;
            }
        }
    }
    bm = w.new_blocks ? align_up_u64(p->bitmap_size, w.unit) : 0;
    *bytes = data + (uint64_t)w.new_blocks * bm + w.unit +
             (runs / RUNS_PER_EXTENT_BLOCK + 1) * w.unit;
    if (w.new_blocks && !w.holes) {
        *bytes += growth(p, w.need);
    }
    r = journal_bytes(child, &jb);
    *bytes += jb;
    free(w.need);
    ovfk_vhd_close(chain);
    return r < 0 ? ovfk_err_last(r, "cannot plan the merge of '%s': out of "
                                 "memory", child) : 0;
}

int ovfk_vhd_merge_plan(const char *child, struct ovfk_vhd_merge_plan *plan)
{
    return ovfk_vhd_merge_plan_into(child, NULL, plan);
}

int ovfk_vhd_merge_plan_into(const char *child, const char *target,
                        struct ovfk_vhd_merge_plan *plan)
{
    ovfk_err err = { 0 };
    ovfk_vhd *c = NULL, *chain = NULL, *p = NULL;
    struct walk w;
    int r;

    memset(plan, 0, sizeof(*plan));
    memset(&w, 0, sizeof(w));
    r = vhd_open_merge_child(child, 0, &chain);
    if (r < 0) {
        return r;
    }
    c = chain;
    snprintf(plan->parent, sizeof(plan->parent), "%s",
             target ? target : ovfk_vhd_path(ovfk_vhd_parent(chain)));
    r = vhd_open_one(plan->parent, OVFK_VHD_OPEN_NO_PARENT, &p, &err);
    if (r < 0) {
        ovfk_vhd_close(chain);
        return ovfk_err_publish(&err);
    }
    plan->parent_capacity = p->size;
    w.p = p;
    fs_facts(&w);
    if (p->ft.type != OVFK_VHD_TYPE_FIXED &&
        (vhd_merge_alloc_fails() ||
         !(w.need = calloc(p->dh.max_entries + 1, 1)))) {
        r = ovfk_err_set(&err, -ENOMEM, "cannot plan the merge of '%s': "
                         "out of memory", child);
    }
    for (uint32_t b = 0, ahead = 0; r == 0 && b < c->dh.max_entries; b++) {
        if (c->bat[b] == VHD_BAT_FREE) {
            continue;
        }
        plan->child_blocks++;
        plan->child_bytes += c->bitmap_size + c->dh.block_size;
        /* the bitmaps are scattered 2 MiB apart: ask for the next ones
         * while this one is read (the copy reads them again, cached) */
        vhd_read_ahead_blocks(c, b, PLAN_AHEAD, c->bitmap_size, &ahead);
        r = plan_block(&w, c, b);
        if (r < 0) {
            ovfk_err_set(&err, r, "%s", c->err.msg);
        }
    }
    if (r == 0) {
        plan->bytes_needed = w.filled;
        if (w.new_blocks && w.holes) {
            /* each new block's bitmap, the footer's last place */
            plan->bytes_needed += w.new_data + w.unit +
                (uint64_t)w.new_blocks * align_up_u64(p->bitmap_size, w.unit);
        } else if (w.new_blocks) {
            plan->bytes_needed += growth(p, w.need);
        }
        if (w.runs && w.holes) {
            plan->bytes_needed += (w.runs / RUNS_PER_EXTENT_BLOCK + 1) * w.unit;
        }
        uint64_t jb = 0;
        r = journal_bytes(child, &jb);
        if (r < 0) {
            ovfk_err_set(&err, r, "%s", ovfk_last_error());
        }
        plan->bytes_needed += jb;
    }
    free(w.need);
    vhd_free_one(p);
    ovfk_vhd_close(chain);
    return r < 0 ? ovfk_err_publish(&err) : 0;
}

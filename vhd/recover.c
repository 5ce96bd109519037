/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/recover.c - carry a merge from its journal's state to its end (a
 * new merge from "copying", merge.c; an interrupted one from wherever its
 * journal says, ovfk_vhd_merge_recover), and the public ovfk_vhd_open, which
 * completes an interrupted merge before a read-write open and never on a
 * read-only one (merge.c's NOTES 6-8).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/bytes.h"
#include "util/tmpfile.h"
#include "vhd/internal.h"

/* How many of the child's blocks are read ahead of the copy. */
#define READ_AHEAD_BLOCKS 16u

/* A child's block of at most VHD_SMALL_BLOCK is read whole, bitmap and
 * data in one read: its unwritten sectors are holes the file system
 * reads as zeros without I/O, and one read costs less than one per run.
 * A larger block (2 MiB) holding a few scattered runs is read run by
 * run, or the page cache would fill with its holes' zeros. */
#define WHOLE_BLOCK_MAX VHD_SMALL_BLOCK

/* What ovfk_vhd_merge_recover carries through vhd_journal_each. */
struct recovery {
    ovfk_err *err;
    int done;               /* merges completed */
};

/* Open C alone and P with its chain (P's partial writes read below it). */
static int open_pair(struct journal *j, ovfk_vhd **c, ovfk_vhd **p,
                     ovfk_err *err)
{
    int r;

    *c = *p = NULL;
    r = vhd_open_one(j->child, OVFK_VHD_OPEN_NO_PARENT, c, err);
    if (r < 0) {
        return r;
    }
    if ((*c)->ft.type != OVFK_VHD_TYPE_DIFF) {
        return ovfk_err_set(err, -EINVAL, "'%s' is not a differencing disk: "
                            "there is nothing to merge it into", j->child);
    }
    r = vhd_open_chain(j->parent, OVFK_VHD_OPEN_RDWR, p);
    if (r < 0) {
        return ovfk_err_set(err, r, "%s", ovfk_last_error());
    }
    if (memcmp((*p)->ft.uuid, (*c)->dh.parent_uuid, 16) != 0) {
        return ovfk_err_set(err, OVFK_EMISMATCH, "'%s' is not the parent of "
                            "'%s' (UUID differs)", j->parent, j->child);
    }
    if ((*p)->size < (*c)->size) {
        return ovfk_err_set(err, -EINVAL, "parent '%s' is smaller than '%s'",
                            j->parent, j->child);
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * C's allocated blocks in the order they lie in its file (one entry per
 * block, *n of them), so that the copy reads C front to back: a delta's
 * blocks lie in the order they were first written, which for a VM's
 * delta is not the disk's.  Where P receives them does not matter: its
 * writes wait in the page cache for the one fsync (NOTES: Write order).
 * NULL when memory is short.
 */
static uint32_t *file_order(ovfk_vhd *c, uint32_t *n)
{
    uint64_t *key;
    uint32_t *order, k = 0;

    *n = 0;
    for (uint32_t b = 0; b < c->dh.max_entries; b++) {
        *n += c->bat[b] != VHD_BAT_FREE;
    }
    key = m_calloc(*n + 1, sizeof(*key));
    order = m_calloc(*n + 1, sizeof(*order));
    if (!key || !order) {
        free(key);
        free(order);
        return NULL;
    }
    for (uint32_t b = 0; b < c->dh.max_entries; b++) {
        if (c->bat[b] != VHD_BAT_FREE) {
            key[k++] = (uint64_t)c->bat[b] << 32 | b;
        }
    }
    qsort(key, *n, sizeof(*key), cmp_u64);
    for (uint32_t i = 0; i < *n; i++) {
        order[i] = (uint32_t)key[i];
    }
    free(key);
    return order;
}

/* Write the runs of sectors set in bm (block b of C) into P: each run's
 * bytes are at data + its offset, read already (whole) or read here into
 * buf.  Clipped to C's size. */
static int copy_runs(ovfk_vhd *c, ovfk_vhd *p, uint32_t b, const uint8_t *bm,
                     const uint8_t *whole, uint8_t *buf, ovfk_err *err)
{
    uint32_t bs = c->dh.block_size, spb = bs / VHD_SECTOR, s = 0;
    uint64_t base = (uint64_t)b * bs;
    uint64_t data = vhd_block_offset(c, b) + c->bitmap_size;
    int r = 0;

    while (r == 0 && s < spb) {
        uint32_t e;
        uint64_t at = base + (uint64_t)s * VHD_SECTOR, len;
        const uint8_t *src = whole ? whole + (uint64_t)s * VHD_SECTOR : buf;
        if (!bm_test(bm, s)) {
            s++;
            continue;
        }
        for (e = s; e < spb && bm_test(bm, e); e++) {
        }
        len = (uint64_t)(e - s) * VHD_SECTOR;
        if (at + len > c->size) {
            len = at < c->size ? c->size - at : 0;
        }
        if (len && !whole) {
            r = ovfk_io_pread(c->io, buf, len,
                              data + (uint64_t)s * VHD_SECTOR);
            if (r < 0) {
                ovfk_err_set(err, r, "cannot read '%s': %s", c->path,
                             ovfk_errtext(r));
            }
        }
        if (r == 0 && len && (r = ovfk_vhd_pwrite(p, src, len, at)) < 0) {
            ovfk_err_set(err, r, "%s", ovfk_vhd_error(p));
        }
        s = e;
    }
    return r;
}

/* Copy every sector C holds into P, block by block in C's file order
 * (order: file_order's, n blocks), through buf (one of C's blocks with
 * its bitmap).  Idempotent. */
static int copy_data(ovfk_vhd *c, ovfk_vhd *p, uint8_t *buf,
                     const uint32_t *order, uint32_t n,
                     ovfk_progress_fn progress, void *opaque, ovfk_err *err)
{
    uint32_t bs = c->dh.block_size, done = 0;
    bool whole = bs <= WHOLE_BLOCK_MAX;
    int r = 0;

    for (uint32_t i = 0, ahead = 0; r == 0 && i < n; i++) {
        uint32_t b = order[i];
        /* keep the next blocks' reads in flight while this one is copied:
         * the kernel's own read-ahead does not join runs with holes
         * between them */
        vhd_read_ahead_order(c, order, n, i, READ_AHEAD_BLOCKS,
                             c->bitmap_size + bs, whole, &ahead);
        if (whole) {
            r = ovfk_io_pread(c->io, buf, c->bitmap_size + bs,
                              vhd_block_offset(c, b));
            if (r < 0) {
                ovfk_err_set(err, r, "cannot read '%s': %s", c->path,
                             ovfk_errtext(r));
            } else {
                r = copy_runs(c, p, b, buf, buf + c->bitmap_size, NULL, err);
            }
        } else {
            r = vhd_bitmap_load(c, b);
            if (r < 0) {
                ovfk_err_set(err, r, "%s", c->err.msg);
            } else {
                r = copy_runs(c, p, b, c->bm, NULL, buf, err);
            }
        }
        if (++done == (n + 1) / 2) {       /* a one-block merge too */
            ovfk_crash_point(2);
        }
        if (r == 0 && progress && progress(opaque, done, n)) {
            r = ovfk_err_set(err, -ECANCELED, "canceled (the merge journal "
                             "stays; vhd repair or the next write "
                             "completes it)");
        }
    }
    return r;
}

/*
 * Point one child G at P: restore its saved header, then re-point.  *gp is
 * G's handle, allocated with its path by prepare(); it is freed here.
 */
static int repoint(struct child_hdr *k, ovfk_vhd **gp, ovfk_vhd *p,
                   const char *ppath, ovfk_err *err)
{
    uint8_t ft[VHD_FOOTER_SIZE];
    ovfk_vhd *g = *gp;
    uint64_t next;
    int r;

    g->flags = OVFK_VHD_OPEN_RDWR;
    r = ovfk_io_open_file(k->path, OVFK_IO_RDWR, &g->io);
    if (r == 0) {
        r = ovfk_io_size(g->io, &g->file_size);
    }
    if (r < 0) {
        ovfk_err_set(err, r, "cannot open '%s' to re-point it", k->path);
        goto out;
    }
    /* the footer is intact (never written here but at the end) */
    r = g->file_size < sizeof(ft) ? -EINVAL
        : ovfk_io_pread(g->io, ft, sizeof(ft), g->file_size - sizeof(ft));
    if (r < 0 || !vhd_footer_cookie_ok(ft) || !vhd_footer_checksum_ok(ft)) {
        r = ovfk_err_set(err, OVFK_ECORRUPT, "'%s' has no valid footer; run "
                         "'ovfkit vhd repair' on it", k->path);
        goto out;
    }
    vhd_footer_decode(ft, &g->ft);
    g->footer_off = g->file_size - VHD_FOOTER_SIZE;
    vhd_dynhdr_decode(k->old, &g->dh);
    next = g->footer_off;
    r = vhd_set_parent_fields(g, p, ppath, 0, &next);
    if (r == 0) {
        r = vhd_write_header(g);
    }
    if (r == 0 && next > g->footer_off) {
        r = vhd_write_footer_at(g, next);   /* locators grew the file */
    }
    if (r == 0) {
        r = ovfk_io_sync(g->io);
    }
    if (r < 0 && !err->code) {
        ovfk_err_set(err, r, "%s", g->err.msg[0] ? g->err.msg
                                                 : ovfk_errtext(r));
    }
out:
    vhd_free_one(g);
    *gp = NULL;
    return r;
}

static void sync_dir(const char *file)
{
    char d[PATH_MAX];
    int fd;

    snprintf(d, sizeof(d), "%s", file);
    fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* What a merge or a recovery needs from its first write to its end. */
struct merge_res {
    ovfk_vhd *c, *p;           /* C alone, P with its chain (P alone when
                             * re-pointing) */
    uint8_t *buf;           /* one of C's blocks and its bitmap (copying) */
    uint32_t *order;        /* C's blocks in file order (copying) */
    uint32_t n_order;
    char *copying;          /* the journal's texts: a new merge's first */
    char *repointing;       /* the next state (copying) */
    ovfk_vhd **g;              /* each G's handle, opened at its turn */
    size_t n_g;
};

static void release(struct merge_res *m)
{
    vhd_free_one(m->c);
    ovfk_vhd_close(m->p);
    free(m->buf);
    free(m->order);
    free(m->copying);
    free(m->repointing);
    for (size_t i = 0; m->g && i < m->n_g; i++) {
        vhd_free_one(m->g[i]);
    }
    free(m->g);
    memset(m, 0, sizeof(*m));
}

/*
 * Open and allocate everything the merge needs from j's state to its end
 * (fresh: a new merge, its journal not written yet), before its first
 * write.  Returns 0, or a negative errno (-ENOMEM when memory is short)
 * with nothing written; release(m) either way.
 */
static int prepare(struct journal *j, bool fresh, struct merge_res *m,
                   ovfk_err *err)
{
    int r = 0;

    memset(m, 0, sizeof(*m));
    if (!strcmp(j->state, "copying")) {
        r = open_pair(j, &m->c, &m->p, err);
        if (r == 0 && (vhd_merge_alloc_fails() ||
                       !(m->buf = aligned_alloc(4096, align_up_u64(
                           (uint64_t)m->c->bitmap_size +
                           m->c->dh.block_size, 4096))) ||
                       !(m->order = file_order(m->c, &m->n_order)))) {
            r = vhd_merge_nomem(err, "merge", j->child);
        }
        if (r == 0 && fresh) {
            r = vhd_journal_render(j, "copying", &m->copying, err);
        }
        if (r == 0) {
            r = vhd_journal_render(j, "repointing", &m->repointing, err);
        }
    } else {
        r = vhd_open_chain(j->parent, 0, &m->p);
        if (r < 0) {
            ovfk_err_set(err, r, "%s", ovfk_last_error());
        }
    }
    if (r == 0 && !(m->g = m_calloc(j->n_kids + 1, sizeof(*m->g)))) {
        r = vhd_merge_nomem(err, "merge", j->child);
    }
    for (size_t i = 0; r == 0 && i < j->n_kids; i++) {
        m->n_g++;
        if (!(m->g[i] = m_calloc(1, sizeof(*m->g[i]))) ||
            !(m->g[i]->path = m_strdup(j->kids[i].path))) {
            r = vhd_merge_nomem(err, "re-point", j->kids[i].path);
        }
    }
    return r;
}

/* From "repointing" to the end. */
static int finish(struct journal *j, struct merge_res *m, ovfk_err *err)
{
    int r = 0;

    for (size_t i = 0; r == 0 && i < j->n_kids; i++) {
        r = repoint(&j->kids[i], &m->g[i], m->p, j->parent, err);
        if (i == 0) {
            ovfk_crash_point(6);
        }
    }
    if (r < 0) {
        return r;
    }
    ovfk_crash_point(7);
    if (!j->keep_child && unlink(j->child) < 0 && errno != ENOENT) {
        return ovfk_err_set(err, -errno, "cannot remove '%s': %s", j->child,
                            ovfk_errtext(-errno));
    }
    sync_dir(j->child);
    ovfk_crash_point(8);
    unlink(j->path);
    sync_dir(j->path);
    return 0;
}

/* The whole merge from j's state ("copying" and fresh: a new merge, whose
 * journal is written first). */
int vhd_merge_run(struct journal *j, bool fresh, ovfk_progress_fn progress,
               void *opaque, ovfk_err *err)
{
    struct merge_res m;
    int r = prepare(j, fresh, &m, err);

    if (r == 0 && fresh) {
        r = vhd_journal_write(j, "copying", m.copying, err);
        if (r == 0) {
            ovfk_crash_point(1);
        }
    }
    if (r == 0 && !strcmp(j->state, "copying")) {
        r = copy_data(m.c, m.p, m.buf, m.order, m.n_order, progress, opaque,
                      err);
        if (r == 0) {
            ovfk_crash_point(3);
            r = ovfk_vhd_flush(m.p);
            if (r < 0) {
                ovfk_err_set(err, r, "%s", ovfk_vhd_error(m.p));
            }
        }
        if (r == 0) {
            ovfk_crash_point(4);
            r = vhd_journal_write(j, "repointing", m.repointing, err);
        }
        if (r == 0) {
            ovfk_crash_point(5);
        }
        vhd_free_one(m.c);
        m.c = NULL;
    }
    if (r == 0) {
        r = finish(j, &m, err);
    }
    release(&m);
    return r;
}

/* One journal that concerns the file recovered: carry its merge out. */
static int recover_one(struct journal *j, void *opaque)
{
    struct recovery *rc = opaque;
    int r = vhd_merge_run(j, false, NULL, NULL, rc->err);

    rc->done += r == 0;
    return r;
}

int ovfk_vhd_merge_recover(const char *path)
{
    char abs[PATH_MAX], jp[PATH_MAX];
    ovfk_err err = { 0 };
    struct recovery rc = { .err = &err };
    int r;

    if (!realpath(path, abs)) {
        if (errno == ENOMEM) {
            return ovfk_err_last(-ENOMEM, "cannot resolve '%s': out of "
                                 "memory", path);
        }
        return 0;   /* nothing there: ovfk_vhd_open reports it */
    }
    r = vhd_journal_each(abs, false, recover_one, &rc, jp, &err);
    if (r < 0) {
        if (jp[0]) {
            ovfk_err_prefix(&err, "cannot complete the interrupted merge "
                            "recorded in '%s'", jp);
        }
        return ovfk_err_publish(&err);
    }
    return rc.done;
}

/*
 * The public open.  Reading never writes (STYLE.md 2): a read-only open
 * is vhd_open_chain's, which reads an unfinished merge through its journal
 * (merge.c NOTES 6).  A read-write open is a write: an interrupted merge
 * that concerns path is completed first, and when it cannot be (still no
 * space) the open fails, as writing beside a merge in flight could break
 * its invariants (a write into C or P would be lost or undone).
 */
int ovfk_vhd_open(const char *path, int flags, ovfk_vhd **out)
{
    *out = NULL;
    if (flags & OVFK_VHD_OPEN_RDWR) {
        int r = ovfk_vhd_merge_recover(path);
        if (r < 0) {
            return r;
        }
    }
    return vhd_open_chain(path, flags, out);
}

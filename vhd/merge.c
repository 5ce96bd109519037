/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/merge.c - merge a differencing disk C into its parent P, in place,
 * crash-safe.
 *
 * NOTES
 *
 * The chain is  ... <- P <- C <- G1, G2 ...  (G: C's own children, often
 * the VM's current delta).  Deleting the snapshot whose state is P's
 * contents copies C's data into P, points the G at P, and removes C.
 *
 * States (recorded in the journal ".<C>.merge.json" beside C, written to a
 * temporary and renamed, then fsync'ed):
 *   (none)      no merge
 *   copying     C's sectors are being written into P
 *   repointing  P holds C's data (fsync'ed); the G are being pointed at P;
 *               the journal holds each G's old header
 *   (none)      C and the journal removed
 *
 * Invariants:
 *   1. C is never written.  Every sector C holds is still read from C by
 *      everything above it, so whatever P holds beneath it does not show.
 *   2. P only ever receives sectors C holds, and its new blocks read as
 *      zeros (dynamic) or fall through (differencing) elsewhere: at every
 *      step, C and each G read the same logical data as before the merge.
 *   3. A G is pointed at P only after P holds all of C's data and has been
 *      fsync'ed; C is removed only after every G points at P.
 *   4. P's own old contents (the deleted snapshot's state) are given up at
 *      the first write.  So the merge only goes forward: recovery repeats
 *      the copy (idempotent: the same sectors again) and the re-pointing
 *      (from the saved headers), never undoes.  Before the journal says
 *      "copying" nothing was written and there is nothing to undo.
 *   5. The journal lists every G, and every G listed is re-pointed before
 *      C is removed: a G that cannot be found, saved or listed (no
 *      memory) fails the merge before its first write.
 *
 * Write order (everything allocated first, see Memory below):
 *   journal(copying) -> fsync
 *   for each block of C: data into P (P's own order: footer -> data ->
 *     BAT, see rw.c)
 *   fsync P -> journal(repointing, old headers of the G) -> fsync
 *   for each G: locator data -> header -> footer -> fsync G
 *   unlink C (unless the caller keeps it) -> unlink journal -> fsync dir
 *
 * Crash points (OVFKIT_CRASH_AT=N kills the process there, for tests):
 *   1 journal written, nothing copied    5 journal says repointing
 *   2 half of C's blocks copied          6 first G re-pointed
 *   3 all copied, P not yet fsync'ed     7 every G re-pointed, C not removed
 *   4 P fsync'ed, journal not updated    8 C removed, journal not removed
 * ENOSPC or an I/O error at any write leaves the journal: the chain reads
 * correctly, and the merge completes once the cause is gone.
 *
 * Memory: everything this file allocates for a merge (the children's
 * saved headers, the journal texts of both states, the copy buffer, the
 * handles of C, P and each G) is allocated before the merge's first write,
 * the journal included; recovery likewise allocates before it writes.  An
 * allocation that fails ends the merge or the recovery with -ENOMEM and
 * leaves the files as they were: no journal, or the old journal untouched.
 * A failure is never taken as "no children" (invariant 5).  Allocations
 * below this file (the I/O layer's handle when a G is opened at its turn,
 * the locator buffers of dynhdr.c) can still fail after the first write:
 * they fail as an I/O error does, the journal stays, and the merge
 * completes once memory is there.
 *
 * Allocation failures (OVFKIT_FAIL_ALLOC_AT=N, for tests): the Nth
 * allocation of the merge code in the process (this file and
 * merge_plan.c, counted from vhd_find_children and the plan on) fails as
 * if the system were out of memory, and a line on stderr says so, so a
 * test can tell the failure it caused from one that went unnoticed.
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
#include <sys/statvfs.h>
#include <unistd.h>

#include "util/bytes.h"
#include "util/tmpfile.h"
#include "vhd/internal.h"

bool vhd_merge_alloc_fails(void)
{
    static _Atomic long count;
    const char *spec = getenv("OVFKIT_FAIL_ALLOC_AT");
    long n;

    if (!spec || (n = ++count) != atol(spec)) {
        return false;
    }
    fprintf(stderr, "ovfkit: OVFKIT_FAIL_ALLOC_AT=%ld: the merge's "
            "allocation %ld fails\n", n, n);
    return true;
}

static void *m_calloc(size_t n, size_t size)
{
    return vhd_merge_alloc_fails() ? NULL : calloc(n, size);
}

static void *m_realloc(void *p, size_t n)
{
    return vhd_merge_alloc_fails() ? NULL : realloc(p, n);
}

static char *m_strdup(const char *s)
{
    return vhd_merge_alloc_fails() ? NULL : strdup(s);
}

int vhd_open_merge_child(const char *child, int flags, vhd_t **chain)
{
    int r = vhd_open(child, flags, chain);

    if (r < 0) {
        return r;
    }
    if (!vhd_parent(*chain)) {
        vhd_close(*chain);
        *chain = NULL;
        return ovfk_err_last(-EINVAL, "'%s' has no parent to merge into",
                             child);
    }
    return 0;
}

/* How many of the child's blocks are read ahead of the copy (2 MiB each). */
#define READ_AHEAD_BLOCKS 16u

/*
 * Ask the kernel to start reading [off, off + len) of v's file, its data
 * extents only: advice over the holes would fill the page cache with
 * zeros.
 */
static void read_ahead(vhd_t *v, uint64_t off, uint64_t len)
{
    int fd = ovfk_io_fd(v->io);
    off_t at = (off_t)off, end = (off_t)(off + len);

    while (at < end) {
        off_t d = lseek(fd, at, SEEK_DATA), h;
        if (d < 0 || d >= end) {
            return;
        }
        h = lseek(fd, d, SEEK_HOLE);
        if (h < 0 || h > end) {
            h = end;
        }
        posix_fadvise(fd, d, h - d, POSIX_FADV_WILLNEED);
        at = h;
    }
}

void vhd_read_ahead_blocks(vhd_t *v, uint32_t b, uint32_t window,
                          uint64_t len, uint32_t *ahead)
{
    uint32_t a = *ahead > b ? *ahead : b + 1;

    for (; a < v->dh.max_entries && a < b + window; a++) {
        if (v->bat[a] != VHD_BAT_FREE) {
            read_ahead(v, vhd_block_offset(v, a), len);
        }
    }
    *ahead = a;
}

struct child_hdr {
    char *path;
    uint8_t old[VHD_DYNHDR_SIZE];
};

struct journal {
    char path[PATH_MAX];        /* the journal file */
    char state[16];
    char child[PATH_MAX], parent[PATH_MAX];
    uint8_t child_uuid[16], parent_uuid[16];
    struct child_hdr *kids;
    size_t n_kids;
    bool keep_child;            /* VHD_MERGE_KEEP_CHILD: the caller removes C */
};

static void journal_free(struct journal *j)
{
    for (size_t i = 0; i < j->n_kids; i++) {
        free(j->kids[i].path);
    }
    free(j->kids);
    j->kids = NULL;
    j->n_kids = 0;
}

static void journal_name(const char *child, char *out, size_t len)
{
    char d[PATH_MAX], b[PATH_MAX];

    snprintf(d, sizeof(d), "%s", child);
    snprintf(b, sizeof(b), "%s", child);
    snprintf(out, len, "%s/.%s.merge.json", dirname(d), basename(b));
}

/* A message for an allocation that failed while doing what. */
static int nomem(ovfk_err *err, const char *what, const char *path)
{
    return ovfk_err_set(err, -ENOMEM, "cannot %s '%s': out of memory", what,
                        path);
}

/* A json-c object the merge allocated (NULL when it failed, or fails by
 * OVFKIT_FAIL_ALLOC_AT). */
static json_object *m_json(json_object *o)
{
    if (o && vhd_merge_alloc_fails()) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* Add key = v to o (v is taken; put when it cannot be added). */
static bool jadd(json_object *o, const char *key, json_object *v)
{
    v = m_json(v);
    if (!o || !v || json_object_object_add(o, key, v) < 0) {
        json_object_put(v);
        return false;
    }
    return true;
}

/* Append v to array a (v is taken; put when it cannot be added). */
static bool jpush(json_object *a, json_object *v)
{
    if (!a || !v || json_object_array_add(a, v) < 0) {
        json_object_put(v);
        return false;
    }
    return true;
}

/*
 * The journal's text for state (allocated, the caller frees it): 0, or
 * -ENOMEM with the message in err.  Every G is in it, or it fails: a
 * journal listing fewer children would let recovery unlink C under one.
 */
static int journal_render(const struct journal *j, const char *state,
                          char **out, ovfk_err *err)
{
    static const char digits[] = "0123456789abcdef";
    json_object *o = m_json(json_object_new_object());
    json_object *kids = m_json(json_object_new_array());
    char cu[37], pu[37], hex[2 * VHD_DYNHDR_SIZE + 1];
    const char *text;
    bool ok;

    *out = NULL;
    vhd_uuid_str(j->child_uuid, cu);
    vhd_uuid_str(j->parent_uuid, pu);
    ok = o && kids &&
         jadd(o, "version", json_object_new_int(1)) &&
         jadd(o, "state", json_object_new_string(state)) &&
         jadd(o, "child", json_object_new_string(j->child)) &&
         jadd(o, "parent", json_object_new_string(j->parent)) &&
         jadd(o, "keep_child", json_object_new_boolean(j->keep_child)) &&
         jadd(o, "child_uuid", json_object_new_string(cu)) &&
         jadd(o, "parent_uuid", json_object_new_string(pu));
    for (size_t i = 0; ok && i < j->n_kids; i++) {
        json_object *k = m_json(json_object_new_object());
        for (size_t b = 0; b < VHD_DYNHDR_SIZE; b++) {
            hex[2 * b] = digits[j->kids[i].old[b] >> 4];
            hex[2 * b + 1] = digits[j->kids[i].old[b] & 15];
        }
        hex[2 * VHD_DYNHDR_SIZE] = '\0';
        ok = k && jadd(k, "path", json_object_new_string(j->kids[i].path)) &&
             jadd(k, "header", json_object_new_string(hex));
        if (ok) {
            ok = jpush(kids, k);
        } else {
            json_object_put(k);
        }
    }
    if (ok) {
        ok = jadd(o, "children", kids);
    } else {
        json_object_put(kids);
    }
    text = ok ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY)
              : NULL;
    *out = text ? m_strdup(text) : NULL;
    json_object_put(o);
    if (!*out) {
        return nomem(err, "write the merge journal", j->path);
    }
    return 0;
}

/* Replace the journal by text (journal_render's for state). */
static int journal_write(struct journal *j, const char *state,
                         const char *text, ovfk_err *err)
{
    int r = ovfk_write_file_atomic(j->path, text, strlen(text));

    if (r < 0) {
        return ovfk_err_set(err, r, "cannot write the merge journal '%s': "
                            "%s", j->path, ovfk_errtext(r));
    }
    snprintf(j->state, sizeof(j->state), "%s", state);
    return 0;
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
    if (!s || strlen(s) != 2 * n) {
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return -EINVAL;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v)
                                                 : NULL;
}

static int journal_read(const char *path, struct journal *j, ovfk_err *err)
{
    json_object *o = json_object_from_file(path), *kids;
    const char *s;
    int r = 0;

    memset(j, 0, sizeof(*j));
    snprintf(j->path, sizeof(j->path), "%s", path);
    if (o && vhd_merge_alloc_fails()) {
        json_object_put(o);
        return nomem(err, "read the merge journal", path);
    }
    if (!o) {
        return ovfk_err_set(err, OVFK_ECORRUPT, "merge journal '%s' cannot "
                            "be read", path);
    }
    snprintf(j->state, sizeof(j->state), "%s", (s = jstr(o, "state")) ? s : "");
    snprintf(j->child, sizeof(j->child), "%s", (s = jstr(o, "child")) ? s : "");
    snprintf(j->parent, sizeof(j->parent), "%s",
             (s = jstr(o, "parent")) ? s : "");
    j->keep_child = json_object_object_get_ex(o, "keep_child", &kids) &&
                    json_object_get_boolean(kids);
    if (!j->child[0] || !j->parent[0] ||
        (strcmp(j->state, "copying") && strcmp(j->state, "repointing")) ||
        vhd_uuid_parse(jstr(o, "child_uuid"), j->child_uuid) < 0 ||
        vhd_uuid_parse(jstr(o, "parent_uuid"), j->parent_uuid) < 0 ||
        !json_object_object_get_ex(o, "children", &kids) ||
        !json_object_is_type(kids, json_type_array)) {
        r = ovfk_err_set(err, OVFK_ECORRUPT, "merge journal '%s' is "
                         "incomplete", path);
    }
    if (r == 0) {
        /* every child or none: one left out would not be re-pointed */
        size_t n = json_object_array_length(kids);
        j->kids = m_calloc(n + 1, sizeof(*j->kids));
        if (!j->kids) {
            r = nomem(err, "read the merge journal", path);
        }
        for (size_t i = 0; r == 0 && i < n; i++) {
            json_object *k = json_object_array_get_idx(kids, i);
            const char *kp = jstr(k, "path");
            if (!kp || !kp[0] || unhex(jstr(k, "header"), j->kids[i].old,
                                       VHD_DYNHDR_SIZE) < 0) {
                r = ovfk_err_set(err, OVFK_ECORRUPT, "merge journal '%s': "
                                 "bad saved child", path);
            } else if (!(j->kids[i].path = m_strdup(kp))) {
                r = nomem(err, "read the merge journal", path);
            } else {
                j->n_kids++;
            }
        }
    }
    json_object_put(o);
    return r;
}

/* Open C alone and P with its chain (P's partial writes read below it). */
static int open_pair(struct journal *j, vhd_t **c, vhd_t **p, ovfk_err *err)
{
    int r;

    *c = *p = NULL;
    r = vhd_open_one(j->child, VHD_OPEN_NO_PARENT | VHD_OPEN_NO_RECOVER, c,
                     err);
    if (r < 0) {
        return r;
    }
    if ((*c)->ft.type != VHD_TYPE_DIFF) {
        return ovfk_err_set(err, -EINVAL, "'%s' is not a differencing disk: "
                            "there is nothing to merge it into", j->child);
    }
    r = vhd_open(j->parent, VHD_OPEN_RDWR | VHD_OPEN_NO_RECOVER, p);
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

/* Copy every sector C holds into P, through buf (one of C's blocks).
 * Idempotent. */
static int copy_data(vhd_t *c, vhd_t *p, uint8_t *buf,
                     ovfk_progress_fn progress, void *opaque, ovfk_err *err)
{
    uint32_t bs = c->dh.block_size, spb = bs / VHD_SECTOR, done = 0, total = 0;
    int r = 0;

    for (uint32_t b = 0; b < c->dh.max_entries; b++) {
        total += c->bat[b] != VHD_BAT_FREE;
    }
    for (uint32_t b = 0, ahead = 0; r == 0 && b < c->dh.max_entries; b++) {
        uint64_t base = (uint64_t)b * bs, data;
        uint32_t s = 0;
        if (c->bat[b] == VHD_BAT_FREE) {
            continue;
        }
        /* keep the next blocks' reads in flight while this one is copied:
         * the child's data is scattered in small runs the kernel's own
         * read-ahead does not join (holes lie between them) */
        vhd_read_ahead_blocks(c, b, READ_AHEAD_BLOCKS, c->bitmap_size + bs,
                              &ahead);
        r = vhd_bitmap_load(c, b);
        if (r < 0) {
            ovfk_err_set(err, r, "%s", c->err.msg);
            break;
        }
        data = vhd_block_offset(c, b) + c->bitmap_size;
        while (r == 0 && s < spb) {
            uint32_t e;
            uint64_t len;
            if (!bm_test(c->bm, s)) {
                s++;
                continue;
            }
            for (e = s; e < spb && bm_test(c->bm, e); e++) {
            }
            len = (uint64_t)(e - s) * VHD_SECTOR;
            if (base + (uint64_t)s * VHD_SECTOR + len > c->size) {
                len = base + (uint64_t)s * VHD_SECTOR < c->size ?
                      c->size - base - (uint64_t)s * VHD_SECTOR : 0;
            }
            if (len) {
                r = ovfk_io_pread(c->io, buf, len,
                                  data + (uint64_t)s * VHD_SECTOR);
                if (r < 0) {
                    ovfk_err_set(err, r, "cannot read '%s': %s", c->path,
                                 ovfk_errtext(r));
                } else if ((r = vhd_pwrite(p, buf, len, base +
                                           (uint64_t)s * VHD_SECTOR)) < 0) {
                    ovfk_err_set(err, r, "%s", vhd_error(p));
                }
            }
            s = e;
        }
        if (++done == total / 2) {
            ovfk_crash_point(2);
        }
        if (r == 0 && progress && progress(opaque, done, total)) {
            r = ovfk_err_set(err, -ECANCELED, "canceled (the merge journal "
                             "stays; the next open completes it)");
        }
    }
    return r;
}

/*
 * Point one child G at P: restore its saved header, then re-point.  *gp is
 * G's handle, allocated with its path by prepare(); it is freed here.
 */
static int repoint(struct child_hdr *k, vhd_t **gp, vhd_t *p,
                   const char *ppath, ovfk_err *err)
{
    uint8_t ft[VHD_FOOTER_SIZE];
    vhd_t *g = *gp;
    uint64_t next;
    int r;

    g->flags = VHD_OPEN_RDWR;
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
    vhd_t *c, *p;           /* C alone, P with its chain (P alone when
                             * re-pointing) */
    uint8_t *buf;           /* one of C's blocks (copying) */
    char *copying;          /* the journal's texts: a new merge's first */
    char *repointing;       /* the next state (copying) */
    vhd_t **g;              /* each G's handle, opened at its turn */
    size_t n_g;
};

static void release(struct merge_res *m)
{
    vhd_free_one(m->c);
    vhd_close(m->p);
    free(m->buf);
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
                       !(m->buf = aligned_alloc(4096, m->c->dh.block_size)))) {
            r = nomem(err, "merge", j->child);
        }
        if (r == 0 && fresh) {
            r = journal_render(j, "copying", &m->copying, err);
        }
        if (r == 0) {
            r = journal_render(j, "repointing", &m->repointing, err);
        }
    } else {
        r = vhd_open(j->parent, VHD_OPEN_NO_RECOVER, &m->p);
        if (r < 0) {
            ovfk_err_set(err, r, "%s", ovfk_last_error());
        }
    }
    if (r == 0 && !(m->g = m_calloc(j->n_kids + 1, sizeof(*m->g)))) {
        r = nomem(err, "merge", j->child);
    }
    for (size_t i = 0; r == 0 && i < j->n_kids; i++) {
        m->n_g++;
        if (!(m->g[i] = m_calloc(1, sizeof(*m->g[i]))) ||
            !(m->g[i]->path = m_strdup(j->kids[i].path))) {
            r = nomem(err, "re-point", j->kids[i].path);
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
static int run(struct journal *j, bool fresh, ovfk_progress_fn progress,
               void *opaque, ovfk_err *err)
{
    struct merge_res m;
    int r = prepare(j, fresh, &m, err);

    if (r == 0 && fresh) {
        r = journal_write(j, "copying", m.copying, err);
        if (r == 0) {
            ovfk_crash_point(1);
        }
    }
    if (r == 0 && !strcmp(j->state, "copying")) {
        r = copy_data(m.c, m.p, m.buf, progress, opaque, err);
        if (r == 0) {
            ovfk_crash_point(3);
            r = vhd_flush(m.p);
            if (r < 0) {
                ovfk_err_set(err, r, "%s", vhd_error(m.p));
            }
        }
        if (r == 0) {
            ovfk_crash_point(4);
            r = journal_write(j, "repointing", m.repointing, err);
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

/* The children of C: files beside it whose parent UUID is C's. */
static int read_old_headers(struct journal *j, const char *const *kids,
                            size_t n, ovfk_err *err)
{
    j->kids = m_calloc(n + 1, sizeof(*j->kids));
    if (!j->kids) {
        return nomem(err, "merge", j->child);
    }
    for (size_t i = 0; i < n; i++) {
        vhd_t *g;
        char abs[PATH_MAX];
        int r = vhd_open_one(kids[i], VHD_OPEN_NO_PARENT |
                             VHD_OPEN_NO_RECOVER, &g, err);
        if (r < 0) {
            return r;
        }
        if (memcmp(g->dh.parent_uuid, j->child_uuid, 16) != 0 ||
            g->ft.type != VHD_TYPE_DIFF) {
            vhd_free_one(g);
            return ovfk_err_set(err, -EINVAL, "'%s' is not a child of '%s'",
                                kids[i], j->child);
        }
        r = ovfk_io_pread(g->io, j->kids[i].old, VHD_DYNHDR_SIZE,
                          g->ft.data_offset);
        vhd_free_one(g);
        if (r < 0) {
            return ovfk_err_set(err, r, "cannot read '%s'", kids[i]);
        }
        if (!realpath(kids[i], abs)) {
            return ovfk_err_set(err, -errno, "cannot resolve '%s': %s",
                                kids[i], ovfk_errtext(-errno));
        }
        if (!(j->kids[i].path = m_strdup(abs))) {
            return nomem(err, "re-point", kids[i]);
        }
        j->n_kids++;
    }
    return 0;
}

/* Refuse, before writing anything, a merge the file system cannot hold. */
static int check_space(struct journal *j)
{
    struct vhd_merge_plan plan;
    struct statvfs fs;
    uint64_t avail;
    int r = vhd_merge_plan(j->child, &plan);

    if (r < 0) {
        return r;
    }
    /* OVFKIT_NO_SPACE_CHECK=1 lets tests run out of space mid-merge */
    if (statvfs(j->parent, &fs) < 0 || getenv("OVFKIT_NO_SPACE_CHECK")) {
        return 0;   /* cannot tell: let the writes decide */
    }
    avail = (uint64_t)fs.f_bavail * fs.f_frsize;
    if (avail < plan.bytes_needed) {
        return ovfk_err_last(-ENOSPC, "merging '%s' into '%s' needs %llu "
                             "bytes free; %llu are available", j->child,
                             j->parent, (unsigned long long)plan.bytes_needed,
                             (unsigned long long)avail);
    }
    return 0;
}

int vhd_merge(const char *child, const char *const *kids, size_t n,
              unsigned flags, ovfk_progress_fn progress, void *opaque)
{
    struct journal j;
    ovfk_err err = { 0 };
    vhd_t *c = NULL, *chain = NULL;
    int r;

    memset(&j, 0, sizeof(j));
    r = vhd_merge_recover(child);
    if (r < 0) {
        return r;
    }
    /* the chain must open cleanly: parent found, UUIDs right */
    r = vhd_open_merge_child(child, VHD_OPEN_NO_RECOVER, &chain);
    if (r < 0) {
        return r;
    }
    c = chain;
    if (!realpath(child, j.child) ||
        !realpath(vhd_path(vhd_parent(chain)), j.parent)) {
        vhd_close(chain);
        return ovfk_err_last(-errno, "cannot resolve the chain of '%s'",
                             child);
    }
    j.keep_child = flags & VHD_MERGE_KEEP_CHILD;
    memcpy(j.child_uuid, c->ft.uuid, 16);
    memcpy(j.parent_uuid, c->dh.parent_uuid, 16);
    vhd_close(chain);
    r = check_space(&j);
    if (r < 0) {
        return r;
    }
    journal_name(j.child, j.path, sizeof(j.path));
    r = read_old_headers(&j, kids, n, &err);
    if (r == 0) {
        snprintf(j.state, sizeof(j.state), "copying");
        r = run(&j, true, progress, opaque, &err);
    }
    journal_free(&j);
    return r < 0 ? ovfk_err_publish(&err) : 0;
}

/* Does the journal concern path (as child, parent or a re-pointed G)? */
static bool concerns(const struct journal *j, const char *abs)
{
    if (!strcmp(j->child, abs) || !strcmp(j->parent, abs)) {
        return true;
    }
    for (size_t i = 0; i < j->n_kids; i++) {
        if (!strcmp(j->kids[i].path, abs)) {
            return true;
        }
    }
    return false;
}

int vhd_merge_recover(const char *path)
{
    char abs[PATH_MAX], dir[PATH_MAX], jp[PATH_MAX];
    ovfk_err err = { 0 };
    struct dirent *e;
    int r = 0, done = 0;
    DIR *d;

    if (!realpath(path, abs)) {
        if (errno == ENOMEM) {
            return ovfk_err_last(-ENOMEM, "cannot resolve '%s': out of "
                                 "memory", path);
        }
        return 0;   /* nothing there: vhd_open reports it */
    }
    snprintf(jp, sizeof(jp), "%s", abs);
    snprintf(dir, sizeof(dir), "%s", dirname(jp));
    d = opendir(dir);
    if (!d) {
        /* a journal there cannot be ruled out */
        return ovfk_err_last(-errno, "cannot look for an interrupted merge "
                             "in '%s': %s", dir, ovfk_errtext(-errno));
    }
    while (r == 0 && (e = readdir(d))) {
        struct journal j;
        size_t n = strlen(e->d_name);
        if (e->d_name[0] != '.' || n < 12 ||
            strcmp(e->d_name + n - 11, ".merge.json")) {
            continue;
        }
        snprintf(jp, sizeof(jp), "%s/%s", dir, e->d_name);
        r = journal_read(jp, &j, &err);
        if (r == 0 && concerns(&j, abs)) {
            r = run(&j, false, NULL, NULL, &err);
            done = r == 0;
        }
        journal_free(&j);
    }
    closedir(d);
    if (r < 0) {
        ovfk_err_prefix(&err, "cannot complete the interrupted merge "
                        "recorded in '%s'", jp);
        return ovfk_err_publish(&err);
    }
    return done;
}

int vhd_find_children(const char *file, const char *dir, char ***paths,
                      size_t *n)
{
    ovfk_err err = { 0 };
    char path[PATH_MAX], self[PATH_MAX], real[PATH_MAX];
    uint8_t uuid[16];
    struct dirent *e;
    vhd_t *h;
    DIR *d;
    int r = 0;

    *paths = NULL;
    *n = 0;
    if (vhd_open_one(file, VHD_OPEN_NO_PARENT | VHD_OPEN_NO_RECOVER, &h,
                     &err) < 0) {
        return ovfk_err_publish(&err);
    }
    memcpy(uuid, h->ft.uuid, 16);
    vhd_free_one(h);
    if (!realpath(file, self)) {
        self[0] = '\0';
    }
    d = opendir(dir);
    if (!d) {
        return ovfk_err_last(-errno, "cannot read '%s'", dir);
    }
    while (r == 0 && (e = readdir(d))) {
        char **np, *dup;
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (!realpath(path, real)) {
            r = errno == ENOMEM ? -ENOMEM : 0;
            continue;
        }
        if (!strcmp(real, self) || !vhd_probe(path)) {
            continue;
        }
        /* a file that is no VHD is no child; one that looks like a VHD
         * but cannot be read (no memory, a damaged footer) may be one, and
         * a merge that left it out would remove its parent */
        r = vhd_open_one(path, VHD_OPEN_NO_PARENT | VHD_OPEN_NO_RECOVER, &h,
                         &err);
        if (r < 0) {
            char why[OVFK_ERR_MAX];
            snprintf(why, sizeof(why), "%s", err.msg);
            ovfk_err_set(&err, r, "cannot tell whether '%s' is a child of "
                         "'%s': %s", path, file, why);
            continue;
        }
        if (h->ft.type == VHD_TYPE_DIFF &&
            !memcmp(h->dh.parent_uuid, uuid, 16)) {
            /* a child left out would not be re-pointed (merge.c NOTES 5) */
            np = m_realloc(*paths, (*n + 1) * sizeof(*np));
            if (np) {
                *paths = np;
            }
            if (!np || !(dup = m_strdup(path))) {
                r = -ENOMEM;
            } else {
                np[(*n)++] = dup;
            }
        }
        vhd_free_one(h);
    }
    closedir(d);
    if (r < 0) {
        for (size_t i = 0; i < *n; i++) {
            free((*paths)[i]);
        }
        free(*paths);
        *paths = NULL;
        *n = 0;
        if (r == -ENOMEM && !err.code) {
            ovfk_err_set(&err, r, "cannot list the children of '%s': out "
                         "of memory", file);
        }
        return ovfk_err_publish(&err);
    }
    return 0;
}

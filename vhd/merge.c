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
 *
 * Write order:
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

static void *m_malloc(size_t n)
{
    return vhd_merge_alloc_fails() ? NULL : malloc(n);
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

static int journal_write(struct journal *j, const char *state, ovfk_err *err)
{
    json_object *o = json_object_new_object(), *kids;
    char u[37], *hex;
    const char *text;
    int r;

    snprintf(j->state, sizeof(j->state), "%s", state);
    json_object_object_add(o, "version", json_object_new_int(1));
    json_object_object_add(o, "state", json_object_new_string(state));
    json_object_object_add(o, "child", json_object_new_string(j->child));
    json_object_object_add(o, "parent", json_object_new_string(j->parent));
    json_object_object_add(o, "keep_child",
                           json_object_new_boolean(j->keep_child));
    vhd_uuid_str(j->child_uuid, u);
    json_object_object_add(o, "child_uuid", json_object_new_string(u));
    vhd_uuid_str(j->parent_uuid, u);
    json_object_object_add(o, "parent_uuid", json_object_new_string(u));
    kids = json_object_new_array();
    hex = m_malloc(2 * VHD_DYNHDR_SIZE + 1);
    for (size_t i = 0; hex && i < j->n_kids; i++) {
        json_object *k = json_object_new_object();
        static const char digits[] = "0123456789abcdef";
        for (size_t b = 0; b < VHD_DYNHDR_SIZE; b++) {
            hex[2 * b] = digits[j->kids[i].old[b] >> 4];
            hex[2 * b + 1] = digits[j->kids[i].old[b] & 15];
        }
        hex[2 * VHD_DYNHDR_SIZE] = '\0';
        json_object_object_add(k, "path",
                               json_object_new_string(j->kids[i].path));
        json_object_object_add(k, "header", json_object_new_string(hex));
        json_object_array_add(kids, k);
    }
    free(hex);
    json_object_object_add(o, "children", kids);
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
    r = ovfk_write_file_atomic(j->path, text, strlen(text));
    json_object_put(o);
    if (r < 0) {
        return ovfk_err_set(err, r, "cannot write the merge journal '%s': "
                            "%s", j->path, ovfk_errtext(r));
    }
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
        vhd_uuid_parse(jstr(o, "child_uuid"), j->child_uuid) < 0 ||
        vhd_uuid_parse(jstr(o, "parent_uuid"), j->parent_uuid) < 0) {
        r = ovfk_err_set(err, OVFK_ECORRUPT, "merge journal '%s' is "
                         "incomplete", path);
    }
    if (r == 0 && json_object_object_get_ex(o, "children", &kids)) {
        size_t n = json_object_array_length(kids);
        j->kids = m_calloc(n + 1, sizeof(*j->kids));
        for (size_t i = 0; j->kids && i < n; i++) {
            json_object *k = json_object_array_get_idx(kids, i);
            j->kids[i].path = m_strdup(jstr(k, "path") ? jstr(k, "path") : "");
            if (unhex(jstr(k, "header"), j->kids[i].old,
                      VHD_DYNHDR_SIZE) < 0 && strcmp(j->state, "copying")) {
                r = ovfk_err_set(err, OVFK_ECORRUPT, "merge journal '%s': "
                                 "bad saved header", path);
            }
            j->n_kids++;
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

/* Copy every sector C holds into P.  Idempotent. */
static int copy_data(vhd_t *c, vhd_t *p, ovfk_progress_fn progress,
                     void *opaque, ovfk_err *err)
{
    uint32_t bs = c->dh.block_size, spb = bs / VHD_SECTOR, done = 0, total = 0;
    uint8_t *buf = vhd_merge_alloc_fails() ? NULL : aligned_alloc(4096, bs);
    int r = 0;

    if (!buf) {
        return ovfk_err_set(err, -ENOMEM, "out of memory");
    }
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
    free(buf);
    return r;
}

/* Point one child G at P: restore its saved header, then re-point. */
static int repoint(struct child_hdr *k, vhd_t *p, const char *ppath,
                   ovfk_err *err)
{
    vhd_t *g = m_calloc(1, sizeof(*g));
    uint64_t next;
    int r;

    if (!g || !(g->path = m_strdup(k->path))) {
        free(g);
        return ovfk_err_set(err, -ENOMEM, "out of memory");
    }
    g->flags = VHD_OPEN_RDWR;
    r = ovfk_io_open_file(k->path, OVFK_IO_RDWR, &g->io);
    if (r == 0) {
        r = ovfk_io_size(g->io, &g->file_size);
    }
    if (r < 0) {
        vhd_free_one(g);
        return ovfk_err_set(err, r, "cannot open '%s' to re-point it",
                            k->path);
    }
    /* the footer is intact (never written here but at the end) */
    {
        uint8_t ft[VHD_FOOTER_SIZE];
        r = ovfk_io_pread(g->io, ft, sizeof(ft), g->file_size - sizeof(ft));
        if (r < 0 || !vhd_footer_cookie_ok(ft) ||
            !vhd_footer_checksum_ok(ft)) {
            vhd_free_one(g);
            return ovfk_err_set(err, OVFK_ECORRUPT, "'%s' has no valid "
                                "footer; run 'ovfkit vhd repair' on it",
                                k->path);
        }
        vhd_footer_decode(ft, &g->ft);
        g->footer_off = g->file_size - VHD_FOOTER_SIZE;
    }
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
    vhd_free_one(g);
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

/* From "repointing" to the end. */
static int finish(struct journal *j, vhd_t *p, ovfk_err *err)
{
    int r = 0;

    for (size_t i = 0; r == 0 && i < j->n_kids; i++) {
        r = repoint(&j->kids[i], p, j->parent, err);
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

/* The whole merge from the "copying" state. */
static int run(struct journal *j, ovfk_progress_fn progress, void *opaque,
               ovfk_err *err)
{
    vhd_t *c = NULL, *p = NULL;
    int r = 0;

    if (!strcmp(j->state, "copying")) {
        r = open_pair(j, &c, &p, err);
        if (r == 0) {
            r = copy_data(c, p, progress, opaque, err);
        }
        if (r == 0) {
            ovfk_crash_point(3);
            r = vhd_flush(p);
            if (r < 0) {
                ovfk_err_set(err, r, "%s", vhd_error(p));
            }
        }
        if (r == 0) {
            ovfk_crash_point(4);
            r = journal_write(j, "repointing", err);
        }
        if (r == 0) {
            ovfk_crash_point(5);
        }
        vhd_free_one(c);
        c = NULL;
    } else {
        r = vhd_open(j->parent, VHD_OPEN_NO_RECOVER, &p);
        if (r < 0) {
            ovfk_err_set(err, r, "%s", ovfk_last_error());
        }
    }
    if (r == 0) {
        r = finish(j, p, err);
    }
    vhd_close(p);
    return r;
}

/* The children of C: files beside it whose parent UUID is C's. */
static int read_old_headers(struct journal *j, const char *const *kids,
                            size_t n, ovfk_err *err)
{
    j->kids = m_calloc(n + 1, sizeof(*j->kids));
    if (!j->kids) {
        return ovfk_err_set(err, -ENOMEM, "out of memory");
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
        j->kids[i].path = realpath(kids[i], abs) ? m_strdup(abs)
                                                 : m_strdup(kids[i]);
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
        r = journal_write(&j, "copying", &err);
    }
    if (r == 0) {
        ovfk_crash_point(1);
        r = run(&j, progress, opaque, &err);
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
        return 0;   /* nothing there: vhd_open reports it */
    }
    snprintf(jp, sizeof(jp), "%s", abs);
    snprintf(dir, sizeof(dir), "%s", dirname(jp));
    d = opendir(dir);
    if (!d) {
        return 0;
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
            r = run(&j, NULL, NULL, &err);
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
    while ((e = readdir(d))) {
        char **np;
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (!realpath(path, real) || !strcmp(real, self) ||
            !vhd_probe(path) ||
            vhd_open_one(path, VHD_OPEN_NO_PARENT | VHD_OPEN_NO_RECOVER, &h,
                         &err) < 0) {
            continue;
        }
        if (h->ft.type == VHD_TYPE_DIFF &&
            !memcmp(h->dh.parent_uuid, uuid, 16) &&
            (np = m_realloc(*paths, (*n + 1) * sizeof(*np)))) {
            *paths = np;
            np[(*n)++] = m_strdup(path);
        }
        vhd_free_one(h);
    }
    closedir(d);
    return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backup/run.c - take a backup point (DESIGN.md section 5).
 *
 * A VM of the dir store keeps a backup anchor: a snapshot named
 * "backup-anchor-ID" taken at the last backup, recorded with the point
 * it was taken for in backup.json in the VM's directory.  Its files F
 * hold the state of that point; every write since lies in the deltas
 * above F.  A backup:
 *
 *   1. takes a new anchor A' (ovfk_snap_create: the VM may run; its disk
 *      servers switch to new deltas), between the pre and post hooks
 *   2. writes the point under REPO/UUID/.tmp-ID: full, the chain of A''s
 *      files flattened (ovfk_hv_export_vm); incremental, for each disk a
 *      differencing VHD whose parent is the previous point's disk, holding
 *      exactly the ranges of A''s chain that lie above F (ovfk_vhd_block_status
 *      says which file holds each range: metadata only, no scanning)
 *   3. renames .tmp-ID to ID: the point is complete
 *   4. records A' and the point in backup.json (unconfirmed)
 *   5. deletes every other anchor (ovfk_snap_delete: the delta above F merges
 *      into F, crash-safe), so the VM carries one backup delta
 *   6. records the fingerprint of A''s files (size, mtime): confirmed
 *
 * NOTES (crash safety).  Crash points: 21 after 1, 22 after 2, 23 after
 * 3, 24 after 4, 25 after 5.
 *   - Until 3 no point exists under a final name; the next backup (or
 *     prune) removes .tmp-* of a VM whose lock it holds.
 *   - Cut off before 4, backup.json still names the old point, which is
 *     then not the newest: the next backup is full (and says so); the
 *     point written in 3 is complete and stays.
 *   - Cut off in 5 or before 6: backup.json is unconfirmed; the next
 *     backup first deletes the other anchors (completing the cut-off
 *     merge through snapshot/), then trusts A''s files.
 *   - A point that cannot be written (an error, a failing post hook)
 *     takes its new anchor away again; stopped by a signal or killed, the
 *     anchor stays and the next backup drops it (backup.json does not
 *     name it).
 *   - An incremental backup is taken only when backup.json is confirmed
 *     (or completed as above), names this repository and its newest
 *     point, the anchor's snapshot still exists, its files are unchanged
 *     (fingerprint) and every current disk descends from them, and no
 *     point of the chain is marked damaged.  Anything else: full.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backup/internal.h"
#include "hv/internal.h"
#include "ovfkit/snapshot.h"
#include "ovfkit/vhd.h"
#include "util/fs.h"
#include "util/io.h"
#include "util/tmpfile.h"

#define STATE_FILE "backup.json"
#define COPY_CHUNK (1u << 20)

struct state_disk {
    char *id;
    char *file;
    int64_t mtime_ns;
    int64_t size;
};

struct state {
    char *repo;
    char *point;
    char *anchor;
    bool confirmed;
    struct state_disk *disks;
    size_t n_disks;
};

struct job {
    ovfk_backup_repo *r;
    ovfk_hv_conn *c;
    const struct ovfk_backup_opts *o;
    struct ovfk_hv_vm *vm;
    char uuid[37];
    char vmdir[PATH_MAX];       /* REPO/UUID */
    char store[PATH_MAX];       /* the VM's directory (dir store) */
    bool dir_store;
    struct bk_point *pts;
    size_t n;
    struct state st;
};

static void note(struct job *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(struct job *j, const char *fmt, ...)
{
    char msg[OVFK_ERR_MAX];
    va_list ap;

    if (!j->o->note) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    j->o->note(j->o->opaque, msg);
}

static int from_conn(struct job *j, int code)
{
    return bk_err(j->r, code, "%s", ovfk_hv_error(j->c));
}

/* backup.json */

static void state_free(struct state *s)
{
    free(s->repo);
    free(s->point);
    free(s->anchor);
    for (size_t i = 0; i < s->n_disks; i++) {
        free(s->disks[i].id);
        free(s->disks[i].file);
    }
    free(s->disks);
    memset(s, 0, sizeof(*s));
}

static char *jstr(json_object *o, const char *k)
{
    json_object *v;

    if (!json_object_object_get_ex(o, k, &v) ||
        json_object_is_type(v, json_type_null)) {
        return NULL;
    }
    return strdup(json_object_get_string(v));
}

static void state_load(struct job *j)
{
    char path[PATH_MAX + 32];
    json_object *o, *v, *arr;

    snprintf(path, sizeof(path), "%s/%s", j->store, STATE_FILE);
    o = json_object_from_file(path);
    if (!o) {
        return;
    }
    j->st.repo = jstr(o, "repo");
    j->st.point = jstr(o, "point");
    j->st.anchor = jstr(o, "anchor");
    j->st.confirmed = json_object_object_get_ex(o, "confirmed", &v) &&
                      json_object_get_boolean(v);
    if (json_object_object_get_ex(o, "disks", &arr)) {
        size_t n = json_object_array_length(arr);
        j->st.disks = calloc(n + 1, sizeof(*j->st.disks));
        for (size_t i = 0; j->st.disks && i < n; i++) {
            json_object *d = json_object_array_get_idx(arr, i), *x;
            struct state_disk *sd = &j->st.disks[j->st.n_disks++];
            sd->id = jstr(d, "id");
            sd->file = jstr(d, "file");
            sd->mtime_ns = json_object_object_get_ex(d, "mtime_ns", &x) ?
                           json_object_get_int64(x) : -1;
            sd->size = json_object_object_get_ex(d, "size", &x) ?
                       json_object_get_int64(x) : -1;
        }
    }
    json_object_put(o);
}

static int state_save(struct job *j)
{
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    char path[PATH_MAX + 32];
    const char *text;
    int e;

    json_object_object_add(o, "repo", json_object_new_string(j->st.repo));
    json_object_object_add(o, "point", json_object_new_string(j->st.point));
    json_object_object_add(o, "anchor", json_object_new_string(
                               j->st.anchor));
    json_object_object_add(o, "confirmed",
                           json_object_new_boolean(j->st.confirmed));
    for (size_t i = 0; i < j->st.n_disks; i++) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "id", json_object_new_string(
                                   j->st.disks[i].id));
        json_object_object_add(d, "file", json_object_new_string(
                                   j->st.disks[i].file));
        json_object_object_add(d, "mtime_ns", json_object_new_int64(
                                   j->st.disks[i].mtime_ns));
        json_object_object_add(d, "size", json_object_new_int64(
                                   j->st.disks[i].size));
        json_object_array_add(arr, d);
    }
    json_object_object_add(o, "disks", arr);
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                          JSON_C_TO_STRING_NOSLASHESCAPE);
    snprintf(path, sizeof(path), "%s/%s", j->store, STATE_FILE);
    e = ovfk_write_file_atomic(path, text, strlen(text));
    json_object_put(o);
    if (e < 0) {
        return bk_err(j->r, e, "cannot write '%s': %s", path,
                      ovfk_errtext(e));
    }
    return 0;
}

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Record the anchor's files as they are now (step 6). */
static int state_confirm(struct job *j, const struct ovfk_snap *a)
{
    struct state_disk *v = calloc(a->n_disks + 1, sizeof(*v));
    struct stat st;

    if (!v) {
        return bk_err(j->r, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < j->st.n_disks; i++) {
        free(j->st.disks[i].id);
        free(j->st.disks[i].file);
    }
    free(j->st.disks);
    j->st.disks = v;
    j->st.n_disks = a->n_disks;
    for (size_t i = 0; i < a->n_disks; i++) {
        v[i].id = strdup(a->disks[i].id);
        v[i].file = strdup(a->disks[i].file);
        v[i].mtime_ns = v[i].size = -1;
        if (stat(a->disks[i].file, &st) == 0) {
            v[i].mtime_ns = mtime_ns(&st);
            v[i].size = (int64_t)st.st_size;
        }
    }
    j->st.confirmed = true;
    return state_save(j);
}

/* Is a the file b, or one of b's parents? */
static bool descends(const char *b, const char *a)
{
    char cur[PATH_MAX], next[PATH_MAX];
    struct stat sa, sc;

    if (stat(a, &sa) < 0) {
        return false;
    }
    snprintf(cur, sizeof(cur), "%s", b);
    for (int hops = 0; hops <= OVFK_VHD_MAX_CHAIN; hops++) {
        if (stat(cur, &sc) == 0 && sc.st_dev == sa.st_dev &&
            sc.st_ino == sa.st_ino) {
            return true;
        }
        if (ovfk_vhd_parent_path(cur, next, sizeof(next)) != 1) {
            return false;
        }
        snprintf(cur, sizeof(cur), "%s", next);
    }
    return false;
}

/* Delete every backup anchor of the VM but keep (step 5). */
static int drop_anchors(struct job *j, const char *keep)
{
    struct ovfk_snap_list l;
    char *ids[64];
    size_t n = 0;
    int e;

    e = ovfk_snap_load(j->c, j->vm, &l);
    if (e < 0) {
        return from_conn(j, e);
    }
    for (size_t i = 0; i < l.n && n < 64; i++) {
        const struct ovfk_snap *s = &l.snaps[i];
        if (s->name && !strncmp(s->name, BK_ANCHOR_PREFIX,
                                strlen(BK_ANCHOR_PREFIX)) &&
            (!keep || strcmp(s->id, keep))) {
            ids[n++] = strdup(s->id);
        }
    }
    ovfk_snap_list_free(&l);
    e = 0;
    for (size_t i = 0; i < n; i++) {
        struct ovfk_snap_plan plan;
        if (e == 0) {
            e = ovfk_snap_delete(j->c, j->uuid, ids[i], false, false, &plan,
                            j->o->progress, j->o->opaque);
            ovfk_snap_plan_free(&plan);
            if (e < 0) {
                e = bk_err(j->r, e, "cannot merge the old backup anchor "
                           "away: %s", ovfk_hv_error(j->c));
            }
        }
        free(ids[i]);
    }
    return e;
}

/*
 * May this backup be incremental?  NULL when it may (*anchor_out then
 * holds the anchor), else why not, for the note.
 */
static const char *why_full(struct job *j, struct ovfk_snap_list *l,
                            const struct ovfk_snap **anchor_out)
{
    const struct bk_point *last = j->n ? &j->pts[j->n - 1] : NULL;
    const struct ovfk_snap *a;
    static char why[PATH_MAX + 200];
    const char *dmg;

    *anchor_out = NULL;
    if (!j->dir_store) {
        snprintf(why, sizeof(why), "VMs of the %s driver get full backups "
                 "(incremental backups need the dir store)",
                 ovfk_hv_driver_name(j->c));
        return why;
    }
    if (j->o->full) {
        return "--full was given";
    }
    if (!last) {
        return "this is the VM's first backup in this repository";
    }
    if (!j->st.anchor || !j->st.point || !j->st.repo) {
        return "the VM has no backup anchor";
    }
    if (strcmp(j->st.repo, j->r->path)) {
        snprintf(why, sizeof(why), "the VM's backup anchor was taken for "
                 "repository '%s'", j->st.repo);
        return why;
    }
    if (strcmp(j->st.point, last->pub.id)) {
        snprintf(why, sizeof(why), "the anchor was taken for point '%s', "
                 "and the newest point is '%s' (an interrupted backup, or "
                 "a pruned point)", j->st.point, last->pub.id);
        return why;
    }
    dmg = bk_chain_damage(j->pts, j->n, last);
    if (dmg) {
        snprintf(why, sizeof(why), "point '%s' cannot be built on: %s",
                 last->pub.id, dmg);
        return why;
    }
    a = ovfk_snap_find(l, j->st.anchor);
    if (!a || !a->name || strncmp(a->name, BK_ANCHOR_PREFIX,
                                  strlen(BK_ANCHOR_PREFIX))) {
        return "the backup anchor was lost (its snapshot was deleted, or "
               "the VM was restored)";
    }
    if (a->n_disks != j->vm->n_disks || last->n_disks != j->vm->n_disks) {
        return "the VM's disks changed since the last backup";
    }
    for (size_t i = 0; i < a->n_disks; i++) {
        const struct state_disk *sd = NULL;
        struct stat st;
        if (strcmp(a->disks[i].id, j->vm->disks[i].id) ||
            strcmp(last->disks[i].id, j->vm->disks[i].id)) {
            return "the VM's disks changed since the last backup";
        }
        for (size_t k = 0; k < j->st.n_disks; k++) {
            if (!strcmp(j->st.disks[k].id, a->disks[i].id)) {
                sd = &j->st.disks[k];
            }
        }
        if (j->st.confirmed &&
            (!sd || strcmp(sd->file, a->disks[i].file) ||
             stat(sd->file, &st) < 0 || mtime_ns(&st) != sd->mtime_ns ||
             (int64_t)st.st_size != sd->size)) {
            snprintf(why, sizeof(why), "the backup anchor was lost: its "
                     "file '%s' changed outside ovfkit", a->disks[i].file);
            return why;
        }
        if (!descends(j->vm->disks[i].path, a->disks[i].file)) {
            return "the backup anchor was lost: the VM no longer descends "
                   "from it (reverted, or restored)";
        }
    }
    *anchor_out = a;
    return NULL;
}

/* Run a hook: sh -c cmd, its output on stderr (stdout may be JSON). */
static int hook(struct job *j, const char *cmd, const char *phase)
{
    int status;
    pid_t pid;

    if (!cmd) {
        return 0;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        return bk_err(j->r, -errno, "cannot run the %s hook: %s", phase,
                      ovfk_errtext(-errno));
    }
    if (pid == 0) {
        setenv("OVFKIT_VM", j->vm->name, 1);
        setenv("OVFKIT_VM_UUID", j->uuid, 1);
        setenv("OVFKIT_PHASE", phase, 1);
        setenv("OVFKIT_REPO", j->r->path, 1);
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return bk_err(j->r, -errno, "cannot wait for the %s hook: %s",
                          phase, ovfk_errtext(-errno));
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return bk_err(j->r, -ECANCELED, "the %s hook '%s' failed (%s %d)",
                      phase, cmd, WIFEXITED(status) ? "exit" : "signal",
                      WIFEXITED(status) ? WEXITSTATUS(status)
                                        : WTERMSIG(status));
    }
    return 0;
}

/* A free point id for time t. */
static void new_id(struct job *j, int64_t t, char *id, size_t len)
{
    char base[32], path[PATH_MAX + 64];

    bk_time_id(t, base, sizeof(base));
    for (int k = 1; k < 1000; k++) {
        bool taken = false;
        if (k == 1) {
            snprintf(id, len, "%s", base);
        } else {
            snprintf(id, len, "%s-%d", base, k);
        }
        for (size_t i = 0; i < j->n; i++) {
            taken |= !strcmp(j->pts[i].pub.id, id);
        }
        snprintf(path, sizeof(path), "%s/%s", j->vmdir, id);
        if (!taken && access(path, F_OK) != 0) {
            return;
        }
    }
}

struct copy_ctx {
    struct job *j;
    uint64_t done, total;
};

/* Bytes of h's chain held above depth limit in [0, size). */
static int ranges(ovfk_vhd *h, int limit, struct copy_ctx *cc, ovfk_vhd *out,
                  uint8_t *buf)
{
    uint64_t size = ovfk_vhd_size(h), off = 0;
    int e = 0;

    while (e == 0 && off < size) {
        uint64_t pnum = 0;
        int depth = -1;
        int st = ovfk_vhd_block_status(h, off, size - off, &pnum, &depth);
        if (st < 0) {
            return bk_err(cc->j->r, st, "%s", ovfk_vhd_error(h));
        }
        if (depth >= 0 && depth < limit) {
            if (!out) {
                cc->total += pnum;
            }
            for (uint64_t p = off; out && e == 0 && p < off + pnum;) {
                size_t n = off + pnum - p < COPY_CHUNK ?
                           (size_t)(off + pnum - p) : COPY_CHUNK;
                if (st == 0) {
                    memset(buf, 0, n);
                } else if ((e = ovfk_vhd_pread(h, buf, n, p)) < 0) {
                    return bk_err(cc->j->r, e, "%s", ovfk_vhd_error(h));
                }
                if ((e = ovfk_vhd_pwrite(out, buf, n, p)) < 0) {
                    return bk_err(cc->j->r, e, "%s", ovfk_vhd_error(out));
                }
                p += n;
                cc->done += n;
                if (cc->j->o->progress &&
                    cc->j->o->progress(cc->j->o->opaque, cc->done,
                                       cc->total)) {
                    return bk_err(cc->j->r, -ECANCELED, "cancelled");
                }
            }
        }
        off += pnum;
    }
    return e;
}

/* The depth of file in h's chain, or -1. */
static int depth_of(ovfk_vhd *h, const char *file)
{
    struct stat sf, sh;
    int d = 0;

    if (stat(file, &sf) < 0) {
        return -1;
    }
    for (; h; h = ovfk_vhd_parent(h), d++) {
        if (stat(ovfk_vhd_path(h), &sh) == 0 && sh.st_dev == sf.st_dev &&
            sh.st_ino == sf.st_ino) {
            return d;
        }
    }
    return -1;
}

/*
 * Step 2, incremental: for each disk, a differencing VHD in tmp whose
 * parent is the previous point's disk, with the ranges above the old
 * anchor's file.
 */
static int write_increment(struct job *j, const struct ovfk_snap *now,
                           const struct ovfk_snap *old, const char *tmp,
                           char **files, uint64_t *copied)
{
    const struct bk_point *prev = &j->pts[j->n - 1];
    struct copy_ctx cc = { .j = j };
    uint8_t *buf = malloc(COPY_CHUNK);
    ovfk_vhd **in = calloc(now->n_disks + 1, sizeof(*in));
    int *limit = calloc(now->n_disks + 1, sizeof(*limit));
    char path[PATH_MAX + 300];
    int e = buf && in && limit ? 0 : bk_err(j->r, -ENOMEM, "out of memory");

    for (size_t i = 0; e == 0 && i < now->n_disks; i++) {
        e = ovfk_vhd_open(now->disks[i].file, 0, &in[i]);
        if (e < 0) {
            e = bk_err(j->r, e, "%s", ovfk_last_error());
            break;
        }
        limit[i] = depth_of(in[i], old->disks[i].file);
        if (limit[i] < 0) {
            e = bk_err(j->r, -ESTALE, "'%s' no longer builds on the backup "
                       "anchor's '%s'", now->disks[i].file,
                       old->disks[i].file);
        } else {
            e = ranges(in[i], limit[i], &cc, NULL, NULL);
        }
    }
    for (size_t i = 0; e == 0 && i < now->n_disks; i++) {
        struct ovfk_vhd_create_opts co = { .parent = prev->vm->disks[i].path };
        ovfk_vhd *out = NULL;
        snprintf(path, sizeof(path), "%s/%s", tmp, files[i]);
        e = ovfk_vhd_create(path, &co, &out);
        if (e < 0) {
            e = bk_err(j->r, e, "%s", ovfk_last_error());
            break;
        }
        e = ranges(in[i], limit[i], &cc, out, buf);
        if (e == 0 && (e = ovfk_vhd_flush(out)) < 0) {
            bk_err(j->r, e, "%s", ovfk_vhd_error(out));
        }
        ovfk_vhd_close(out);
    }
    *copied = cc.done;
    for (size_t i = 0; in && i < now->n_disks; i++) {
        ovfk_vhd_close(in[i]);
    }
    free(in);
    free(limit);
    free(buf);
    return e;
}

/* fsync a file or a directory. */
static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), e = 0;

    if (fd < 0) {
        return -errno;
    }
    if (fsync(fd) < 0) {
        e = -errno;
    }
    close(fd);
    return e;
}

/* Does every disk of the new anchor still build on the old anchor's
 * file?  Not after an interrupted backup that merged the old delta. */
static bool builds_on(const struct ovfk_snap *now, const struct ovfk_snap *old)
{
    for (size_t i = 0; i < now->n_disks && i < old->n_disks; i++) {
        ovfk_vhd *h = NULL;
        int d = ovfk_vhd_open(now->disks[i].file, 0, &h) < 0 ? -1
                : depth_of(h, old->disks[i].file);
        ovfk_vhd_close(h);
        if (d < 0) {
            return false;
        }
    }
    return true;
}

/* Step 2 and 3: the point, written under .tmp-ID, renamed to ID. */
static int write_point(struct job *j, const struct ovfk_snap *now,
                       const struct ovfk_snap *old,
                       struct ovfk_backup_result *res)
{
    char id[64], tmp[PATH_MAX + 80], dst[PATH_MAX + 80], iso[32];
    char path[PATH_MAX + 400];
    struct ovfk_hv_vm *model = ovfk_hv_vm_copy(now ? now->vm : j->vm);
    char **files = NULL;
    struct bk_point p;
    int64_t t = bk_now();
    int e = 0;

    memset(&p, 0, sizeof(p));
    if (!model) {
        return bk_err(j->r, -ENOMEM, "out of memory");
    }
    if (old && now && !builds_on(now, old)) {
        /* the anchor was lost after all: full, as for any lost anchor */
        note(j, "full backup: the VM's chain no longer holds the backup "
             "anchor's files (an interrupted backup or merge)");
        old = NULL;
    }
    if (now) {
        /* the settings at the anchor, its frozen files as the disks */
        for (size_t i = 0; i < model->n_disks && i < now->n_disks; i++) {
            free(model->disks[i].path);
            model->disks[i].path = strdup(now->disks[i].file);
        }
    }
    new_id(j, t, id, sizeof(id));
    snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", j->vmdir, id);
    snprintf(dst, sizeof(dst), "%s/%s", j->vmdir, id);
    files = calloc(model->n_disks + 1, sizeof(*files));
    for (size_t i = 0; files && i < model->n_disks; i++) {
        char name[300];
        /* ovfk_hv_export_vm's names, so both kinds of point look alike */
        snprintf(name, sizeof(name), "%s-disk%zu.vhd", model->name, i + 1);
        files[i] = strdup(name);
    }
    if (!files) {
        e = bk_err(j->r, -ENOMEM, "out of memory");
    }
    if (e == 0 && !old) {
        struct ovfk_hv_export_opts xo = { .to = tmp,
                                          .digest = OVFK_OVA_DIGEST_SHA256,
                                     .allow_running = true,
                                     .progress = j->o->progress,
                                     .opaque = j->o->opaque };
        e = ovfk_hv_export_vm(j->c, model, &xo);
        if (e < 0) {
            e = from_conn(j, e);
        }
        for (size_t i = 0; e == 0 && i < model->n_disks; i++) {
            struct stat st;
            snprintf(path, sizeof(path), "%s/%s", tmp, files[i]);
            res->copied += stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
        }
    } else if (e == 0) {
        if (mkdir(tmp, 0755) < 0) {
            e = bk_err(j->r, -errno, "cannot create '%s': %s", tmp,
                       ovfk_errtext(-errno));
        }
        if (e == 0) {
            e = write_increment(j, now, old, tmp, files, &res->copied);
        }
        if (e == 0) {
            e = bk_write_package(j->r, tmp, model, (const char *const *)files);
        }
    }
    /* the record */
    if (e == 0) {
        bk_time_iso(t, iso, sizeof(iso));
        p.pub.id = strdup(id);
        p.pub.vm_name = strdup(model->name);
        ovfk_uuid_str(model->uuid, p.pub.vm_uuid);
        p.pub.kind = strdup(old ? "incremental" : "full");
        p.pub.parent = old ? strdup(j->pts[j->n - 1].pub.id) : NULL;
        p.pub.created = strdup(iso);
        p.pub.time = t;
        p.pub.driver = strdup(ovfk_hv_driver_name(j->c));
        snprintf(path, sizeof(path), "%s/%s.ovf", tmp, model->name);
        p.pub.package = strdup(path);
        p.anchor = now ? strdup(now->id) : NULL;
        p.vm = model;
        p.disks = calloc(model->n_disks + 1, sizeof(*p.disks));
        for (size_t i = 0; p.disks && i < model->n_disks; i++) {
            p.disks[i].id = strdup(model->disks[i].id);
            p.disks[i].file = strdup(files[i]);
            p.disks[i].capacity = model->disks[i].capacity;
            res->logical += model->disks[i].capacity;
        }
        p.n_disks = p.disks ? model->n_disks : 0;
        e = bk_point_write(j->r, tmp, &p);
        p.vm = NULL;
    }
    for (size_t i = 0; e == 0 && i < model->n_disks; i++) {
        snprintf(path, sizeof(path), "%s/%s", tmp, files[i]);
        e = fsync_path(path);
        if (e < 0) {
            bk_err(j->r, e, "cannot sync '%s': %s", path, ovfk_errtext(e));
        }
    }
    if (e == 0) {
        ovfk_crash_point(22);
        e = fsync_path(tmp);
        if (e < 0) {
            bk_err(j->r, e, "cannot sync '%s': %s", tmp, ovfk_errtext(e));
        }
    }
    if (e == 0 && rename(tmp, dst) < 0) {
        e = bk_err(j->r, -errno, "cannot rename '%s' to '%s': %s", tmp, dst,
                   ovfk_errtext(-errno));
    }
    if (e == 0) {
        fsync_path(j->vmdir);
        snprintf(res->id, sizeof(res->id), "%s", id);
        snprintf(res->kind, sizeof(res->kind), "%s", p.pub.kind);
        snprintf(res->parent, sizeof(res->parent), "%s",
                 p.pub.parent ? p.pub.parent : "");
    } else {
        ovfk_rm_tree(tmp);
    }
    bk_point_clear(&p);
    for (size_t i = 0; files && i < model->n_disks; i++) {
        free(files[i]);
    }
    free(files);
    ovfk_hv_vm_free(model);
    return e;
}

/* Steps 4-6 for the dir store. */
static int finish(struct job *j, const char *point_id, const char *anchor_id)
{
    struct ovfk_snap_list l;
    const struct ovfk_snap *a;
    int e = 0;

    free(j->st.repo);
    free(j->st.point);
    free(j->st.anchor);
    j->st.repo = strdup(j->r->path);
    j->st.point = strdup(point_id);
    j->st.anchor = strdup(anchor_id);
    j->st.confirmed = false;
    if (!j->st.repo || !j->st.point || !j->st.anchor) {
        return bk_err(j->r, -ENOMEM, "out of memory");
    }
    e = state_save(j);
    if (e == 0) {
        ovfk_crash_point(24);
        e = drop_anchors(j, anchor_id);
    }
    if (e == 0) {
        ovfk_crash_point(25);
        e = ovfk_snap_load(j->c, j->vm, &l);
        if (e < 0) {
            return from_conn(j, e);
        }
        a = ovfk_snap_find(&l, anchor_id);
        e = a ? state_confirm(j, a)
              : bk_err(j->r, -ENOENT, "the new backup anchor '%s' is gone",
                       anchor_id);
        ovfk_snap_list_free(&l);
    }
    return e;
}

/*
 * No point was written: the new anchor goes again (its delta merges back;
 * no progress callback, so that what stopped the copy does not stop
 * this).  After a signal no lock can be taken (ovfk_lock_interrupt): the
 * anchor then stays, and the next backup drops it (backup.json does not
 * name it).  The error on r is kept.
 */
static void drop_new(struct job *j, const struct ovfk_snap *now)
{
    struct ovfk_snap_plan plan;

    if (ovfk_snap_delete(j->c, j->uuid, now->id, false, false, &plan,
                         NULL, NULL) < 0) {
        note(j, "the new backup anchor '%s' stays until the next backup: "
             "%s", now->name, ovfk_hv_error(j->c));
    }
    ovfk_snap_plan_free(&plan);
}

static int run(struct job *j, struct ovfk_backup_result *res)
{
    struct ovfk_snap_list before = { 0 }, after = { 0 };
    const struct ovfk_snap *old = NULL, *now = NULL;
    const char *why = NULL;
    char name[80], old_id[64] = "";
    int e = 0, eh;

    if (j->dir_store) {
        state_load(j);
        e = ovfk_snap_load(j->c, j->vm, &before);
        if (e < 0) {
            return from_conn(j, e);
        }
        if (!j->st.confirmed && j->st.anchor && ovfk_snap_find(&before,
                                                          j->st.anchor)) {
            /* a backup cut off between its point and its merge: finish
             * the merge (NOTES) before looking at the anchor */
            e = drop_anchors(j, j->st.anchor);
            ovfk_snap_list_free(&before);
            if (e == 0 && (e = ovfk_snap_load(j->c, j->vm, &before)) < 0) {
                e = from_conn(j, e);
            }
            if (e < 0) {
                return e;
            }
        }
    }
    why = why_full(j, &before, &old);
    if (why) {
        note(j, "full backup: %s", why);
    } else {
        snprintf(old_id, sizeof(old_id), "%s", old->id);
    }
    if (!j->dir_store && ovfk_hv_is_running(j->c, j->vm) > 0) {
        ovfk_snap_list_free(&before);
        return bk_err(j->r, -EBUSY, "VM '%s' is running; VMs of the %s "
                      "driver are backed up stopped (stop it first)",
                      j->vm->name, ovfk_hv_driver_name(j->c));
    }
    e = hook(j, j->o->pre, "pre");
    if (e < 0) {
        ovfk_snap_list_free(&before);
        return bk_err(j->r, e, "%s; no backup was taken", j->r->err.msg);
    }
    if (j->dir_store) {
        char t[32];
        bk_time_id(bk_now(), t, sizeof(t));
        snprintf(name, sizeof(name), "%s%s", BK_ANCHOR_PREFIX, t);
        for (int k = 2; ovfk_snap_find(&before, name) && k < 1000; k++) {
            snprintf(name, sizeof(name), "%s%s-%d", BK_ANCHOR_PREFIX, t, k);
        }
        e = ovfk_snap_create(j->c, j->uuid, name, "taken by ovfkit backup: the "
                        "next backup copies the writes since and merges "
                        "it away", &after);
        if (e < 0) {
            e = from_conn(j, e);
        } else {
            now = ovfk_snap_find(&after, after.current);
        }
    }
    eh = hook(j, j->o->post, "post");
    if (e < 0 || eh < 0) {
        if (e == 0) {
            /* the anchor is taken but the hook failed: no point */
            e = bk_err(j->r, eh, "%s; no backup was taken", j->r->err.msg);
            drop_new(j, now);
        }
        ovfk_snap_list_free(&before);
        ovfk_snap_list_free(&after);
        return e;
    }
    ovfk_crash_point(21);
    if (old) {
        /* the old anchor's record, by id, in the list read before */
        old = ovfk_snap_find(&before, old_id);
    }
    e = write_point(j, now, old, res);
    if (e == 0) {
        ovfk_crash_point(23);
    } else if (now) {
        drop_new(j, now);
    }
    if (e == 0 && j->dir_store) {
        e = finish(j, res->id, now->id);
    }
    ovfk_snap_list_free(&before);
    ovfk_snap_list_free(&after);
    return e;
}

int ovfk_backup_run(ovfk_backup_repo *r, ovfk_hv_conn *c, const char *vmkey,
                    const struct ovfk_backup_opts *o,
                    struct ovfk_backup_result *res)
{
    static const struct ovfk_backup_opts none = { 0 };
    struct ovfk_backup_result local;
    struct job j = { .r = r, .c = c, .o = o ? o : &none };
    ovfk_lock *lock = NULL;
    int e;

    ovfk_err_clear(&r->err);
    res = res ? res : &local;
    memset(res, 0, sizeof(*res));
    e = ovfk_hv_load(c, vmkey, &j.vm);
    if (e < 0) {
        return from_conn(&j, e);
    }
    ovfk_uuid_str(j.vm->uuid, j.uuid);
    j.dir_store = !strcmp(ovfk_hv_driver_name(c), "dir");
    if (j.dir_store &&
        ovfk_hv_vm_data_dir(c, j.vm, j.store, sizeof(j.store)) < 0) {
        j.dir_store = false;
    }
    e = bk_vm_dir(r, j.uuid, true, j.vmdir, sizeof(j.vmdir));
    if (e == 0) {
        e = bk_lock(r, j.uuid, j.o->wait, &lock);
    }
    if (e == 0) {
        /* what another backup changed while this one waited: reload */
        ovfk_hv_vm_free(j.vm);
        j.vm = NULL;
        e = ovfk_hv_load(c, j.uuid, &j.vm);
        if (e < 0) {
            e = from_conn(&j, e);
        }
    }
    if (e == 0) {
        bk_clean_leftovers(j.vmdir);
        e = bk_prune_recover(r, j.uuid);
    }
    if (e == 0) {
        e = bk_points_load(r, j.uuid, &j.pts, &j.n);
    }
    if (e == 0) {
        e = run(&j, res);
    }
    if (lock) {
        bk_unlock(lock);
    }
    bk_points_free(j.pts, j.n);
    state_free(&j.st);
    ovfk_hv_vm_free(j.vm);
    return e;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * snapshot/delete.c - delete snapshots by merging, DESIGN.md section 3:
 *
 *   base <- d1 <- d2 <- d3 (current)   snapshots A, B, C freeze base, d1, d2
 *   delete C (newest): d3 merges into d2, which becomes the current file
 *   delete A (oldest): d1 merges into base; d2 is re-pointed at base
 *   delete all:        d1, d2, d3 merge into base, oldest first
 *
 * One rule gives all three: once the records are gone, a file that no
 * record and no current disk names is collapsed, nearest the base first -
 * with one child, the child merges into it (ovfk_vhd_merge: in place,
 * crash-safe, the child's children re-pointed) and takes its place; with
 * none, it is removed; with several (a branch point after a revert), it
 * stays until all but one branch is gone.  The plan is this collapse run on
 * a model of the files, with the space each merge needs; it is checked
 * against free space before anything is written.
 *
 * NOTES (crash safety; the chain's own steps are in vhd/merge.c)
 *
 * Invariant: every record and the VM's definition name a file that reads
 * exactly the state they stand for, at every moment.
 * Write order:
 *   1. save the records without the deleted snapshots (their files are
 *      now unnamed; nothing else changed)                 crash point 11
 *   2. for each step of the plan:
 *      list C as garbage in the records (removed once nothing names it
 *      and nothing builds on it: see snap_take_out_garbage)
 *      merge C into F, keeping C (C over F still reads the same)
 *                                                         crash point 12
 *      save the records with C's references moved to F; then the VM's
 *      definition (the VM may write to F only once
 *      no record names C, whose view F's new writes would change)
 *                                                         crash point 13
 *      remove C
 * A deletion cut off anywhere leaves unnamed files that the next
 * deletion's collapse finishes, and garbage that the next snapshot
 * command removes.
 *
 * A running VM keeps running: when C is the delta it writes to, its disk
 * server first switches to a new delta H on C; the merge re-points H at F;
 * at the end every server reopens its chain (dropping removed files).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "ovfkit/vhd.h"
#include "snapshot/internal.h"
#include "util/io.h"

void ovfk_snap_plan_free(struct ovfk_snap_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->steps[i].snapshot);
        free(p->steps[i].child);
        free(p->steps[i].file);
    }
    free(p->steps);
    memset(p, 0, sizeof(*p));
}

static int disks_dir(const struct snap_ctx *x, char *buf, size_t len)
{
    snprintf(buf, len, "%s/disks", x->dir);
    return 0;
}

/* The children of file among the VM's disk files. */
static int children_of(const struct snap_ctx *x, const char *file,
                       char ***kids, size_t *n)
{
    char dir[PATH_MAX];

    disks_dir(x, dir, sizeof(dir));
    if (ovfk_vhd_find_children(file, dir, kids, n) < 0) {
        return snap_err(x->c, -EIO, "%s", ovfk_last_error());
    }
    return 0;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

/* Is path the file st describes? */
static bool same_file(const char *path, const struct stat *st)
{
    struct stat o;

    return path && stat(path, &o) == 0 && o.st_dev == st->st_dev &&
           o.st_ino == st->st_ino;
}

/* Does a record or the VM's definition name the file st describes? */
static bool named(const struct snap_ctx *x, const struct ovfk_hv_vm *vm,
                  const struct stat *st)
{
    for (size_t i = 0; i < x->list.n; i++) {
        for (size_t k = 0; k < x->list.snaps[i].n_disks; k++) {
            if (same_file(x->list.snaps[i].disks[k].file, st)) {
                return true;
            }
        }
    }
    for (size_t k = 0; k < vm->n_disks; k++) {
        if (same_file(vm->disks[k].path, st)) {
            return true;
        }
    }
    return false;
}

/* The model of the files: every file a record or the VM names, and their
 * parents down to the bases. */
struct fnode {
    char *path;             /* resolved */
    int parent;             /* index; -1 for a base */
    int refs;               /* records kept and current disks naming it */
    const char *owner;      /* the deleted snapshot whose state it holds */
    bool ours;              /* in the VM's directory: ours to remove */
    bool gone;
};

struct model {
    struct fnode *v;
    size_t n;
};

static void model_free(struct model *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].path);
    }
    free(m->v);
}

static int model_add(const struct snap_ctx *x, struct model *m,
                     const char *path, int *idx)
{
    char abs[PATH_MAX], parent[PATH_MAX];
    struct fnode *v;
    size_t i, dl = strlen(x->dir);
    int r;

    if (!realpath(path, abs)) {
        return snap_err(x->c, -errno, "cannot find '%s', a file of VM '%s': "
                        "%s", path, x->vm->name, ovfk_errtext(-errno));
    }
    for (i = 0; i < m->n; i++) {
        if (!strcmp(m->v[i].path, abs)) {
            *idx = (int)i;
            return 0;
        }
    }
    v = realloc(m->v, (m->n + 1) * sizeof(*v));
    if (!v) {
        return snap_err(x->c, -ENOMEM, "out of memory");
    }
    m->v = v;
    i = m->n++;
    memset(&v[i], 0, sizeof(v[i]));
    v[i].path = strdup(abs);
    v[i].parent = -1;
    v[i].ours = !strncmp(abs, x->dir, dl) && abs[dl] == '/';
    *idx = (int)i;
    r = ovfk_vhd_parent_path(abs, parent, sizeof(parent));
    if (r < 0) {
        return snap_err(x->c, r, "%s", ovfk_last_error());
    }
    if (r == 1) {
        int p;
        r = model_add(x, m, parent, &p);    /* ovfk_vhd_open refuses loops */
        if (r < 0) {
            return r;
        }
        m->v[i].parent = p;
    }
    return 0;
}

static bool deleting(const char **ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(ids[i], id)) {
            return true;
        }
    }
    return false;
}

static int model_build(const struct snap_ctx *x, const char **ids, size_t n,
                       struct model *m)
{
    int r = 0, i;

    for (size_t s = 0; r == 0 && s < x->list.n; s++) {
        const struct ovfk_snap *sn = &x->list.snaps[s];
        bool del = deleting(ids, n, sn->id);
        for (size_t k = 0; r == 0 && k < sn->n_disks; k++) {
            r = model_add(x, m, sn->disks[k].file, &i);
            if (r == 0 && del) {
                m->v[i].owner = sn->id;
            } else if (r == 0) {
                m->v[i].refs++;
            }
        }
    }
    for (size_t k = 0; r == 0 && k < x->vm->n_disks; k++) {
        const struct ovfk_hv_disk *d = &x->vm->disks[k];
        if (d->format && strcmp(d->format, "vhd")) {
            continue;
        }
        r = model_add(x, m, d->path, &i);
        if (r == 0) {
            m->v[i].refs++;
        }
    }
    return r;
}

static int live_children(const struct model *m, int f, int *only)
{
    int n = 0;

    for (size_t i = 0; i < m->n; i++) {
        if (!m->v[i].gone && m->v[i].parent == f) {
            *only = (int)i;
            n++;
        }
    }
    return n;
}

static int depth(const struct model *m, int i)
{
    int d = 0;

    for (; m->v[i].parent >= 0 && d < (int)m->n; i = m->v[i].parent) {
        d++;
    }
    return d;
}

static uint64_t file_bytes(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

static struct ovfk_snap_step *add_step(struct ovfk_snap_plan *p,
                                       enum ovfk_snap_action a,
                                       const char *snap, const char *child,
                                       const char *file)
{
    struct ovfk_snap_step *s = realloc(p->steps, (p->n + 1) * sizeof(*s));

    if (!s) {
        return NULL;
    }
    p->steps = s;
    s = &s[p->n++];
    memset(s, 0, sizeof(*s));
    s->action = a;
    s->snapshot = strdup(snap ? snap : "");
    s->child = child ? strdup(child) : NULL;
    s->file = strdup(file);
    return s;
}

/*
 * The collapse (see the top of this file) on the model: a step for each
 * unnamed file, nearest the base first, until none can go.
 */
static int collapse(ovfk_hv_conn *hc, struct model *m, struct ovfk_snap_plan *p)
{
    uint64_t used = 0;

    for (;;) {
        int best = -1, best_depth = 0, kid = -1, nk = 0;
        struct ovfk_snap_step *s;
        for (size_t i = 0; i < m->n; i++) {
            int only = -1, n, d;
            if (m->v[i].gone || m->v[i].refs) {
                continue;
            }
            n = live_children(m, (int)i, &only);
            if (n > 1 || (n == 0 && !m->v[i].ours)) {
                continue;
            }
            d = depth(m, (int)i);
            if (best < 0 || d < best_depth) {
                best = (int)i, best_depth = d, kid = only, nk = n;
            }
        }
        if (best < 0) {
            return 0;
        }
        if (nk == 0) {
            struct fnode *f = &m->v[best];
            s = add_step(p, OVFK_SNAP_REMOVE, f->owner, NULL, f->path);
            if (!s) {
                return snap_err(hc, -ENOMEM, "out of memory");
            }
            s->frees = file_bytes(f->path);
            f->gone = true;
        } else {
            struct fnode *f = &m->v[best], *c = &m->v[kid];
            struct ovfk_vhd_merge_plan mp;
            int r = ovfk_vhd_merge_plan_into(c->path, f->path, &mp);
            if (r < 0) {
                return snap_err(hc, r, "%s", ovfk_last_error());
            }
            s = add_step(p, OVFK_SNAP_MERGE, f->owner, c->path, f->path);
            if (!s) {
                return snap_err(hc, -ENOMEM, "out of memory");
            }
            s->bytes_needed = mp.bytes_needed;
            s->child_bytes = mp.child_bytes;
            s->frees = file_bytes(c->path);
            /* f now holds c's state and takes its place */
            f->refs += c->refs;
            f->owner = c->owner;
            c->gone = true;
            for (size_t i = 0; i < m->n; i++) {
                if (m->v[i].parent == kid) {
                    m->v[i].parent = best;
                }
            }
        }
        used += s->bytes_needed;
        p->total_bytes += s->bytes_needed;
        if (used > p->peak_bytes) {
            p->peak_bytes = used;
        }
        used -= s->frees < used ? s->frees : used;
    }
}

static int make_plan(const struct snap_ctx *x, const char **ids, size_t n,
                     struct ovfk_snap_plan *p)
{
    struct model m = { 0 };
    char dir[PATH_MAX];
    struct statvfs fs;
    int r = model_build(x, ids, n, &m);

    if (r == 0) {
        r = collapse(x->c, &m, p);
    }
    /* a deleted snapshot with no step: its file is a branch point */
    for (size_t i = 0; r == 0 && i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < p->n; k++) {
            seen |= !strcmp(p->steps[k].snapshot, ids[i]);
        }
        for (size_t k = 0; !seen && k < m.n; k++) {
            if (m.v[k].owner && !strcmp(m.v[k].owner, ids[i]) &&
                !m.v[k].gone &&
                !add_step(p, OVFK_SNAP_KEEP, ids[i], NULL, m.v[k].path)) {
                r = snap_err(x->c, -ENOMEM, "out of memory");
            }
        }
    }
    model_free(&m);
    disks_dir(x, dir, sizeof(dir));
    if (statvfs(dir, &fs) == 0) {
        p->available = (uint64_t)fs.f_bavail * fs.f_frsize;
    }
    return r;
}

/* Replace references to from with to in the records and the VM. */
static void rename_refs(struct snap_ctx *x, struct ovfk_hv_vm *vm,
                        const char *from, const char *to)
{
    struct stat st;

    if (stat(from, &st) < 0) {
        return;
    }
    for (size_t i = 0; i < x->list.n; i++) {
        struct ovfk_snap *s = &x->list.snaps[i];
        for (size_t k = 0; k < s->n_disks; k++) {
            if (same_file(s->disks[k].file, &st)) {
                free(s->disks[k].file);
                s->disks[k].file = strdup(to);
            }
        }
        for (size_t k = 0; s->vm && k < s->vm->n_disks; k++) {
            if (same_file(s->vm->disks[k].path, &st)) {
                free(s->vm->disks[k].path);
                s->vm->disks[k].path = strdup(to);
            }
        }
    }
    for (size_t k = 0; k < vm->n_disks; k++) {
        if (same_file(vm->disks[k].path, &st)) {
            free(vm->disks[k].path);
            vm->disks[k].path = strdup(to);
        }
    }
}

static void drop_record(struct ovfk_snap_list *l, const char *id)
{
    size_t i;
    char *parent;

    for (i = 0; i < l->n && strcmp(l->snaps[i].id, id); i++) {
    }
    if (i == l->n) {
        return;
    }
    parent = l->snaps[i].parent ? strdup(l->snaps[i].parent) : NULL;
    for (size_t k = 0; k < l->n; k++) {
        if (l->snaps[k].parent && !strcmp(l->snaps[k].parent, id)) {
            free(l->snaps[k].parent);
            l->snaps[k].parent = parent ? strdup(parent) : NULL;
        }
    }
    if (l->current && !strcmp(l->current, id)) {
        free(l->current);
        l->current = parent ? strdup(parent) : NULL;
    }
    snap_clear(&l->snaps[i]);
    memmove(&l->snaps[i], &l->snaps[i + 1],
            (l->n - i - 1) * sizeof(*l->snaps));
    l->n--;
    free(parent);
}

/* The VM writes to c: move its writes to a new delta first. */
static int step_aside(struct snap_ctx *x, struct ovfk_hv_vm *vm, size_t disk,
                      const char *c)
{
    struct ovfk_vhd_create_opts co = { .parent = c };
    char path[PATH_MAX], *old;
    int r;

    for (int k = 0; k < 1000; k++) {
        snprintf(path, sizeof(path), "%s/disks/%s-h%d.vhd", x->dir,
                 vm->disks[disk].id, k);
        if (access(path, F_OK) != 0) {
            break;
        }
    }
    r = ovfk_vhd_create(path, &co, NULL);
    if (r < 0) {
        return snap_err(x->c, r, "%s", ovfk_last_error());
    }
    old = vm->disks[disk].path;
    vm->disks[disk].path = strdup(path);
    if (!vm->disks[disk].path) {
        vm->disks[disk].path = old;
        unlink(path);
        return snap_err(x->c, -ENOMEM, "out of memory");
    }
    r = ovfk_hv_vm_update(x->c, vm);
    if (r == 0) {
        r = ovfk_hv_vm_disk_request(x->c, vm, disk, "switch", path);
        if (r == -EIO) {
            /* the server refused the new delta and still writes to c
             * (nbdkit/ovfkit.c): the definition names c again, and the
             * unused delta goes (other errors: the server may yet switch,
             * so the definition keeps the new delta) */
            char why[OVFK_ERR_MAX];
            snprintf(why, sizeof(why), "%s", ovfk_hv_error(x->c));
            free(vm->disks[disk].path);
            vm->disks[disk].path = old;
            old = NULL;
            if (ovfk_hv_vm_update(x->c, vm) == 0) {
                unlink(path);
            }
            return snap_err(x->c, r, "%s; nothing was merged (the next "
                            "deletion does it)", why);
        }
    }
    free(old);
    return r < 0 ? r : 0;
}

/* Save the records, then the VM's definition (see NOTES). */
static int save(struct snap_ctx *x, struct ovfk_hv_vm *vm)
{
    int r = snap_save(x->c, vm, &x->list);

    if (r == 0) {
        r = ovfk_hv_vm_update(x->c, vm);
    }
    return r;
}

static int merge_step(struct snap_ctx *x, struct ovfk_hv_vm *vm, bool running,
                      const struct ovfk_snap_step *s, ovfk_progress_fn progress,
                      void *opaque)
{
    char **kids = NULL, **g;
    size_t nk = 0;
    struct stat st;
    int r = 0;

    if (stat(s->child, &st) < 0) {
        return snap_err(x->c, -errno, "'%s' is gone", s->child);
    }
    for (size_t d = 0; running && d < vm->n_disks; d++) {
        if (same_file(vm->disks[d].path, &st)) {
            r = step_aside(x, vm, d, s->child);
        }
    }
    /* listed first: whoever completes the merge, C is removed after */
    g = r == 0 ? realloc(x->list.garbage,
                         (x->list.n_garbage + 1) * sizeof(*g)) : NULL;
    if (r == 0 && !g) {
        return snap_err(x->c, -ENOMEM, "out of memory");
    }
    if (r == 0) {
        x->list.garbage = g;
        g[x->list.n_garbage++] = strdup(s->child);
        r = snap_save(x->c, vm, &x->list);
    }
    if (r == 0) {
        r = children_of(x, s->child, &kids, &nk);
    }
    if (r == 0) {
        r = ovfk_vhd_merge(s->child, (const char *const *)kids, nk,
                      OVFK_VHD_MERGE_KEEP_CHILD, progress, opaque);
        if (r == -ECANCELED) {
            /* the merge only goes forward (vhd/merge.c, invariant 4):
             * the deleted snapshots' state is given up, all else reads
             * as before, and the journal lets the next writer finish */
            snap_err(x->c, r, "canceled while merging '%s': the deleted "
                     "snapshot is gone, every other snapshot and the VM "
                     "read as before; the next snapshot command completes "
                     "the merge", s->child);
        } else if (r < 0) {
            snap_err(x->c, r, "%s", ovfk_last_error());
        }
    }
    free_strv(kids, nk);
    if (r < 0) {
        return r;
    }
    ovfk_crash_point(12);
    rename_refs(x, vm, s->child, s->file);
    r = save(x, vm);
    if (r == 0) {
        ovfk_crash_point(13);
        unlink(s->child);
    }
    return r;
}

static int remove_step(struct snap_ctx *x, struct ovfk_hv_vm *vm,
                       const struct ovfk_snap_step *s)
{
    char **kids = NULL;
    size_t nk = 0;
    struct stat st;
    int r;

    if (stat(s->file, &st) < 0) {
        return 0;
    }
    r = children_of(x, s->file, &kids, &nk);
    free_strv(kids, nk);
    if (r == 0 && nk == 0 && !named(x, vm, &st)) {
        unlink(s->file);
    }
    return r;
}

static int run_plan(struct snap_ctx *x, const char **ids, size_t n,
                    const struct ovfk_snap_plan *p, ovfk_progress_fn progress,
                    void *opaque)
{
    struct ovfk_hv_vm *vm = ovfk_hv_vm_copy(x->vm);
    bool running = ovfk_hv_is_running(x->c, x->vm) > 0;
    int r = vm ? 0 : snap_err(x->c, -ENOMEM, "out of memory");

    for (size_t i = 0; r == 0 && i < n; i++) {
        drop_record(&x->list, ids[i]);
    }
    if (r == 0) {
        r = snap_save(x->c, vm, &x->list);
    }
    ovfk_crash_point(11);
    for (size_t i = 0; r == 0 && i < p->n; i++) {
        const struct ovfk_snap_step *s = &p->steps[i];
        if (s->action == OVFK_SNAP_MERGE) {
            r = merge_step(x, vm, running, s, progress, opaque);
        } else if (s->action == OVFK_SNAP_REMOVE) {
            r = remove_step(x, vm, s);
        }
    }
    if (r == 0) {
        r = snap_take_out_garbage(x);
    }
    /* a running VM's disk servers drop their handles on removed files */
    for (size_t d = 0; running && vm && d < vm->n_disks; d++) {
        int e = ovfk_hv_vm_disk_request(x->c, vm, d, "reopen", NULL);
        if (r == 0 && e < 0) {
            r = e;
        }
    }
    ovfk_hv_vm_free(vm);
    return r;
}

int ovfk_snap_delete(ovfk_hv_conn *c, const char *vmkey, const char *key,
                     bool all, bool dry_run, struct ovfk_snap_plan *plan,
                     ovfk_progress_fn progress, void *opaque)
{
    struct ovfk_snap_plan local = { 0 };
    struct ovfk_snap_plan *p = plan ? plan : &local;
    const char **ids = NULL;
    struct snap_ctx x;
    size_t n = 0;
    int r;

    memset(p, 0, sizeof(*p));
    r = snap_begin(c, vmkey, &x);
    if (r == 0 && !dry_run && (r = snap_finish_merges(&x)) < 0) {
        snap_end(&x);     /* a dry run only reads: it completes nothing */
    }
    if (r < 0) {
        return r;
    }
    ids = calloc(x.list.n + 1, sizeof(*ids));
    if (!ids) {
        r = snap_err(c, -ENOMEM, "out of memory");
    } else if (all) {
        for (size_t i = 0; i < x.list.n; i++) {
            ids[n++] = x.list.snaps[i].id;
        }
    } else {
        const struct ovfk_snap *s = ovfk_snap_find(&x.list, key);
        if (!s) {
            r = snap_err(c, -ENOENT, "VM '%s' has no snapshot '%s'",
                         x.vm->name, key);
        } else {
            ids[n++] = s->id;
        }
    }
    if (r == 0) {
        r = make_plan(&x, ids, n, p);
    }
    if (r == 0 && p->available && p->peak_bytes > p->available) {
        r = snap_err(c, -ENOSPC, "deleting needs %llu bytes free where "
                     "the disks are; %llu are available",
                     (unsigned long long)p->peak_bytes,
                     (unsigned long long)p->available);
    }
    /* the last moment to stop with nothing changed */
    if (r == 0 && !dry_run && progress && progress(opaque, 0, 0)) {
        r = snap_err(c, -ECANCELED, "canceled; nothing was changed");
    }
    if (r == 0 && !dry_run) {
        /* ids point into the records, which the run drops: copy them */
        char **own = calloc(n + 1, sizeof(*own));
        for (size_t i = 0; own && i < n; i++) {
            own[i] = strdup(ids[i]);
        }
        r = own ? run_plan(&x, (const char **)own, n, p, progress, opaque)
                : snap_err(c, -ENOMEM, "out of memory");
        free_strv(own, own ? n : 0);
    }
    free(ids);
    snap_end(&x);
    if (!plan) {
        ovfk_snap_plan_free(&local);
    }
    return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * snapshot/delete.c - delete snapshots by merging, DESIGN.md section 3:
 *
 *   base <- d1 <- d2 <- d3 (current)   snapshots 1..3 freeze base, d1, d2
 *   delete 3 (newest): d3 merges into d2, which becomes the current file
 *   delete 1 (oldest): d1 merges into base; d2 is re-pointed at base
 *   delete all:        d1, d2, d3 merge into base, oldest first
 *
 * Deleting snapshot S merges the one delta C above S's frozen file F into
 * F (vhd_merge: in place, crash-safe, re-pointing C's children), and every
 * reference to C (a snapshot's frozen file, the VM's current disk) becomes
 * F.  A frozen file with several children (a branch point after a revert)
 * cannot absorb one of them: S's record goes, its file stays.
 *
 * The plan (each merge, the space it needs for our in-place merge, the
 * peak with freed deltas counted) is computed and checked against free
 * space before anything is written.  A running VM keeps running: when C
 * is the delta it writes to, its disk server first switches to a new
 * delta H on C, C is merged, H is pointed at F, and the server reopens.
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

void snap_plan_free(struct snap_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->steps[i].snapshot);
        free(p->steps[i].child);
        free(p->steps[i].parent);
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
    if (vhd_find_children(file, dir, kids, n) < 0) {
        return ovfk_err_last(-EIO, "%s", ovfk_last_error());
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

static uint64_t file_bytes(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static int add_step(struct snap_plan *p, const char *snap, const char *child,
                    const char *parent, const struct vhd_merge_plan *mp)
{
    struct snap_step *s = realloc(p->steps, (p->n + 1) * sizeof(*s));

    if (!s) {
        return -ENOMEM;
    }
    p->steps = s;
    s = &s[p->n++];
    memset(s, 0, sizeof(*s));
    s->snapshot = strdup(snap);
    s->child = child ? strdup(child) : NULL;
    s->parent = strdup(parent);
    s->merge = child != NULL;
    if (mp) {
        s->bytes_needed = mp->bytes_needed;
        s->child_bytes = mp->child_bytes;
        s->frees = file_bytes(child);
    }
    return 0;
}

/*
 * Snapshots in the order `delete --all` takes them: roots first (one with
 * no parent, or whose parent is gone), so every delta lands in the base.
 */
static int order_all(const struct snap_list *l, const char ***out)
{
    const char **ids = calloc(l->n + 1, sizeof(*ids));
    size_t n = 0;

    if (!ids) {
        return -ENOMEM;
    }
    while (n < l->n) {
        size_t before = n;
        for (size_t i = 0; i < l->n; i++) {
            const struct snap *s = &l->snaps[i];
            bool done = false, parent_done = !s->parent;
            for (size_t k = 0; k < n; k++) {
                done |= !strcmp(ids[k], s->id);
                parent_done |= s->parent && !strcmp(ids[k], s->parent);
            }
            if (!parent_done && s->parent && !snap_find(l, s->parent)) {
                parent_done = true;
            }
            if (!done && parent_done) {
                ids[n++] = s->id;
            }
        }
        if (n == before) {
            break;  /* a cycle in the records: take the rest as listed */
        }
    }
    for (size_t i = 0; n < l->n && i < l->n; i++) {
        bool done = false;
        for (size_t k = 0; k < n; k++) {
            done |= !strcmp(ids[k], l->snaps[i].id);
        }
        if (!done) {
            ids[n++] = l->snaps[i].id;
        }
    }
    *out = ids;
    return (int)n;
}

/* The file a snapshot's disk state sits on, after earlier steps merged. */
struct mapping {
    char **from, **to;
    size_t n;
};

static const char *mapped(const struct mapping *m, const char *f)
{
    for (size_t i = m->n; i-- > 0;) {
        if (!strcmp(m->from[i], f)) {
            return mapped(m, m->to[i]);
        }
    }
    return f;
}

static void map_add(struct mapping *m, const char *from, const char *to)
{
    char **a = realloc(m->from, (m->n + 1) * sizeof(*a));
    char **b = a ? realloc(m->to, (m->n + 1) * sizeof(*b)) : NULL;

    if (a) {
        m->from = a;
    }
    if (b) {
        m->to = b;
        m->from[m->n] = strdup(from);
        m->to[m->n] = strdup(to);
        m->n++;
    }
}

static void map_free(struct mapping *m)
{
    free_strv(m->from, m->n);
    free_strv(m->to, m->n);
}

/*
 * Plan the deletion of snapshots ids[] in order.  The child of a frozen
 * file is found on disk; when an earlier step merged a file into its
 * parent, later steps target that parent (mapping), so a --all plan of
 * d1, d2, d3 into a preallocated base asks for nothing.
 */
static int make_plan(struct snap_ctx *x, const char **ids, size_t n,
                     struct snap_plan *p)
{
    struct mapping m = { 0 };
    uint64_t used = 0;
    char dir[PATH_MAX];
    struct statvfs fs;
    int r = 0;

    for (size_t i = 0; r == 0 && i < n; i++) {
        const struct snap *s = snap_find(&x->list, ids[i]);
        for (size_t k = 0; r == 0 && s && k < s->n_disks; k++) {
            const char *f = mapped(&m, s->disks[k].file);
            char **kids = NULL;
            size_t nk = 0;
            struct vhd_merge_plan mp;
            r = children_of(x, s->disks[k].file, &kids, &nk);
            if (r == 0 && nk == 1) {
                const char *c = kids[0];
                r = vhd_merge_plan_into(c, f, &mp);
                if (r == 0) {
                    r = add_step(p, s->id, c, f, &mp);
                    map_add(&m, c, f);
                    used += mp.bytes_needed;
                    if (used > p->peak_bytes) {
                        p->peak_bytes = used;
                    }
                    p->total_bytes += mp.bytes_needed;
                    used -= p->steps[p->n - 1].frees < used ?
                            p->steps[p->n - 1].frees : used;
                }
            } else if (r == 0) {
                r = add_step(p, s->id, NULL, f, NULL);
            }
            free_strv(kids, nk);
        }
    }
    map_free(&m);
    disks_dir(x, dir, sizeof(dir));
    if (statvfs(dir, &fs) == 0) {
        p->available = (uint64_t)fs.f_bavail * fs.f_frsize;
    }
    return r;
}

/* Replace references to `from` with `to` in the records and the VM. */
static void rename_refs(struct snap_ctx *x, struct hv_vm *vm,
                        const char *from, const char *to)
{
    for (size_t i = 0; i < x->list.n; i++) {
        struct snap *s = &x->list.snaps[i];
        for (size_t k = 0; k < s->n_disks; k++) {
            if (!strcmp(s->disks[k].file, from)) {
                free(s->disks[k].file);
                s->disks[k].file = strdup(to);
            }
        }
        for (size_t k = 0; s->vm && k < s->vm->n_disks; k++) {
            if (!strcmp(s->vm->disks[k].path, from)) {
                free(s->vm->disks[k].path);
                s->vm->disks[k].path = strdup(to);
            }
        }
    }
    for (size_t k = 0; k < vm->n_disks; k++) {
        if (!strcmp(vm->disks[k].path, from)) {
            free(vm->disks[k].path);
            vm->disks[k].path = strdup(to);
        }
    }
}

static void drop_record(struct snap_list *l, const char *id)
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
    {
        struct snap_list one = { &l->snaps[i], 1, NULL };
        struct snap keep = l->snaps[i];
        one.snaps = &keep;
        memmove(&l->snaps[i], &l->snaps[i + 1],
                (l->n - i - 1) * sizeof(*l->snaps));
        l->n--;
        snap_list_free(&one);
    }
    free(parent);
}

/* The VM writes to c: move its writes to a new delta first. */
static int step_aside(struct snap_ctx *x, struct hv_vm *vm, size_t disk,
                      const char *c)
{
    struct vhd_create_opts co = { .parent = c };
    char path[PATH_MAX];
    int r;

    for (int k = 0; k < 1000; k++) {
        snprintf(path, sizeof(path), "%s/disks/%s-h%d.vhd", x->dir,
                 vm->disks[disk].id, k);
        if (access(path, F_OK) != 0) {
            break;
        }
    }
    r = vhd_create(path, &co, NULL);
    if (r < 0) {
        return r;
    }
    free(vm->disks[disk].path);
    vm->disks[disk].path = strdup(path);
    r = hv_vm_update(x->c, vm);
    if (r == 0) {
        r = hv_vm_disk_request(x->c, vm, disk, "switch", path);
    }
    return r < 0 ? ovfk_err_last(r, "%s", hv_error(x->c)) : 0;
}

static int run_plan(struct snap_ctx *x, const char **ids, size_t n,
                    ovfk_progress_fn progress, void *opaque)
{
    struct hv_vm *vm = hv_vm_copy(x->vm);
    bool running = hv_is_running(x->c, x->vm) > 0;
    int r = vm ? 0 : -ENOMEM;

    for (size_t i = 0; r == 0 && i < n; i++) {
        const struct snap *s = snap_find(&x->list, ids[i]);
        char sid[64];
        if (!s) {
            continue;
        }
        snprintf(sid, sizeof(sid), "%s", s->id);
        for (size_t k = 0; r == 0 && k < s->n_disks; k++) {
            char f[PATH_MAX], **kids = NULL, **gkids = NULL;
            size_t nk = 0, ng = 0;
            snprintf(f, sizeof(f), "%s", s->disks[k].file);
            r = children_of(x, f, &kids, &nk);
            if (r == 0 && nk == 1) {
                char c[PATH_MAX];
                snprintf(c, sizeof(c), "%s", kids[0]);
                for (size_t d = 0; r == 0 && running && d < vm->n_disks;
                     d++) {
                    if (!strcmp(vm->disks[d].path, c)) {
                        r = step_aside(x, vm, d, c);
                    }
                }
                if (r == 0) {
                    r = children_of(x, c, &gkids, &ng);
                }
                if (r == 0) {
                    r = vhd_merge(c, (const char *const *)gkids, ng,
                                  progress, opaque);
                }
                if (r == 0) {
                    rename_refs(x, vm, c, f);
                }
                free_strv(gkids, ng);
            }
            free_strv(kids, nk);
        }
        if (r == 0) {
            drop_record(&x->list, sid);
            r = hv_vm_update(x->c, vm);
            if (r < 0) {
                ovfk_err_last(r, "%s", hv_error(x->c));
            }
        }
        if (r == 0) {
            r = snap_save(x->c, vm, &x->list);
        }
    }
    /* a running VM's disk servers drop their handles on removed files */
    for (size_t d = 0; running && vm && d < vm->n_disks; d++) {
        int e = hv_vm_disk_request(x->c, vm, d, "reopen", NULL);
        if (r == 0 && e < 0) {
            r = ovfk_err_last(e, "%s", hv_error(x->c));
        }
    }
    hv_vm_free(vm);
    return r;
}

int snap_delete(hv_conn *c, const char *vmkey, const char *key, bool all,
                bool dry_run, struct snap_plan *plan,
                ovfk_progress_fn progress, void *opaque)
{
    struct snap_plan local = { 0 };
    struct snap_plan *p = plan ? plan : &local;
    const char **ids = NULL;
    struct snap_ctx x;
    int n = 0, r;

    memset(p, 0, sizeof(*p));
    r = snap_begin(c, vmkey, &x);
    if (r < 0) {
        return r;
    }
    if (all) {
        n = order_all(&x.list, &ids);
        r = n < 0 ? ovfk_err_last(n, "out of memory") : 0;
    } else {
        const struct snap *s = snap_find(&x.list, key);
        ids = calloc(2, sizeof(*ids));
        if (!s) {
            r = ovfk_err_last(-ENOENT, "VM '%s' has no snapshot '%s'",
                              x.vm->name, key);
        } else if (!ids) {
            r = ovfk_err_last(-ENOMEM, "out of memory");
        } else {
            ids[n++] = s->id;
        }
    }
    if (r == 0) {
        r = make_plan(&x, ids, (size_t)n, p);
    }
    if (r == 0 && p->available && p->peak_bytes > p->available) {
        r = ovfk_err_last(-ENOSPC, "deleting needs %llu bytes free where "
                          "the disks are; %llu are available",
                          (unsigned long long)p->peak_bytes,
                          (unsigned long long)p->available);
    }
    if (r == 0 && !dry_run) {
        r = run_plan(&x, ids, (size_t)n, progress, opaque);
    }
    free(ids);
    snap_end(&x);
    if (!plan) {
        snap_plan_free(&local);
    }
    return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backup/prune.c - retention by merging (forever-forward incremental).
 *
 * Which points stay follows Proxmox Backup Server (its documentation,
 * "Maintenance Tasks: Pruning"): the points newest first; keep-last,
 * -hourly, -daily, -weekly (ISO 8601 weeks), -monthly, -yearly in this
 * order; each option walks the points no earlier option has marked, skips
 * those in a period an earlier option already keeps a point of, keeps the
 * newest point of each new period until it has N periods, marks the
 * others of those periods for removal, and stops at the first point of
 * period N + 1.  Whatever is left unmarked goes.  Periods are in local
 * time (TZ), as PBS has them.
 *
 * A pruned point P that a later point C builds on is merged into C: C's
 * disks merge into P's (ovfk_vhd_merge, in place: the cost is C's size), C's
 * child G is re-pointed at P's files, and P's directory then holds C's
 * point (record, descriptor, manifest); C's old directory goes.  "A full
 * absorbs the oldest increment."  A pruned point nothing builds on is
 * removed.
 *
 * NOTES (crash safety of one merge; the chain's steps are vhd/merge.c's)
 *   1. write REPO/UUID/.prune.json {drop_dir P, into_dir C, into_id,
 *      child_dir G}                                          crash point 31
 *      From here listing hides P (its data is being given up).
 *   2. for each disk: ovfk_vhd_merge(C's, G's children re-pointed,
 *      OVFK_VHD_MERGE_KEEP_CHILD): C over P still reads C     crash point 32
 *   3. P/NAME.ovf, P/NAME.mf for C, then P/point.json naming C: the
 *      commit; from here listing hides C's old directory  crash point 33
 *   4. rename C's directory to .del-..., remove it       crash point 34
 *   5. remove the journal
 * Recovery (the next backup or prune of the VM, under its lock): a
 * journal whose P record names C resumes at 4; else it reruns 2-5 (a
 * second merge of C's data into P is the same data, and a G already
 * re-pointed is no longer C's child, so it is not touched again).
 */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "backup/internal.h"
#include "hv/internal.h"
#include "ovfkit/vhd.h"
#include "util/fs.h"
#include "util/io.h"
#include "util/tmpfile.h"

static char *jstr(json_object *o, const char *k)
{
    json_object *v;

    if (!json_object_object_get_ex(o, k, &v) ||
        json_object_is_type(v, json_type_null)) {
        return NULL;
    }
    return strdup(json_object_get_string(v));
}

/* Remove a point's directory: renamed away first, so that it vanishes at
 * once even if the removal is cut off (leftovers are .del-*). */
static int remove_dir(ovfk_backup_repo *r, const char *vmdir,
                      const char *name)
{
    char from[PATH_MAX + 300], to[PATH_MAX + 300];

    snprintf(from, sizeof(from), "%s/%s", vmdir, name);
    snprintf(to, sizeof(to), "%s/.del-%s", vmdir, name);
    if (rename(from, to) < 0 && errno != ENOENT) {
        return bk_err(r, -errno, "cannot remove '%s': %s", from,
                      ovfk_errtext(-errno));
    }
    ovfk_rm_tree(to);
    return 0;
}

/* Write the descriptor and manifest of the point in dir anew. */
static int rehash(ovfk_backup_repo *r, const char *dir)
{
    const char **files;
    struct bk_point g;
    int e = bk_point_read(r, dir, &g);

    if (e < 0) {
        return e == -ENOENT ? bk_err(r, e, "'%s' has no point record", dir)
                            : e;
    }
    files = calloc(g.n_disks + 1, sizeof(*files));
    for (size_t k = 0; files && k < g.n_disks; k++) {
        files[k] = g.disks[k].file;
    }
    e = files ? bk_write_package(r, dir, g.vm, files)
              : bk_err(r, -ENOMEM, "out of memory");
    free(files);
    bk_point_clear(&g);
    return e;
}

/* Steps 2-5 (see NOTES); p and c are read from their directories. */
static int absorb_run(ovfk_backup_repo *r, const char *vmdir,
                      const char *pdir, const char *cdir, const char *gdir,
                      ovfk_progress_fn progress, void *opaque)
{
    char ppath[PATH_MAX + 300], cpath[PATH_MAX + 300], gpath[PATH_MAX + 300];
    char path[PATH_MAX + 600];
    struct bk_point p, c, np;
    const char **files = NULL;
    int e;

    snprintf(ppath, sizeof(ppath), "%s/%s", vmdir, pdir);
    snprintf(cpath, sizeof(cpath), "%s/%s", vmdir, cdir);
    snprintf(gpath, sizeof(gpath), "%s/%s", vmdir, gdir ? gdir : "");
    e = bk_point_read(r, ppath, &p);
    if (e < 0) {
        return e == -ENOENT ? bk_err(r, e, "'%s' has no point record",
                                     ppath) : e;
    }
    e = bk_point_read(r, cpath, &c);
    if (e < 0) {
        bk_point_clear(&p);
        return e == -ENOENT ? bk_err(r, e, "'%s' has no point record",
                                     cpath) : e;
    }
    if (c.n_disks != p.n_disks) {
        e = bk_err(r, OVFK_ECORRUPT, "points '%s' and '%s' have different "
                   "disks", p.pub.id, c.pub.id);
    }
    for (size_t k = 0; e == 0 && k < c.n_disks; k++) {
        char **kids = NULL;
        size_t nk = 0;
        /* a merge cut off first: completing it re-points G, which then
         * is no longer C's child */
        e = ovfk_vhd_merge_recover(c.vm->disks[k].path);
        e = e > 0 ? 0 : e;
        if (e == 0 && gdir) {
            e = ovfk_vhd_find_children(c.vm->disks[k].path, gpath, &kids, &nk);
        }
        if (e == 0) {
            e = ovfk_vhd_merge(c.vm->disks[k].path,
                               (const char *const *)kids, nk,
                               OVFK_VHD_MERGE_KEEP_CHILD, progress, opaque);
        }
        if (e < 0) {
            bk_err(r, e, "cannot merge point '%s' into '%s': %s", c.pub.id,
                   p.pub.id, ovfk_last_error());
        }
        for (size_t i = 0; i < nk; i++) {
            free(kids[i]);
        }
        free(kids);
    }
    if (e == 0) {
        ovfk_crash_point(32);
        files = calloc(p.n_disks + 1, sizeof(*files));
        e = files ? 0 : bk_err(r, -ENOMEM, "out of memory");
    }
    /* G's disks were re-pointed (their headers changed): its manifest
     * follows, before the commit (a rerun does it again) */
    if (e == 0 && gdir) {
        e = rehash(r, gpath);
    }
    /* step 3: P's directory now holds C's point */
    if (e == 0) {
        for (size_t k = 0; k < p.n_disks; k++) {
            files[k] = p.disks[k].file;
            free(c.vm->disks[k].path);
            snprintf(path, sizeof(path), "%s/%s", ppath, p.disks[k].file);
            c.vm->disks[k].path = strdup(path);
        }
        e = bk_write_package(r, ppath, c.vm, files);
    }
    if (e == 0) {
        np = c;
        np.pub.kind = p.pub.kind;
        np.pub.parent = p.pub.parent;
        snprintf(path, sizeof(path), "%s/%s.ovf", ppath, c.vm->name);
        np.pub.package = path;
        np.disks = p.disks;
        e = bk_point_write(r, ppath, &np);
    }
    if (e == 0) {
        ovfk_crash_point(33);
        /* P's own descriptor, under another name when the VM was renamed */
        if (strcmp(p.vm->name, c.vm->name)) {
            snprintf(path, sizeof(path), "%s/%s.ovf", ppath, p.vm->name);
            unlink(path);
            snprintf(path, sizeof(path), "%s/%s.mf", ppath, p.vm->name);
            unlink(path);
        }
        e = remove_dir(r, vmdir, cdir);
    }
    if (e == 0) {
        ovfk_crash_point(34);
        snprintf(path, sizeof(path), "%s/%s", vmdir, BK_PRUNE_JOURNAL);
        unlink(path);
    }
    free(files);
    bk_point_clear(&p);
    bk_point_clear(&c);
    return e;
}

static int absorb(ovfk_backup_repo *r, const char *vmdir, const char *pdir,
                  const char *cdir, const char *into_id, const char *gdir,
                  ovfk_progress_fn progress, void *opaque)
{
    json_object *o = json_object_new_object();
    char path[PATH_MAX + 32];
    const char *text;
    int e;

    json_object_object_add(o, "drop_dir", json_object_new_string(pdir));
    json_object_object_add(o, "into_dir", json_object_new_string(cdir));
    json_object_object_add(o, "into_id", json_object_new_string(into_id));
    json_object_object_add(o, "child_dir", gdir ?
                           json_object_new_string(gdir) : NULL);
    text = json_object_to_json_string(o);
    snprintf(path, sizeof(path), "%s/%s", vmdir, BK_PRUNE_JOURNAL);
    e = ovfk_write_file_atomic(path, text, strlen(text));
    json_object_put(o);
    if (e < 0) {
        return bk_err(r, e, "cannot write '%s': %s", path, ovfk_errtext(e));
    }
    ovfk_crash_point(31);
    return absorb_run(r, vmdir, pdir, cdir, gdir, progress, opaque);
}

int bk_prune_recover(ovfk_backup_repo *r, const char *uuid)
{
    char vmdir[PATH_MAX], path[PATH_MAX + 300];
    char *pdir, *cdir, *gdir, *into_id, *id = NULL;
    json_object *o, *p;
    int e = 0;

    bk_vm_dir(r, uuid, false, vmdir, sizeof(vmdir));
    snprintf(path, sizeof(path), "%s/%s", vmdir, BK_PRUNE_JOURNAL);
    o = json_object_from_file(path);
    if (!o) {
        return 0;
    }
    pdir = jstr(o, "drop_dir");
    cdir = jstr(o, "into_dir");
    gdir = jstr(o, "child_dir");
    into_id = jstr(o, "into_id");
    json_object_put(o);
    if (!pdir || !cdir || !into_id || strchr(pdir, '/') ||
        strchr(cdir, '/') || (gdir && strchr(gdir, '/'))) {
        e = bk_err(r, OVFK_ECORRUPT, "'%s' is not a prune journal", path);
        goto out;
    }
    snprintf(path, sizeof(path), "%s/%s/%s", vmdir, pdir, BK_POINT_FILE);
    p = json_object_from_file(path);
    if (p) {
        id = jstr(p, "id");
        json_object_put(p);
    }
    if (id && !strcmp(id, into_id)) {
        /* committed (step 3): the rest is clean-up */
        e = remove_dir(r, vmdir, cdir);
        if (e == 0) {
            snprintf(path, sizeof(path), "%s/%s", vmdir, BK_PRUNE_JOURNAL);
            unlink(path);
        }
    } else {
        e = absorb_run(r, vmdir, pdir, cdir, gdir, NULL, NULL);
    }
out:
    free(pdir);
    free(cdir);
    free(gdir);
    free(into_id);
    free(id);
    return e;
}

/* Retention (PBS's mark_selections) */

enum mark { UNMARKED, KEEP, REMOVE };

static void period(int64_t t, int opt, char *buf, size_t len, size_t idx)
{
    time_t tt = (time_t)t;
    struct tm tm;

    localtime_r(&tt, &tm);
    switch (opt) {
    case 1:
        strftime(buf, len, "%Y/%m/%d/%H", &tm);
        break;
    case 2:
        strftime(buf, len, "%Y/%m/%d", &tm);
        break;
    case 3:
        strftime(buf, len, "%G/%V", &tm);   /* ISO 8601 week */
        break;
    case 4:
        strftime(buf, len, "%Y/%m", &tm);
        break;
    case 5:
        strftime(buf, len, "%Y", &tm);
        break;
    default:
        snprintf(buf, len, "#%zu", idx);    /* keep-last: each its own */
    }
}

static bool has(char (*set)[32], size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(set[i], s)) {
            return true;
        }
    }
    return false;
}

/* pts oldest first; marks and reasons indexed like pts. */
static int select_keep(const struct bk_point *pts, size_t n,
                       const struct ovfk_backup_keep *k, enum mark *mark,
                       const char **reason)
{
    static const char *const names[] = {
        "last", "hourly", "daily", "weekly", "monthly", "yearly",
    };
    const unsigned keep[] = { k->last, k->hourly, k->daily, k->weekly,
                              k->monthly, k->yearly };
    char (*included)[32] = calloc(n + 1, 32), (*already)[32] =
        calloc(n + 1, 32);
    char sel[32];

    if (!included || !already) {
        free(included);
        free(already);
        return -ENOMEM;
    }
    for (int opt = 0; opt < 6; opt++) {
        size_t ni = 0, na = 0;
        if (!keep[opt]) {
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (mark[i] == KEEP) {
                period(pts[i].pub.time, opt, already[na++], 32, i);
            }
        }
        for (size_t ii = n; ii-- > 0;) {    /* newest first */
            if (mark[ii] != UNMARKED) {
                continue;
            }
            period(pts[ii].pub.time, opt, sel, sizeof(sel), ii);
            if (has(already, na, sel)) {
                continue;
            }
            if (!has(included, ni, sel)) {
                if (ni >= keep[opt]) {
                    break;
                }
                snprintf(included[ni++], 32, "%s", sel);
                mark[ii] = KEEP;
                reason[ii] = names[opt];
            } else {
                mark[ii] = REMOVE;
            }
        }
    }
    free(included);
    free(already);
    return 0;
}

static struct ovfk_backup_prune_item *add_item(
    struct ovfk_backup_prune_plan *p)
{
    struct ovfk_backup_prune_item *v = realloc(p->items,
                                               (p->n + 1) * sizeof(*v));

    if (!v) {
        return NULL;
    }
    p->items = v;
    memset(&v[p->n], 0, sizeof(v[p->n]));
    return &v[p->n++];
}

void ovfk_backup_prune_plan_free(struct ovfk_backup_prune_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i].vm_uuid);
        free(p->items[i].id);
        free(p->items[i].into);
    }
    free(p->items);
    memset(p, 0, sizeof(*p));
}

/* The point whose parent is id, or -1 (several: -2). */
static int child_of(const struct bk_point *pts, size_t n, const char *id,
                    const bool *gone)
{
    int found = -1;

    for (size_t i = 0; i < n; i++) {
        if (!gone[i] && pts[i].pub.parent && !strcmp(pts[i].pub.parent, id)) {
            found = found == -1 ? (int)i : -2;
        }
    }
    return found;
}

/* Plan (and unless dry_run do) the prune of one VM's points. */
static int prune_vm(ovfk_backup_repo *r, const char *uuid,
                    const struct ovfk_backup_keep *k, bool dry_run,
                    struct ovfk_backup_prune_plan *plan, uint64_t *used,
                    ovfk_progress_fn progress, void *opaque)
{
    struct bk_point *pts = NULL;
    char vmdir[PATH_MAX];
    enum mark *mark = NULL;
    const char **reason = NULL;
    char **where = NULL;        /* the directory holding each point now */
    bool *gone = NULL;
    int *kid = NULL, *gkid = NULL;  /* each step's child and its child */
    char **pinned = NULL;
    size_t npinned = 0;
    size_t n = 0, first = plan->n;
    int e;

    bk_vm_dir(r, uuid, false, vmdir, sizeof(vmdir));
    e = bk_points_load(r, uuid, &pts, &n);
    if (e < 0 || n == 0) {
        return e;
    }
    mark = calloc(n, sizeof(*mark));
    reason = calloc(n, sizeof(*reason));
    gone = calloc(n, sizeof(*gone));
    where = calloc(n, sizeof(*where));
    kid = calloc(n, sizeof(*kid));
    gkid = calloc(n, sizeof(*gkid));
    if (!mark || !reason || !gone || !where || !kid || !gkid ||
        select_keep(pts, n, k, mark, reason) < 0) {
        e = bk_err(r, -ENOMEM, "out of memory");
        goto out;
    }
    /* a point a VM stands on, and what it builds on, keep their files */
    e = bk_pinned(r, uuid, &pinned, &npinned);
    for (size_t q = 0; e == 0 && q < npinned; q++) {
        const char *id = pinned[q];
        for (size_t hops = 0; id && hops <= n; hops++) {
            size_t i;
            for (i = 0; i < n && strcmp(pts[i].pub.id, id); i++) {
            }
            if (i == n) {
                break;
            }
            mark[i] = KEEP;
            reason[i] = "a VM stands on it";
            id = pts[i].pub.parent;
        }
    }
    if (e < 0) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        where[i] = strdup(pts[i].dirname);
    }
    /* the items, newest first */
    for (size_t ii = n; ii-- > 0;) {
        struct ovfk_backup_prune_item *it = add_item(plan);
        if (!it) {
            e = bk_err(r, -ENOMEM, "out of memory");
            goto out;
        }
        it->vm_uuid = strdup(uuid);
        it->id = strdup(pts[ii].pub.id);
        it->keep = mark[ii] == KEEP;
        it->reason = reason[ii];
    }
    /* the steps, oldest first: each pruned point merges into its child or
     * goes */
    for (size_t i = 0; i < n; i++) {
        struct ovfk_backup_prune_item *it = &plan->items[first + n - 1 - i];
        int ch;
        if (it->keep) {
            continue;
        }
        ch = child_of(pts, n, pts[i].pub.id, gone);
        kid[i] = ch;
        gkid[i] = ch >= 0 ? child_of(pts, n, pts[ch].pub.id, gone) : -1;
        if (ch == -2) {
            it->keep = true;
            it->reason = "several points build on it";
            continue;
        }
        if (ch == -1) {
            it->action = "remove";
            it->frees = pts[i].pub.stored;
        } else {
            struct ovfk_vhd_merge_plan mp;
            it->action = "merge";
            it->into = strdup(pts[ch].pub.id);
            for (size_t d = 0; d < pts[ch].n_disks && d < pts[i].n_disks;
                 d++) {
                char target[PATH_MAX + 300];
                snprintf(target, sizeof(target), "%s/%s/%s", vmdir, where[i],
                         pts[i].disks[d].file);
                e = ovfk_vhd_merge_plan_into(pts[ch].vm->disks[d].path, target,
                                        &mp);
                if (e < 0) {
                    e = bk_err(r, e, "%s", ovfk_last_error());
                    goto out;
                }
                it->bytes_needed += mp.bytes_needed;
            }
            it->frees = pts[ch].pub.stored;
        }
        *used += it->bytes_needed;
        if (*used > plan->peak_bytes) {
            plan->peak_bytes = *used;
        }
        *used -= it->frees < *used ? it->frees : *used;
        gone[i] = true;
        if (ch >= 0) {
            /* the child now lies in i's directory and builds on i's
             * parent */
            free(where[ch]);
            where[ch] = strdup(where[i]);
            free(pts[ch].pub.parent);
            pts[ch].pub.parent = pts[i].pub.parent ?
                                 strdup(pts[i].pub.parent) : NULL;
        }
    }
    if (dry_run) {
        goto out;
    }
    if (plan->available && plan->peak_bytes > plan->available) {
        char need[32], have[32];
        e = bk_err(r, -ENOSPC, "pruning needs %s free in '%s'; %s are "
                   "available", ovfk_size_str(plan->peak_bytes, need,
                                              sizeof(need)),
                   r->path, ovfk_size_str(plan->available, have,
                                          sizeof(have)));
        goto out;
    }
    /* carry out: the same order, with the directories as they move */
    for (size_t i = 0; i < n; i++) {
        free(where[i]);
        where[i] = strdup(pts[i].dirname);
    }
    for (size_t i = 0; e == 0 && i < n; i++) {
        struct ovfk_backup_prune_item *it = &plan->items[first + n - 1 - i];
        int ch = kid[i], gc = gkid[i];
        if (it->keep) {
            continue;
        }
        if (ch == -1) {
            e = remove_dir(r, vmdir, where[i]);
        } else if (ch >= 0) {
            e = absorb(r, vmdir, where[i], where[ch], pts[ch].pub.id,
                       gc >= 0 ? where[gc] : NULL, progress, opaque);
            if (e == 0) {
                free(where[ch]);
                where[ch] = strdup(where[i]);
            }
        }
    }
out:
    for (size_t i = 0; where && i < n; i++) {
        free(where[i]);
    }
    free(where);
    free(kid);
    free(gkid);
    ovfk_hv_strv_free(pinned, npinned);
    free(mark);
    free(reason);
    free(gone);
    bk_points_free(pts, n);
    return e;
}

int ovfk_backup_prune(ovfk_backup_repo *r, const char *vm,
                      const struct ovfk_backup_keep *keep, bool dry_run,
                      int wait, struct ovfk_backup_prune_plan *plan,
                      ovfk_progress_fn progress, void *opaque)
{
    struct ovfk_backup_prune_plan local = { 0 };
    struct ovfk_backup_prune_plan *p = plan ? plan : &local;
    char uuid[37], **uuids = NULL;
    size_t nu = 0;
    uint64_t used = 0;
    struct statvfs fs;
    struct dirent *de;
    uint8_t raw[16];
    int e = 0;
    DIR *d;

    ovfk_err_clear(&r->err);
    memset(p, 0, sizeof(*p));
    if (!keep->last && !keep->hourly && !keep->daily && !keep->weekly &&
        !keep->monthly && !keep->yearly) {
        return bk_err(r, -EINVAL, "no --keep-* option: prune would remove "
                      "every point");
    }
    if (statvfs(r->path, &fs) == 0) {
        p->available = (uint64_t)fs.f_bavail * fs.f_frsize;
    }
    if (vm) {
        e = bk_resolve_vm(r, vm, uuid);
        if (e == 0) {
            e = hv_strv_add(&uuids, &nu, uuid);
        }
    } else if ((d = opendir(r->path))) {
        while (e == 0 && (de = readdir(d))) {
            if (de->d_name[0] != '.' &&
                ovfk_uuid_parse(de->d_name, raw) == 0) {
                e = hv_strv_add(&uuids, &nu, de->d_name);
            }
        }
        closedir(d);
    }
    for (size_t i = 0; e == 0 && i < nu; i++) {
        char vmdir[PATH_MAX];
        ovfk_lock *lock = NULL;
        e = bk_lock(r, uuids[i], wait, &lock);
        if (e == 0 && !dry_run) {
            bk_vm_dir(r, uuids[i], false, vmdir, sizeof(vmdir));
            bk_clean_leftovers(vmdir);
            e = bk_prune_recover(r, uuids[i]);
        }
        if (e == 0) {
            e = prune_vm(r, uuids[i], keep, dry_run, p, &used, progress,
                         opaque);
        }
        if (lock) {
            bk_unlock(lock);
        }
    }
    ovfk_hv_strv_free(uuids, nu);
    if (!plan) {
        ovfk_backup_prune_plan_free(&local);
    }
    return e;
}

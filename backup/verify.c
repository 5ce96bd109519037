/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backup/verify.c - re-check points: each package against its manifest
 * (ovfk_ova_verify: every listed file re-hashed, missing and unlisted files),
 * each disk's VHD structure (ovfk_vhd_check, which also checks the link to its
 * parent), and each chain: an incremental point's disk must open with its
 * parent point's disk as its parent (found through the relative locator,
 * identified by UUID).  A damaged point is marked (DAMAGED in its
 * directory, holding the first problem), and so is every point that builds
 * on it; the next backup of that VM is then full (run.c).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/internal.h"
#include "hv/internal.h"
#include "ovfkit/ova.h"
#include "ovfkit/vhd.h"
#include "util/tmpfile.h"

struct found {
    char first[OVFK_ERR_MAX];
    size_t n;
};

static void note_problem(void *opaque, const char *msg)
{
    struct found *f = opaque;

    if (f->n++ == 0) {
        snprintf(f->first, sizeof(f->first), "%s", msg);
    }
}

/* ovfk_ova_verify's lines: every one counts, what is not an error marked */
static void verify_line(void *opaque, enum ovfk_severity sev,
                        const char *msg)
{
    char line[OVFK_ERR_MAX];

    snprintf(line, sizeof(line), "%s%s%s",
             sev == OVFK_SEV_ERROR ? "" : ovfk_severity_str(sev),
             sev == OVFK_SEV_ERROR ? "" : ": ", msg);
    note_problem(opaque, line);
}

static void vhd_finding(void *opaque, enum ovfk_severity sev,
                        const char *msg)
{
    /* leaks and warnings do not change what the point reads */
    if (sev == OVFK_SEV_ERROR) {
        note_problem(opaque, msg);
    }
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* The problems of one point, its parents aside (parent may be NULL). */
static void check_point(const struct bk_point *p, const struct bk_point *parent,
                        struct found *f)
{
    char msg[OVFK_ERR_MAX + 200];
    int e;

    e = ovfk_ova_verify(p->pub.package, NULL, verify_line, f);
    if (e < 0) {
        snprintf(msg, sizeof(msg), "cannot verify its package: %s",
                 ovfk_last_error());
        note_problem(f, msg);
    }
    for (size_t k = 0; k < p->n_disks; k++) {
        const char *path = p->vm->disks[k].path;
        enum ovfk_vhd_check_result c;
        ovfk_vhd *h = NULL;
        if (access(path, F_OK) != 0) {
            snprintf(msg, sizeof(msg), "disk file '%s' is missing", path);
            note_problem(f, msg);
            continue;
        }
        c = ovfk_vhd_check(path, vhd_finding, f);
        if (c == OVFK_VHD_CHECK_CORRUPT || c == OVFK_VHD_CHECK_FAILED ||
            c == OVFK_VHD_CHECK_UNSUPPORTED) {
            snprintf(msg, sizeof(msg), "disk '%s' fails vhd check (%d)",
                     path, (int)c);
            note_problem(f, msg);
            continue;
        }
        if (ovfk_vhd_open(path, 0, &h) < 0) {
            snprintf(msg, sizeof(msg), "%s", ovfk_last_error());
            note_problem(f, msg);
            continue;
        }
        if (!parent && ovfk_vhd_parent(h)) {
            snprintf(msg, sizeof(msg), "disk '%s' of a full point has a "
                     "parent", path);
            note_problem(f, msg);
        } else if (parent && (!ovfk_vhd_parent(h) || k >= parent->n_disks ||
                              !same_file(ovfk_vhd_path(ovfk_vhd_parent(h)),
                                         parent->vm->disks[k].path))) {
            snprintf(msg, sizeof(msg), "disk '%s' does not build on point "
                     "'%s'", path, parent->pub.id);
            note_problem(f, msg);
        }
        ovfk_vhd_close(h);
    }
}

static int mark(ovfk_backup_repo *r, struct bk_point *p, const char *why)
{
    char path[PATH_MAX + 32], line[OVFK_ERR_MAX + 2];
    int e;

    if (p->pub.damaged) {
        return 0;
    }
    snprintf(path, sizeof(path), "%s/%s", p->pub.dir, BK_DAMAGED_FILE);
    snprintf(line, sizeof(line), "%s\n", why);
    e = ovfk_write_file_atomic(path, line, strlen(line));
    if (e < 0) {
        return bk_err(r, e, "cannot mark '%s' damaged: %s", p->pub.dir,
                      ovfk_errtext(e));
    }
    p->pub.damaged = strdup(why);
    return 0;
}

static struct bk_point *by_id(struct bk_point *pts, size_t n, const char *id)
{
    for (size_t i = 0; id && i < n; i++) {
        if (!strcmp(pts[i].pub.id, id)) {
            return &pts[i];
        }
    }
    return NULL;
}

/* Is p the point only or one it builds on? */
static bool in_chain(struct bk_point *pts, size_t n, struct bk_point *only,
                     const struct bk_point *p)
{
    for (size_t hops = 0; only && hops <= n; hops++) {
        if (only == p) {
            return true;
        }
        only = by_id(pts, n, only->pub.parent);
    }
    return false;
}

static int verify_vm(ovfk_backup_repo *r, const char *uuid, const char *key,
                     int wait, ovfk_backup_report_fn report, void *opaque,
                     size_t *damaged)
{
    struct bk_point *pts = NULL, *only = NULL;
    char why[OVFK_ERR_MAX + 100];
    size_t n = 0;
    ovfk_lock *lock = NULL;
    int e;

    e = bk_lock(r, uuid, wait, &lock);
    if (e == 0) {
        e = bk_prune_recover(r, uuid);
    }
    if (e == 0) {
        e = bk_points_load(r, uuid, &pts, &n);
    }
    if (e == 0 && key && !(only = bk_find(r, pts, n, key))) {
        e = r->err.code;
    }
    /* oldest first: a parent is judged before the points built on it */
    for (size_t i = 0; e == 0 && i < n; i++) {
        struct bk_point *p = &pts[i], *parent = by_id(pts, n, p->pub.parent);
        struct found f = { .n = 0 };
        if (only && !in_chain(pts, n, only, p)) {
            continue;       /* only the point and what it builds on */
        }
        if (p->pub.parent && !parent) {
            snprintf(why, sizeof(why), "its parent point '%s' is missing",
                     p->pub.parent);
            note_problem(&f, why);
        } else {
            check_point(p, parent, &f);
        }
        if (!f.n && parent && parent->pub.damaged) {
            snprintf(why, sizeof(why), "it builds on damaged point '%s'",
                     parent->pub.id);
            note_problem(&f, why);
        }
        if (f.n || p->pub.damaged) {
            if (f.n) {
                e = mark(r, p, f.first);
            }
            (*damaged)++;
            if (report) {
                report(opaque, &p->pub, f.n ? f.first : p->pub.damaged);
            }
        }
    }
    bk_points_free(pts, n);
    if (lock) {
        bk_unlock(lock);
    }
    return e;
}

int ovfk_backup_verify(ovfk_backup_repo *r, const char *vm,
                       const char *point, int wait,
                       ovfk_backup_report_fn report, void *opaque)
{
    char uuid[37];
    size_t damaged = 0;
    struct dirent *de;
    uint8_t raw[16];
    int e = 0;
    DIR *d;

    ovfk_err_clear(&r->err);
    if (vm) {
        e = bk_resolve_vm(r, vm, uuid);
        if (e == 0) {
            e = verify_vm(r, uuid, point, wait, report, opaque, &damaged);
        }
        return e < 0 ? e : (int)damaged;
    }
    d = opendir(r->path);
    while (e == 0 && d && (de = readdir(d))) {
        if (de->d_name[0] != '.' && ovfk_uuid_parse(de->d_name, raw) == 0) {
            e = verify_vm(r, de->d_name, NULL, wait, report, opaque,
                          &damaged);
        }
    }
    if (d) {
        closedir(d);
    }
    return e < 0 ? e : (int)damaged;
}

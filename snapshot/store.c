/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * snapshot/store.c - the snapshot list of a VM: snapshots.json in its
 * directory of the dir store, written atomically (temporary + rename), and
 * read back into struct ovfk_snap_list.
 */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hv/internal.h"
#include "ovfkit/vhd.h"
#include "snapshot/internal.h"
#include "util/tmpfile.h"

void snap_clear(struct ovfk_snap *s)
{
    free(s->id);
    free(s->name);
    free(s->description);
    free(s->created);
    free(s->parent);
    ovfk_hv_vm_free(s->vm);
    for (size_t k = 0; k < s->n_disks; k++) {
        free(s->disks[k].id);
        free(s->disks[k].file);
    }
    free(s->disks);
    memset(s, 0, sizeof(*s));
}

void ovfk_snap_list_free(struct ovfk_snap_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        snap_clear(&l->snaps[i]);
    }
    free(l->snaps);
    free(l->current);
    for (size_t i = 0; i < l->n_garbage; i++) {
        free(l->garbage[i]);
    }
    free(l->garbage);
    memset(l, 0, sizeof(*l));
}

int snap_err(ovfk_hv_conn *c, int code, const char *fmt, ...)
             {
             char msg[OVFK_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return ovfk_err_set(&c->err, code, "%s", msg);
}

int snap_dir(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, char *buf,
             size_t len)
{
    int r = ovfk_hv_vm_data_dir(c, vm, buf, len);

    if (r < 0) {
        return r;
    }
    return 0;
}

static char *dup_str(json_object *o, const char *k)
{
    json_object *v;

    if (!json_object_object_get_ex(o, k, &v) ||
        json_object_is_type(v, json_type_null)) {
        return NULL;
    }
    return strdup(json_object_get_string(v));
}

int ovfk_snap_load(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm,
                   struct ovfk_snap_list *out)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    json_object *o, *arr;
    int r;

    memset(out, 0, sizeof(*out));
    r = snap_dir(c, vm, dir, sizeof(dir));
    if (r < 0) {
        return r;
    }
    snprintf(path, sizeof(path), "%s/snapshots.json", dir);
    o = json_object_from_file(path);
    if (!o) {
        return 0;   /* no snapshots */
    }
    out->current = dup_str(o, "current");
    if (json_object_object_get_ex(o, "snapshots", &arr)) {
        size_t n = json_object_array_length(arr);
        out->snaps = calloc(n + 1, sizeof(*out->snaps));
        for (size_t i = 0; out->snaps && i < n; i++) {
            json_object *e = json_object_array_get_idx(arr, i), *v, *disks;
            struct ovfk_snap *s = &out->snaps[out->n++];
            s->id = dup_str(e, "id");
            s->name = dup_str(e, "name");
            s->description = dup_str(e, "description");
            s->created = dup_str(e, "created");
            s->parent = dup_str(e, "parent");
            if (json_object_object_get_ex(e, "vm", &v)) {
                ovfk_hv_vm_from_json(json_object_to_json_string(v), &s->vm);
            }
            if (json_object_object_get_ex(e, "disks", &disks)) {
                size_t nd = json_object_array_length(disks);
                s->disks = calloc(nd + 1, sizeof(*s->disks));
                for (size_t k = 0; s->disks && k < nd; k++) {
                    json_object *d = json_object_array_get_idx(disks, k);
                    s->disks[k].id = dup_str(d, "id");
                    s->disks[k].file = dup_str(d, "file");
                    s->n_disks++;
                }
            }
        }
    }
    if (json_object_object_get_ex(o, "garbage", &arr)) {
        size_t n = json_object_array_length(arr);
        out->garbage = calloc(n + 1, sizeof(*out->garbage));
        for (size_t i = 0; out->garbage && i < n; i++) {
            const char *g = json_object_get_string(
                json_object_array_get_idx(arr, i));
            if (g) {
                out->garbage[out->n_garbage++] = strdup(g);
            }
        }
    }
    json_object_put(o);
    return 0;
}

static void put(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

int snap_save(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm,
              const struct ovfk_snap_list *l)
{
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    char dir[PATH_MAX], path[PATH_MAX + 32];
    const char *text;
    int r = snap_dir(c, vm, dir, sizeof(dir));

    for (size_t i = 0; r == 0 && i < l->n; i++) {
        const struct ovfk_snap *s = &l->snaps[i];
        json_object *e = json_object_new_object(), *disks;
        char *vmj = s->vm ? ovfk_hv_vm_to_json(s->vm, false) : NULL;
        put(e, "id", s->id);
        put(e, "name", s->name);
        put(e, "description", s->description);
        put(e, "created", s->created);
        put(e, "parent", s->parent);
        json_object_object_add(e, "vm", vmj ? json_tokener_parse(vmj) : NULL);
        free(vmj);
        disks = json_object_new_array();
        for (size_t k = 0; k < s->n_disks; k++) {
            json_object *d = json_object_new_object();
            put(d, "id", s->disks[k].id);
            put(d, "file", s->disks[k].file);
            json_object_array_add(disks, d);
        }
        json_object_object_add(e, "disks", disks);
        json_object_array_add(arr, e);
    }
    put(o, "current", l->current);
    json_object_object_add(o, "snapshots", arr);
    if (l->n_garbage) {
        json_object *g = json_object_new_array();
        for (size_t i = 0; i < l->n_garbage; i++) {
            json_object_array_add(g, json_object_new_string(l->garbage[i]));
        }
        json_object_object_add(o, "garbage", g);
    }
    if (r == 0) {
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                              JSON_C_TO_STRING_NOSLASHESCAPE);
        snprintf(path, sizeof(path), "%s/snapshots.json", dir);
        r = ovfk_write_file_atomic(path, text, strlen(text));
        if (r < 0) {
            r = snap_err(c, r, "cannot write '%s': %s", path,
                         ovfk_errtext(r));
        }
    }
    json_object_put(o);
    return r;
}

const struct ovfk_snap *ovfk_snap_find(const struct ovfk_snap_list *l,
                                       const char *key)
{
    for (size_t i = 0; key && i < l->n; i++) {
        if (!strcmp(l->snaps[i].id, key)) {
            return &l->snaps[i];
        }
    }
    for (size_t i = 0; key && i < l->n; i++) {
        if (l->snaps[i].name && !strcmp(l->snaps[i].name, key)) {
            return &l->snaps[i];
        }
    }
    return NULL;
}

bool snap_references(const struct ovfk_snap_list *l, const char *path)
{
    for (size_t i = 0; i < l->n; i++) {
        for (size_t k = 0; k < l->snaps[i].n_disks; k++) {
            if (!strcmp(l->snaps[i].disks[k].file, path)) {
                return true;
            }
        }
    }
    return false;
}

char *snap_now(void)
{
    char buf[32];
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return strdup(buf);
}

int snap_begin(ovfk_hv_conn *c, const char *vm, struct snap_ctx *x)
{
    int r;

    memset(x, 0, sizeof(*x));
    x->c = c;
    x->lock = NULL;
    r = ovfk_hv_load(c, vm, &x->vm);
    if (r < 0) {
        return r;
    }
    r = ovfk_hv_vm_lock(c, x->vm, &x->lock);
    if (r == 0) {
        r = snap_dir(c, x->vm, x->dir, sizeof(x->dir));
    }
    if (r == 0) {
        r = ovfk_snap_load(c, x->vm, &x->list);
    }
    if (r == 0 && x->list.n_garbage) {
        r = snap_take_out_garbage(x);
    }
    if (r < 0) {
        snap_end(x);
    }
    return r;
}

/* Is path one of the VM's current disk files? */
static bool vm_names(const struct ovfk_hv_vm *vm, const char *path)
{
    for (size_t i = 0; vm && i < vm->n_disks; i++) {
        if (vm->disks[i].path && !strcmp(vm->disks[i].path, path)) {
            return true;
        }
    }
    return false;
}

/*
 * A deletion lists each delta it merges as garbage before the merge, and
 * removes it after switching every reference to the merge's parent.  Cut
 * off in between, the delta is left: remove it now, once its merge is
 * complete (a journal is finished first) and nothing names it or builds
 * on it.  One that still has children was never merged: it stays in the
 * chain, and the next deletion's collapse takes it.
 */
int snap_take_out_garbage(struct snap_ctx *x)
{
    char disks[PATH_MAX + 8];

    snprintf(disks, sizeof(disks), "%s/disks", x->dir);
    for (size_t i = 0; i < x->list.n_garbage; i++) {
        const char *g = x->list.garbage[i];
        char **kids = NULL;
        size_t nk = 0;
        if (!snap_references(&x->list, g) && !vm_names(x->vm, g) &&
            ovfk_vhd_merge_recover(g) >= 0 &&
            ovfk_vhd_find_children(g, disks, &kids, &nk) == 0 && nk == 0) {
            unlink(g);
        }
        for (size_t k = 0; k < nk; k++) {
            free(kids[k]);
        }
        free(kids);
        free(x->list.garbage[i]);
    }
    free(x->list.garbage);
    x->list.garbage = NULL;
    x->list.n_garbage = 0;
    return snap_save(x->c, x->vm, &x->list);
}

/* Is there a merge journal (".<delta>.merge.json", merge.c) in dir? */
static bool has_journal(const char *dir)
{
    struct dirent *e;
    bool found = false;
    DIR *d = opendir(dir);

    while (d && !found && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        found = e->d_name[0] == '.' && n > 11 &&
                !strcmp(e->d_name + n - 11, ".merge.json");
    }
    if (d) {
        closedir(d);
    }
    return found;
}

/*
 * Complete the merges a deletion cut off left in the VM's deltas: the
 * explicit step of each snapshot command that writes, before it looks at
 * the chains (reading them completes nothing, merge.c NOTES 6-8).  A
 * journal concerns its child, which may be gone (crash point 8), its
 * parent or a child's child: each delta is given to ovfk_vhd_merge_recover
 * until no journal is left.
 */
int snap_finish_merges(struct snap_ctx *x)
{
    char disks[PATH_MAX + 8], path[PATH_MAX * 2];
    struct dirent *e;
    int r = 0;
    DIR *d;

    snprintf(disks, sizeof(disks), "%s/disks", x->dir);
    if (!has_journal(disks) || !(d = opendir(disks))) {
        return 0;
    }
    while (r >= 0 && (e = readdir(d)) && has_journal(disks)) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || n < 5 ||
            strcmp(e->d_name + n - 4, ".vhd")) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", disks, e->d_name);
        r = ovfk_vhd_merge_recover(path);
    }
    closedir(d);
    for (size_t i = 0; r >= 0 && x->vm && i < x->vm->n_disks; i++) {
        /* a parent outside the store (the VM's own base disk) */
        if (x->vm->disks[i].path && has_journal(disks)) {
            r = ovfk_vhd_merge_recover(x->vm->disks[i].path);
        }
    }
    return r < 0 ? snap_err(x->c, r, "%s", ovfk_last_error()) : 0;
}

void snap_end(struct snap_ctx *x)
{
    ovfk_lock_release(x->lock);
    x->lock = NULL;
    ovfk_hv_vm_free(x->vm);
    x->vm = NULL;
    ovfk_snap_list_free(&x->list);
}

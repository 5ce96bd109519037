/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backup/instant.c - instant restore: a VM of the dir store defined on new
 * differencing VHDs whose parents are a point's disks in the repository
 * (nothing copied; the VM's writes go to its own deltas, the point's files
 * are only read), and the move that later copies such a VM's chains into
 * the store and cuts it loose from the repository.
 *
 * While a VM stands on a point, REPO/UUID/.instant-VMUUID.json names the
 * point and the VM's deltas; prune keeps that point and every point it
 * builds on (their files must not change) for as long as one of the
 * deltas still has its parent in the repository.
 */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/internal.h"
#include "hv/internal.h"
#include "ovfkit/snapshot.h"
#include "ovfkit/vhd.h"
#include "util/tmpfile.h"

#define MARK_PREFIX ".instant-"

static int from_conn(ovfk_backup_repo *r, ovfk_hv_conn *c, int e)
{
    return bk_err(r, e, "%s", ovfk_hv_error(c));
}

static int write_mark(ovfk_backup_repo *r, const char *vmdir,
                      const struct ovfk_hv_vm *vm, const char *point)
{
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    char path[PATH_MAX + 64], u[37];
    const char *text;
    int e;

    ovfk_uuid_str(vm->uuid, u);
    json_object_object_add(o, "vm", json_object_new_string(u));
    json_object_object_add(o, "name", json_object_new_string(vm->name));
    json_object_object_add(o, "point", json_object_new_string(point));
    for (size_t i = 0; i < vm->n_disks; i++) {
        json_object_array_add(arr, json_object_new_string(
                                  vm->disks[i].path));
    }
    json_object_object_add(o, "deltas", arr);
    text = json_object_to_json_string(o);
    snprintf(path, sizeof(path), "%s/%s%s.json", vmdir, MARK_PREFIX, u);
    e = ovfk_write_file_atomic(path, text, strlen(text));
    json_object_put(o);
    return e < 0 ? bk_err(r, e, "cannot write '%s': %s", path,
                          ovfk_errtext(e)) : 0;
}

/* Does delta still build on a file under vmdir? */
static bool stands_on(const char *delta, const char *vmdir)
{
    char parent[PATH_MAX], real[PATH_MAX];
    size_t n = strlen(vmdir);

    return ovfk_vhd_parent_path(delta, parent, sizeof(parent)) == 1 &&
           realpath(parent, real) && !strncmp(real, vmdir, n) &&
           real[n] == '/';
}

int bk_pinned(ovfk_backup_repo *r, const char *uuid, char ***ids,
              size_t *n)
{
    char vmdir[PATH_MAX], real[PATH_MAX], path[PATH_MAX + 300];
    struct dirent *de;
    DIR *d;
    int e = 0;

    *ids = NULL;
    *n = 0;
    bk_vm_dir(r, uuid, false, vmdir, sizeof(vmdir));
    if (!realpath(vmdir, real) || !(d = opendir(vmdir))) {
        return 0;
    }
    while (e == 0 && (de = readdir(d))) {
        json_object *o, *arr, *pt;
        bool live = false;
        if (strncmp(de->d_name, MARK_PREFIX, strlen(MARK_PREFIX))) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", vmdir, de->d_name);
        o = json_object_from_file(path);
        if (!o) {
            continue;
        }
        if (json_object_object_get_ex(o, "deltas", &arr)) {
            for (size_t i = 0; i < json_object_array_length(arr); i++) {
                live |= stands_on(json_object_get_string(
                                      json_object_array_get_idx(arr, i)),
                                  real);
            }
        }
        if (live && json_object_object_get_ex(o, "point", &pt)) {
            e = hv_strv_add(ids, n, json_object_get_string(pt));
        }
        json_object_put(o);
    }
    closedir(d);
    return e < 0 ? bk_err(r, e, "out of memory") : 0;
}

int ovfk_backup_instant(ovfk_backup_repo *r, ovfk_hv_conn *c, const char *vm,
                        const char *point, bool as_new, const char *name,
                        struct ovfk_hv_vm **out)
{
    struct bk_point *pts, *p;
    struct ovfk_hv_vm *model = NULL, *existing = NULL, **all = NULL;
    char dir[PATH_MAX], path[PATH_MAX + 300], vmdir[PATH_MAX];
    char **made = NULL, id[64];
    size_t n, nall = 0, nmade = 0;
    ovfk_lock *lock = NULL;
    const char *why;
    int e;

    ovfk_err_clear(&r->err);
    if (out) {
        *out = NULL;
    }
    if (strcmp(ovfk_hv_driver_name(c), "dir")) {
        return bk_err(r, -ENOTSUP, "instant restore needs the dir store "
                      "(its VMs read differencing VHD chains); use restore");
    }
    e = bk_open_point(r, vm, point, &pts, &n, &p);
    if (e < 0) {
        return e;
    }
    snprintf(id, sizeof(id), "%s", p->pub.id);
    e = bk_lock(r, p->pub.vm_uuid, 0, &lock);
    model = e == 0 ? ovfk_hv_vm_copy(p->vm) : NULL;
    made = calloc(p->n_disks + 1, sizeof(*made));
    if (e == 0 && (!model || !made)) {
        e = bk_err(r, -ENOMEM, "out of memory");
    }
    if (e == 0 && (e = ovfk_hv_list(c, &all, &nall)) < 0) {
        from_conn(r, c, e);
    }
    if (e == 0 && as_new) {
        ovfk_uuid_generate(model->uuid);
        free(model->name);
        model->name = strdup(name ? name : "restored");
        for (size_t i = 0; e == 0 && i < model->n_nics; i++) {
            e = hv_mac_next(c, all, nall, NULL, 0, model->nics[i].mac);
            if (e < 0) {
                from_conn(r, c, e);
            }
        }
    } else if (e == 0) {
        char u[37];
        ovfk_uuid_str(model->uuid, u);
        if (ovfk_hv_load(c, u, &existing) == 0) {
            e = bk_err(r, -EEXIST, "VM '%s' exists: an instant restore "
                       "defines a VM on the point; remove it first, or "
                       "pass --as-new", existing->name);
        }
    }
    if (e == 0 && !hv_name_ok(model->name, &why)) {
        e = bk_err(r, -EINVAL, "invalid VM name '%s': %s", model->name, why);
    }
    for (size_t i = 0; e == 0 && i < nall; i++) {
        if (!strcmp(all[i]->name, model->name)) {
            e = bk_err(r, -EEXIST, "a VM named '%s' exists; pass --name",
                       model->name);
        }
    }
    if (e == 0 && (e = c->drv->disk_dir(c, model, dir, sizeof(dir))) < 0) {
        from_conn(r, c, e);
    }
    for (size_t i = 0; e == 0 && i < model->n_disks; i++) {
        struct ovfk_vhd_create_opts co = { .parent = p->vm->disks[i].path };
        snprintf(path, sizeof(path), "%s/%s-on-%s.vhd", dir,
                 model->disks[i].id, id);
        e = ovfk_vhd_create(path, &co, NULL);
        if (e < 0) {
            bk_err(r, e, "%s", ovfk_last_error());
            break;
        }
        made[nmade++] = strdup(path);
        free(model->disks[i].path);
        model->disks[i].path = strdup(path);
        free(model->disks[i].format);
        model->disks[i].format = strdup("vhd");
        model->disks[i].owned = true;
    }
    if (e == 0) {
        bk_vm_dir(r, p->pub.vm_uuid, false, vmdir, sizeof(vmdir));
        e = write_mark(r, vmdir, model, id);
    }
    if (e == 0 && (e = c->drv->define(c, model)) < 0) {
        char u[37];
        from_conn(r, c, e);
        ovfk_uuid_str(model->uuid, u);
        snprintf(path, sizeof(path), "%s/%s%s.json", vmdir, MARK_PREFIX, u);
        unlink(path);
    }
    if (e < 0) {
        for (size_t i = 0; i < nmade; i++) {
            unlink(made[i]);
        }
    } else if (out) {
        *out = model;
        model = NULL;
    }
    for (size_t i = 0; made && i < nmade; i++) {
        free(made[i]);
    }
    free(made);
    ovfk_hv_list_free(all, nall);
    ovfk_hv_vm_free(existing);
    ovfk_hv_vm_free(model);
    bk_unlock(lock);
    bk_points_free(pts, n);
    return e;
}

int ovfk_backup_move_storage(ovfk_backup_repo *r, ovfk_hv_conn *c,
                             const char *vmkey, ovfk_progress_fn progress,
                             void *opaque)
{
    struct ovfk_hv_vm *vm = NULL, *now = NULL;
    struct ovfk_snap_list l = { 0 };
    char dir[PATH_MAX], path[PATH_MAX + 300], real[PATH_MAX];
    char **old = NULL;
    size_t nold = 0;
    ovfk_lock *lock = NULL;
    int e;

    ovfk_err_clear(&r->err);
    e = ovfk_hv_load(c, vmkey, &vm);
    if (e == 0) {
        e = ovfk_hv_vm_lock(c, vm, &lock);
    }
    if (e < 0) {
        return from_conn(r, c, e);
    }
    e = ovfk_hv_vm_data_dir(c, vm, dir, sizeof(dir));
    if (e < 0) {
        from_conn(r, c, e);
    } else if (!realpath(dir, real)) {
        e = bk_err(r, -errno, "cannot resolve '%s'", dir);
    } else if (ovfk_hv_is_running(c, vm) > 0) {
        e = bk_err(r, -EBUSY, "VM '%s' is running; stop it to move its "
                   "disks into the store", vm->name);
    } else if ((e = ovfk_snap_load(c, vm, &l)) < 0) {
        from_conn(r, c, e);
    } else if (l.n) {
        e = bk_err(r, -EBUSY, "VM '%s' has snapshots; delete them first",
                   vm->name);
    }
    now = e == 0 ? ovfk_hv_vm_copy(vm) : NULL;
    if (e == 0 && !now) {
        e = bk_err(r, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; e == 0 && i < vm->n_disks; i++) {
        const char *d = vm->disks[i].path;
        char parent[PATH_MAX], preal[PATH_MAX];
        struct ovfk_vhd_convert_opts co = { .type = OVFK_VHD_OUT_DYNAMIC,
                                            .progress = progress,
                                            .opaque = opaque };
        ovfk_source *src = NULL;
        ovfk_vhd *h = NULL;
        size_t n = strlen(real);
        /* a chain that leaves the VM's directory is flattened */
        if (ovfk_vhd_parent_path(d, parent, sizeof(parent)) != 1 ||
            !realpath(parent, preal) ||
            (!strncmp(preal, real, n) && preal[n] == '/')) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/disks/%s-moved.vhd", real,
                 vm->disks[i].id);
        e = ovfk_vhd_open(d, 0, &h);
        if (e == 0) {
            e = ovfk_vhd_source(h, &src);
        }
        if (e == 0) {
            e = ovfk_vhd_convert(src, path, &co);
        }
        if (e < 0) {
            bk_err(r, e, "%s", h && !src ? ovfk_vhd_error(h)
                                         : ovfk_last_error());
        }
        ovfk_source_free(src);
        ovfk_vhd_close(h);
        if (e == 0) {
            hv_strv_add(&old, &nold, d);
            free(now->disks[i].path);
            now->disks[i].path = strdup(path);
        }
    }
    if (e == 0 && nold && (e = ovfk_hv_vm_update(c, now)) < 0) {
        from_conn(r, c, e);
    }
    if (e == 0) {
        for (size_t i = 0; i < nold; i++) {
            unlink(old[i]);     /* the deltas on the repository */
        }
    } else {
        for (size_t i = 0; now && i < now->n_disks; i++) {
            if (strcmp(now->disks[i].path, vm->disks[i].path)) {
                unlink(now->disks[i].path);
            }
        }
    }
    ovfk_hv_strv_free(old, nold);
    ovfk_snap_list_free(&l);
    ovfk_hv_vm_free(now);
    ovfk_hv_vm_free(vm);
    ovfk_lock_release(lock);
    return e;
}

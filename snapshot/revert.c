/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * snapshot/revert.c - continue from a snapshot (a new delta on its frozen
 * files, the current state discarded).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ovfkit/vhd.h"
#include "snapshot/internal.h"

static bool in_vm(const struct ovfk_hv_vm *vm, const char *path)
{
    for (size_t i = 0; vm && i < vm->n_disks; i++) {
        if (vm->disks[i].path && !strcmp(vm->disks[i].path, path)) {
            return true;
        }
    }
    return false;
}

int ovfk_snap_revert(ovfk_hv_conn *c, const char *vmkey, const char *key)
{
    struct snap_ctx x;
    const struct ovfk_snap *s;
    struct ovfk_hv_vm *now = NULL;
    char path[PATH_MAX];
    int r;

    r = snap_begin(c, vmkey, &x);
    if (r == 0 && (r = snap_finish_merges(&x)) < 0) {
        snap_end(&x);
    }
    if (r < 0) {
        return r;
    }
    s = ovfk_snap_find(&x.list, key);
    if (!s) {
        r = snap_err(c, -ENOENT, "VM '%s' has no snapshot '%s'",
                     x.vm->name, key);
    } else if (ovfk_hv_is_running(c, x.vm) > 0) {
        r = snap_err(c, -EBUSY, "VM '%s' is running; stop it before "
                     "reverting (its disks would change under it)",
                     x.vm->name);
    } else if (!s->vm || !(now = ovfk_hv_vm_copy(s->vm))) {
        r = snap_err(c, -ENOMEM, "snapshot '%s' has no VM settings", key);
    }
    /* the snapshot's settings, on new deltas over its frozen files */
    for (size_t i = 0; r == 0 && i < now->n_disks; i++) {
        struct ovfk_vhd_create_opts co = { .parent = now->disks[i].path };
        for (int k = 0; k < 1000; k++) {
            snprintf(path, sizeof(path), "%s/disks/%s-r%s-%d.vhd", x.dir,
                     now->disks[i].id, s->id, k);
            if (access(path, F_OK) != 0) {
                break;
            }
        }
        r = ovfk_vhd_create(path, &co, NULL);
        if (r < 0) {
            snap_err(c, r, "%s", ovfk_last_error());
        } else {
            free(now->disks[i].path);
            now->disks[i].path = strdup(path);
        }
    }
    if (r == 0) {
        /* names and identity stay: reverting is not cloning */
        free(now->name);
        now->name = strdup(x.vm->name);
        memcpy(now->uuid, x.vm->uuid, 16);
        r = ovfk_hv_vm_update(c, now);
    }
    if (r == 0) {
        free(x.list.current);
        x.list.current = strdup(s->id);
        r = snap_save(c, now, &x.list);
    }
    if (r == 0) {
        /* the discarded state: deltas no snapshot names */
        for (size_t i = 0; i < x.vm->n_disks; i++) {
            const char *old = x.vm->disks[i].path;
            if (!snap_references(&x.list, old) && !in_vm(now, old)) {
                unlink(old);
            }
        }
    } else if (now) {
        for (size_t i = 0; i < now->n_disks; i++) {
            if (!in_vm(s ? s->vm : NULL, now->disks[i].path) &&
                !in_vm(x.vm, now->disks[i].path)) {
                unlink(now->disks[i].path);
            }
        }
    }
    ovfk_hv_vm_free(now);
    snap_end(&x);
    return r;
}

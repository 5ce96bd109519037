/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv/locks.c - the locks of an inventory: one per VM, taken by every call
 * that changes a VM or reads its chain (export, restore over it, remove,
 * snapshots), and one for the whole inventory, taken by definition
 * changes (create, remove, import, restore), so that two ovfkit
 * processes, or two programs linking libovfkit, never work on one VM or
 * define into one store at once.  The driver says where the lock file is;
 * util/lock.c does the locking and names a holder that refuses us.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "hv/internal.h"

void ovfk_hv_set_lock_wait(ovfk_hv_conn *c, int seconds)
{
    c->lock_wait = seconds;
}

int hv_lock(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, ovfk_lock **out)
{
    char path[PATH_MAX], what[256];
    int r;

    *out = NULL;
    r = c->drv->lock_path(c, vm ? vm->uuid : NULL, path, sizeof(path));
    if (r < 0) {
        return r;
    }
    if (vm) {
        snprintf(what, sizeof(what), "VM '%s'", vm->name);
    } else {
        snprintf(what, sizeof(what), "inventory '%s'",
                 c->where ? c->where : "(the default store)");
    }
    r = ovfk_lock_take(path, what, c->lock_wait, out);
    if (r < 0) {
        ovfk_err_set(&c->err, r, "%s", ovfk_last_error());
    }
    return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * snapshot/export.c - export a VM as it was at a snapshot.  The snapshot's
 * files are frozen (only the newest delta takes writes), so the export
 * reads them while the VM keeps running.
 */
#include <errno.h>

#include "snapshot/internal.h"

int ovfk_snap_export(ovfk_hv_conn *c, const char *vmkey, const char *key,
                const struct ovfk_hv_export_opts *o)
{
    struct ovfk_hv_export_opts eo = *o;
    struct snap_ctx x;
    const struct ovfk_snap *s;
    int r;

    r = snap_begin(c, vmkey, &x);
    if (r < 0) {
        return r;
    }
    s = ovfk_snap_find(&x.list, key);
    if (!s || !s->vm) {
        r = snap_err(c, -ENOENT, "VM '%s' has no snapshot '%s'",
                     x.vm->name, key);
    } else {
        /* frozen files never change: the VM may keep running */
        eo.allow_running = true;
        r = ovfk_hv_export_vm(c, s->vm, &eo);
    }
    snap_end(&x);
    return r;
}

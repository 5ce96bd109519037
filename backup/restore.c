/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backup/restore.c - using a point: restore it (same identity) or import
 * it (new identity) through ovfk_hv_import, which reads the point's package and
 * flattens each differencing VHD through its chain into a new disk; export
 * it as a standalone package (hv's exporter, which streams each chain into
 * a dynamic VHD).  Neither writes the repository.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/internal.h"
#include "hv/internal.h"

int ovfk_backup_restore(ovfk_backup_repo *r, ovfk_hv_conn *c, const char *vm,
                        const char *point, const struct ovfk_hv_import_opts *o,
                        struct ovfk_hv_plan **plan)
{
    struct bk_point *pts, *p;
    size_t n;
    int e;

    ovfk_err_clear(&r->err);
    e = bk_open_point(r, vm, point, &pts, &n, &p);
    if (e < 0) {
        return e;
    }
    e = ovfk_hv_import(c, p->pub.package, o, plan);
    if (e < 0) {
        bk_err(r, e, "%s", ovfk_hv_error(c));
    }
    bk_points_free(pts, n);
    return e;
}

int ovfk_backup_export(ovfk_backup_repo *r, const char *vm,
                       const char *point, const struct ovfk_hv_export_opts *o)
{
    struct bk_point *pts, *p;
    size_t n;
    int e;

    ovfk_err_clear(&r->err);
    e = bk_open_point(r, vm, point, &pts, &n, &p);
    if (e < 0) {
        return e;
    }
    e = ovfk_hv_export_model(p->vm, o);
    if (e < 0) {
        bk_err(r, e, "%s", ovfk_last_error());
    }
    bk_points_free(pts, n);
    return e;
}

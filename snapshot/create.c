/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * snapshot/create.c - take a snapshot: for every disk, freeze its current
 * file and start a differencing VHD on it.
 *
 * Order (a crash anywhere leaves a usable VM and no snapshot that lies):
 *   1. create the new deltas D (children of the current files F)
 *   2. write the VM's definition with D as its disks
 *   3. running VM: each disk server switches its writes to D, between two
 *      requests (the moment the snapshot is taken)
 *   4. write the snapshot record naming F
 * Until step 4 no record names F, so writes that reach F before the switch
 * corrupt no snapshot; after a crash before step 2 the unused D are left
 * over (only a layer, holding nothing).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ovfkit/vhd.h"
#include "snapshot/internal.h"

static char *next_id(const struct ovfk_snap_list *l)
{
    char buf[32];
    long max = 0;

    for (size_t i = 0; i < l->n; i++) {
        long v = strtol(l->snaps[i].id, NULL, 10);
        max = v > max ? v : max;
    }
    snprintf(buf, sizeof(buf), "%ld", max + 1);
    return strdup(buf);
}

/* A free name for disk id's delta of snapshot sid. */
static int delta_name(const char *dir, const char *disk, const char *sid,
                      char *out, size_t len)
{
    for (int k = 0; k < 1000; k++) {
        snprintf(out, len, k ? "%s/disks/%s-s%s-%d.vhd" : "%s/disks/%s-s%s.vhd",
                 dir, disk, sid, k);
        if (access(out, F_OK) != 0) {
            return 0;
        }
    }
    return -EEXIST;
}

/*
 * The server of disk i refused its new delta (-EIO: it answered so) and
 * still writes to the old file (nbdkit/ovfkit.c): point the definition of
 * disks i.. back at their old files and remove their deltas, which nothing
 * writes to or names.
 * The disks before i write to their new deltas already and keep them.
 * Returns the error to report.
 */
static int unswitch(ovfk_hv_conn *c, const struct ovfk_hv_vm *was,
                    struct ovfk_hv_vm *now, size_t i, char **made, size_t nmade)
{
    char why[OVFK_ERR_MAX];
    bool named = true;

    snprintf(why, sizeof(why), "%s", ovfk_hv_error(c));
    for (size_t k = i; named && k < now->n_disks; k++) {
        char *old = strdup(was->disks[k].path);
        named = old != NULL;
        if (named) {
            free(now->disks[k].path);
            now->disks[k].path = old;
        }
    }
    named = named && ovfk_hv_vm_update(c, now) == 0;
    for (size_t k = i; named && k < nmade; k++) {
        unlink(made[k]);
    }
    return snap_err(c, -EIO, "%s; no snapshot was taken%s%s", why,
                    i ? " (the disks before it write to new deltas "
                        "from now on)" : "",
                    named ? "" : "; the VM's definition could not be "
                                 "put back and names the new deltas");
}

int ovfk_snap_create(ovfk_hv_conn *c, const char *vmkey, const char *name,
                const char *description, struct ovfk_snap_list *after)
{
    struct snap_ctx x;
    struct ovfk_hv_vm *now = NULL;
    char **made = NULL;
    struct ovfk_snap *s, *grown;
    char path[PATH_MAX];
    size_t nmade = 0;
    int r;

    r = snap_begin(c, vmkey, &x);
    if (r == 0 && (r = snap_finish_merges(&x)) < 0) {
        snap_end(&x);
    }
    if (r < 0) {
        return r;
    }
    grown = realloc(x.list.snaps, (x.list.n + 1) * sizeof(*grown));
    if (!grown) {
        snap_end(&x);
        return snap_err(c, -ENOMEM, "out of memory");
    }
    x.list.snaps = grown;
    s = &grown[x.list.n];
    memset(s, 0, sizeof(*s));
    s->id = next_id(&x.list);
    if (name && ovfk_snap_find(&x.list, name)) {
        r = snap_err(c, -EEXIST, "VM '%s' already has a snapshot named "
                     "'%s'", x.vm->name, name);
    }
    now = ovfk_hv_vm_copy(x.vm);
    s->disks = calloc(x.vm->n_disks + 1, sizeof(*s->disks));
    made = calloc(x.vm->n_disks + 1, sizeof(*made));
    if (r == 0 && (!now || !s->disks || !made)) {
        r = snap_err(c, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; r == 0 && i < x.vm->n_disks; i++) {
        struct ovfk_hv_disk *d = &x.vm->disks[i];
        struct ovfk_vhd_create_opts co = { .parent = d->path };
        if (d->format && strcmp(d->format, "vhd")) {
            r = snap_err(c, -ENOTSUP, "disk '%s' is %s; snapshots need VHD "
                         "disks", d->id, d->format);
            break;
        }
        r = delta_name(x.dir, d->id, s->id, path, sizeof(path));
        if (r < 0) {
            r = snap_err(c, r, "no free name for the delta of disk '%s' in "
                         "'%s/disks'", d->id, x.dir);
        } else if ((r = ovfk_vhd_create(path, &co, NULL)) < 0) {
            snap_err(c, r, "%s", ovfk_last_error());
        }
        if (r < 0) {
            break;
        }
        made[nmade++] = strdup(path);
        s->disks[s->n_disks].id = strdup(d->id);
        s->disks[s->n_disks++].file = strdup(d->path);
        free(now->disks[i].path);
        now->disks[i].path = strdup(path);
    }
    if (r == 0) {
        r = ovfk_hv_vm_update(c, now);
    }
    if (r < 0) {
        for (size_t i = 0; i < nmade; i++) {
            unlink(made[i]);
        }
    }
    for (size_t i = 0; r == 0 && i < now->n_disks; i++) {
        r = ovfk_hv_vm_disk_request(c, x.vm, i, "switch", now->disks[i].path);
        if (r == -EIO) {
            r = unswitch(c, x.vm, now, i, made, nmade);
        } else if (r < 0) {
            /* not asked, or no answer: the server may yet switch, so the
             * definition keeps naming the new deltas */
            snap_err(c, r, "%s; the VM's definition names the new deltas, "
                     "without a snapshot record", ovfk_hv_error(c));
        }
    }
    if (r == 0) {
        s->name = name ? strdup(name) : NULL;
        if (!s->name) {
            char dflt[48];
            snprintf(dflt, sizeof(dflt), "snapshot-%s", s->id);
            s->name = strdup(dflt);
        }
        s->description = description ? strdup(description) : NULL;
        s->created = snap_now();
        s->parent = x.list.current ? strdup(x.list.current) : NULL;
        s->vm = ovfk_hv_vm_copy(x.vm);       /* settings and frozen files */
        x.list.n++;
        free(x.list.current);
        x.list.current = strdup(s->id);
        r = snap_save(c, now, &x.list);
    } else {
        snap_clear(s);
    }
    for (size_t i = 0; i < nmade; i++) {
        free(made[i]);
    }
    free(made);
    ovfk_hv_vm_free(now);
    if (r == 0 && after) {
        *after = x.list;
        memset(&x.list, 0, sizeof(x.list));
    }
    snap_end(&x);
    return r;
}

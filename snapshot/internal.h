/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * snapshot/internal.h - what the files of snapshot/ share: the snapshot
 * list's file (snapshots.json in the VM's directory of the dir store).
 */
#ifndef OVFK_SNAPSHOT_INTERNAL_H
#define OVFK_SNAPSHOT_INTERNAL_H

#include "ovfkit/snapshot.h"
#include "util/err.h"

/* store.c */
/*
 * Record code and a message on c, where every snap_* function reports
 * (ovfk_hv_error(c)); returns code.  The message is formatted before it is
 * stored, so it may quote ovfk_hv_error(c) itself.
 */
int snap_err(ovfk_hv_conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Release what one record holds. */
void snap_clear(struct ovfk_snap *s);
int snap_save(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm,
              const struct ovfk_snap_list *l);
int snap_dir(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, char *buf,
             size_t len);
/* Is path the frozen file of any snapshot? */
bool snap_references(const struct ovfk_snap_list *l, const char *path);
/* Load, lock and check: the VM, its snapshots, its directory. */
struct snap_ctx {
    ovfk_hv_conn *c;
    struct ovfk_hv_vm *vm;
    struct ovfk_snap_list list;
    char dir[4096];
    ovfk_lock *lock;
};
int snap_begin(ovfk_hv_conn *c, const char *vm, struct snap_ctx *x);
void snap_end(struct snap_ctx *x);
/* Remove the files of list.garbage no record or disk names; save. */
int snap_take_out_garbage(struct snap_ctx *x);
/* Complete the merges left unfinished in the VM's deltas (the explicit
 * step before a snapshot command writes): 0, or a negative errno with the
 * message on x->c. */
int snap_finish_merges(struct snap_ctx *x);
char *snap_now(void);

#endif

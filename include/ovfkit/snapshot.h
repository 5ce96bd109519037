/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovfkit/snapshot.h - VM snapshots over VHD delta chains (dir store).
 *
 * Taking a snapshot freezes each disk's current file and starts a
 * differencing VHD on top of it; the VM writes only to its newest delta.
 * A snapshot's state is the set of frozen files it names.  Deleting a
 * snapshot merges the delta above its files into them (ovfk_vhd_merge), so the
 * chain gets shorter; reverting discards the current state and starts a
 * new delta on the snapshot's files (a branch).
 *
 * Errors: 0 or negative (common.h), the message in ovfk_hv_error(c) of the
 * connection the call was given.
 */
#ifndef OVFKIT_SNAPSHOT_H
#define OVFKIT_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "ovfkit/hv.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ovfk_snap_disk {
    char *id;               /* the VM's disk id */
    char *file;             /* the frozen file holding this state */
};

struct ovfk_snap {
    char *id;               /* "1", "2", ... */
    char *name;
    char *description;
    char *created;          /* ISO 8601, UTC */
    char *parent;           /* id of the snapshot it was taken after */
    struct ovfk_hv_vm *vm; /* settings at that time (disks: frozen files) */
    struct ovfk_snap_disk *disks;
    size_t n_disks;
};

struct ovfk_snap_list {
    struct ovfk_snap *snaps;
    size_t n;
    char *current;          /* the snapshot the current state descends from */
    char **garbage;         /* files merged away, removed once no record
                               names them (a deletion cut off in between) */
    size_t n_garbage;
};

void ovfk_snap_list_free(struct ovfk_snap_list *l);

/* Load the snapshots of a VM (an empty list when it has none). */
int ovfk_snap_load(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm,
                   struct ovfk_snap_list *out);

/* Find by id or name. */
const struct ovfk_snap *ovfk_snap_find(const struct ovfk_snap_list *l,
                                       const char *key);

/*
 * Take a snapshot of VM (also while it runs: its disk servers switch to
 * the new deltas between two requests).  On failure nothing changed.
 */
int ovfk_snap_create(ovfk_hv_conn *c, const char *vm, const char *name,
                const char *description, struct ovfk_snap_list *after);

/* Discard the current state and continue from snapshot key (the VM must
 * be stopped). */
int ovfk_snap_revert(ovfk_hv_conn *c, const char *vm, const char *key);

/* Export the VM as it was at snapshot key (the VM may keep running). */
int ovfk_snap_export(ovfk_hv_conn *c, const char *vm, const char *key,
                const struct ovfk_hv_export_opts *o);

/* One step of a deletion plan. */
enum ovfk_snap_action {
    OVFK_SNAP_MERGE,             /* child merges into file, then is removed */
    OVFK_SNAP_REMOVE,            /* file is removed: nothing builds on it */
    OVFK_SNAP_KEEP,              /* file stays: a branch point (record only) */
};

struct ovfk_snap_step {
    enum ovfk_snap_action action;
    char *snapshot;         /* the deleted snapshot whose state goes ("" for
                               a file an interrupted deletion left) */
    char *child;            /* OVFK_SNAP_MERGE: the delta merged */
    char *file;
    uint64_t bytes_needed;  /* free space this step uses at most */
    uint64_t child_bytes;   /* the merged delta's data (VMware's rule for
                               one merge asks for this much free) */
    uint64_t frees;         /* bytes freed when the step is done */
};

struct ovfk_snap_plan {
    struct ovfk_snap_step *steps;
    size_t n;
    uint64_t total_bytes;   /* sum of bytes_needed */
    uint64_t peak_bytes;    /* most needed at once (frees counted) */
    uint64_t available;     /* free space where the disks are */
};

void ovfk_snap_plan_free(struct ovfk_snap_plan *p);

/*
 * Delete snapshot key (or every snapshot with all): plan first (every
 * merge and the space it needs, checked against free space before
 * anything is written), then carry it out unless dry_run.  progress is
 * called once before anything changes, then through each merge; a
 * non-zero return is -ECANCELED: before the first merge nothing changed;
 * during a merge the deleted snapshots are gone (a merge only goes
 * forward), every other snapshot and the VM read as before, and the
 * merge's journal lets the next snapshot command complete it.
 */
int ovfk_snap_delete(ovfk_hv_conn *c, const char *vm, const char *key, bool all,
                bool dry_run, struct ovfk_snap_plan *plan,
                ovfk_progress_fn progress, void *opaque);

#ifdef __cplusplus
}
#endif
#endif

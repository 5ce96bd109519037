/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovfkit/backup.h - backup repositories (DESIGN.md section 5): full and
 * incremental points of VMs, each a plain OVF package, restore and export
 * of any point, verify, and prune by merging.
 *
 * A repository is a directory (default $XDG_DATA_HOME/ovfkit/backups):
 *
 *   REPO/UUID/.lock               held while a backup or prune works on
 *                                 that VM's points (the repository lock)
 *   REPO/UUID/DIR/point.json      one point: id, time, kind, parent
 *   REPO/UUID/DIR/NAME.ovf, .mf   its descriptor (settings at that time)
 *                                 and manifest
 *   REPO/UUID/DIR/NAME-diskN.vhd  its disks: dynamic VHDs (full), or
 *                                 differencing VHDs whose parent is the
 *                                 parent point's disk (relative locators:
 *                                 the repository moves as a whole)
 *   REPO/UUID/.tmp-ID/            a point being written (renamed to DIR
 *                                 when complete; removed when found)
 *   REPO/UUID/.prune.json         a prune's merge in progress
 *
 * A directory's name is where the point's data first lay; after a prune
 * merged a point into its child the directory holds the child's point
 * (its id is in point.json), so chains never need re-pointing.
 *
 * Incremental backups need the dir store: the VM keeps a backup anchor (a
 * snapshot named "backup-anchor-ID" taken at the last backup); the blocks
 * written since are the deltas above the anchor's files, copied without
 * scanning.  The anchor's state is kept in backup.json in the VM's
 * directory.  VMs of other drivers get full points.
 *
 * Errors: 0 or negative (common.h); the message in
 * ovfk_backup_error(repo).  Functions given a connection report its
 * failures on the repository too.
 */
#ifndef OVFKIT_BACKUP_H
#define OVFKIT_BACKUP_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ovfkit/hv.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ovfk_backup_repo ovfk_backup_repo;

/*
 * Open (and create) the repository at dir; NULL: the default
 * ($XDG_DATA_HOME/ovfkit/backups, else ~/.local/share/ovfkit/backups).
 * On failure *out is NULL and the message is in ovfk_last_error().
 */
int ovfk_backup_repo_open(const char *dir, ovfk_backup_repo **out);
void ovfk_backup_repo_close(ovfk_backup_repo *r);
/* The last error's message; valid until the next call on r. */
const char *ovfk_backup_error(const ovfk_backup_repo *r);
/* The repository's absolute path (valid while r is open). */
const char *ovfk_backup_repo_path(const ovfk_backup_repo *r);

struct ovfk_backup_point {
    char *id;               /* "20261129T112747Z" (UTC, sortable) */
    char *vm_name;          /* the VM's name at that time */
    char vm_uuid[37];
    char *kind;             /* "full" or "incremental" */
    char *parent;           /* id of the point it builds on, or NULL */
    char *created;          /* ISO 8601, UTC */
    int64_t time;           /* seconds since the epoch */
    uint64_t logical;       /* the disks' virtual sizes, summed */
    uint64_t stored;        /* bytes the point's files occupy */
    char *dir;              /* its directory (absolute) */
    char *package;          /* its descriptor, DIR/NAME.ovf */
    char *damaged;          /* why verify found it damaged, or NULL */
    char *driver;           /* "dir", "libvirt", "xen" */
};

/*
 * The points of VM vm (name or UUID; NULL: every VM), oldest first.  A
 * name is matched against each VM's newest point.  *pts is the caller's:
 * free with ovfk_backup_points_free.
 */
int ovfk_backup_list(ovfk_backup_repo *r, const char *vm,
                     struct ovfk_backup_point **pts, size_t *n);
void ovfk_backup_points_free(struct ovfk_backup_point *pts, size_t n);

/* Messages for people about what a call did ("full backup: the VM has no
 * backup anchor", ...). */
typedef void (*ovfk_backup_note_fn)(void *opaque, const char *msg);

struct ovfk_backup_opts {
    bool full;              /* force a full point */
    int wait;               /* seconds to wait for the VM's repository
                               lock (ovfk_lock_take's: 0 not at all,
                               OVFK_LOCK_WAIT_FOREVER) */
    const char *pre, *post; /* hook commands (sh -c) around the anchor */
    ovfk_backup_note_fn note;
    ovfk_progress_fn progress;
    void *opaque;
};

struct ovfk_backup_result {
    char id[64];
    char kind[16];          /* "full", "incremental" */
    char parent[64];        /* "" for a full point */
    uint64_t copied;        /* disk bytes written into the repository */
    uint64_t logical;
};

/*
 * Back up VM vm of connection c into r.  -EAGAIN when another process
 * holds the VM's repository lock past o->wait, as for every call here
 * that takes it (prune, verify: their wait).  The VM's own lock (taken by
 * the snapshot calls) waits as the connection says
 * (ovfk_hv_set_lock_wait).  The point appears complete or
 * not at all (written under .tmp-ID, renamed at the end).  A failing pre
 * hook aborts before anything is written.  Crash points 21-25 (OVFKIT_
 * CRASH_AT) lie between the steps (see backup/run.c's NOTES).
 */
int ovfk_backup_run(ovfk_backup_repo *r, ovfk_hv_conn *c, const char *vm,
                    const struct ovfk_backup_opts *o,
                    struct ovfk_backup_result *res);

/*
 * Restore point (an id, or "latest") of vm through ovfk_hv_import: o->mode
 * OVFK_HV_RESTORE keeps the UUID and MACs (replacing the VM),
 * OVFK_HV_IMPORT gives a new identity.  *plan as ovfk_hv_import's.
 */
int ovfk_backup_restore(ovfk_backup_repo *r, ovfk_hv_conn *c, const char *vm,
                        const char *point, const struct ovfk_hv_import_opts *o,
                        struct ovfk_hv_plan **plan);

/* Export point of vm as a standalone package (flattened VHDs). */
int ovfk_backup_export(ovfk_backup_repo *r, const char *vm,
                       const char *point, const struct ovfk_hv_export_opts *o);

/*
 * Verify the points of vm (NULL: all), or only point: every file against
 * its manifest, every chain (parents present, linked by UUID, VHDs
 * consistent).  Each damaged point is reported and marked (a file DAMAGED
 * in its directory), with the points that build on it; the next backup of
 * that VM is full.  Returns the number of damaged points, or negative.
 */
typedef void (*ovfk_backup_report_fn)(void *opaque,
                                      const struct ovfk_backup_point *p,
                                      const char *problem);
int ovfk_backup_verify(ovfk_backup_repo *r, const char *vm,
                       const char *point, int wait,
                       ovfk_backup_report_fn report, void *opaque);

/*
 * Instant restore (dir store): define a VM on new differencing VHDs whose
 * parents are point's disks in the repository; nothing is copied, the
 * point's files are only read.  as_new: a new UUID and MACs, named name
 * (NULL: "restored"); else the point's identity, refused while a VM of
 * that UUID exists.  *out (optional) receives the VM.  While the VM's
 * deltas build on the point, prune keeps it and what it builds on.
 */
int ovfk_backup_instant(ovfk_backup_repo *r, ovfk_hv_conn *c, const char *vm,
                        const char *point, bool as_new, const char *name,
                        struct ovfk_hv_vm **out);

/* Copy the chains of a VM (stopped, without snapshots) that leave its
 * directory into new VHDs in the store, and drop the deltas that stood
 * on the repository.  On failure the VM is as it was. */
int ovfk_backup_move_storage(ovfk_backup_repo *r, ovfk_hv_conn *c,
                             const char *vm, ovfk_progress_fn progress,
                             void *opaque);

/* File-level restore (libguestfs, read-only over the point's chain; the
 * first operating system inspection finds is mounted). */
struct ovfk_backup_entry {
    const char *name;
    char type;              /* 'f' file, 'd' directory, 'l' link, 'o' other */
    uint32_t mode;          /* permission bits */
    uint64_t size;
    int64_t mtime;          /* seconds since the epoch */
    const char *target;     /* a link's target, else NULL */
};

/* A non-zero return stops the listing and is returned. */
typedef int (*ovfk_backup_entry_fn)(void *opaque,
                                    const struct ovfk_backup_entry *e);

/* The entries of guest directory path (NULL: "/") at point, or the one
 * entry path names when it is not a directory. */
int ovfk_backup_files(ovfk_backup_repo *r, const char *vm,
                      const char *point, const char *path,
                      ovfk_backup_entry_fn fn, void *opaque);

/*
 * Copy guest paths (files, or directories with what they hold) of point
 * into directory to (new or empty), each under its last component.  Only
 * regular files and directories are made, never outside to; links and
 * other kinds are skipped with a note.  *files counts the files copied.
 */
int ovfk_backup_extract(ovfk_backup_repo *r, const char *vm,
                        const char *point, const char *const *paths,
                        size_t n, const char *to, ovfk_backup_note_fn note,
                        void *opaque, uint64_t *files);

/* Retention, as Proxmox Backup Server defines it: options in this order,
 * each counting only points no earlier option has marked; 0: unused. */
struct ovfk_backup_keep {
    unsigned last, hourly, daily, weekly, monthly, yearly;
};

struct ovfk_backup_prune_item {
    char *vm_uuid;
    char *id;
    bool keep;
    const char *reason;     /* "last", "daily", ...; NULL when pruned */
    /* pruned: "remove" (nothing builds on it) or "merge" (merged into its
     * child, whose id follows) */
    const char *action;
    char *into;
    uint64_t bytes_needed;  /* free space the step needs at most */
    uint64_t frees;
};

struct ovfk_backup_prune_plan {
    struct ovfk_backup_prune_item *items;   /* newest first per VM */
    size_t n;
    uint64_t peak_bytes;
    uint64_t available;
};

void ovfk_backup_prune_plan_free(struct ovfk_backup_prune_plan *p);

/*
 * Prune the points of vm (NULL: every VM): decide what keep keeps (the
 * clock: OVFKIT_NOW is not needed, the points' own times decide), plan
 * (space checked before anything is written), then unless dry_run carry
 * it out: a pruned point nothing builds on is removed, one a later point
 * builds on is merged into its child (crash-safe, as snapshot deletion).
 */
int ovfk_backup_prune(ovfk_backup_repo *r, const char *vm,
                      const struct ovfk_backup_keep *keep, bool dry_run,
                      int wait, struct ovfk_backup_prune_plan *plan,
                      ovfk_progress_fn progress, void *opaque);

#ifdef __cplusplus
}
#endif
#endif

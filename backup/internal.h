/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backup/internal.h - what the files of backup/ share: the repository
 * handle, point records (point.json), locks, the clock.
 */
#ifndef OVFK_BACKUP_INTERNAL_H
#define OVFK_BACKUP_INTERNAL_H

#include <limits.h>

#include "ovfkit/backup.h"
#include "ovfkit/lock.h"
#include "util/err.h"

struct ovfk_backup_repo {
    char path[PATH_MAX];
    ovfk_err err;
};

#define BK_POINT_FILE "point.json"
#define BK_DAMAGED_FILE "DAMAGED"
#define BK_PRUNE_JOURNAL ".prune.json"
#define BK_ANCHOR_PREFIX "backup-anchor-"

int bk_err(ovfk_backup_repo *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* repo.c */
/* The clock: OVFKIT_NOW (seconds since the epoch, for tests) or now. */
int64_t bk_now(void);
/* "20261129T112747Z" and "2026-11-29T11:27:47Z" for t. */
void bk_time_id(int64_t t, char *buf, size_t len);
void bk_time_iso(int64_t t, char *buf, size_t len);

/*
 * The exclusive lock of one VM's points (REPO/UUID/.lock), waiting up to
 * wait seconds (ovfk_lock_take's rules): 0 and the lock for bk_unlock,
 * -EAGAIN when another process holds it.  The one
 * place that takes locks, so that switching to another lock API is one
 * change.
 */
int bk_lock(ovfk_backup_repo *r, const char *uuid, int wait,
            ovfk_lock **out);
void bk_unlock(ovfk_lock *l);

/* REPO/UUID (created with mkdir when create). */
int bk_vm_dir(ovfk_backup_repo *r, const char *uuid, bool create, char *buf,
              size_t len);

/* A point as recorded in point.json, plus where it lies. */
struct bk_disk {
    char *id;               /* the VM's disk id */
    char *file;             /* file name in the point's directory */
    uint64_t capacity;
};

struct bk_point {
    struct ovfk_backup_point pub;
    char *dirname;          /* the directory's own name */
    struct ovfk_hv_vm *vm;       /* settings at that time; disk paths are the
                               point's files (absolute) */
    struct bk_disk *disks;
    size_t n_disks;
    char *anchor;           /* the anchor snapshot's id (dir store) */
};

void bk_point_clear(struct bk_point *p);
/* Read DIR/point.json (absolute dir); 0, -ENOENT, or OVFK_ECORRUPT. */
int bk_point_read(ovfk_backup_repo *r, const char *dir, struct bk_point *p);
/* Write it atomically into dir (temporary + rename). */
int bk_point_write(ovfk_backup_repo *r, const char *dir,
                   const struct bk_point *p);

/* The points of one VM (REPO/UUID), oldest first, without those a prune
 * in progress is dropping. */
int bk_points_load(ovfk_backup_repo *r, const char *uuid,
                   struct bk_point **pts, size_t *n);
void bk_points_free(struct bk_point *pts, size_t n);
/* The VM (by UUID, or the name of its newest point): its UUID. */
int bk_resolve_vm(ovfk_backup_repo *r, const char *key, char uuid[37]);
/* Find point key ("latest" or an id) among pts; NULL: message on r. */
struct bk_point *bk_find(ovfk_backup_repo *r, struct bk_point *pts,
                         size_t n, const char *key);
/* Point key of VM vm whose chain is intact: *p points into *pts (free
 * with bk_points_free); on failure the message is on r. */
int bk_open_point(ovfk_backup_repo *r, const char *vm, const char *key,
                  struct bk_point **pts, size_t *n, struct bk_point **p);
/* Is p or one of its parents damaged?  Then the reason. */
const char *bk_chain_damage(struct bk_point *pts, size_t n,
                            const struct bk_point *p);
/* Bytes the files under dir occupy. */
uint64_t bk_dir_bytes(const char *dir);

/* instant.c: the ids of the points VMs stand on (instant restores whose
 * deltas still build on the repository); *ids as hv_strv_add's. */
int bk_pinned(ovfk_backup_repo *r, const char *uuid, char ***ids,
              size_t *n);

/* prune.c: finish a prune's merge cut off in REPO/UUID (lock held). */
int bk_prune_recover(ovfk_backup_repo *r, const char *uuid);
/* Remove leftovers of interrupted writes (.tmp-*, .del-*; lock held). */
void bk_clean_leftovers(const char *vmdir);

/* package.c: write NAME.ovf and NAME.mf for vm (disk paths: files in dir)
 * into dir. */
int bk_write_package(ovfk_backup_repo *r, const char *dir,
                     const struct ovfk_hv_vm *vm, const char *const *files);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysprep/internal.h - the libguestfs handle and the change log shared by
 * the operations of sysprep/ (one file per operation, as virt-sysprep).
 */
#ifndef OVFK_SYSPREP_INTERNAL_H
#define OVFK_SYSPREP_INTERNAL_H

#include "sysprep/gfs.h"

#include "ovfkit/sysprep.h"
#include "util/err.h"

struct ovfk_sysprep {
    guestfs_h *g;
    bool readonly;
    struct ovfk_sysprep_os *os;
    size_t n_os;
    struct ovfk_sysprep_change *changes;
    size_t n_changes;
    char **notes;           /* ovfk_sysprep_note: the report's "notes" */
    size_t n_notes;
    int mounted;            /* index of the OS whose file systems are up */
    char nbd_dir[64];       /* sockets of the nbdkit serving VHD chains */
    size_t n_nbd;           /* how many of them run */
    char disk[256];         /* the first disk, for libguestfs's warnings */
    ovfk_err err;
};

/* guest.c */
int sp_mount(ovfk_sysprep *s, size_t os);     /* mount an OS's file systems */
void sp_umount(ovfk_sysprep *s);
int sp_guest_error(ovfk_sysprep *s, const char *what);
int sp_record(ovfk_sysprep *s, const char *kind, const char *path,
              const char *old_value, const char *new_value);
int sp_record_mode(ovfk_sysprep *s, const char *kind, const char *path,
                   const char *old_value, const char *new_value, int mode);
/* Remove a guest file, recording its text and mode (binary files are
 * left alone: the report holds text). */
int sp_remove_file(ovfk_sysprep *s, const char *path, bool dry_run);
/* Mount the OS whose inspection root is root; -ENOENT if none. */
int sp_mount_root(ovfk_sysprep *s, const char *root);
/* Read a whole guest file (NULL if absent); caller frees. */
char *sp_read_file(ovfk_sysprep *s, const char *path, size_t *len);
/* Replace a guest file's contents, recording the change. */
int sp_write_file(ovfk_sysprep *s, const char *path, const char *content,
                  size_t len, const char *old, bool dry_run);

/* services.c: the SYSTEM hive's guest path (NULL when none), and a DWORD
 * written through libguestfs's hivex calls */
char *sp_system_hive(ovfk_sysprep *s, const char *root);
int sp_hive_set_dword(guestfs_h *g, int64_t node, const char *key,
                      uint32_t value);

#endif

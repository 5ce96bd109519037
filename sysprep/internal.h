/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysprep/internal.h - the libguestfs handle and the change log shared by
 * the operations of sysprep/ (one file per operation, as virt-sysprep).
 */
#ifndef OVFK_SYSPREP_INTERNAL_H
#define OVFK_SYSPREP_INTERNAL_H

#include <guestfs.h>

#include "ovfkit/sysprep.h"
#include "util/err.h"

struct sysprep {
    guestfs_h *g;
    bool readonly;
    struct sysprep_os *os;
    size_t n_os;
    struct sysprep_change *changes;
    size_t n_changes;
    int mounted;            /* index of the OS whose file systems are up */
    ovfk_err err;
};

/* guest.c */
int sp_mount(sysprep_t *s, size_t os);     /* mount an OS's file systems */
void sp_umount(sysprep_t *s);
int sp_guest_error(sysprep_t *s, const char *what);
int sp_record(sysprep_t *s, const char *kind, const char *path,
              const char *old_value, const char *new_value);
/* Read a whole guest file (NULL if absent); caller frees. */
char *sp_read_file(sysprep_t *s, const char *path, size_t *len);
/* Replace a guest file's contents, recording the change. */
int sp_write_file(sysprep_t *s, const char *path, const char *content,
                  size_t len, const char *old, bool dry_run);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovfkit/sysprep.h - offline guest edits through libguestfs (never by
 * mounting guest file systems on the host): inspection, disabling services
 * that misbehave on a new platform, resetting identity, and cleaning
 * network configuration pinned to old MAC addresses.  Every change is
 * recorded (file or registry path, old value, new value) and can be put
 * back from the report.
 *
 * When qemu cannot use KVM, the libguestfs appliance falls back to TCG by
 * itself.  Errors: 0 or negative, message in sysprep_error() or
 * ovfk_last_error().
 */
#ifndef OVFKIT_SYSPREP_H
#define OVFKIT_SYSPREP_H

#include <stdbool.h>
#include <stddef.h>

#include "ovfkit/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sysprep sysprep_t;

/* Open a guest's disks (VHD, raw, qcow2, ...) and inspect it.  With
 * readonly nothing can be changed.  No operating system found is not an
 * error: sysprep_os_count() is then 0. */
int sysprep_open(const char *const *disks, size_t n, bool readonly,
                 sysprep_t **out);
void sysprep_close(sysprep_t *s);
const char *sysprep_error(const sysprep_t *s);

struct sysprep_os {
    char *root;             /* e.g. "/dev/sda1" */
    char *type;             /* "linux", "windows" */
    char *distro;           /* "debian", "rhel", "windows", ... */
    char *product;          /* product name */
    int major, minor;
    char *hostname;
    char *arch;
};

size_t sysprep_os_count(const sysprep_t *s);
const struct sysprep_os *sysprep_os_at(const sysprep_t *s, size_t i);

/* One recorded change. */
struct sysprep_change {
    char *kind;             /* "file", "file-removed", "registry",
                               "systemd-link", "sysv-link" */
    char *path;             /* guest path, or hive path key\value */
    char *old_value;        /* NULL: did not exist */
    char *new_value;        /* NULL: removed */
};

size_t sysprep_change_count(const sysprep_t *s);
const struct sysprep_change *sysprep_change_at(const sysprep_t *s, size_t i);

/*
 * Remove MAC pins from the guest's network configuration: udev
 * persistent-net rules, ifcfg HWADDR=, NetworkManager mac-address=.
 * (With dry_run, changes are only recorded.)
 */
int sysprep_op_net_mac_pins(sysprep_t *s, bool dry_run);

/* Convenience for imports that gave a VM new MACs: open, clean the MAC
 * pins of any Linux guest found, close.  0 also when no guest was found. */
int sysprep_mac_pins(const char *const *disks, size_t n);

#ifdef __cplusplus
}
#endif
#endif

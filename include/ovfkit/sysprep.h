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
 * itself.  Errors: 0 or negative (common.h); the message of a call on a
 * handle in ovfk_sysprep_error(s), that of a call without one
 * (ovfk_sysprep_open failing, ovfk_sysprep_undo,
 * ovfk_sysprep_services_resolve) in ovfk_last_error().
 */
#ifndef OVFKIT_SYSPREP_H
#define OVFKIT_SYSPREP_H

#include <stdbool.h>
#include <stddef.h>

#include "ovfkit/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ovfk_sysprep ovfk_sysprep;

/* Open a guest's disks (VHD, raw, qcow2, ...) and inspect it.  With
 * readonly nothing can be changed.  No operating system found is not an
 * error: ovfk_sysprep_os_count() is then 0. */
int ovfk_sysprep_open(const char *const *disks, size_t n, bool readonly,
                 ovfk_sysprep **out);
void ovfk_sysprep_close(ovfk_sysprep *s);
const char *ovfk_sysprep_error(const ovfk_sysprep *s);

struct ovfk_sysprep_os {
    char *root;             /* e.g. "/dev/sda1" */
    char *type;             /* "linux", "windows" */
    char *distro;           /* "debian", "rhel", "windows", ... */
    char *product;          /* product name */
    int major, minor;
    char *hostname;
    char *arch;
};

size_t ovfk_sysprep_os_count(const ovfk_sysprep *s);
const struct ovfk_sysprep_os *ovfk_sysprep_os_at(const ovfk_sysprep *s,
                                                 size_t i);

/* One recorded change. */
struct ovfk_sysprep_change {
    char *kind;             /* "file", "file-removed", "registry-dword",
                               "systemd-link", "sysv-link" */
    char *root;             /* the OS it was made in (inspection root) */
    char *path;             /* guest path; for the registry the hive's
                               guest path, then "|Key\Path|Value" */
    char *old_value;        /* NULL: did not exist */
    char *new_value;        /* NULL: removed */
    int mode;               /* a removed file's permissions, or -1 */
};

size_t ovfk_sysprep_change_count(const ovfk_sysprep *s);
const struct ovfk_sysprep_change *ovfk_sysprep_change_at(const ovfk_sysprep *s,
                                                         size_t i);

/*
 * Remove MAC pins from the guest's network configuration: udev
 * persistent-net rules, ifcfg HWADDR=, NetworkManager mac-address=.
 * (With dry_run, changes are only recorded.)
 */
int ovfk_sysprep_op_net_mac_pins(ovfk_sysprep *s, bool dry_run);

/*
 * Services to disable, by name: a catalog section ("p2v", "v2v"), a
 * catalog entry ("vmware-tools"), or a service's own name (Windows service
 * key and Linux unit alike).  The catalog is data/sysprep-catalog.json,
 * extended by /etc/ovfkit/sysprep.d/ *.json, ~/.config/ovfkit/sysprep.d/
 * *.json and extra_catalog (may be NULL).
 */
struct ovfk_sysprep_services {
    char **win;             /* Windows service keys */
    size_t n_win;
    char **lin;             /* Linux: a systemd unit (a bare name: also
                               NAME.service and the SysV script NAME) */
    size_t n_lin;
};

int ovfk_sysprep_services_resolve(const char *const *names, size_t n,
                             const char *extra_catalog,
                             struct ovfk_sysprep_services *out);
void ovfk_sysprep_services_free(struct ovfk_sysprep_services *set);

/* Disable services: Windows, Start=4 in every ControlSet that Select
 * names; Linux, systemd .wants/.requires links removed and SysV start
 * links renamed to stop links. */
int ovfk_sysprep_op_disable_services(ovfk_sysprep *s,
                                const struct ovfk_sysprep_services *set,
                                bool dry_run);

/* Identity: an empty /etc/machine-id (systemd makes a new one at boot),
 * no SSH host keys, the given hostname, no DHCP leases. */
int ovfk_sysprep_op_machine_id(ovfk_sysprep *s, bool dry_run);
int ovfk_sysprep_op_ssh_hostkeys(ovfk_sysprep *s, bool dry_run);
int ovfk_sysprep_op_hostname(ovfk_sysprep *s, const char *hostname,
                             bool dry_run);
int ovfk_sysprep_op_dhcp_leases(ovfk_sysprep *s, bool dry_run);

/* Run one operation by name ("machine-id", "ssh-hostkeys", "hostname",
 * "net-mac-pins", "dhcp-leases"); hostname for "hostname". */
int ovfk_sysprep_op_run(ovfk_sysprep *s, const char *op, const char *hostname,
                   bool dry_run);
/* The operation names, NULL-terminated. */
const char *const *ovfk_sysprep_op_names(void);

/*
 * What storage and network drivers an OS of the guest can use at boot
 * (issue 17).  Linux: each installed kernel (/boot/vmlinuz-KV with its
 * /lib/modules/KV), a driver counts when it is built in (modules.builtin,
 * /boot/config-KV) or, for disks, in the kernel's initramfs; a NIC driver
 * may also be a module under /lib/modules.  Windows: the driver's service
 * in the current ControlSet of the SYSTEM hive (not disabled) and its .sys
 * in system32/drivers.  detail says what was found where, for the report.
 */
struct ovfk_sysprep_drivers {
    bool virtio_blk, virtio_scsi, virtio_net;   /* usable at boot */
    bool virtio_addable;    /* Linux: virtio_blk/virtio_scsi are modules of
                               every kernel and the guest has
                               update-initramfs or dracut to add them */
    bool ahci, ata_piix;    /* emulated disk controllers usable at boot */
    bool inspected;         /* false: no kernel (or an OS whose drivers
                               are not inspected): nothing is known */
    char detail[1024];
};

int ovfk_sysprep_drivers(ovfk_sysprep *s, size_t os,
                         struct ovfk_sysprep_drivers *out);

/* Linux: rebuild every kernel's initramfs inside the guest (its own
 * update-initramfs or dracut, through libguestfs) with virtio_pci,
 * virtio_blk and virtio_scsi added in its configuration
 * (/etc/initramfs-tools/modules, /etc/dracut.conf.d/); each old
 * initramfs is kept as INITRD.ovfkit-orig for --undo. */
int ovfk_sysprep_op_virtio_initramfs(ovfk_sysprep *s, size_t os, bool dry_run);

/* Linux: /dev/sdX, /dev/hdX, /dev/xvdX, /dev/vdX names in /etc/fstab,
 * /etc/crypttab, GRUB's configuration (grub.cfg, /etc/default/grub,
 * menu.lst) rewritten to prefix ("vd", "sd", "xvd"), the same disk
 * letter and partition number. */
int ovfk_sysprep_op_device_names(ovfk_sysprep *s, size_t os, const char *prefix,
                                 bool dry_run);

/* Windows: install viostor (and netkvm, vioscsi when the tree has them)
 * from a virtio-win tree (DIR/viostor/<os>/amd64/viostor.sys, ... or any
 * viostor.sys below DIR) as virt-v2v does: the .sys into
 * system32/drivers, its service key (Type 1, Start 0, ErrorControl 1,
 * Group "SCSI miniport", ImagePath) and the CriticalDeviceDatabase keys of
 * its PCI ids.  *installed gets a bit mask: 1 viostor, 2 netkvm,
 * 4 vioscsi. */
int ovfk_sysprep_op_virtio_win(ovfk_sysprep *s, size_t os, const char *dir,
                               unsigned *installed, bool dry_run);

/* A line for the report's "notes" (the choices made, warnings). */
int ovfk_sysprep_note(ovfk_sysprep *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Write the report (JSON): the disks, what inspection found, every
 * change with its old and new value (message in ovfk_sysprep_error(s)). */
int ovfk_sysprep_report_write(ovfk_sysprep *s, const char *const *disks,
                         size_t n, bool dry_run, const char *path);

/* Put back what a report changed, newest change first; *restored counts
 * the changes undone. */
int ovfk_sysprep_undo(const char *report, const char *const *disks, size_t n,
                 size_t *restored);

/* Convenience for imports that gave a VM new MACs: open, clean the MAC
 * pins of any Linux guest found, close.  0 also when no guest was found. */
int ovfk_sysprep_mac_pins(const char *const *disks, size_t n);

#ifdef __cplusplus
}
#endif
#endif

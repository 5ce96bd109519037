/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmm/vmm.h - the VM supervisor: runs one VM under qemu-system-x86_64
 * with its VHD chains served by nbdkit and our plugin, and talks to those
 * disk servers while it runs.
 *
 * It knows nothing of stores, drivers or the VM model: the caller (the
 * dir driver, hv/dir.c) describes the VM in a struct vmm_vm, with every
 * NIC's bridge already resolved, and names the VM's directory; the
 * supervisor keeps its state in DIR/run/ (qemu.pid, qemu.log,
 * console.log, disk-N.sock, disk-N.ctl, nbdkit-N.pid), so any process can
 * ask whether the VM runs, stop it, or switch a disk's write target.
 * Errors go to err (util/err.h), with the message.
 */
#ifndef OVFK_VMM_VMM_H
#define OVFK_VMM_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct vmm_disk {
    const char *path;           /* the file (the top of a VHD chain) */
    const char *format;         /* "vhd" or NULL: served through nbdkit;
                                   else given to qemu ("raw", "qcow2") */
    const char *bus;            /* "virtio", "xen", "scsi", "sata" (an
                                   AHCI controller), else IDE */
    int boot_order;             /* 1 = first; 0 = not bootable */
};

struct vmm_nic {
    const char *mac;
    const char *model;          /* "virtio", "e1000", ... */
    const char *bridge;         /* NULL: qemu's user networking */
};

struct vmm_vm {
    const char *name;
    uint8_t uuid[16];
    uint64_t memory_mib;
    uint32_t cpus;
    const char *firmware;       /* "efi": OVMF when installed */
    const char *kernel, *initrd, *cmdline;  /* direct boot, or NULL */
    const struct vmm_disk *disks;
    size_t n_disks;
    const struct vmm_nic *nics;
    size_t n_nics;
};

/* The pid of the VM's qemu (run/qemu.pid, still a qemu), or 0. */
int vmm_pid(const char *vmdir);
bool vmm_is_running(const char *vmdir);

/*
 * Start vm: its VHD disks' servers, then qemu under KVM when it works,
 * else TCG.  In the background (qemu's output in run/qemu.log, the serial
 * console in run/console.log), or with console in the foreground on
 * stdio until the guest powers off.
 */
int vmm_start(const struct vmm_vm *vm, const char *vmdir, bool console,
              ovfk_err *err);
/* Stop the VM (SIGTERM, then SIGKILL after 10 s) and its disk servers. */
int vmm_stop(const char *vmdir, ovfk_err *err);
/* Ask the nbdkit server of disk i to "switch" to path or "reopen". */
int vmm_disk_request(const char *vmdir, size_t i, const char *verb,
                     const char *path, ovfk_err *err);

#endif

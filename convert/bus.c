/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert/bus.c - the target's disk bus and NIC model, chosen from what
 * the converted guest can boot with (issue 17, as virt-v2v): virtio when
 * it has the drivers; otherwise it is made able to (Linux: the initramfs
 * rebuilt with the virtio modules; Windows: viostor/netkvm from a
 * virtio-win tree), or, with --no-driver-changes or nothing to install,
 * an emulated controller it has a driver for (SATA/AHCI or IDE, e1000).
 * Device names in the guest follow the bus.  Every choice is a note of
 * the conversion's report.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/vmsrc.h"
#include "util/err.h"

/* Windows without paravirtual drivers: IDE has 4 places, one of them the
 * CD-ROM (the vendor manual's "at most 3 disks"). */
#define EMULATED_MAX_DISKS 3

static void warn(const struct ovfk_convert_opts *o, ovfk_sysprep *s,
                 const char *msg)
{
    ovfk_sysprep_note(s, "warning: %s", msg);
    if (o->warn) {
        o->warn(o->opaque, msg);
    }
}

static bool is(const char *a, const char *b)
{
    return a && !strcmp(a, b);
}

static int linux_bus(const struct ovfk_convert_opts *o, ovfk_sysprep *s,
                     size_t os, const struct ovfk_sysprep_drivers *d,
                     const char **bus)
{
    bool want_virtio = o->bus ? is(o->bus, "virtio") || is(o->bus, "scsi")
                              : true;
    bool has = is(o->bus, "scsi") ? d->virtio_scsi : d->virtio_blk;
    char msg[256];
    int r;

    if (!d->inspected) {
        /* nothing to judge by (no kernel found): as before issue 17 */
        *bus = o->bus ? o->bus : "virtio";
        return ovfk_sysprep_note(s, "disk bus %s: %s; the guest's drivers "
                                 "are unknown", *bus, o->bus ?
                                 "given with --bus" : "the default");
    }
    if (want_virtio && has) {
        *bus = o->bus ? o->bus : "virtio";
        return ovfk_sysprep_note(s, "disk bus %s: the guest's initramfs has "
                                 "%s", *bus, is(*bus, "scsi") ?
                                 "virtio_scsi" : "virtio_blk");
    }
    if (want_virtio && !o->no_driver_changes && d->virtio_addable) {
        r = ovfk_sysprep_op_virtio_initramfs(s, os, false);
        if (r < 0) {
            return ovfk_err_last(r, "%s", ovfk_sysprep_error(s));
        }
        *bus = o->bus ? o->bus : "virtio";
        return ovfk_sysprep_note(s, "disk bus %s: the initramfs was rebuilt "
                                 "in the guest with virtio_blk and "
                                 "virtio_scsi", *bus);
    }
    if (o->bus) {
        *bus = o->bus;
        if (want_virtio) {
            snprintf(msg, sizeof(msg), "--bus %s: the guest has no %s at "
                     "boot%s; it may not find its root file system", o->bus,
                     is(o->bus, "scsi") ? "virtio_scsi" : "virtio_blk",
                     o->no_driver_changes ? " (--no-driver-changes)" : "");
            warn(o, s, msg);
        } else if ((is(o->bus, "sata") && !d->ahci) ||
                   (is(o->bus, "ide") && !d->ata_piix)) {
            snprintf(msg, sizeof(msg), "--bus %s: the guest's initramfs has "
                     "no %s; it may not find its root file system", o->bus,
                     is(o->bus, "sata") ? "ahci" : "ata_piix");
            warn(o, s, msg);
        }
        return ovfk_sysprep_note(s, "disk bus %s: given with --bus", o->bus);
    }
    /* an emulated controller the guest has a driver for */
    *bus = d->ahci || !d->ata_piix ? "sata" : "ide";
    if (!d->ahci && !d->ata_piix) {
        warn(o, s, "the guest has neither virtio_blk, ahci nor ata_piix at "
             "boot: SATA chosen, it may not boot");
    }
    return ovfk_sysprep_note(s, "disk bus %s: %s", *bus,
                             o->no_driver_changes ?
                             "--no-driver-changes and no virtio_blk at boot" :
                             "no virtio_blk module to add to the initramfs");
}

static int windows_bus(const struct ovfk_convert_opts *o, ovfk_sysprep *s,
                       size_t os, struct ovfk_sysprep_drivers *d,
                       const struct ovfk_hv_vm *vm, const char *const *origin,
                       const char **bus)
{
    unsigned inst = 0;
    int r;

    if (!d->virtio_blk && o->virtio_win && !o->no_driver_changes) {
        r = ovfk_sysprep_op_virtio_win(s, os, o->virtio_win, &inst, false);
        if (r < 0) {
            return ovfk_err_last(r, "%s", ovfk_sysprep_error(s));
        }
        d->virtio_blk |= (inst & 1) != 0;
        d->virtio_net |= (inst & 2) != 0;
        d->virtio_scsi |= (inst & 4) != 0;
    }
    if (o->bus) {
        *bus = o->bus;
        if ((is(o->bus, "virtio") && !d->virtio_blk) ||
            (is(o->bus, "scsi") && !d->virtio_scsi)) {
            char msg[200];
            snprintf(msg, sizeof(msg), "--bus %s: the guest has no %s "
                     "driver; Windows will stop with "
                     "INACCESSIBLE_BOOT_DEVICE", o->bus,
                     is(o->bus, "scsi") ? "vioscsi" : "viostor");
            warn(o, s, msg);
        }
        return ovfk_sysprep_note(s, "disk bus %s: given with --bus", o->bus);
    }
    if (d->virtio_blk) {
        *bus = "virtio";
        return ovfk_sysprep_note(s, "disk bus virtio: viostor %s", inst & 1 ?
                                 "installed from the virtio-win tree" :
                                 "is installed in the guest");
    }
    *bus = "ide";
    r = ovfk_sysprep_note(s, "disk bus ide: no viostor in the guest%s",
                          o->virtio_win ? " (--no-driver-changes)" :
                          " (give --virtio-win DIR to install it)");
    if (r == 0 && vm->n_disks > EMULATED_MAX_DISKS) {
        char msg[1024];
        size_t n = (size_t)snprintf(msg, sizeof(msg), "a guest without "
                                    "paravirtual drivers sees at most %d "
                                    "disks: it will not see", 
                                    EMULATED_MAX_DISKS);
        for (size_t i = EMULATED_MAX_DISKS; i < vm->n_disks &&
             n < sizeof(msg); i++) {
            n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s disk %zu "
                                  "('%s')", i > EMULATED_MAX_DISKS ? "," :
                                  "", i + 1, origin[i] ? origin[i] :
                                  vm->disks[i].path);
        }
        warn(o, s, msg);
    }
    return r;
}

int ovfk_cv_choose_bus(const struct ovfk_convert_opts *o, ovfk_sysprep *s,
                       struct ovfk_hv_vm *vm, const char *const *origin)
{
    const struct ovfk_sysprep_os *os = ovfk_sysprep_os_at(s, 0);
    struct ovfk_sysprep_drivers d;
    const char *bus = NULL, *nic, *prefix;
    bool windows = is(os->type, "windows");
    int r = ovfk_sysprep_drivers(s, 0, &d);

    if (r < 0) {
        return ovfk_err_last(r, "%s", ovfk_sysprep_error(s));
    }
    ovfk_sysprep_note(s, "drivers of %s: %s", os->root, d.detail);
    if (windows) {
        r = windows_bus(o, s, 0, &d, vm, origin, &bus);
    } else if (is(os->type, "linux")) {
        r = linux_bus(o, s, 0, &d, &bus);
    } else {
        bus = o->bus ? o->bus : "ide";
        r = ovfk_sysprep_note(s, "disk bus %s: a %s guest", bus,
                              os->type ? os->type : "unknown");
    }
    if (r < 0) {
        return r;
    }
    nic = d.virtio_net || !d.inspected ? "virtio" : "e1000";
    r = ovfk_sysprep_note(s, "NIC model %s: %s", nic, !d.inspected ?
                          "the default" : d.virtio_net ?
                          (windows ? "netkvm in the guest" :
                           "virtio_net in the guest's kernel") :
                          (windows ? "no netkvm in the guest" :
                           "no virtio_net module in the guest"));
    /* Linux names disks after the driver: vdX on virtio-blk, sdX on
     * SCSI, SATA and (libata) IDE */
    prefix = is(bus, "virtio") ? "vd" : "sd";
    if (r == 0 && !windows) {
        r = ovfk_sysprep_op_device_names(s, 0, prefix, false);
        if (r < 0) {
            return ovfk_err_last(r, "%s", ovfk_sysprep_error(s));
        }
    }
    for (size_t i = 0; r == 0 && i < vm->n_disks; i++) {
        free(vm->disks[i].bus);
        vm->disks[i].bus = strdup(bus);
    }
    for (size_t i = 0; r == 0 && i < vm->n_nics; i++) {
        free(vm->nics[i].model);
        vm->nics[i].model = strdup(nic);
    }
    return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert/vmsrc.h - VM descriptions a conversion starts from, besides
 * OVF packages: a VMware .vmx file and a libvirt domain XML.  Each gives a
 * VM model whose disks are the source images (format left to probing).
 */
#ifndef OVFK_CONVERT_VMSRC_H
#define OVFK_CONVERT_VMSRC_H

#include "ovfkit/convert.h"
#include "ovfkit/hv.h"
#include "ovfkit/sysprep.h"

int ovfk_vm_from_vmx(const char *path, struct ovfk_hv_vm **out);
int ovfk_vm_from_domxml(const char *path, struct ovfk_hv_vm **out);

/* bus.c: the disk bus and NIC model from what the guest on s can boot
 * (origin: the disks as the user named them, for messages)
 * with, the guest made able to (initramfs, virtio-win, device names);
 * every choice a note of s's report. */
int ovfk_cv_choose_bus(const struct ovfk_convert_opts *o, ovfk_sysprep *s,
                       struct ovfk_hv_vm *vm, const char *const *origin);

#endif

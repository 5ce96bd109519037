/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert/vmsrc.h - VM descriptions a conversion starts from, besides
 * OVF packages: a VMware .vmx file and a libvirt domain XML.  Each gives a
 * VM model whose disks are the source images (format left to probing).
 */
#ifndef OVFK_CONVERT_VMSRC_H
#define OVFK_CONVERT_VMSRC_H

#include "ovfkit/hv.h"

int ovfk_vm_from_vmx(const char *path, struct ovfk_hv_vm **out);
int ovfk_vm_from_domxml(const char *path, struct ovfk_hv_vm **out);

#endif

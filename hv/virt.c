/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv/virt.c - the table of libvirt functions (see virt.h).
 */
#include "hv/virt.h"
#include "util/dlib.h"

void *hv_virt[HV_VIRT_COUNT];

static const char *const names[] = {
#define HV_VIRT_NAME(n) #n,
    HV_VIRT_FUNCS(HV_VIRT_NAME)
#undef HV_VIRT_NAME
};

static struct ovfk_dlib lib = {
    .soname = "libvirt.so.0",
    .package = "libvirt0",
    .names = names,
    .fns = hv_virt,
    .n = HV_VIRT_COUNT,
};

int hv_virt_load(ovfk_err *e)
{
    return ovfk_dlib_load(&lib, e);
}

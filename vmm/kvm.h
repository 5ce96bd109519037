/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmm/kvm.h - does KVM really work here?  Some hosts expose /dev/kvm yet
 * guests hang or qemu aborts under it (nested virtualisation without the
 * CPU features qemu asks for).  Both `vm start` and the libguestfs
 * appliance then fall back to TCG by themselves.
 */
#ifndef OVFK_VMM_KVM_H
#define OVFK_VMM_KVM_H

#include <stdbool.h>

/*
 * true when a probe guest (the host's own kernel, under qemu with KVM)
 * prints its banner within a few seconds.  The answer is cached per boot
 * in /tmp; OVFKIT_ACCEL=kvm|tcg decides without probing.
 */
bool ovfk_kvm_works(void);

#endif

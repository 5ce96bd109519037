/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv/run.h - running the dir store's VMs under qemu.
 */
#ifndef OVFK_HV_RUN_H
#define OVFK_HV_RUN_H

#include "hv/internal.h"

int run_is_running(const char *vmdir);
int run_start(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, const char *vmdir,
              bool console);
int run_stop(ovfk_hv_conn *c, const char *vmdir);
/* Ask the nbdkit server of disk i to "switch" to path or "reopen". */
int run_disk_request(ovfk_hv_conn *c, const char *vmdir, size_t i,
                     const char *verb, const char *path);
/* The pid of the VM's qemu, or 0. */
int run_pid(const char *vmdir);
char *dir_net_bridge(ovfk_hv_conn *c, const char *name);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert/domxml.c - a libvirt domain XML (virsh dumpxml) as a conversion
 * source, read by hv's domain reader (hv/domxml.c): its file- and
 * block-backed disks are the source images, their format left to probing
 * unless the domain names one an image reader takes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "convert/vmsrc.h"
#include "hv/domxml.h"
#include "util/err.h"

/* The driver types the image readers (image/) take as they are named. */
static char *known_format(char *type)
{
    static const char *const known[] = { "raw", "qcow2", "vmdk", "vhdx" };

    for (size_t i = 0; type && i < sizeof(known) / sizeof(known[0]); i++) {
        if (!strcmp(type, known[i])) {
            return type;
        }
    }
    free(type);
    return NULL;
}

int ovfk_vm_from_domxml(const char *path, struct ovfk_hv_vm **out)
{
    ovfk_err err = { 0 };
    struct ovfk_hv_vm *vm;
    int r;

    *out = NULL;
    r = hv_domxml_parse_file(path, HV_DOMXML_LOCAL_DISKS, &vm, &err);
    if (r < 0) {
        return ovfk_err_last(r, "'%s' %s", path, err.msg);
    }
    if (!vm->name) {
        vm->name = strdup("vm");
    }
    /* a direct-boot kernel is a path on the source host */
    free(vm->kernel);
    free(vm->initrd);
    free(vm->cmdline);
    vm->kernel = vm->initrd = vm->cmdline = NULL;
    for (size_t i = 0; i < vm->n_disks; i++) {
        vm->disks[i].format = known_format(vm->disks[i].format);
    }
    if (vm->n_disks == 0) {
        /* network and volume disks are valid, but not read here */
        ovfk_hv_vm_free(vm);
        return ovfk_err_last(OVFK_EUNSUPPORTED, "'%s' has no file or block "
                             "disk", path);
    }
    *out = vm;
    return 0;
}

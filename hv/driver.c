/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv/driver.c - connecting to an inventory and the operations every
 * driver shares: lookups by name or UUID, creating and removing VMs.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hv/internal.h"
#include "hv/run.h"
#include "ovfkit/convert.h"
#include "ovfkit/vhd.h"

int hv_connect(const char *store, const char *uri, hv_conn **out)
{
    const struct hv_driver *drv = &hv_dir_driver;
    const char *where = store;
    hv_conn *c;
    int r;

    *out = NULL;
    if (uri && !strncmp(uri, "xen:", 4) && strncmp(uri, "xen://", 6)) {
        drv = &hv_xen_driver;
        where = uri + 4;
    } else if (uri && !strncmp(uri, "dir:", 4)) {
        where = uri + 4;
    } else if (uri) {
        drv = &hv_libvirt_driver;
        where = uri;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    c->drv = drv;
    c->max_cpus = HV_DEFAULT_MAX_CPUS;
    c->where = where ? strdup(where) : NULL;
    r = drv->open(c, where);
    if (r < 0) {
        ovfk_err_publish(&c->err);
        free(c->where);
        free(c);
        return r;
    }
    *out = c;
    return 0;
}

void hv_disconnect(hv_conn *c)
{
    if (c) {
        c->drv->close(c);
        free(c->where);
        free(c);
    }
}

const char *hv_error(const hv_conn *c)
{
    return c->err.msg;
}

const char *hv_driver_name(const hv_conn *c)
{
    return c->drv->name;
}

int hv_list(hv_conn *c, struct hv_vm ***vms, size_t *n)
{
    *vms = NULL;
    *n = 0;
    return c->drv->list(c, vms, n);
}

int hv_load(hv_conn *c, const char *key, struct hv_vm **out)
{
    struct hv_vm **vms;
    uint8_t uuid[16];
    bool by_uuid = hv_uuid_parse(key, uuid) == 0;
    size_t n;
    int r;

    *out = NULL;
    r = hv_list(c, &vms, &n);
    if (r < 0) {
        return r;
    }
    for (size_t i = 0; i < n && !*out; i++) {
        if ((by_uuid && !memcmp(vms[i]->uuid, uuid, 16)) ||
            !strcmp(vms[i]->name, key)) {
            *out = vms[i];
            vms[i] = NULL;
        }
    }
    hv_list_free(vms, n);
    if (!*out) {
        return ovfk_err_set(&c->err, -ENOENT, "no VM named '%s' in the %s "
                            "inventory ('ovfkit vm list' shows them)", key,
                            c->drv->name);
    }
    return 0;
}

int hv_networks(hv_conn *c, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    return c->drv->networks(c, names, n);
}

int hv_net_add(hv_conn *c, const char *name, const char *bridge)
{
    if (!c->drv->net_add) {
        return ovfk_err_set(&c->err, -ENOTSUP, "the %s driver takes the "
                            "networks the hypervisor has; create them there",
                            c->drv->name);
    }
    return c->drv->net_add(c, name, bridge);
}

int hv_is_running(hv_conn *c, const struct hv_vm *vm)
{
    return c->drv->is_running ? c->drv->is_running(c, vm) : 0;
}

/* "NETWORK[,mac=MAC][,model=M]" */
static int parse_nic(hv_conn *c, const char *spec, struct hv_nic *nic)
{
    char buf[512], *save = NULL, *tok;

    snprintf(buf, sizeof(buf), "%s", spec);
    tok = strtok_r(buf, ",", &save);
    if (!tok || !*tok) {
        return ovfk_err_set(&c->err, -EINVAL, "--nic '%s' names no network",
                            spec);
    }
    nic->network = strdup(tok);
    while ((tok = strtok_r(NULL, ",", &save))) {
        if (!strncmp(tok, "mac=", 4)) {
            if (hv_mac_normalize(tok + 4, nic->mac) < 0) {
                return ovfk_err_set(&c->err, -EINVAL, "'%s' is not a MAC "
                                    "address", tok + 4);
            }
        } else if (!strncmp(tok, "model=", 6)) {
            free(nic->model);
            nic->model = strdup(tok + 6);
        } else {
            return ovfk_err_set(&c->err, -EINVAL, "unknown --nic option '%s' "
                                "(mac=, model=)", tok);
        }
    }
    if (!nic->model) {
        nic->model = strdup("virtio");
    }
    return 0;
}

static bool in_list(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(v[i], s)) {
            return true;
        }
    }
    return false;
}

/* Every limit problem is named, not just the first. */
static void limit_error(void *opaque, const char *msg)
{
    hv_conn *c = opaque;

    if (!c->err.code) {
        ovfk_err_set(&c->err, -EINVAL, "%s", msg);
    } else {
        ovfk_err_prefix(&c->err, "%s", msg);
    }
}

/* A disk for a new VM: a new blank VHD, or an image converted into it. */
static int make_disk(hv_conn *c, const char *spec, const char *dir, int idx,
                     struct hv_disk *d)
{
    char path[PATH_MAX];
    uint64_t size;
    int r;

    snprintf(path, sizeof(path), "%s/disk%d.vhd", dir, idx);
    d->path = strdup(path);
    d->format = strdup("vhd");
    d->bus = strdup("virtio");
    snprintf(path, sizeof(path), "vmdisk%d", idx);
    d->id = strdup(path);
    d->boot_order = idx == 1 ? 1 : 0;
    if (ovfk_parse_size(spec, &size) == 0 && access(spec, F_OK) != 0) {
        struct vhd_create_opts o = { .type = VHD_TYPE_DYNAMIC, .size = size };
        r = vhd_create(d->path, &o, NULL);
    } else {
        struct vhd_convert_opts o = { .type = VHD_OUT_DYNAMIC };
        ovfk_source *src;
        vhd_t *h;
        /* a fixed VHD stays fixed: its owner chose preallocation (and a
         * merge into a preallocated base needs no space) */
        if (vhd_probe(spec) > 0 && vhd_open(spec, 0, &h) == 0) {
            struct vhd_info info;
            if (vhd_get_info(h, &info) == 0 && info.type == VHD_TYPE_FIXED) {
                o.type = VHD_OUT_FIXED;
            }
            vhd_close(h);
        }
        r = ovfk_open_source(spec, NULL, &src);
        if (r == 0) {
            r = vhd_convert(src, d->path, &o);
            ovfk_source_free(src);
        }
    }
    if (r < 0) {
        return ovfk_err_set(&c->err, r, "%s", ovfk_last_error());
    }
    {
        vhd_t *h;
        if (vhd_open(d->path, 0, &h) == 0) {
            d->capacity = vhd_size(h);
            vhd_close(h);
        }
    }
    return 0;
}

int hv_vm_create(hv_conn *c, const struct hv_create_opts *o,
                 struct hv_vm **out)
{
    struct hv_vm *vm = hv_vm_new(), **vms = NULL;
    char dir[PATH_MAX], **nets = NULL;
    const char **macs = NULL;
    size_t n = 0, nnets = 0;
    int lock = -1, r;

    if (out) {
        *out = NULL;
    }
    if (!vm) {
        return ovfk_err_set(&c->err, -ENOMEM, "out of memory");
    }
    vm->name = hv_strdup(o->name);
    vm->cpus = o->cpus ? o->cpus : 1;
    vm->memory_mib = o->memory_mib ? o->memory_mib : 1024;
    vm->os_type = hv_strdup(o->os_type);
    vm->firmware = strdup("bios");
    vm->kernel = hv_strdup(o->kernel);
    vm->initrd = hv_strdup(o->initrd);
    vm->cmdline = hv_strdup(o->cmdline);
    hv_uuid_generate(vm->uuid);
    r = c->drv->lock(c, NULL, &lock);   /* the whole inventory */
    if (r == 0) {
        r = hv_list(c, &vms, &n);
    }
    if (r == 0) {
        r = hv_networks(c, &nets, &nnets);
    }
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (!strcmp(vms[i]->name, vm->name)) {
            r = ovfk_err_set(&c->err, -EEXIST, "a VM named '%s' already "
                             "exists", vm->name);
        }
    }
    for (size_t i = 0; r == 0 && i < o->n_nics; i++) {
        struct hv_nic *nic = hv_vm_add_nic(vm);
        r = nic ? parse_nic(c, o->nics[i], nic) : -ENOMEM;
        if (r == 0 && !nic->mac[0]) {
            r = hv_mac_next(c, vms, n, (const char *const *)macs, i, nic->mac);
        } else if (r == 0 && hv_mac_owner(vms, n, nic->mac, NULL)) {
            r = ovfk_err_set(&c->err, -EEXIST, "MAC %s is used by VM '%s'",
                             nic->mac, hv_mac_owner(vms, n, nic->mac,
                                                    NULL)->name);
        }
        if (r == 0 && !in_list(nets, nnets, nic->network)) {
            if (c->drv->net_add) {
                r = c->drv->net_add(c, nic->network, NULL);
            } else {
                r = ovfk_err_set(&c->err, -ENOENT, "network '%s' does not "
                                 "exist on the target", nic->network);
            }
        }
        if (r == 0) {
            const char **nm = realloc(macs, (i + 1) * sizeof(*nm));
            r = nm ? 0 : -ENOMEM;
            if (nm) {
                macs = nm;
                macs[i] = nic->mac;
            }
        }
    }
    if (r == 0 && hv_vm_check_limits(vm, o->max_cpus ? o->max_cpus
                                                      : c->max_cpus,
                                     limit_error, NULL, c) > 0) {
        r = c->err.code;
    }
    if (r == 0) {
        r = c->drv->disk_dir(c, vm, dir, sizeof(dir));
    }
    for (size_t i = 0; r == 0 && i < o->n_disks; i++) {
        struct hv_disk *d = hv_vm_add_disk(vm);
        r = d ? make_disk(c, o->disks[i], dir, (int)i + 1, d) : -ENOMEM;
    }
    if (r == 0) {
        r = c->drv->define(c, vm);
    }
    if (r < 0) {
        for (size_t i = 0; i < vm->n_disks; i++) {
            if (vm->disks[i].path) {
                unlink(vm->disks[i].path);
            }
        }
        if (vm->n_disks) {
            rmdir(dir);
        }
        if (c->drv->discard) {
            c->drv->discard(c, vm);
        }
    }
    c->drv->unlock(c, lock);
    hv_list_free(vms, n);
    hv_strv_free(nets, nnets);
    free(macs);
    if (r == 0 && out) {
        *out = vm;
    } else {
        hv_vm_free(vm);
    }
    return r;
}

int hv_vm_remove(hv_conn *c, const char *key, bool keep_disks)
{
    struct hv_vm *vm;
    int lock = -1, r;

    r = hv_load(c, key, &vm);
    if (r < 0) {
        return r;
    }
    r = c->drv->lock(c, vm->uuid, &lock);
    if (r == 0 && hv_is_running(c, vm) > 0) {
        r = ovfk_err_set(&c->err, -EBUSY, "VM '%s' is running; stop it "
                         "first ('ovfkit vm stop %s')", vm->name, vm->name);
    }
    if (r == 0) {
        r = c->drv->remove(c, vm, keep_disks);
    }
    c->drv->unlock(c, lock);
    hv_vm_free(vm);
    return r;
}

int hv_vm_start(hv_conn *c, const char *key, bool console)
{
    struct hv_vm *vm;
    int r;

    if (!c->drv->start) {
        return ovfk_err_set(&c->err, -ENOTSUP, "the %s driver cannot start "
                            "VMs; use the hypervisor's tools", c->drv->name);
    }
    r = hv_load(c, key, &vm);
    if (r == 0) {
        r = hv_is_running(c, vm) > 0 ?
            ovfk_err_set(&c->err, -EBUSY, "VM '%s' is already running",
                         vm->name) : c->drv->start(c, vm, console);
    }
    hv_vm_free(vm);
    return r;
}

int hv_vm_stop(hv_conn *c, const char *key)
{
    struct hv_vm *vm;
    int r;

    if (!c->drv->stop) {
        return ovfk_err_set(&c->err, -ENOTSUP, "the %s driver cannot stop "
                            "VMs; use the hypervisor's tools", c->drv->name);
    }
    r = hv_load(c, key, &vm);
    if (r == 0) {
        r = hv_is_running(c, vm) > 0 ? c->drv->stop(c, vm)
            : ovfk_err_set(&c->err, -EINVAL, "VM '%s' is not running",
                           vm->name);
    }
    hv_vm_free(vm);
    return r;
}

int hv_vm_update(hv_conn *c, const struct hv_vm *vm)
{
    return c->drv->replace(c, vm, vm);
}

int hv_vm_data_dir(hv_conn *c, const struct hv_vm *vm, char *buf,
                   size_t len)
{
    return c->drv->vm_dir(c, vm, buf, len);
}

int hv_vm_lock(hv_conn *c, const uint8_t uuid[16], int *token)
{
    return c->drv->lock(c, uuid, token);
}

void hv_vm_unlock(hv_conn *c, int token)
{
    c->drv->unlock(c, token);
}

int hv_vm_disk_request(hv_conn *c, const struct hv_vm *vm, size_t disk,
                       const char *verb, const char *path)
{
    char dir[PATH_MAX];

    if (c->drv != &hv_dir_driver || hv_is_running(c, vm) <= 0) {
        return 0;
    }
    c->drv->vm_dir(c, vm, dir, sizeof(dir));
    return run_disk_request(c, dir, disk, verb, path);
}

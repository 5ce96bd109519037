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
#include <sys/stat.h>
#include <unistd.h>

#include "hv/internal.h"
#include "ovfkit/image.h"
#include "ovfkit/vhd.h"

int ovfk_hv_connect(const char *store, const char *uri, ovfk_hv_conn **out)
{
    const struct hv_driver *drv = &hv_dir_driver;
    const char *where = store;
    ovfk_hv_conn *c;
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
    c->max_cpus = OVFK_HV_DEFAULT_MAX_CPUS;
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

void ovfk_hv_disconnect(ovfk_hv_conn *c)
{
    if (c) {
        c->drv->close(c);
        free(c->where);
        free(c);
    }
}

const char *ovfk_hv_error(const ovfk_hv_conn *c)
{
    return c->err.msg;
}

const char *ovfk_hv_driver_name(const ovfk_hv_conn *c)
{
    return c->drv->name;
}

int ovfk_hv_list(ovfk_hv_conn *c, struct ovfk_hv_vm ***vms, size_t *n)
{
    *vms = NULL;
    *n = 0;
    return c->drv->list(c, vms, n);
}

int ovfk_hv_load(ovfk_hv_conn *c, const char *key, struct ovfk_hv_vm **out)
{
    struct ovfk_hv_vm **vms;
    uint8_t uuid[16];
    bool by_uuid = ovfk_hv_uuid_parse(key, uuid) == 0;
    size_t n;
    int r;

    *out = NULL;
    r = ovfk_hv_list(c, &vms, &n);
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
    ovfk_hv_list_free(vms, n);
    if (!*out) {
        return ovfk_err_set(&c->err, -ENOENT, "no VM named '%s' in the %s "
                            "inventory ('ovfkit vm list' shows them)", key,
                            c->drv->name);
    }
    return 0;
}

int ovfk_hv_networks(ovfk_hv_conn *c, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    return c->drv->networks(c, names, n);
}

int ovfk_hv_net_add(ovfk_hv_conn *c, const char *name, const char *bridge)
{
    if (!c->drv->net_add) {
        return ovfk_err_set(&c->err, -ENOTSUP, "the %s driver takes the "
                            "networks the hypervisor has; create them there",
                            c->drv->name);
    }
    return c->drv->net_add(c, name, bridge);
}

int ovfk_hv_is_running(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm)
{
    return c->drv->is_running ? c->drv->is_running(c, vm) : 0;
}

uint64_t hv_image_capacity(const char *path, const char *format)
{
    static const char *const known[] = { "raw", "vhd", "vhdx", "vmdk",
                                         "qcow2" };
    const char *use = NULL;
    ovfk_source *src;
    uint64_t size = 0;
    ovfk_vhd *h;

    if (!path || access(path, R_OK) != 0) {
        return 0;
    }
    for (size_t i = 0; format && i < sizeof(known) / sizeof(known[0]); i++) {
        if (!strcmp(format, known[i])) {
            use = known[i];
        }
    }
    /* a VHD's capacity is in its own footer: its parents are not needed,
     * and looking never writes (a read-only open finishes no merge) */
    if ((!use || !strcmp(use, "vhd")) && ovfk_vhd_probe(path) > 0) {
        if (ovfk_vhd_open(path, OVFK_VHD_OPEN_NO_PARENT, &h) == 0) {
            size = ovfk_vhd_size(h);
            ovfk_vhd_close(h);
        }
        return size;
    }
    if (use && !strcmp(use, "vhd")) {
        return 0;           /* not a VHD: no capacity to trust */
    }
    if (ovfk_open_source(path, use, &src) == 0) {
        size = src->size;
        ovfk_source_free(src);
    }
    return size;
}

/* "NETWORK[,mac=MAC][,model=M]" */
static int parse_nic(ovfk_hv_conn *c, const char *spec, struct ovfk_hv_nic *nic)
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
            if (ovfk_hv_mac_normalize(tok + 4, nic->mac) < 0) {
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
    ovfk_hv_conn *c = opaque;

    if (!c->err.code) {
        ovfk_err_set(&c->err, -EINVAL, "%s", msg);
    } else {
        ovfk_err_prefix(&c->err, "%s", msg);
    }
}

/* Names tried for one new disk before giving up. */
#define HV_DISK_NAME_TRIES 100

/*
 * The file name of new disk idx, try k (1, 2, ...): diskIDX.vhd in a
 * directory of the VM's own, NAME-diskIDX.vhd where other VMs' disks and
 * the user's files are too (NAME-diskIDX-K.vhd when that is taken).
 */
static void disk_name(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm,
                      const char *dir, int idx, int k, char *buf, size_t len)
{
    char pre[OVFK_HV_NAME_MAX + 2] = "", suf[16] = "";

    if (c->drv->shared_disk_dir) {
        snprintf(pre, sizeof(pre), "%s-", vm->name);
    }
    if (k > 1) {
        snprintf(suf, sizeof(suf), "-%d", k);
    }
    snprintf(buf, len, "%s/%sdisk%d%s.vhd", dir, pre, idx, suf);
}

/*
 * A disk for a new VM: a new blank VHD, or an image (read as format; NULL:
 * probed) converted into it.
 * The file is created exclusively (ovfk_vhd_create opens with O_EXCL,
 * ovfk_vhd_convert renames without replacing), so a file already there is
 * never touched: the next name is tried.  d->owned is set only once the
 * file is this command's, and only such a file may a rollback remove.
 */
static int make_disk(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm,
                     const char *spec, const char *format, const char *dir,
                     int idx, struct ovfk_hv_disk *d)
{
    struct ovfk_vhd_convert_opts co = { .type = OVFK_VHD_OUT_DYNAMIC };
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_DYNAMIC };
    ovfk_source *src = NULL;
    char path[PATH_MAX];
    bool blank;
    int r = 0;

    d->format = strdup("vhd");
    d->bus = strdup("virtio");
    snprintf(path, sizeof(path), "vmdisk%d", idx);
    d->id = strdup(path);
    d->boot_order = idx == 1 ? 1 : 0;
    blank = ovfk_parse_size(spec, &o.size) == 0 && access(spec, F_OK) != 0;
    if (!blank) {
        ovfk_vhd *h;
        /* a fixed VHD stays fixed: its owner chose preallocation (and a
         * merge into a preallocated base needs no space) */
        if (ovfk_vhd_probe(spec) > 0 && ovfk_vhd_open(spec, 0, &h) == 0) {
            struct ovfk_vhd_info info;
            if (ovfk_vhd_get_info(h, &info) == 0 &&
                info.type == OVFK_VHD_TYPE_FIXED) {
                co.type = OVFK_VHD_OUT_FIXED;
            }
            ovfk_vhd_close(h);
        }
        r = ovfk_open_source(spec, format, &src);
    }
    for (int k = 1; r == 0 && k <= HV_DISK_NAME_TRIES; k++) {
        disk_name(c, vm, dir, idx, k, path, sizeof(path));
        r = blank ? ovfk_vhd_create(path, &o, NULL)
                  : ovfk_vhd_convert(src, path, &co);
        if (r != -EEXIST) {
            break;
        }
        r = k < HV_DISK_NAME_TRIES ? 0 : r;
    }
    ovfk_source_free(src);
    if (r < 0) {
        return ovfk_err_set(&c->err, r, "%s", ovfk_last_error());
    }
    d->path = strdup(path);
    if (!d->path) {
        unlink(path);
        return ovfk_err_set(&c->err, -ENOMEM, "out of memory");
    }
    d->owned = true;
    d->capacity = hv_image_capacity(d->path, "vhd");
    return 0;
}

/*
 * MACs for the NICs of a new VM, once its NIC array is complete (it moves
 * while it grows, so no pointer into it is kept before): a MAC given on
 * the command line must be unique in the VM and unused in the inventory;
 * every other NIC gets the lowest free pool address that neither the
 * inventory nor any NIC of this VM has.
 */
static int assign_macs(ovfk_hv_conn *c, struct ovfk_hv_vm *vm,
                       struct ovfk_hv_vm **vms, size_t n)
{
    const char **taken = calloc(vm->n_nics + 1, sizeof(*taken));
    const struct ovfk_hv_vm *owner;
    int r = taken ? 0 : ovfk_err_set(&c->err, -ENOMEM, "out of memory");

    for (size_t i = 0; r == 0 && i < vm->n_nics; i++) {
        const char *mac = vm->nics[i].mac;
        taken[i] = mac;
        if (!mac[0]) {
            continue;
        }
        for (size_t k = 0; r == 0 && k < i; k++) {
            if (!strcasecmp(vm->nics[k].mac, mac)) {
                r = ovfk_err_set(&c->err, -EEXIST, "MAC %s appears on two "
                                 "NICs (%zu and %zu)", mac, k + 1, i + 1);
            }
        }
        if (r == 0 && (owner = hv_mac_owner(vms, n, mac, NULL))) {
            r = ovfk_err_set(&c->err, -EEXIST, "MAC %s is used by VM '%s'",
                             mac, owner->name);
        }
    }
    for (size_t i = 0; r == 0 && i < vm->n_nics; i++) {
        if (!vm->nics[i].mac[0]) {
            r = hv_mac_next(c, vms, n, taken, vm->n_nics, vm->nics[i].mac);
        }
    }
    free(taken);
    return r;
}

int ovfk_hv_vm_create(ovfk_hv_conn *c, const struct ovfk_hv_create_opts *o,
                 struct ovfk_hv_vm **out)
{
    struct ovfk_hv_vm *vm = ovfk_hv_vm_new(), **vms = NULL;
    char dir[PATH_MAX], **nets = NULL;
    size_t n = 0, nnets = 0;
    ovfk_lock *lock = NULL;
    int r;

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
    ovfk_hv_uuid_generate(vm->uuid);
    r = hv_lock(c, NULL, &lock);        /* the whole inventory */
    if (r == 0) {
        r = ovfk_hv_list(c, &vms, &n);
    }
    if (r == 0) {
        r = ovfk_hv_networks(c, &nets, &nnets);
    }
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (!strcmp(vms[i]->name, vm->name)) {
            r = ovfk_err_set(&c->err, -EEXIST, "a VM named '%s' already "
                             "exists", vm->name);
        }
    }
    for (size_t i = 0; r == 0 && i < o->n_nics; i++) {
        struct ovfk_hv_nic *nic = ovfk_hv_vm_add_nic(vm);
        r = nic ? parse_nic(c, o->nics[i], nic) : -ENOMEM;
    }
    if (r == 0) {
        r = assign_macs(c, vm, vms, n);
    }
    for (size_t i = 0; r == 0 && i < vm->n_nics; i++) {
        const char *net = vm->nics[i].network;
        if (in_list(nets, nnets, net)) {
            continue;
        }
        if (c->drv->net_add) {
            r = c->drv->net_add(c, net, NULL);
            if (r == 0) {
                r = hv_strv_add(&nets, &nnets, net);
            }
        } else {
            r = ovfk_err_set(&c->err, -ENOENT, "network '%s' does not "
                             "exist on the target", net);
        }
    }
    if (r == 0 && ovfk_hv_vm_check_limits(vm, o->max_cpus ? o->max_cpus
                                                      : c->max_cpus,
                                     limit_error, NULL, c) > 0) {
        r = c->err.code;
    }
    if (r == 0) {
        r = c->drv->disk_dir(c, vm, dir, sizeof(dir));
    }
    for (size_t i = 0; r == 0 && i < o->n_disks; i++) {
        struct ovfk_hv_disk *d = ovfk_hv_vm_add_disk(vm);
        r = d ? make_disk(c, vm, o->disks[i], o->disk_format, dir,
                          (int)i + 1, d)
              : ovfk_err_set(&c->err, -ENOMEM, "out of memory");
    }
    if (r == 0) {
        r = c->drv->define(c, vm);
    }
    if (r < 0) {
        /* only the files this command made; the disk directory stays
         * (it may hold other VMs' disks, or be a storage pool's) */
        for (size_t i = 0; i < vm->n_disks; i++) {
            if (vm->disks[i].owned && vm->disks[i].path) {
                unlink(vm->disks[i].path);
            }
        }
        if (c->drv->discard) {
            c->drv->discard(c, vm);
        }
    }
    ovfk_lock_release(lock);
    ovfk_hv_list_free(vms, n);
    ovfk_hv_strv_free(nets, nnets);
    if (r == 0 && out) {
        *out = vm;
    } else {
        ovfk_hv_vm_free(vm);
    }
    return r;
}

int ovfk_hv_vm_remove(ovfk_hv_conn *c, const char *key, bool keep_disks)
{
    struct hv_refs refs = { 0 };
    struct ovfk_hv_vm *vm = NULL;
    ovfk_lock *all = NULL, *lock = NULL;
    int r;

    /* the whole inventory: no definition may start using a disk while
     * this one decides which of its disks nobody else uses */
    r = hv_lock(c, NULL, &all);
    if (r == 0) {
        r = ovfk_hv_load(c, key, &vm);
    }
    if (r == 0) {
        r = hv_lock(c, vm, &lock);
    }
    if (r == 0 && ovfk_hv_is_running(c, vm) > 0) {
        r = ovfk_err_set(&c->err, -EBUSY, "VM '%s' is running; stop it "
                         "first ('ovfkit vm stop %s')", vm->name, vm->name);
    }
    if (r == 0 && !keep_disks) {
        r = hv_refs_collect(c, vm, &refs);
    }
    if (r == 0) {
        r = c->drv->remove(c, vm, keep_disks ? NULL : &refs);
    }
    hv_refs_free(&refs);
    ovfk_lock_release(lock);
    ovfk_lock_release(all);
    ovfk_hv_vm_free(vm);
    return r;
}

static int refs_add(struct hv_refs *refs, const char *path)
{
    struct hv_file_id *v;
    struct stat st;

    if (!path || stat(path, &st) < 0 || hv_refs_has(refs, path)) {
        return 0;
    }
    v = realloc(refs->v, (refs->n + 1) * sizeof(*v));
    if (!v) {
        return -ENOMEM;
    }
    refs->v = v;
    v[refs->n].dev = st.st_dev;
    v[refs->n].ino = st.st_ino;
    refs->n++;
    return 0;
}

/* A disk's file and, for a differencing VHD, every parent it reads. */
static int refs_add_chain(struct hv_refs *refs, const char *path)
{
    int r = refs_add(refs, path);
    ovfk_vhd *h;

    if (r == 0 && path && ovfk_vhd_probe(path) > 0 &&
        ovfk_vhd_open(path, 0, &h) == 0) {
        for (ovfk_vhd *p = ovfk_vhd_parent(h); r == 0 && p;
             p = ovfk_vhd_parent(p)) {
            r = refs_add(refs, ovfk_vhd_path(p));
        }
        ovfk_vhd_close(h);
    }
    return r;
}

int hv_refs_collect(ovfk_hv_conn *c, const struct ovfk_hv_vm *except,
                    struct hv_refs *out)
{
    struct ovfk_hv_vm **vms;
    size_t n;
    int r;

    out->v = NULL;
    out->n = 0;
    r = ovfk_hv_list(c, &vms, &n);
    for (size_t i = 0; r == 0 && i < n; i++) {
        /* a hand-written Xen file may have no UUID: the name tells */
        if (except && !memcmp(vms[i]->uuid, except->uuid, 16) &&
            !strcmp(vms[i]->name, except->name)) {
            continue;
        }
        for (size_t k = 0; r == 0 && k < vms[i]->n_disks; k++) {
            r = refs_add_chain(out, vms[i]->disks[k].path);
        }
    }
    ovfk_hv_list_free(vms, n);
    if (r == -ENOMEM) {
        r = ovfk_err_set(&c->err, r, "out of memory");
    }
    return r;
}

bool hv_refs_has(const struct hv_refs *refs, const char *path)
{
    struct stat st;

    if (!refs || !path || stat(path, &st) < 0) {
        return false;
    }
    for (size_t i = 0; i < refs->n; i++) {
        if (refs->v[i].dev == st.st_dev && refs->v[i].ino == st.st_ino) {
            return true;
        }
    }
    return false;
}

void hv_refs_free(struct hv_refs *refs)
{
    free(refs->v);
    refs->v = NULL;
    refs->n = 0;
}

bool hv_disk_removable(const struct ovfk_hv_disk *d, const struct hv_refs *refs)
{
    struct stat st;

    /* never a device node, a directory or a link a user made */
    return refs && d->owned && d->path && lstat(d->path, &st) == 0 &&
           S_ISREG(st.st_mode) && !hv_refs_has(refs, d->path);
}

int ovfk_hv_vm_start(ovfk_hv_conn *c, const char *key, bool console)
{
    struct ovfk_hv_vm *vm;
    int r;

    if (!c->drv->start) {
        return ovfk_err_set(&c->err, -ENOTSUP, "the %s driver cannot start "
                            "VMs; use the hypervisor's tools", c->drv->name);
    }
    r = ovfk_hv_load(c, key, &vm);
    if (r == 0) {
        r = ovfk_hv_is_running(c, vm) > 0 ?
            ovfk_err_set(&c->err, -EBUSY, "VM '%s' is already running",
                         vm->name) : c->drv->start(c, vm, console);
    }
    ovfk_hv_vm_free(vm);
    return r;
}

int ovfk_hv_vm_stop(ovfk_hv_conn *c, const char *key)
{
    struct ovfk_hv_vm *vm;
    int r;

    if (!c->drv->stop) {
        return ovfk_err_set(&c->err, -ENOTSUP, "the %s driver cannot stop "
                            "VMs; use the hypervisor's tools", c->drv->name);
    }
    r = ovfk_hv_load(c, key, &vm);
    if (r == 0) {
        r = ovfk_hv_is_running(c, vm) > 0 ? c->drv->stop(c, vm)
            : ovfk_err_set(&c->err, -EINVAL, "VM '%s' is not running",
                           vm->name);
    }
    ovfk_hv_vm_free(vm);
    return r;
}

int ovfk_hv_vm_update(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm)
{
    return c->drv->replace(c, vm, vm);
}

int ovfk_hv_vm_data_dir(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, char *buf,
                   size_t len)
{
    return c->drv->vm_dir(c, vm, buf, len);
}

int ovfk_hv_vm_lock(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm,
                    ovfk_lock **out)
{
    return hv_lock(c, vm, out);
}

int ovfk_hv_vm_disk_request(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm,
                            size_t disk, const char *verb, const char *path)
{
    if (!c->drv->disk_request) {
        return 0;
    }
    return c->drv->disk_request(c, vm, disk, verb, path);
}

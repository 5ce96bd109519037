/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv/dir.c - the embedded default inventory: a directory, no daemon.
 *
 *   STORE/networks.json         the store's networks (name, bridge)
 *   STORE/.lock                 held while VMs are defined or removed
 *   STORE/vms/UUID/vm.json      a VM's definition (written atomically)
 *   STORE/vms/UUID/disks/       its disks (paths kept relative)
 *   STORE/vms/UUID/.lock        held while one process works on it
 *   STORE/vms/UUID/run/         pid, console log, sockets while running
 *   STORE/vms/UUID/snapshots.json   (snapshot/)
 */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv/internal.h"
#include "util/fs.h"
#include "util/tmpfile.h"
#include "vmm/vmm.h"

struct dir_priv {
    char root[PATH_MAX];
};

static struct dir_priv *P(ovfk_hv_conn *c)
{
    return c->priv;
}

static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
                return -errno;
            }
            *p = '/';
        }
    }
    return mkdir(buf, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static int dir_open(ovfk_hv_conn *c, const char *where)
{
    struct dir_priv *p = calloc(1, sizeof(*p));
    char vms[PATH_MAX];
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    int r;

    if (!p) {
        return ovfk_err_set(&c->err, -ENOMEM, "out of memory");
    }
    if (where && *where == '/') {
        snprintf(p->root, sizeof(p->root), "%s", where);
    } else if (where && *where) {
        /* disk paths are absolute (ovfkit/hv.h): the store's must be */
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd))) {
            free(p);
            return ovfk_err_set(&c->err, -errno, "cannot resolve the store "
                                "'%s'", where);
        }
        snprintf(p->root, sizeof(p->root), "%s/%s", cwd, where);
    } else if (xdg && *xdg) {
        snprintf(p->root, sizeof(p->root), "%s/ovfkit", xdg);
    } else {
        snprintf(p->root, sizeof(p->root), "%s/.local/share/ovfkit",
                 home && *home ? home : "/root");
    }
    snprintf(vms, sizeof(vms), "%s/vms", p->root);
    r = mkdir_p(vms);
    if (r < 0) {
        free(p);
        return ovfk_err_set(&c->err, r, "cannot create the store '%s': %s",
                            vms, ovfk_errtext(r));
    }
    c->priv = p;
    return 0;
}

static void dir_close(ovfk_hv_conn *c)
{
    free(c->priv);
}

static void vm_dir(ovfk_hv_conn *c, const uint8_t *uuid, char *buf, size_t len)
{
    char u[37];

    ovfk_hv_uuid_str(uuid, u);
    snprintf(buf, len, "%s/vms/%s", P(c)->root, u);
}

static int dir_vm_dir(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, char *buf,
                      size_t len)
{
    vm_dir(c, vm->uuid, buf, len);
    return 0;
}

static char *read_text(const char *path, size_t max)
{
    FILE *f = fopen(path, "r");
    char *buf;
    size_t n;

    if (!f) {
        return NULL;
    }
    buf = malloc(max + 1);
    n = buf ? fread(buf, 1, max, f) : 0;
    fclose(f);
    if (buf) {
        buf[n] = '\0';
    }
    return buf;
}

/* Disk paths inside the VM's directory are kept relative to it. */
static void rebase(struct ovfk_hv_vm *vm, const char *dir, bool to_relative)
{
    size_t n = strlen(dir);

    for (size_t i = 0; i < vm->n_disks; i++) {
        char *p = vm->disks[i].path, buf[PATH_MAX];
        if (!p) {
            continue;
        }
        if (to_relative && !strncmp(p, dir, n) && p[n] == '/') {
            memmove(p, p + n + 1, strlen(p + n + 1) + 1);
        } else if (!to_relative && p[0] != '/') {
            snprintf(buf, sizeof(buf), "%s/%s", dir, p);
            free(vm->disks[i].path);
            vm->disks[i].path = strdup(buf);
        }
    }
}

static int dir_list(ovfk_hv_conn *c, struct ovfk_hv_vm ***out, size_t *n)
{
    char path[PATH_MAX], dirp[PATH_MAX];
    struct ovfk_hv_vm **vms = NULL;
    struct dirent *e;
    DIR *d;

    snprintf(path, sizeof(path), "%s/vms", P(c)->root);
    d = opendir(path);
    if (!d) {
        return ovfk_err_set(&c->err, -errno, "cannot read the store '%s'",
                            path);
    }
    while ((e = readdir(d))) {
        struct ovfk_hv_vm *vm, **nv;
        char *text;
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(dirp, sizeof(dirp), "%s/vms/%s", P(c)->root, e->d_name);
        snprintf(path, sizeof(path), "%s/vm.json", dirp);
        text = read_text(path, 1 << 20);
        if (!text) {
            continue;   /* a VM being created, or removed with its disks kept */
        }
        if (ovfk_hv_vm_from_json(text, &vm) < 0) {
            free(text);
            continue;
        }
        free(text);
        rebase(vm, dirp, false);
        for (size_t i = 0; i < vm->n_disks; i++) {
            struct ovfk_hv_disk *dk = &vm->disks[i];
            size_t len = strlen(dirp);
            /* what lies in the VM's own directory was made for it */
            dk->owned |= dk->path && !strncmp(dk->path, dirp, len) &&
                         dk->path[len] == '/';
            /* a definition written by hand may give no capacity */
            if (!dk->capacity) {
                dk->capacity = hv_image_capacity(dk->path, dk->format);
            }
        }
        nv = realloc(vms, (*n + 1) * sizeof(*nv));
        if (!nv) {
            ovfk_hv_vm_free(vm);
            break;
        }
        vms = nv;
        vms[(*n)++] = vm;
    }
    closedir(d);
    *out = vms;
    return 0;
}

static int save(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm)
{
    char dir[PATH_MAX], path[PATH_MAX];
    struct ovfk_hv_vm *copy = ovfk_hv_vm_copy(vm);
    char *json;
    int r;

    if (!copy) {
        return ovfk_err_set(&c->err, -ENOMEM, "out of memory");
    }
    vm_dir(c, vm->uuid, dir, sizeof(dir));
    rebase(copy, dir, true);
    json = ovfk_hv_vm_to_json(copy, true);
    ovfk_hv_vm_free(copy);
    r = mkdir_p(dir);
    snprintf(path, sizeof(path), "%s/vm.json", dir);
    if (r == 0) {
        r = json ? ovfk_write_file_atomic(path, json, strlen(json)) : -ENOMEM;
    }
    free(json);
    return r < 0 ? ovfk_err_set(&c->err, r, "cannot write '%s': %s", path,
                                ovfk_errtext(r)) : 0;
}

static int dir_define(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm)
{
    char path[PATH_MAX];

    vm_dir(c, vm->uuid, path, sizeof(path));
    strncat(path, "/vm.json", sizeof(path) - strlen(path) - 1);
    if (access(path, F_OK) == 0) {
        return ovfk_err_set(&c->err, -EEXIST, "a VM with this UUID already "
                            "exists in the store");
    }
    return save(c, vm);
}

static int dir_replace(ovfk_hv_conn *c, const struct ovfk_hv_vm *old,
                       const struct ovfk_hv_vm *vm)
{
    (void)old;
    return save(c, vm);
}

/*
 * Remove what is under path (and path itself), except the files in keep
 * and the directories that still hold them.
 */
static void rm_tree(const char *path, const struct hv_refs *keep)
{
    struct dirent *e;
    struct stat st;
    DIR *d;

    if (lstat(path, &st) < 0) {
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (S_ISLNK(st.st_mode) || !hv_refs_has(keep, path)) {
            unlink(path);
        }
        return;
    }
    d = opendir(path);
    while (d && (e = readdir(d))) {
        char sub[PATH_MAX];
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
            continue;
        }
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        rm_tree(sub, keep);
    }
    if (d) {
        closedir(d);
    }
    rmdir(path);        /* fails, as it should, when something was kept */
}

static int dir_remove(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm,
                      const struct hv_refs *refs)
{
    char dir[PATH_MAX], path[PATH_MAX];

    vm_dir(c, vm->uuid, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/vm.json", dir);
    if (unlink(path) < 0) {
        return ovfk_err_set(&c->err, -errno, "cannot remove '%s'", path);
    }
    snprintf(path, sizeof(path), "%s/snapshots.json", dir);
    unlink(path);
    if (!refs) {
        return 0;       /* the disks (and their snapshots) stay */
    }
    /* disks made for the VM elsewhere (import --storage) */
    for (size_t i = 0; i < vm->n_disks; i++) {
        if (hv_disk_removable(&vm->disks[i], refs)) {
            unlink(vm->disks[i].path);
        }
    }
    /* the VM's own directory: its disks, snapshot deltas, run files;
     * a file another VM uses (its disk, or a parent of one) stays */
    rm_tree(dir, refs);
    return 0;
}

static void dir_discard(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm)
{
    char dir[PATH_MAX], path[PATH_MAX];

    vm_dir(c, vm->uuid, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/vm.json", dir);
    if (access(path, F_OK) != 0) {
        ovfk_rm_tree(dir);
    }
}

static json_object *load_networks(ovfk_hv_conn *c)
{
    char path[PATH_MAX], *text;
    json_object *o = NULL, *arr;

    snprintf(path, sizeof(path), "%s/networks.json", P(c)->root);
    text = read_text(path, 1 << 20);
    if (text) {
        o = json_tokener_parse(text);
        free(text);
    }
    if (!o || !json_object_object_get_ex(o, "networks", &arr) ||
        json_object_get_type(arr) != json_type_array) {
        json_object_put(o);
        o = json_object_new_object();
        json_object_object_add(o, "networks", json_object_new_array());
    }
    return o;
}

static int dir_networks(ovfk_hv_conn *c, char ***names, size_t *n)
{
    json_object *o = load_networks(c), *arr, *name;
    int r = 0;

    json_object_object_get_ex(o, "networks", &arr);
    for (size_t i = 0; r == 0 && i < json_object_array_length(arr); i++) {
        if (json_object_object_get_ex(json_object_array_get_idx(arr, i),
                                      "name", &name)) {
            r = hv_strv_add(names, n, json_object_get_string(name));
        }
    }
    json_object_put(o);
    return r;
}

static int dir_net_add(ovfk_hv_conn *c, const char *name, const char *bridge)
{
    json_object *o = load_networks(c), *arr, *e, *v;
    char path[PATH_MAX];
    const char *text;
    int r;

    json_object_object_get_ex(o, "networks", &arr);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        if (json_object_object_get_ex(json_object_array_get_idx(arr, i),
                                      "name", &v) &&
            !strcmp(json_object_get_string(v), name)) {
            json_object_put(o);
            return 0;   /* already there */
        }
    }
    e = json_object_new_object();
    json_object_object_add(e, "name", json_object_new_string(name));
    json_object_object_add(e, "bridge", bridge ?
                           json_object_new_string(bridge) : NULL);
    json_object_array_add(arr, e);
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
    snprintf(path, sizeof(path), "%s/networks.json", P(c)->root);
    r = ovfk_write_file_atomic(path, text, strlen(text));
    json_object_put(o);
    return r < 0 ? ovfk_err_set(&c->err, r, "cannot write '%s'", path) : 0;
}

/* The bridge a store network is attached to, or NULL for qemu's user
 * networking (caller frees). */
static char *dir_net_bridge(ovfk_hv_conn *c, const char *name)
{
    json_object *o = load_networks(c), *arr, *v, *b;
    char *r = NULL;

    json_object_object_get_ex(o, "networks", &arr);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        if (json_object_object_get_ex(e, "name", &v) &&
            !strcmp(json_object_get_string(v), name) &&
            json_object_object_get_ex(e, "bridge", &b) && b) {
            r = hv_strdup(json_object_get_string(b));
        }
    }
    json_object_put(o);
    return r;
}

static int dir_disk_dir(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, char *buf,
                        size_t len)
{
    int r;

    vm_dir(c, vm->uuid, buf, len);
    strncat(buf, "/disks", len - strlen(buf) - 1);
    r = mkdir_p(buf);
    return r < 0 ? ovfk_err_set(&c->err, r, "cannot create '%s'", buf) : 0;
}

static int dir_lock_path(ovfk_hv_conn *c, const uint8_t *uuid, char *path,
                         size_t len)
{
    int r;

    if (uuid) {
        vm_dir(c, uuid, path, len);
        r = mkdir_p(path);
        if (r < 0) {
            return ovfk_err_set(&c->err, r, "cannot create '%s'", path);
        }
        strncat(path, "/.lock", len - strlen(path) - 1);
    } else {
        snprintf(path, len, "%s/.lock", P(c)->root);
    }
    return 0;
}

/* A store's VMs run under the supervisor (vmm/), in their directory. */
static int dir_is_running(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm)
{
    char dir[PATH_MAX];

    vm_dir(c, vm->uuid, dir, sizeof(dir));
    return vmm_is_running(dir);
}

/* What the supervisor needs of vm, the store's bridges resolved. */
static int dir_start(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, bool console)
{
    struct vmm_vm v = { .name = vm->name, .memory_mib = vm->memory_mib,
                        .cpus = vm->cpus, .firmware = vm->firmware,
                        .kernel = vm->kernel, .initrd = vm->initrd,
                        .cmdline = vm->cmdline, .n_disks = vm->n_disks,
                        .n_nics = vm->n_nics };
    struct vmm_disk *disks = calloc(vm->n_disks + 1, sizeof(*disks));
    struct vmm_nic *nics = calloc(vm->n_nics + 1, sizeof(*nics));
    char dir[PATH_MAX];
    int r;

    if (!disks || !nics) {
        free(disks);
        free(nics);
        return ovfk_err_set(&c->err, -ENOMEM, "out of memory");
    }
    memcpy(v.uuid, vm->uuid, sizeof(v.uuid));
    for (size_t i = 0; i < vm->n_disks; i++) {
        disks[i] = (struct vmm_disk){ vm->disks[i].path, vm->disks[i].format,
                                      vm->disks[i].bus,
                                      vm->disks[i].boot_order };
    }
    for (size_t i = 0; i < vm->n_nics; i++) {
        nics[i] = (struct vmm_nic){ vm->nics[i].mac, vm->nics[i].model,
                                    dir_net_bridge(c, vm->nics[i].network) };
    }
    v.disks = disks;
    v.nics = nics;
    vm_dir(c, vm->uuid, dir, sizeof(dir));
    r = vmm_start(&v, dir, console, &c->err);
    for (size_t i = 0; i < vm->n_nics; i++) {
        free((char *)nics[i].bridge);
    }
    free(disks);
    free(nics);
    return r;
}

static int dir_stop(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm)
{
    char dir[PATH_MAX];

    vm_dir(c, vm->uuid, dir, sizeof(dir));
    return vmm_stop(dir, &c->err);
}

/* A running VM's disks are served by its nbdkit plugin (vmm/run.c): ask
 * it, through the control socket in the VM's run directory. */
static int dir_disk_request(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm,
                            size_t i, const char *verb, const char *path)
{
    char dir[PATH_MAX];

    if (dir_is_running(c, vm) <= 0) {
        return 0;
    }
    dir_vm_dir(c, vm, dir, sizeof(dir));
    return vmm_disk_request(dir, i, verb, path, &c->err);
}

const struct hv_driver hv_dir_driver = {
    .name = "dir",
    .open = dir_open,
    .close = dir_close,
    .list = dir_list,
    .define = dir_define,
    .replace = dir_replace,
    .remove = dir_remove,
    .networks = dir_networks,
    .net_add = dir_net_add,
    .disk_dir = dir_disk_dir,
    .is_running = dir_is_running,
    .start = dir_start,
    .stop = dir_stop,
    .lock_path = dir_lock_path,
    .discard = dir_discard,
    .vm_dir = dir_vm_dir,
    .disk_request = dir_disk_request,
};

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv/xen.c - Xen domain configuration files (xl/xm syntax) in a directory
 * such as /etc/xen: `name = "x"`, `uuid`, `memory`, `maxmem`, `vcpus`,
 * `disk = [ "tap:aio:PATH,xvda,w" ]`, `vif = [ "mac=...,bridge=..." ]`.
 * Networks are the host's bridges.  The guest OS type, which Xen has no
 * key for, is kept in "#ovfkit-os-type" comments.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv/internal.h"
#include "util/tmpfile.h"

#define XEN_MAX_FILE (1u << 20)
#define XEN_MAX_LIST 64

struct xen_priv {
    char dir[PATH_MAX];
};

static struct xen_priv *P(ovfk_hv_conn *c)
{
    return c->priv;
}

static int xen_open(ovfk_hv_conn *c, const char *where)
{
    struct xen_priv *p = calloc(1, sizeof(*p));
    struct stat st;

    if (!p) {
        return ovfk_err_set(&c->err, -ENOMEM, "out of memory");
    }
    if (where && *where && *where != '/') {
        /* the disk paths written into the files must be absolute */
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd))) {
            free(p);
            return ovfk_err_set(&c->err, -errno, "cannot resolve '%s'",
                                where);
        }
        snprintf(p->dir, sizeof(p->dir), "%s/%s", cwd, where);
    } else {
        snprintf(p->dir, sizeof(p->dir), "%s", where && *where ? where
                                                                : "/etc/xen");
    }
    if (stat(p->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        free(p);
        return ovfk_err_set(&c->err, -ENOENT, "'%s' is not a directory of "
                            "Xen configuration files", where);
    }
    c->priv = p;
    return 0;
}

static void xen_close(ovfk_hv_conn *c)
{
    free(c->priv);
}

/* --- the configuration language --- */

struct xval {
    char key[64];
    char *str;                  /* scalar, unquoted */
    char *list[XEN_MAX_LIST];   /* list items */
    int n;
    bool is_list;
};

struct xcfg {
    struct xval v[128];
    int n;
    char os_type[256];
    char os_vendor[256];
    int os_id;
    char *owns[XEN_MAX_LIST];   /* "#ovfkit-owns = PATH": disks we made */
    int n_owns;
};

static void xcfg_free(struct xcfg *x)
{
    for (int i = 0; i < x->n_owns; i++) {
        free(x->owns[i]);
    }
    for (int i = 0; i < x->n; i++) {
        free(x->v[i].str);
        for (int k = 0; k < x->v[i].n; k++) {
            free(x->v[i].list[k]);
        }
    }
}

static const char *skip_ws(const char *p)
{
    for (;;) {
        while (*p && isspace((unsigned char)*p)) {
            p++;
        }
        if (*p != '#') {
            return p;
        }
        while (*p && *p != '\n') {
            p++;
        }
    }
}

/* A quoted string or a bare word; *p advances past it. */
static char *token(const char **pp)
{
    const char *p = *pp, *s;
    char q;

    if (*p == '"' || *p == '\'') {
        q = *p++;
        s = p;
        while (*p && *p != q) {
            p++;
        }
        if (!*p) {
            return NULL;
        }
        *pp = p + 1;
        return strndup(s, (size_t)(p - s));
    }
    s = p;
    while (*p && !isspace((unsigned char)*p) && *p != ',' && *p != ']' &&
           *p != '#') {
        p++;
    }
    *pp = p;
    return p > s ? strndup(s, (size_t)(p - s)) : NULL;
}

/* The "#ovfkit-os-type = ...", "#ovfkit-os-id = ..." and "#ovfkit-owns =
 * PATH" comments we write (Xen has no keys for them). */
static void read_ovfkit_comments(const char *text, struct xcfg *x)
{
    const char *t = strstr(text, "\n#ovfkit-os-type = ");
    const char *i = strstr(text, "\n#ovfkit-os-id = ");
    const char *v = strstr(text, "\n#ovfkit-os-vendor = ");

    if (t) {
        t += 19;
        snprintf(x->os_type, sizeof(x->os_type), "%.*s",
                 (int)strcspn(t, "\n"), t);
    }
    if (v) {
        v += 21;
        snprintf(x->os_vendor, sizeof(x->os_vendor), "%.*s",
                 (int)strcspn(v, "\n"), v);
    }
    if (i) {
        x->os_id = atoi(i + 17);
    }
    for (t = strstr(text, "\n#ovfkit-owns = "); t && x->n_owns < XEN_MAX_LIST;
         t = strstr(t, "\n#ovfkit-owns = ")) {
        t += 16;
        x->owns[x->n_owns] = strndup(t, strcspn(t, "\n"));
        x->n_owns += x->owns[x->n_owns] != NULL;
    }
}

static int parse_cfg(const char *text, struct xcfg *x)
{
    const char *p = text;

    memset(x, 0, sizeof(*x));
    read_ovfkit_comments(text, x);
    for (;;) {
        struct xval *v;
        size_t klen;
        p = skip_ws(p);
        if (!*p) {
            return 0;
        }
        if (x->n >= 128) {
            return -E2BIG;
        }
        v = &x->v[x->n++];      /* counted now: xcfg_free frees a value
                                   that fails half way */
        klen = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789_-");
        if (klen == 0 || klen >= sizeof(v->key)) {
            return -EINVAL;
        }
        memcpy(v->key, p, klen);
        v->key[klen] = '\0';
        p = skip_ws(p + klen);
        if (*p++ != '=') {
            return -EINVAL;
        }
        p = skip_ws(p);
        if (*p == '[') {
            v->is_list = true;
            p++;
            for (;;) {
                p = skip_ws(p);
                if (*p == ']') {
                    p++;
                    break;
                }
                if (*p == ',') {
                    p++;
                    continue;
                }
                if (v->n >= XEN_MAX_LIST) {
                    return -E2BIG;
                }
                if (!(v->list[v->n] = token(&p))) {
                    return -EINVAL;
                }
                v->n++;
            }
        } else if (!(v->str = token(&p))) {
            return -EINVAL;
        }
        p = skip_ws(p);
        if (*p == ';') {
            p++;
        }
    }
}

static const struct xval *get(const struct xcfg *x, const char *key)
{
    for (int i = 0; i < x->n; i++) {
        if (!strcmp(x->v[i].key, key)) {
            return &x->v[i];
        }
    }
    return NULL;
}

static const char *get_str(const struct xcfg *x, const char *key)
{
    const struct xval *v = get(x, key);

    return v && !v->is_list ? v->str : NULL;
}

static const char *bus_of(const char *vdev)
{
    if (!strncmp(vdev, "xvd", 3)) {
        return "xen";
    }
    if (!strncmp(vdev, "hd", 2)) {
        return "ide";
    }
    if (!strncmp(vdev, "sd", 2)) {
        return "scsi";
    }
    return "xen";
}

/*
 * A disk spec: "tap:aio:PATH,xvda,w", "tap:vhd:PATH,...", "file:PATH,...",
 * "phy:DEV,...", xl's positional "PATH,FORMAT,VDEV,ACCESS", or xl's
 * "format=raw, vdev=xvda, access=rw, target=PATH".
 */
static int parse_disk(const char *spec, struct ovfk_hv_disk *d)
{
    char buf[PATH_MAX + 128], *f[8];
    char *save = NULL, *tok;
    int n = 0;

    snprintf(buf, sizeof(buf), "%s", spec);
    for (tok = strtok_r(buf, ",", &save); tok && n < 8;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') {
            tok++;
        }
        f[n++] = tok;
    }
    if (n == 0) {
        return -EINVAL;
    }
    if (strstr(spec, "target=")) {
        for (int i = 0; i < n; i++) {
            if (!strncmp(f[i], "target=", 7)) {
                d->path = strdup(f[i] + 7);
            } else if (!strncmp(f[i], "format=", 7)) {
                d->format = strdup(f[i] + 7);
            } else if (!strncmp(f[i], "vdev=", 5)) {
                d->bus = strdup(bus_of(f[i] + 5));
            }
        }
    } else if (n == 4 && !strchr(f[0], ':')) {
        d->path = strdup(f[0]);
        d->format = strdup(f[1]);
        d->bus = strdup(bus_of(f[2]));
    } else {
        const char *p = f[0], *fmt = "raw";
        if (!strncmp(p, "tap2:", 5)) {
            p += 5;
        } else if (!strncmp(p, "tap:", 4)) {
            p += 4;
        }
        if (!strncmp(p, "aio:", 4)) {
            p += 4;
        } else if (!strncmp(p, "vhd:", 4)) {
            p += 4;
            fmt = "vhd";
        } else if (!strncmp(p, "qcow2:", 6)) {
            p += 6;
            fmt = "qcow2";
        } else if (!strncmp(p, "file:", 5) || !strncmp(p, "phy:", 4)) {
            p = strchr(p, ':') + 1;
        }
        d->path = strdup(p);
        d->format = strdup(fmt);
        d->bus = strdup(n > 1 ? bus_of(f[1]) : "xen");
    }
    if (d->format && !strcmp(d->format, "vpc")) {
        free(d->format);
        d->format = strdup("vhd");
    }
    return d->path ? 0 : -EINVAL;
}

static int cfg_to_vm(const struct xcfg *x, const char *file,
                     struct ovfk_hv_vm **out)
{
    struct ovfk_hv_vm *vm = ovfk_hv_vm_new();
    const struct xval *v;
    const char *s;

    *out = NULL;
    if (!vm || !(s = get_str(x, "name"))) {
        ovfk_hv_vm_free(vm);
        return -EINVAL;
    }
    vm->name = strdup(s);
    if (ovfk_hv_uuid_parse(get_str(x, "uuid"), vm->uuid) < 0) {
        memset(vm->uuid, 0, 16);
    }
    vm->memory_mib = get_str(x, "memory") ? strtoull(get_str(x, "memory"),
                                                     NULL, 10) : 256;
    vm->cpus = get_str(x, "vcpus") ? (uint32_t)atoi(get_str(x, "vcpus")) : 1;
    vm->os_type = x->os_type[0] ? strdup(x->os_type) : NULL;
    vm->os_id = x->os_id;
    vm->os_vendor = x->os_vendor[0] ? strdup(x->os_vendor) : NULL;
    vm->firmware = strdup(get_str(x, "bios") && !strcmp(get_str(x, "bios"),
                          "ovmf") ? "efi" : "bios");
    vm->kernel = hv_strdup(get_str(x, "kernel"));
    vm->initrd = hv_strdup(get_str(x, "ramdisk"));
    vm->cmdline = hv_strdup(get_str(x, "extra"));
    vm->description = hv_strdup(file);
    v = get(x, "disk");
    for (int i = 0; v && i < v->n; i++) {
        struct ovfk_hv_disk *d = ovfk_hv_vm_add_disk(vm);
        char id[32];
        if (!d || parse_disk(v->list[i], d) < 0) {
            continue;
        }
        snprintf(id, sizeof(id), "vmdisk%d", i + 1);
        d->id = strdup(id);
        d->boot_order = i == 0;
        /* the size the guest sees, not the file's (a dynamic VHD's file
         * is a few KiB until written) */
        d->capacity = hv_image_capacity(d->path, d->format);
        for (int k = 0; k < x->n_owns; k++) {
            d->owned |= !strcmp(x->owns[k], d->path);
        }
    }
    v = get(x, "vif");
    for (int i = 0; v && i < v->n; i++) {
        struct ovfk_hv_nic *n = ovfk_hv_vm_add_nic(vm);
        char buf[512], *save = NULL, *tok;
        snprintf(buf, sizeof(buf), "%s", v->list[i]);
        for (tok = strtok_r(buf, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ') {
                tok++;
            }
            if (!strncmp(tok, "mac=", 4)) {
                ovfk_hv_mac_normalize(tok + 4, n->mac);
            } else if (!strncmp(tok, "bridge=", 7)) {
                n->network = strdup(tok + 7);
            } else if (!strncmp(tok, "model=", 6)) {
                n->model = strdup(tok + 6);
            }
        }
        if (!n->network) {
            n->network = strdup("xenbr0");
        }
        if (!n->model) {
            n->model = strdup("netfront");
        }
    }
    *out = vm;
    return 0;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    size_t n;

    if (!f) {
        return NULL;
    }
    buf = malloc(XEN_MAX_FILE + 1);
    n = buf ? fread(buf, 1, XEN_MAX_FILE, f) : 0;
    fclose(f);
    if (buf) {
        buf[n] = '\0';
    }
    return buf;
}

/* Every configuration file of the directory, with the VM it defines. */
static int scan(ovfk_hv_conn *c, struct ovfk_hv_vm ***out, size_t *n,
                char ***paths)
{
    DIR *d = opendir(P(c)->dir);
    struct dirent *e;
    struct ovfk_hv_vm **vms = NULL;
    size_t np = 0;

    if (!d) {
        return ovfk_err_set(&c->err, -errno, "cannot read '%s'", P(c)->dir);
    }
    while ((e = readdir(d))) {
        char path[PATH_MAX], *text;
        struct xcfg x;
        struct ovfk_hv_vm *vm, **nv;
        struct stat st;
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "auto") ||
            !strcmp(e->d_name, "scripts") ||
            !strncmp(e->d_name, "xmexample", 9) ||
            !strcmp(e->d_name, "xl.conf")) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", P(c)->dir, e->d_name);
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
            st.st_size > XEN_MAX_FILE || !(text = read_file(path))) {
            continue;
        }
        if (parse_cfg(text, &x) == 0 && cfg_to_vm(&x, path, &vm) == 0) {
            nv = realloc(vms, (*n + 1) * sizeof(*nv));
            if (nv) {
                vms = nv;
                vms[(*n)++] = vm;
                if (paths) {
                    hv_strv_add(paths, &np, path);
                }
            } else {
                ovfk_hv_vm_free(vm);
            }
        }
        xcfg_free(&x);
        free(text);
    }
    closedir(d);
    *out = vms;
    return 0;
}

static int xen_list(ovfk_hv_conn *c, struct ovfk_hv_vm ***out, size_t *n)
{
    int r = scan(c, out, n, NULL);

    /* the file name rides in description: not part of the model */
    for (size_t i = 0; r == 0 && i < *n; i++) {
        free((*out)[i]->description);
        (*out)[i]->description = NULL;
    }
    return r;
}

static char *vm_to_cfg(const struct ovfk_hv_vm *vm)
{
    char *out = NULL, uuid[37];
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    if (!f) {
        return NULL;
    }
    ovfk_hv_uuid_str(vm->uuid, uuid);
    fprintf(f, "# Xen domain written by ovfkit\n");
    if (vm->os_type) {
        fprintf(f, "#ovfkit-os-type = %s\n", vm->os_type);
    }
    fprintf(f, "#ovfkit-os-id = %d\n", vm->os_id);
    if (vm->os_vendor && !strchr(vm->os_vendor, '\n')) {
        fprintf(f, "#ovfkit-os-vendor = %s\n", vm->os_vendor);
    }
    for (size_t i = 0; i < vm->n_disks; i++) {
        if (vm->disks[i].owned && !strchr(vm->disks[i].path, '\n')) {
            fprintf(f, "#ovfkit-owns = %s\n", vm->disks[i].path);
        }
    }
    fprintf(f, "name = \"%s\"\nuuid = \"%s\"\n", vm->name, uuid);
    fprintf(f, "memory = %llu\nmaxmem = %llu\nvcpus = %u\n",
            (unsigned long long)vm->memory_mib,
            (unsigned long long)vm->memory_mib, vm->cpus);
    fprintf(f, "builder = \"hvm\"\n");
    if (vm->firmware && !strcmp(vm->firmware, "efi")) {
        fprintf(f, "bios = \"ovmf\"\n");
    }
    if (vm->kernel) {
        fprintf(f, "kernel = \"%s\"\n", vm->kernel);
    }
    if (vm->initrd) {
        fprintf(f, "ramdisk = \"%s\"\n", vm->initrd);
    }
    if (vm->cmdline) {
        fprintf(f, "extra = \"%s\"\n", vm->cmdline);
    }
    fprintf(f, "disk = [");
    for (size_t i = 0; i < vm->n_disks; i++) {
        const struct ovfk_hv_disk *d = &vm->disks[i];
        const char *fmt = !d->format || !strcmp(d->format, "raw") ? "aio"
                          : !strcmp(d->format, "vhd") ? "vhd" : d->format;
        /* an HVM guest without PV drivers boots from emulated IDE
         * (hdX); xvdX is the paravirtual disk */
        const char *pre = !d->bus || !strcmp(d->bus, "xen") ||
                          !strcmp(d->bus, "virtio") ? "xvd" :
                          !strcmp(d->bus, "ide") || !strcmp(d->bus, "sata") ?
                          "hd" : "sd";
        fprintf(f, "%s\"tap:%s:%s,%s%c,w\"", i ? ", " : " ", fmt, d->path,
                pre, (char)('a' + (i % 26)));
    }
    fprintf(f, " ]\nvif = [");
    for (size_t i = 0; i < vm->n_nics; i++) {
        const char *m = vm->nics[i].model;
        fprintf(f, "%s\"mac=%s,bridge=%s", i ? ", " : " ", vm->nics[i].mac,
                vm->nics[i].network);
        /* an emulated NIC (e1000, rtl8139) for a guest without netfront */
        if (m && strcmp(m, "netfront") && strcmp(m, "virtio")) {
            fprintf(f, ",model=%s", m);
        }
        fprintf(f, "\"");
    }
    fprintf(f, " ]\n");
    fclose(f);
    return out;
}

static int write_cfg(ovfk_hv_conn *c, const char *path,
                     const struct ovfk_hv_vm *vm)
{
    char *text = vm_to_cfg(vm);
    int r = text ? ovfk_write_file_atomic(path, text, strlen(text)) : -ENOMEM;

    free(text);
    return r < 0 ? ovfk_err_set(&c->err, r, "cannot write '%s': %s", path,
                                ovfk_errtext(r)) : 0;
}

static int xen_define(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s.cfg", P(c)->dir, vm->name);
    if (access(path, F_OK) == 0) {
        return ovfk_err_set(&c->err, -EEXIST, "'%s' already exists", path);
    }
    return write_cfg(c, path, vm);
}

/* The file that defines a VM (by UUID and name: hand-written files may
 * have no UUID), or -ENOENT. */
static int find_file(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, char *out,
                     size_t len)
{
    struct ovfk_hv_vm **vms = NULL;
    char **paths = NULL;
    size_t n = 0;
    int r = scan(c, &vms, &n, &paths);

    if (r == 0) {
        r = -ENOENT;
        for (size_t i = 0; i < n; i++) {
            if (!memcmp(vms[i]->uuid, vm->uuid, 16) &&
                !strcmp(vms[i]->name, vm->name)) {
                snprintf(out, len, "%s", paths[i]);
                r = 0;
            }
        }
    }
    ovfk_hv_list_free(vms, n);
    ovfk_hv_strv_free(paths, n);
    return r;
}

static int xen_replace(ovfk_hv_conn *c, const struct ovfk_hv_vm *old,
                       const struct ovfk_hv_vm *vm)
{
    char path[PATH_MAX], fresh[PATH_MAX];
    int r;

    if (find_file(c, old, path, sizeof(path)) < 0) {
        return xen_define(c, vm);
    }
    if (!strcmp(old->name, vm->name)) {
        return write_cfg(c, path, vm);
    }
    /* a new name: a new file, never over another one (a file that does
     * not parse is still the user's); the old file may already have it */
    snprintf(fresh, sizeof(fresh), "%s/%s.cfg", P(c)->dir, vm->name);
    if (!strcmp(fresh, path)) {
        return write_cfg(c, path, vm);
    }
    if (access(fresh, F_OK) == 0) {
        return ovfk_err_set(&c->err, -EEXIST, "'%s' already exists", fresh);
    }
    r = write_cfg(c, fresh, vm);
    if (r == 0) {
        unlink(path);
    }
    return r;
}

static int xen_remove(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm,
                      const struct hv_refs *refs)
{
    char path[PATH_MAX];

    if (find_file(c, vm, path, sizeof(path)) < 0) {
        return ovfk_err_set(&c->err, -ENOENT, "no configuration file for "
                            "'%s'", vm->name);
    }
    if (unlink(path) < 0) {
        return ovfk_err_set(&c->err, -errno, "cannot remove '%s'", path);
    }
    for (size_t i = 0; i < vm->n_disks; i++) {
        if (hv_disk_removable(&vm->disks[i], refs)) {
            unlink(vm->disks[i].path);
        }
    }
    return 0;
}

/* Networks are the host's bridges. */
static int xen_networks(ovfk_hv_conn *c, char ***names, size_t *n)
{
    DIR *d = opendir("/sys/class/net");
    struct dirent *e;
    int r = 0;

    (void)c;
    if (!d) {
        return 0;
    }
    while (r == 0 && (e = readdir(d))) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", e->d_name);
        if (e->d_name[0] != '.' && access(path, F_OK) == 0) {
            r = hv_strv_add(names, n, e->d_name);
        }
    }
    closedir(d);
    return r;
}

static int xen_disk_dir(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, char *buf,
                        size_t len)
{
    (void)vm;
    snprintf(buf, len, "%s/images", P(c)->dir);
    if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
        return ovfk_err_set(&c->err, -errno, "cannot create '%s'", buf);
    }
    return 0;
}

static int xen_lock_path(ovfk_hv_conn *c, const uint8_t *uuid, char *path,
                         size_t len)
{
    char u[37] = "inventory";

    if (uuid) {
        ovfk_hv_uuid_str(uuid, u);
    }
    snprintf(path, len, "%s/.ovfkit-%s.lock", P(c)->dir, u);
    return 0;
}

static int xen_vm_dir(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, char *buf,
                      size_t len)
{
    (void)vm;
    (void)buf;
    (void)len;
    return ovfk_err_set(&c->err, -ENOTSUP, "snapshots over VHD chains live "
                        "in the dir store");
}

const struct hv_driver hv_xen_driver = {
    .name = "xen",
    .open = xen_open,
    .close = xen_close,
    .list = xen_list,
    .define = xen_define,
    .replace = xen_replace,
    .remove = xen_remove,
    .networks = xen_networks,
    .shared_disk_dir = true,
    .disk_dir = xen_disk_dir,
    .lock_path = xen_lock_path,
    .vm_dir = xen_vm_dir,
};

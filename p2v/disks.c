/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * p2v/disks.c - what the capture takes from the running machine: its
 * local disks (`lsblk --json`, never removable or network devices), their
 * partitions (sysfs), the file system on each (libblkid) and where it is
 * mounted (/proc/self/mountinfo) or whether it is active swap
 * (/proc/swaps), and the machine's hardware for the OVF: CPUs, memory,
 * NICs with their MAC addresses, firmware.
 */
#include <blkid/blkid.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "p2v/internal.h"

static char *read_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "re");
    char *r = NULL;

    if (f) {
        r = fgets(buf, (int)len, f);
        fclose(f);
    }
    if (r) {
        buf[strcspn(buf, "\n")] = '\0';
    }
    return r;
}

static uint64_t read_u64(const char *path)
{
    char buf[64];

    return read_line(path, buf, sizeof(buf)) ? strtoull(buf, NULL, 10) : 0;
}

/* Transports and names of devices that are not local disks: network
 * block devices, optical drives, and RAM (zram swap is no server's disk). */
static bool is_network(const char *name, const char *tran)
{
    static const char *const trans[] = { "iscsi", "fc", "fcoe", "srp" };
    static const char *const names[] = { "nbd", "rbd", "drbd", "sr",
                                         "zram", "ram" };

    for (size_t i = 0; tran && i < sizeof(trans) / sizeof(trans[0]); i++) {
        if (!strcmp(tran, trans[i])) {
            return true;
        }
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strncmp(name, names[i], strlen(names[i]))) {
            return true;
        }
    }
    return false;
}

static const char *jstr(json_object *o, const char *k)
{
    json_object *v;

    return json_object_object_get_ex(o, k, &v) && v ?
           json_object_get_string(v) : NULL;
}

/* Does the device or any of its children hold a mount or swap? */
static bool holds_fs(json_object *o)
{
    json_object *kids;
    const char *mp = jstr(o, "mountpoint");

    if (mp && *mp) {
        return true;
    }
    if (json_object_object_get_ex(o, "children", &kids)) {
        for (size_t i = 0; i < json_object_array_length(kids); i++) {
            if (holds_fs(json_object_array_get_idx(kids, i))) {
                return true;
            }
        }
    }
    return false;
}

int p2v_disks_find(char ***paths, size_t *n, ovfk_err *err)
{
    FILE *p = popen("lsblk --json -b -o NAME,PATH,TYPE,RM,TRAN,MOUNTPOINT "
                    "2>/dev/null", "re");
    char *text = NULL;
    size_t len = 0, cap = 0;
    json_object *root = NULL, *devs;
    int r = 0;

    *paths = NULL;
    *n = 0;
    if (!p) {
        return ovfk_err_set(err, -errno, "cannot run 'lsblk': %s",
                            strerror(errno));
    }
    for (;;) {
        if (len + 4096 > cap) {
            char *t = cap >= P2V_MAX_JSON ? NULL : realloc(text, cap + 65536);
            if (!t) {
                r = ovfk_err_set(err, -ENOMEM, "out of memory");
                break;
            }
            text = t;
            cap += 65536;
        }
        size_t got = fread(text + len, 1, cap - len - 1, p);
        if (got == 0) {
            break;
        }
        len += got;
    }
    if (pclose(p) != 0 && r == 0) {
        r = ovfk_err_set(err, -EIO, "'lsblk --json' failed");
    }
    if (r == 0) {
        text[len] = '\0';
        root = json_tokener_parse(text);
        if (!root || !json_object_object_get_ex(root, "blockdevices", &devs)) {
            r = ovfk_err_set(err, OVFK_ECORRUPT, "cannot parse the output "
                             "of 'lsblk --json'");
        }
    }
    for (size_t i = 0; r == 0 && i < json_object_array_length(devs); i++) {
        json_object *d = json_object_array_get_idx(devs, i);
        const char *type = jstr(d, "type"), *name = jstr(d, "name");
        json_object *rm;
        bool removable = json_object_object_get_ex(d, "rm", &rm) &&
                         json_object_get_boolean(rm);
        if (!type || !name || strcmp(type, "disk") || removable ||
            is_network(name, jstr(d, "tran")) || !holds_fs(d)) {
            continue;
        }
        char **v = realloc(*paths, (*n + 1) * sizeof(*v));
        if (!v || !(v[*n] = strdup(jstr(d, "path") ? jstr(d, "path")
                                                   : name))) {
            if (v) {
                *paths = v;
            }
            r = ovfk_err_set(err, -ENOMEM, "out of memory");
            break;
        }
        *paths = v;
        (*n)++;
    }
    if (r == 0 && *n == 0) {
        r = ovfk_err_set(err, -ENOENT, "no local disk holds a mounted file "
                         "system or swap");
    }
    if (r < 0) {
        for (size_t i = 0; i < *n; i++) {
            free((*paths)[i]);
        }
        free(*paths);
        *paths = NULL;
        *n = 0;
    }
    json_object_put(root);
    free(text);
    return r;
}

static void probe_fs(struct p2v_part *pt)
{
    blkid_probe pr = blkid_new_probe_from_filename(pt->path);
    const char *type = NULL;

    pt->fstype[0] = '\0';
    if (!pr) {
        return;
    }
    blkid_probe_enable_superblocks(pr, 1);
    blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
    if (blkid_do_safeprobe(pr) == 0 &&
        blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0 && type) {
        snprintf(pt->fstype, sizeof(pt->fstype), "%s", type);
    }
    blkid_free_probe(pr);
}

/* The first mount point of device dev, or NULL (mountinfo field 3 is
 * major:minor, field 5 the mount point, octal-escaped). */
static char *mount_of(dev_t dev)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096], want[32], *res = NULL;

    snprintf(want, sizeof(want), "%u:%u", major(dev), minor(dev));
    while (f && !res && fgets(line, sizeof(line), f)) {
        char *save = NULL, *fld[5] = { 0 };
        char *tok = strtok_r(line, " ", &save);
        for (int i = 0; tok && i < 5; i++) {
            fld[i] = tok;
            tok = strtok_r(NULL, " ", &save);
        }
        if (!fld[4] || strcmp(fld[2], want)) {
            continue;
        }
        res = strdup(fld[4]);
        char *o = res;
        for (const char *s = res; s && *s; s++) {
            if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
                *o++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) |
                              (s[3] - '0'));
                s += 3;
            } else {
                *o++ = *s;
            }
        }
        if (o) {
            *o = '\0';
        }
    }
    if (f) {
        fclose(f);
    }
    return res;
}

static bool swap_active(dev_t dev)
{
    FILE *f = fopen("/proc/swaps", "re");
    char line[4096];
    bool on = false;

    while (f && !on && fgets(line, sizeof(line), f)) {
        struct stat st;
        line[strcspn(line, " \t\n")] = '\0';
        on = stat(line, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == dev;
    }
    if (f) {
        fclose(f);
    }
    return on;
}

static int add_part(struct p2v_disk *d, const char *path, uint64_t start,
                    uint64_t size, ovfk_err *err)
{
    struct p2v_part *v = realloc(d->parts, (d->n_parts + 1) * sizeof(*v));
    struct p2v_part *pt;
    struct stat st;

    if (!v) {
        return ovfk_err_set(err, -ENOMEM, "out of memory");
    }
    d->parts = v;
    pt = &v[d->n_parts];
    memset(pt, 0, sizeof(*pt));
    if (!(pt->path = strdup(path))) {
        return ovfk_err_set(err, -ENOMEM, "out of memory");
    }
    d->n_parts++;
    pt->start = start;
    pt->size = size;
    if (stat(path, &st) < 0 || !S_ISBLK(st.st_mode)) {
        return ovfk_err_set(err, -ENOENT, "cannot open the partition '%s': "
                            "no block device node", path);
    }
    probe_fs(pt);
    pt->mountpoint = mount_of(st.st_rdev);
    pt->swap_active = swap_active(st.st_rdev);
    return 0;
}

static int cmp_part(const void *a, const void *b)
{
    const struct p2v_part *x = a, *y = b;

    return x->start < y->start ? -1 : x->start > y->start;
}

/* Partitions from /sys/class/block/NAME/NAMEx/{start,size} (512-byte
 * sectors whatever the logical block size: the kernel's convention). */
static int find_parts(struct p2v_disk *d, const char *name, ovfk_err *err)
{
    char dir[PATH_MAX], sub[PATH_MAX + 300], dev[PATH_MAX + 300];
    DIR *dh;
    struct dirent *e;
    int r = 0;

    snprintf(dir, sizeof(dir), "/sys/class/block/%s", name);
    if (!(dh = opendir(dir))) {
        return ovfk_err_set(err, -errno, "cannot read '%s': %s", dir,
                            strerror(errno));
    }
    while (r == 0 && (e = readdir(dh))) {
        if (strncmp(e->d_name, name, strlen(name))) {
            continue;
        }
        snprintf(sub, sizeof(sub), "%s/%s/partition", dir, e->d_name);
        if (access(sub, F_OK) < 0) {
            continue;
        }
        snprintf(sub, sizeof(sub), "%s/%s/start", dir, e->d_name);
        uint64_t start = read_u64(sub) * 512;
        snprintf(sub, sizeof(sub), "%s/%s/size", dir, e->d_name);
        uint64_t size = read_u64(sub) * 512;
        snprintf(dev, sizeof(dev), "/dev/%s", e->d_name);
        if (size > 1024 && start + size <= d->size) {
            r = add_part(d, dev, start, size, err);
        }
    }
    closedir(dh);
    if (r == 0 && d->n_parts == 0) {
        /* a file system on the whole disk */
        r = add_part(d, d->path, 0, d->size, err);
    }
    qsort(d->parts, d->n_parts, sizeof(*d->parts), cmp_part);
    return r;
}

int p2v_disk_open(const char *path, struct p2v_disk *d, ovfk_err *err)
{
    char real[PATH_MAX], sizep[PATH_MAX + 64];
    const char *name;
    struct stat st;
    int r;

    memset(d, 0, sizeof(*d));
    d->fd = -1;
    if (!(d->path = strdup(path))) {
        return ovfk_err_set(err, -ENOMEM, "out of memory");
    }
    if (!realpath(path, real) || stat(real, &st) < 0) {
        return ovfk_err_set(err, -errno, "cannot open '%s': %s", path,
                            strerror(errno));
    }
    if (!S_ISBLK(st.st_mode)) {
        return ovfk_err_set(err, -ENOTBLK, "cannot capture '%s': not a "
                            "block device", path);
    }
    name = strrchr(real, '/') + 1;
    snprintf(sizep, sizeof(sizep), "/sys/class/block/%s/partition", name);
    if (access(sizep, F_OK) == 0) {
        return ovfk_err_set(err, -EINVAL, "cannot capture '%s': a partition, "
                            "not a disk", path);
    }
    d->fd = open(real, O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (d->fd < 0) {
        return ovfk_err_set(err, -errno, "cannot open '%s': %s", path,
                            strerror(errno));
    }
    off_t end = lseek(d->fd, 0, SEEK_END);
    if (end <= 0) {
        return ovfk_err_set(err, -EIO, "cannot open '%s': empty device",
                            path);
    }
    d->size = (uint64_t)end;
    d->nchunks = (uint32_t)((d->size + P2V_CHUNK - 1) / P2V_CHUNK);
    d->rdev = st.st_rdev;
    d->used = calloc(d->nchunks, 1);
    d->have = calloc(d->nchunks, 1);
    d->dirty = calloc(d->nchunks, 1);
    d->dig = calloc(d->nchunks, P2V_DIGLEN);
    if (!d->used || !d->have || !d->dirty || !d->dig) {
        return ovfk_err_set(err, -ENOMEM, "out of memory");
    }
    r = find_parts(d, name, err);
    return r;
}

void p2v_disk_close(struct p2v_disk *d)
{
    for (size_t i = 0; i < d->n_parts; i++) {
        free(d->parts[i].path);
        free(d->parts[i].mountpoint);
    }
    free(d->parts);
    free(d->used);
    free(d->have);
    free(d->dirty);
    free(d->dig);
    free(d->path);
    if (d->fd >= 0) {
        close(d->fd);
    }
    memset(d, 0, sizeof(*d));
    d->fd = -1;
}

/* PRETTY_NAME of /etc/os-release, unquoted, or "Linux". */
static char *os_name(void)
{
    FILE *f = fopen("/etc/os-release", "re");
    char line[512], *res = NULL;

    while (f && !res && fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "PRETTY_NAME=", 12)) {
            char *v = line + 12;
            v[strcspn(v, "\n")] = '\0';
            if (*v == '"') {
                v++;
                v[strcspn(v, "\"")] = '\0';
            }
            res = strdup(v);
        }
    }
    if (f) {
        fclose(f);
    }
    return res ? res : strdup("Linux");
}

/* NICs with a device behind them (no lo, bridges, veths, tunnels). */
static int add_nics(struct ovfk_hv_vm *vm, ovfk_err *err)
{
    DIR *dh = opendir("/sys/class/net");
    struct dirent *e;
    int r = 0;

    while (r == 0 && dh && (e = readdir(dh))) {
        char p[PATH_MAX], mac[64], norm[18];
        struct ovfk_hv_nic *nic;
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(p, sizeof(p), "/sys/class/net/%s/device", e->d_name);
        if (access(p, F_OK) < 0) {
            continue;
        }
        snprintf(p, sizeof(p), "/sys/class/net/%s/address", e->d_name);
        if (!read_line(p, mac, sizeof(mac)) ||
            ovfk_hv_mac_normalize(mac, norm) < 0) {
            continue;
        }
        if (!(nic = ovfk_hv_vm_add_nic(vm))) {
            r = ovfk_err_set(err, -ENOMEM, "out of memory");
            break;
        }
        memcpy(nic->mac, norm, sizeof(nic->mac));
        /* the interface name, so the report says which MAC was which */
        nic->network = strdup(e->d_name);
        nic->model = strdup("e1000");
        if (!nic->network || !nic->model) {
            r = ovfk_err_set(err, -ENOMEM, "out of memory");
        }
    }
    if (dh) {
        closedir(dh);
    }
    return r;
}

int p2v_machine(const char *name, struct ovfk_hv_vm **out, ovfk_err *err)
{
    struct ovfk_hv_vm *vm = ovfk_hv_vm_new();
    char host[256] = "p2v", buf[128];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    FILE *f;
    int r = 0;

    *out = NULL;
    if (!vm) {
        return ovfk_err_set(err, -ENOMEM, "out of memory");
    }
    if (!name) {
        gethostname(host, sizeof(host) - 1);
        host[sizeof(host) - 1] = '\0';
        /* VM names are [A-Za-z0-9_] (DESIGN.md section 2) */
        for (char *s = host; *s; s++) {
            if (!isalnum((unsigned char)*s)) {
                *s = '_';
            }
        }
        name = host;
    }
    vm->name = strdup(name);
    vm->os_type = os_name();
    vm->cpus = cpus > 0 ? (uint32_t)cpus : 1;
    if ((f = fopen("/proc/meminfo", "re"))) {
        char line[256];
        while (fgets(line, sizeof(line), f)) {
            unsigned long long kib;
            if (sscanf(line, "MemTotal: %llu kB", &kib) == 1) {
                vm->memory_mib = (kib + 1023) / 1024;
            }
        }
        fclose(f);
    }
    vm->firmware = strdup(access("/sys/firmware/efi", F_OK) == 0 ? "efi"
                                                                  : "bios");
    if (!read_line("/sys/class/dmi/id/product_uuid", buf, sizeof(buf)) ||
        ovfk_hv_uuid_parse(buf, vm->uuid) < 0) {
        ovfk_hv_uuid_generate(vm->uuid);
    }
    if (!vm->name || !vm->os_type || !vm->firmware) {
        r = ovfk_err_set(err, -ENOMEM, "out of memory");
    }
    if (r == 0) {
        r = add_nics(vm, err);
    }
    if (r < 0) {
        ovfk_hv_vm_free(vm);
        return r;
    }
    *out = vm;
    return 0;
}

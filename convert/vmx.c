/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert/vmx.c - a VMware .vmx file as a conversion source: the VM's
 * hardware (name, vCPUs, memory, firmware, guest OS kept exactly as
 * guestOS says, NICs with their MACs and networks) and its disks (the
 * present hard disks of every controller, in controller order).
 *
 * The format is `key = "value"` lines (keys case-insensitive).  The file is
 * bounded (1 MiB); disk file names must lie beside the .vmx (relative, no
 * ".."), as for VMDK extents.
 */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "convert/vmsrc.h"
#include "util/err.h"

#define MAX_VMX (1u << 20)

struct kv {
    char *key, *value;
};

struct vmx {
    struct kv *v;
    size_t n;
};

static const char *get(const struct vmx *x, const char *key)
{
    for (size_t i = 0; i < x->n; i++) {
        if (!strcasecmp(x->v[i].key, key)) {
            return x->v[i].value;
        }
    }
    return NULL;
}

static bool is_true(const char *v)
{
    return v && (!strcasecmp(v, "true") || !strcmp(v, "1"));
}

static void trim(char **s)
{
    char *e;

    while (isspace((unsigned char)**s)) {
        (*s)++;
    }
    e = *s + strlen(*s);
    while (e > *s && isspace((unsigned char)e[-1])) {
        *--e = '\0';
    }
}

static int parse(char *text, struct vmx *x)
{
    char *rest = text;

    for (char *line; (line = strsep(&rest, "\n")) != NULL;) {
        char *eq = strchr(line, '='), *k = line, *v;
        struct kv *g;
        if (!eq || line[0] == '#') {
            continue;
        }
        *eq = '\0';
        v = eq + 1;
        trim(&k);
        trim(&v);
        if (*v == '"') {
            char *end = strrchr(v + 1, '"');
            v++;
            if (end) {
                *end = '\0';
            }
        }
        g = realloc(x->v, (x->n + 1) * sizeof(*g));
        if (!g) {
            return -ENOMEM;
        }
        x->v = g;
        g[x->n].key = strdup(k);
        g[x->n].value = strdup(v);
        if (!g[x->n].key || !g[x->n].value) {
            return -ENOMEM;
        }
        x->n++;
    }
    return 0;
}

static void vmx_free(struct vmx *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->v[i].key);
        free(x->v[i].value);
    }
    free(x->v);
}

/* Disks: controllers in the order VMware numbers boot devices. */
static int add_disks(const struct vmx *x, const char *dir,
                     struct ovfk_hv_vm *vm)
{
    static const struct { const char *ctl; int units; } ctls[] = {
        { "scsi", 4 }, { "sata", 4 }, { "nvme", 4 }, { "ide", 2 },
    };
    int boot = 1;

    for (size_t c = 0; c < sizeof(ctls) / sizeof(ctls[0]); c++) {
        for (int n = 0; n < ctls[c].units; n++) {
            char prefix[16];
            snprintf(prefix, sizeof(prefix), "%s%d", ctls[c].ctl, n);
            char pkey[32];
            snprintf(pkey, sizeof(pkey), "%s.present", prefix);
            if (!is_true(get(x, pkey)) && strcmp(ctls[c].ctl, "ide")) {
                continue;
            }
            for (int u = 0; u < 64; u++) {
                char key[64];
                const char *file, *type, *present;
                struct ovfk_hv_disk *d;
                snprintf(key, sizeof(key), "%s:%d.fileName", prefix, u);
                file = get(x, key);
                snprintf(key, sizeof(key), "%s:%d.deviceType", prefix, u);
                type = get(x, key);
                snprintf(key, sizeof(key), "%s:%d.present", prefix, u);
                present = get(x, key);
                if (!file || (present && !is_true(present)) ||
                    (type && strcasestr(type, "cdrom")) ||
                    (type && strcasestr(type, "floppy"))) {
                    continue;
                }
                if (file[0] == '/' || strstr(file, "..")) {
                    return ovfk_err_last(-EPERM, "the .vmx names the disk "
                                         "'%s' outside its directory; "
                                         "refused", file);
                }
                d = ovfk_hv_vm_add_disk(vm);
                if (!d) {
                    return -ENOMEM;
                }
                snprintf(key, sizeof(key), "%s/%s", dir, file);
                d->path = strdup(key);
                snprintf(key, sizeof(key), "vmdisk%zu", vm->n_disks);
                d->id = strdup(key);
                d->bus = strdup(!strcmp(ctls[c].ctl, "ide") ? "ide" :
                                !strcmp(ctls[c].ctl, "sata") ? "sata" :
                                "scsi");
                d->boot_order = boot++ == 1;
            }
        }
    }
    return 0;
}

static int add_nics(const struct vmx *x, struct ovfk_hv_vm *vm)
{
    for (int i = 0; i < 10; i++) {
        const char *mac, *net, *dev;
        struct ovfk_hv_nic *n;
        char key[64];
        snprintf(key, sizeof(key), "ethernet%d.present", i);
        if (!is_true(get(x, key))) {
            continue;
        }
        n = ovfk_hv_vm_add_nic(vm);
        if (!n) {
            return -ENOMEM;
        }
        snprintf(key, sizeof(key), "ethernet%d.address", i);
        mac = get(x, key);
        if (!mac || !*mac) {
            snprintf(key, sizeof(key), "ethernet%d.generatedAddress", i);
            mac = get(x, key);
        }
        if (mac && ovfk_hv_mac_normalize(mac, n->mac) < 0) {
            n->mac[0] = '\0';
        }
        snprintf(key, sizeof(key), "ethernet%d.networkName", i);
        net = get(x, key);
        n->network = strdup(net && *net ? net : "VM Network");
        snprintf(key, sizeof(key), "ethernet%d.virtualDev", i);
        dev = get(x, key);
        n->model = strdup(dev && !strncasecmp(dev, "e1000", 5) ? "e1000" :
                          dev && !strcasecmp(dev, "vlance") ? "pcnet" :
                          dev ? dev : "e1000");
    }
    return 0;
}

int ovfk_vm_from_vmx(const char *path, struct ovfk_hv_vm **out)
{
    char dir[PATH_MAX], *text = NULL;
    struct vmx x = { 0 };
    struct ovfk_hv_vm *vm = NULL;
    const char *v;
    struct stat st;
    FILE *f = NULL;
    int r = 0;

    *out = NULL;
    /* too large is a limit of ours (-EFBIG), not a fault of the file */
    r = stat(path, &st) < 0 ? -errno : st.st_size > MAX_VMX ? -EFBIG : 0;
    if (r < 0) {
        return ovfk_err_last(r, "'%s' is missing or larger than 1 MiB", path);
    }
    text = calloc(1, (size_t)st.st_size + 1);
    f = fopen(path, "r");
    if (!text || !f || fread(text, 1, (size_t)st.st_size, f) !=
                       (size_t)st.st_size) {
        r = ovfk_err_last(-EIO, "cannot read '%s'", path);
    }
    if (f) {
        fclose(f);
    }
    if (r == 0) {
        r = parse(text, &x);
    }
    if (r == 0 && !get(&x, "config.version") && !get(&x, "virtualHW.version")) {
        r = ovfk_err_last(OVFK_ECORRUPT, "'%s' is not a VMware .vmx file",
                          path);
    }
    vm = r == 0 ? ovfk_hv_vm_new() : NULL;
    if (r == 0 && !vm) {
        r = -ENOMEM;
    }
    if (r == 0) {
        snprintf(dir, sizeof(dir), "%s", path);
        {
        char *part_ = dirname(dir);
        memmove(dir, part_, strlen(part_) + 1);  /* overlaps */
    }
        vm->name = strdup((v = get(&x, "displayName")) ? v : "vm");
        vm->cpus = (v = get(&x, "numvcpus")) ? (uint32_t)strtoul(v, NULL, 10)
                                              : 1;
        vm->memory_mib = (v = get(&x, "memsize")) ? strtoull(v, NULL, 10)
                                                   : 1024;
        vm->os_type = (v = get(&x, "guestOS")) ? strdup(v) : NULL;
        vm->firmware = strdup((v = get(&x, "firmware")) &&
                              !strcasecmp(v, "efi") ? "efi" : "bios");
        if ((v = get(&x, "uuid.bios"))) {
            /* "56 4d 12 ... 34-56 ..." -> hex digits only */
            char hex[33] = "", u[40];
            size_t h = 0;
            for (const char *p = v; *p && h < 32; p++) {
                if (isxdigit((unsigned char)*p)) {
                    hex[h++] = *p;
                }
            }
            if (h == 32) {
                snprintf(u, sizeof(u), "%.8s-%.4s-%.4s-%.4s-%.12s", hex,
                         hex + 8, hex + 12, hex + 16, hex + 20);
                ovfk_hv_uuid_parse(u, vm->uuid);
            }
        }
        r = add_disks(&x, dir, vm);
    }
    if (r == 0) {
        r = add_nics(&x, vm);
    }
    if (r == 0 && vm->n_disks == 0) {
        /* a VM without disks is valid, but nothing to convert */
        r = ovfk_err_last(OVFK_EUNSUPPORTED, "'%s' names no hard disk", path);
    }
    vmx_free(&x);
    free(text);
    if (r < 0) {
        if (r == -ENOMEM) {
            ovfk_err_last(r, "out of memory");
        }
        ovfk_hv_vm_free(vm);
        return r;
    }
    *out = vm;
    return 0;
}

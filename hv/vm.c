/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv/vm.c - the VM model: allocation, copies, JSON, identities (UUIDs,
 * MACs from the locally administered pool) and the limits users know.
 */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "hv/internal.h"

char *hv_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

struct ovfk_hv_vm *ovfk_hv_vm_new(void)
{
    struct ovfk_hv_vm *vm = calloc(1, sizeof(*vm));

    if (vm) {
        vm->cpus = 1;
        vm->memory_mib = 1024;
    }
    return vm;
}

void ovfk_hv_vm_free(struct ovfk_hv_vm *vm)
{
    if (!vm) {
        return;
    }
    free(vm->name);
    free(vm->description);
    free(vm->os_type);
    free(vm->firmware);
    free(vm->kernel);
    free(vm->initrd);
    free(vm->cmdline);
    for (size_t i = 0; i < vm->n_disks; i++) {
        free(vm->disks[i].id);
        free(vm->disks[i].path);
        free(vm->disks[i].format);
        free(vm->disks[i].bus);
    }
    free(vm->disks);
    for (size_t i = 0; i < vm->n_nics; i++) {
        free(vm->nics[i].network);
        free(vm->nics[i].model);
    }
    free(vm->nics);
    free(vm);
}

struct ovfk_hv_disk *ovfk_hv_vm_add_disk(struct ovfk_hv_vm *vm)
{
    struct ovfk_hv_disk *d = realloc(vm->disks, (vm->n_disks + 1) * sizeof(*d));

    if (!d) {
        return NULL;
    }
    vm->disks = d;
    memset(&d[vm->n_disks], 0, sizeof(*d));
    return &d[vm->n_disks++];
}

struct ovfk_hv_nic *ovfk_hv_vm_add_nic(struct ovfk_hv_vm *vm)
{
    struct ovfk_hv_nic *n = realloc(vm->nics, (vm->n_nics + 1) * sizeof(*n));

    if (!n) {
        return NULL;
    }
    vm->nics = n;
    memset(&n[vm->n_nics], 0, sizeof(*n));
    return &n[vm->n_nics++];
}

struct ovfk_hv_vm *ovfk_hv_vm_copy(const struct ovfk_hv_vm *src)
{
    char *json = ovfk_hv_vm_to_json(src, false);
    struct ovfk_hv_vm *vm = NULL;

    if (json && ovfk_hv_vm_from_json(json, &vm) < 0) {
        vm = NULL;
    }
    free(json);
    return vm;
}

void ovfk_hv_uuid_str(const uint8_t u[16], char out[37])
{
    ovfk_uuid_str(u, out);
}

int ovfk_hv_uuid_parse(const char *text, uint8_t u[16])
{
    return ovfk_uuid_parse(text, u);
}

void ovfk_hv_uuid_generate(uint8_t u[16])
{
    ovfk_uuid_generate(u);
}

int ovfk_hv_mac_normalize(const char *in, char out[18])
{
    unsigned int b[6];
    char sep;

    if (!in) {
        return -EINVAL;
    }
    if (strlen(in) == 12 && strspn(in, "0123456789abcdefABCDEF") == 12) {
        sscanf(in, "%2x%2x%2x%2x%2x%2x", &b[0], &b[1], &b[2], &b[3], &b[4],
               &b[5]);
    } else {
        const char *p = in;
        for (int i = 0; i < 6; i++) {
            char *end;
            unsigned long v = strtoul(p, &end, 16);
            if (end == p || end - p > 2 || v > 255) {
                return -EINVAL;
            }
            b[i] = (unsigned int)v;
            sep = *end;
            if (i < 5 && sep != ':' && sep != '-') {
                return -EINVAL;
            }
            if (i == 5 && *end) {
                return -EINVAL;
            }
            p = end + 1;
        }
    }
    snprintf(out, 18, "%02X:%02X:%02X:%02X:%02X:%02X", b[0], b[1], b[2],
             b[3], b[4], b[5]);
    return 0;
}

const struct ovfk_hv_vm *hv_mac_owner(struct ovfk_hv_vm **vms, size_t n,
                                 const char *mac, const uint8_t *except)
{
    for (size_t i = 0; i < n; i++) {
        if (except && memcmp(vms[i]->uuid, except, 16) == 0) {
            continue;
        }
        for (size_t k = 0; k < vms[i]->n_nics; k++) {
            if (strcasecmp(vms[i]->nics[k].mac, mac) == 0) {
                return vms[i];
            }
        }
    }
    return NULL;
}

/*
 * The lowest free address of the pool 02:17:42:2F:00:00-FF:FF (locally
 * administered, upper-case hex) that no VM of the inventory uses and that
 * is not in taken (addresses already handed out for the VM being built;
 * empty strings are ignored, and an entry may be out itself).
 */
int hv_mac_next(ovfk_hv_conn *c, struct ovfk_hv_vm **vms, size_t n,
                const char *const *taken, size_t ntaken, char out[18])
{
    char mac[18];

    for (unsigned int i = 1; i <= 0xffff; i++) {
        bool used = false;
        snprintf(mac, sizeof(mac), "02:17:42:2F:%02X:%02X", i >> 8,
                 i & 0xff);
        used = hv_mac_owner(vms, n, mac, NULL) != NULL;
        for (size_t k = 0; !used && k < ntaken; k++) {
            used = taken[k] && strcasecmp(taken[k], mac) == 0;
        }
        if (!used) {
            memcpy(out, mac, sizeof(mac));
            return 0;
        }
    }
    return ovfk_err_set(&c->err, -ENOSPC, "the MAC pool 02:17:42:2F:00:00-"
                        "FF:FF is exhausted");
}

bool hv_name_ok(const char *name, const char **why)
{
    size_t n = name ? strlen(name) : 0;
    bool digits = true;

    if (n == 0) {
        *why = "is empty";
        return false;
    }
    if (n > OVFK_HV_NAME_MAX) {
        *why = "is longer than 50 characters";
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)name[i]) && name[i] != '_') {
            *why = "may use only letters, digits and '_'";
            return false;
        }
        digits &= isdigit((unsigned char)name[i]) != 0;
    }
    if (digits) {
        *why = "may not be all digits";
        return false;
    }
    if (!strcmp(name, "auto") || !strcmp(name, "scripts")) {
        *why = "is reserved (\"auto\" and \"scripts\" are Xen directories)";
        return false;
    }
    if (!strncmp(name, "xmexample", 9)) {
        *why = "may not start with \"xmexample\"";
        return false;
    }
    return true;
}

/*
 * 64-bit guests need more memory.  CIM_OperatingSystem.OSType values of
 * 64-bit systems (the value map of CIM 2.x: 70 Windows Server 2003 64-Bit,
 * 71 Windows XP 64-Bit, 74 Vista 64-Bit, 77 Server 2008 64-Bit, 78 FreeBSD
 * 64-Bit, 80 RHEL 64-Bit, ... 101 Linux 64-Bit, 102 Other 64-Bit, 103
 * Server 2008 R2), and any description that says 64.
 */
bool ovfk_hv_os_is_64bit(const struct ovfk_hv_vm *vm)
{
    static const int ids[] = {
        70, 71, 74, 77, 78, 80, 81, 83, 85, 90, 92, 94, 96, 98, 100, 101,
        102, 103, 107, 109, 112, 114, 115,
    };
    const char *d = vm->os_type ? vm->os_type : "";

    if (strstr(d, "64") || strcasestr(d, "amd64")) {
        return true;
    }
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        if (vm->os_id == ids[i]) {
            return true;
        }
    }
    return false;
}

static void report(ovfk_hv_report_fn fn, void *opaque, int *count,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void report(ovfk_hv_report_fn fn, void *opaque, int *count,
                   const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (count) {
        (*count)++;
    }
    if (fn) {
        fn(opaque, msg);
    }
}

int ovfk_hv_vm_check_limits(const struct ovfk_hv_vm *vm, uint32_t max_cpus,
                            ovfk_hv_report_fn error, ovfk_hv_report_fn warn,
                            void *opaque)
{
    const char *why;
    int count = 0;
    uint64_t min = ovfk_hv_os_is_64bit(vm) ? OVFK_HV_MIN_MEMORY_64_MIB
                                      : OVFK_HV_MIN_MEMORY_MIB;
    size_t plain = 0;

    if (!max_cpus) {
        max_cpus = OVFK_HV_DEFAULT_MAX_CPUS;
    }
    if (!hv_name_ok(vm->name, &why)) {
        report(error, opaque, &count, "VM name '%s' %s; choose another name",
               vm->name ? vm->name : "", why);
    }
    if (vm->memory_mib < min) {
        report(error, opaque, &count, "%llu MiB of memory is below the "
               "%llu MiB a %s guest needs; raise it with --memory",
               (unsigned long long)vm->memory_mib, (unsigned long long)min,
               min == OVFK_HV_MIN_MEMORY_64_MIB ? "64-bit" : "");
    }
    if (vm->cpus == 0 || vm->cpus > max_cpus) {
        report(error, opaque, &count, "%u vCPUs: a VM has 1 to %u here; set "
               "--cpus (or --max-cpus for another platform)", vm->cpus,
               max_cpus);
    }
    for (size_t i = 0; i < vm->n_disks; i++) {
        const char *b = vm->disks[i].bus ? vm->disks[i].bus : "";
        plain += strcmp(b, "virtio") && strcmp(b, "xen");
    }
    if (plain > 3) {
        report(warn, opaque, NULL, "%zu disks on emulated controllers: a guest "
               "without paravirtual drivers sees at most 3", plain);
    }
    return count;
}

/* --- JSON --- */

static void put_str(json_object *o, const char *k, const char *v)
{
    if (v) {
        json_object_object_add(o, k, json_object_new_string(v));
    }
}

char *ovfk_hv_vm_to_json(const struct ovfk_hv_vm *vm, bool pretty)
{
    json_object *o = json_object_new_object();
    json_object *disks = json_object_new_array();
    json_object *nics = json_object_new_array();
    char uuid[37], *out;

    ovfk_hv_uuid_str(vm->uuid, uuid);
    put_str(o, "name", vm->name);
    put_str(o, "uuid", uuid);
    put_str(o, "description", vm->description);
    put_str(o, "os_type", vm->os_type);
    json_object_object_add(o, "os_id", json_object_new_int(vm->os_id));
    json_object_object_add(o, "cpus", json_object_new_int64(vm->cpus));
    json_object_object_add(o, "memory_mib",
                           json_object_new_uint64(vm->memory_mib));
    put_str(o, "firmware", vm->firmware);
    put_str(o, "kernel", vm->kernel);
    put_str(o, "initrd", vm->initrd);
    put_str(o, "cmdline", vm->cmdline);
    for (size_t i = 0; i < vm->n_disks; i++) {
        json_object *d = json_object_new_object();
        put_str(d, "id", vm->disks[i].id);
        put_str(d, "path", vm->disks[i].path);
        put_str(d, "format", vm->disks[i].format);
        json_object_object_add(d, "capacity",
                               json_object_new_uint64(vm->disks[i].capacity));
        put_str(d, "bus", vm->disks[i].bus);
        json_object_object_add(d, "boot_order",
                               json_object_new_int(vm->disks[i].boot_order));
        json_object_object_add(d, "owned",
                               json_object_new_boolean(vm->disks[i].owned));
        json_object_array_add(disks, d);
    }
    for (size_t i = 0; i < vm->n_nics; i++) {
        json_object *n = json_object_new_object();
        put_str(n, "mac", vm->nics[i].mac);
        put_str(n, "network", vm->nics[i].network);
        put_str(n, "model", vm->nics[i].model);
        json_object_array_add(nics, n);
    }
    json_object_object_add(o, "disks", disks);
    json_object_object_add(o, "nics", nics);
    out = hv_strdup(json_object_to_json_string_ext(o, (pretty ?
        JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED :
        JSON_C_TO_STRING_PLAIN) | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return out;
}

static char *get_str(json_object *o, const char *k)
{
    json_object *v;

    if (!json_object_object_get_ex(o, k, &v) ||
        json_object_get_type(v) != json_type_string) {
        return NULL;
    }
    return hv_strdup(json_object_get_string(v));
}

static int64_t get_int(json_object *o, const char *k, int64_t dflt)
{
    json_object *v;

    if (!json_object_object_get_ex(o, k, &v)) {
        return dflt;
    }
    return json_object_get_int64(v);
}

int ovfk_hv_vm_from_json(const char *text, struct ovfk_hv_vm **out)
{
    json_object *o = json_tokener_parse(text), *arr;
    struct ovfk_hv_vm *vm;
    char *uuid;
    int r = 0;

    *out = NULL;
    if (!o || json_object_get_type(o) != json_type_object) {
        json_object_put(o);
        return ovfk_err_last(OVFK_ECORRUPT, "VM definition is not a JSON "
                             "object");
    }
    vm = ovfk_hv_vm_new();
    if (!vm) {
        json_object_put(o);
        return -ENOMEM;
    }
    vm->name = get_str(o, "name");
    uuid = get_str(o, "uuid");
    if (!vm->name || ovfk_hv_uuid_parse(uuid, vm->uuid) < 0) {
        r = ovfk_err_last(OVFK_ECORRUPT, "VM definition lacks a name or a "
                          "valid uuid");
    }
    free(uuid);
    vm->description = get_str(o, "description");
    vm->os_type = get_str(o, "os_type");
    vm->os_id = (int)get_int(o, "os_id", 0);
    vm->cpus = (uint32_t)get_int(o, "cpus", 1);
    vm->memory_mib = (uint64_t)get_int(o, "memory_mib", 1024);
    vm->firmware = get_str(o, "firmware");
    vm->kernel = get_str(o, "kernel");
    vm->initrd = get_str(o, "initrd");
    vm->cmdline = get_str(o, "cmdline");
    if (json_object_object_get_ex(o, "disks", &arr)) {
        for (size_t i = 0; r == 0 && i < json_object_array_length(arr); i++) {
            json_object *e = json_object_array_get_idx(arr, i);
            struct ovfk_hv_disk *d = ovfk_hv_vm_add_disk(vm);
            if (!d) {
                r = -ENOMEM;
                break;
            }
            d->id = get_str(e, "id");
            d->path = get_str(e, "path");
            d->format = get_str(e, "format");
            d->capacity = (uint64_t)get_int(e, "capacity", 0);
            d->bus = get_str(e, "bus");
            d->boot_order = (int)get_int(e, "boot_order", 0);
            d->owned = get_int(e, "owned", 0) != 0;
        }
    }
    if (json_object_object_get_ex(o, "nics", &arr)) {
        for (size_t i = 0; r == 0 && i < json_object_array_length(arr); i++) {
            json_object *e = json_object_array_get_idx(arr, i);
            struct ovfk_hv_nic *n = ovfk_hv_vm_add_nic(vm);
            char *mac = get_str(e, "mac");
            if (!n) {
                free(mac);
                r = -ENOMEM;
                break;
            }
            if (mac && ovfk_hv_mac_normalize(mac, n->mac) < 0) {
                r = ovfk_err_last(OVFK_ECORRUPT, "invalid MAC '%s'", mac);
            }
            free(mac);
            n->network = get_str(e, "network");
            n->model = get_str(e, "model");
        }
    }
    json_object_put(o);
    if (r < 0) {
        ovfk_hv_vm_free(vm);
        return r;
    }
    *out = vm;
    return 0;
}

int hv_strv_add(char ***v, size_t *n, const char *s)
{
    char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

    if (!nv) {
        return -ENOMEM;
    }
    *v = nv;
    if (!(nv[*n] = strdup(s))) {
        return -ENOMEM;
    }
    (*n)++;
    return 0;
}

void ovfk_hv_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

void ovfk_hv_list_free(struct ovfk_hv_vm **vms, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ovfk_hv_vm_free(vms[i]);
    }
    free(vms);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv/import.c - bring a package in, as a new VM (import) or as the same
 * VM (restore).  One code path; the identity policy is the only
 * difference:
 *
 *   import:  a new UUID and new MACs from the pool, never reused in the
 *            inventory; the name must be free.
 *   restore: the package's UUID and MACs; the VM with that UUID is
 *            replaced (after confirmation, or --force) or recreated; a MAC
 *            or name that belongs to a different VM is an error.
 *
 * Order: plan from the descriptor alone (identity, overrides, networks,
 * limits, disk targets, space) -> refuse before writing anything ->
 * extract the package beside the target disks (verifying its manifest) ->
 * put the disks in place under fresh names -> define the VM (or swap the
 * definition) -> only then remove a replaced VM's old disks.  A failure
 * before the definition removes every disk made; the inventory is as it
 * was.
 *
 * A plan is what happens: nothing in it is drawn at random.  A new UUID
 * is a name-based UUID (RFC 4122 version 5) of this host, the inventory,
 * the descriptor's bytes and the new name; new MACs are the lowest free
 * ones of the pool.  So `import --dry-run` shows the identity the import
 * then gives, as long as the inventory did not change in between.
 */
#include <blkid.h>
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "hv/internal.h"
#include "ovfkit/image.h"
#include "ovfkit/vhd.h"
#include "ovfkit/sysprep.h"

struct job {
    ovfk_hv_conn *c;
    const struct ovfk_hv_import_opts *o;
    ovfk_ovf_doc *doc;
    const struct ovfk_ovf_system *sys;
    struct ovfk_hv_plan *plan;
    struct ovfk_hv_vm **vms;
    size_t n_vms;
    struct ovfk_hv_vm *existing;     /* restore: the VM being replaced */
    char **made;                /* disks created, removed on failure */
    size_t n_made;
    char *desc;                 /* the descriptor's bytes */
    size_t desc_len;
    char **pkg_macs;            /* every MAC written in the package */
    size_t n_pkg_macs;
};

void ovfk_hv_plan_free(struct ovfk_hv_plan *p)
{
    if (!p) {
        return;
    }
    ovfk_hv_vm_free(p->vm);
    for (size_t i = 0; i < p->n_disks; i++) {
        free(p->disks[i].id);
        free(p->disks[i].source);
        free(p->disks[i].target);
    }
    free(p->disks);
    ovfk_hv_strv_free(p->warnings, p->n_warnings);
    free(p->space_dir);
    for (size_t i = 0; i < p->n_guest_changes; i++) {
        free(p->guest_changes[i].kind);
        free(p->guest_changes[i].path);
        free(p->guest_changes[i].old_value);
        free(p->guest_changes[i].new_value);
    }
    free(p->guest_changes);
    free(p);
}

static int fail(struct job *j, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct job *j, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ovfk_err_vset(&j->c->err, code, fmt, ap);
    va_end(ap);
    return code;
}

static void warn(struct job *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void warn(struct job *j, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    hv_strv_add(&j->plan->warnings, &j->plan->n_warnings, msg);
}

static bool listed(const char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++) {
        if (!strcmp(v[i], s)) {
            return true;
        }
    }
    return false;
}

/*
 * Every MAC written anywhere in the descriptor: RASD Address, VMware's
 * ethernet0.address in a vendor section, VirtualBox's
 * MACAddress="0800271A2B3C".  The VM the package came from may still run
 * with them, so an import must never hand one out again.  The descriptor
 * is cut into runs of hex digits, ':' and '-'; a run that reads as a MAC
 * counts.  A run that only looks like one costs one pool address at
 * most; a MAC missed could cost a network.
 */
static int package_macs(struct job *j)
{
    const char *p = j->desc, *end = j->desc + j->desc_len;

    while (p < end) {
        const char *q = p;
        char tok[40], mac[18];
        size_t n;
        while (q < end && (isxdigit((unsigned char)*q) || *q == ':' ||
                           *q == '-')) {
            q++;
        }
        n = (size_t)(q - p);
        /* trim separators: "-" is no sign, ":" no prefix */
        while (n && (*p == ':' || *p == '-')) {
            p++;
            n--;
        }
        while (n && (p[n - 1] == ':' || p[n - 1] == '-')) {
            n--;
        }
        /* a MAC is 12 to 17 characters; 12 bare digits must stand alone
         * (not a piece of a longer word) */
        if (n >= 12 && n <= 17 && (q == end || !isalnum((unsigned char)*q)) &&
            (p == j->desc || !isalnum((unsigned char)p[-1]))) {
            memcpy(tok, p, n);
            tok[n] = '\0';
            if (ovfk_hv_mac_normalize(tok, mac) == 0 &&
                hv_strv_add(&j->pkg_macs, &j->n_pkg_macs, mac) < 0) {
                return fail(j, -ENOMEM, "out of memory");
            }
        }
        p = q < end ? q + 1 : end;
    }
    return 0;
}

/* This host: its machine-id (else its name) and the user. */
static void host_id(EVP_MD_CTX *md)
{
    static const char *const files[] = { "/etc/machine-id",
                                         "/var/lib/dbus/machine-id" };
    char buf[256] = "";
    unsigned int uid = (unsigned int)getuid();

    for (size_t i = 0; !buf[0] && i < 2; i++) {
        FILE *f = fopen(files[i], "re");
        if (f) {
            if (!fgets(buf, sizeof(buf), f)) {
                buf[0] = '\0';
            }
            fclose(f);
        }
    }
    if (!buf[0] && gethostname(buf, sizeof(buf) - 1) < 0) {
        buf[0] = '\0';
    }
    EVP_DigestUpdate(md, buf, strlen(buf) + 1);
    EVP_DigestUpdate(md, &uid, sizeof(uid));
}

static void hash_str(EVP_MD_CTX *md, const char *s)
{
    s = s ? s : "";
    EVP_DigestUpdate(md, s, strlen(s) + 1);
}

/*
 * The new UUID: version 5 (SHA-1, RFC 4122 4.3) in ovfkit's namespace of
 * this host, the inventory (driver and where, a directory made absolute),
 * the descriptor's bytes, the system and the new name, and try (bumped
 * while the result is taken).  Names are unique in an inventory, so two
 * VMs of one inventory never derive the same; two hosts, users,
 * inventories or packages never do either.
 */
static int derive_uuid(struct job *j, unsigned int try, uint8_t out[16])
{
    static const uint8_t ns[16] = {    /* 6f766b69-0001-5000-8000-... */
        0x6f, 0x76, 0x66, 0x6b, 0x00, 0x01, 0x50, 0x00,
        0x80, 0x00, 0x69, 0x6d, 0x70, 0x6f, 0x72, 0x74 };
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t h[EVP_MAX_MD_SIZE];
    char abs[PATH_MAX];
    const char *where = j->c->where;
    unsigned int n = 0;

    if (!md || EVP_DigestInit_ex(md, EVP_sha1(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return fail(j, -ENOMEM, "cannot compute a UUID: out of memory");
    }
    if (where && strcmp(j->c->drv->name, "libvirt") &&
        realpath(where, abs)) {
        where = abs;
    }
    EVP_DigestUpdate(md, ns, sizeof(ns));
    host_id(md);
    hash_str(md, j->c->drv->name);
    hash_str(md, where);
    EVP_DigestUpdate(md, j->desc, j->desc_len);
    hash_str(md, j->sys->id);
    hash_str(md, j->plan->vm->name);
    EVP_DigestUpdate(md, &try, sizeof(try));
    if (EVP_DigestFinal_ex(md, h, &n) != 1 || n < 16) {
        EVP_MD_CTX_free(md);
        return fail(j, -EIO, "cannot compute a UUID");
    }
    EVP_MD_CTX_free(md);
    memcpy(out, h, 16);
    out[6] = (uint8_t)((out[6] & 0x0f) | 0x50);
    out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
    return 0;
}

/* Is u a UUID of the inventory, or one the package names for its VM? */
static bool uuid_taken(struct job *j, const uint8_t u[16], const uint8_t *pkg)
{
    for (size_t i = 0; i < j->n_vms; i++) {
        if (!memcmp(j->vms[i]->uuid, u, 16)) {
            return true;
        }
    }
    return pkg && !memcmp(pkg, u, 16);
}

/* Identity: import gets a new one, restore keeps the package's. */
static int identity(struct job *j)
{
    struct ovfk_hv_vm *vm = j->plan->vm;
    size_t nt = j->n_pkg_macs;
    const char **taken = calloc(nt + vm->n_nics + 1, sizeof(*taken));
    char u[37];
    int r = 0;

    if (!taken) {
        return fail(j, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < nt; i++) {
        taken[i] = j->pkg_macs[i];
    }
    if (j->o->mode == OVFK_HV_IMPORT) {
        uint8_t pkg[16];
        memcpy(pkg, vm->uuid, 16);
        for (unsigned int try = 0; r == 0; try++) {
            r = derive_uuid(j, try, vm->uuid);
            if (r == 0 && !uuid_taken(j, vm->uuid, pkg)) {
                break;
            }
        }
    } else {
        static const uint8_t zero[16];
        if (!memcmp(vm->uuid, zero, 16)) {
            free(taken);
            return fail(j, -EINVAL, "the package carries no VM UUID, so "
                        "there is nothing to restore; use 'ovfkit import'");
        }
        for (size_t i = 0; i < j->n_vms; i++) {
            if (!memcmp(j->vms[i]->uuid, vm->uuid, 16)) {
                j->existing = j->vms[i];
            }
        }
        j->plan->replaces = j->existing != NULL;
    }
    for (size_t i = 0; r == 0 && i < j->n_vms; i++) {
        if (j->vms[i] != j->existing && !strcmp(j->vms[i]->name, vm->name)) {
            ovfk_hv_uuid_str(j->vms[i]->uuid, u);
            r = fail(j, -EEXIST, "a VM named '%s' already exists (%s); "
                     "choose another name with --name", vm->name, u);
        }
    }
    for (size_t i = 0; r == 0 && i < vm->n_nics; i++) {
        struct ovfk_hv_nic *n = &vm->nics[i];
        const struct ovfk_hv_vm *owner;
        if (j->o->mode == OVFK_HV_IMPORT || !n->mac[0]) {
            if (j->o->mode == OVFK_HV_RESTORE) {
                warn(j, "NIC %zu has no MAC in the package; it gets a new "
                     "one", i + 1);
            }
            /* never the inventory's, the package's or this VM's others */
            r = hv_mac_next(j->c, j->vms, j->n_vms, taken, nt, n->mac);
        } else if ((owner = hv_mac_owner(j->vms, j->n_vms, n->mac,
                                         vm->uuid))) {
            r = fail(j, -EEXIST, "MAC %s of NIC %zu belongs to VM '%s'; "
                     "restore keeps MACs, so remove or change that VM, or "
                     "use 'ovfkit import' for new ones", n->mac, i + 1,
                     owner->name);
        }
        for (size_t k = 0; r == 0 && k < i; k++) {
            if (!strcasecmp(vm->nics[k].mac, n->mac)) {
                r = fail(j, -EEXIST, "MAC %s appears on two NICs", n->mac);
            }
        }
        taken[nt++] = n->mac;
    }
    free(taken);
    return r;
}

/* Every NIC's network must exist on the target, after --network maps. */
static int networks(struct job *j)
{
    struct ovfk_hv_vm *vm = j->plan->vm;
    char **have = NULL, avail[512] = "";
    size_t n = 0;
    int r = ovfk_hv_networks(j->c, &have, &n);

    for (size_t i = 0, used = 0; i < n; i++) {
        if (used + strlen(have[i]) + 3 < sizeof(avail)) {
            used += (size_t)snprintf(avail + used, sizeof(avail) - used,
                                     "%s%s", i ? ", " : "", have[i]);
        }
    }
    for (size_t i = 0; r == 0 && i < vm->n_nics; i++) {
        struct ovfk_hv_nic *nic = &vm->nics[i];
        const struct ovfk_hv_map *map = NULL;
        char *to;

        for (size_t m = 0; !map && m < j->o->n_networks; m++) {
            if (!strcmp(j->o->networks[m].from, nic->network)) {
                map = &j->o->networks[m];
            }
        }
        if (map && listed((const char *const *)have, n, map->to)) {
            if (!(to = strdup(map->to))) {
                r = fail(j, -ENOMEM, "out of memory");
                break;
            }
            free(nic->network);
            nic->network = to;
        } else if (map) {
            /* the user mapped it: "map it" would send them in a circle */
            r = fail(j, -ENOENT, "network '%s' (from --network %s=%s) does "
                     "not exist on the target (available: %s)", map->to,
                     map->from, map->to, avail[0] ? avail : "none");
        } else if (!listed((const char *const *)have, n, nic->network)) {
            r = fail(j, -ENOENT, "network '%s' does not exist on the target; "
                     "map it with --network '%s'=NAME (available: %s)",
                     nic->network, nic->network, avail[0] ? avail : "none");
        }
    }
    ovfk_hv_strv_free(have, n);
    return r;
}

/* Every limit problem is named, not just the first. */
static void limit_error(void *opaque, const char *msg)
{
    struct job *j = opaque;
    const char *why;
    /* the name comes from the package: say which option changes it */
    const char *hint = !hv_name_ok(j->plan->vm->name, &why) &&
                       !strncmp(msg, "VM name '", 9) ? " with --name" : "";

    if (!j->c->err.code) {
        fail(j, -EINVAL, "%s%s", msg, hint);
    } else {
        ovfk_err_prefix(&j->c->err, "%s%s", msg, hint);
    }
}

static void limit_warn(void *opaque, const char *msg)
{
    warn(opaque, "%s", msg);
}

/* Does the plan copy this disk from the package? */
static bool copies(const struct ovfk_hv_plan_disk *p)
{
    return !strcmp(p->action, "import") || !strcmp(p->action, "restore");
}

/* A free file name for disk id in dir (never one a replaced VM uses). */
static char *target_name(struct job *j, const char *dir, const char *id,
                         size_t upto)
{
    char path[PATH_MAX];

    for (int k = 0; k < 1000; k++) {
        bool taken = false;
        if (k == 0) {
            snprintf(path, sizeof(path), "%s/%s.vhd", dir, id);
        } else {
            snprintf(path, sizeof(path), "%s/%s-%d.vhd", dir, id, k);
        }
        taken = access(path, F_OK) == 0;
        for (size_t i = 0; !taken && j->existing &&
             i < j->existing->n_disks; i++) {
            taken = j->existing->disks[i].path &&
                    !strcmp(j->existing->disks[i].path, path);
        }
        for (size_t i = 0; !taken && i < upto; i++) {
            /* a skipped disk has no target */
            taken = j->plan->disks[i].target &&
                    !strcmp(j->plan->disks[i].target, path);
        }
        if (!taken) {
            return strdup(path);
        }
    }
    return NULL;
}

static int plan_disks(struct job *j)
{
    struct ovfk_hv_vm *vm = j->plan->vm;
    char dir[PATH_MAX];
    size_t keep = 0;
    int r;

    if (j->o->storage) {
        snprintf(dir, sizeof(dir), "%s", j->o->storage);
    } else {
        r = j->c->drv->disk_dir(j->c, vm, dir, sizeof(dir));
        if (r < 0) {
            return r;
        }
    }
    j->plan->space_dir = strdup(dir);
    j->plan->disks = calloc(vm->n_disks + 1, sizeof(*j->plan->disks));
    if (!j->plan->disks || !j->plan->space_dir) {
        return fail(j, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < vm->n_disks; i++) {
        struct ovfk_hv_disk *d = &vm->disks[i];
        struct ovfk_hv_plan_disk *p = &j->plan->disks[j->plan->n_disks++];
        const struct ovfk_ovf_disk *k = ovfk_ovf_find_disk(j->doc, d->id);
        const struct ovfk_ovf_file *f =
            k ? ovfk_ovf_find_file(j->doc, k->file_ref) : NULL;
        p->id = strdup(d->id);
        p->capacity = d->capacity;
        if (listed(j->o->skip_disks, j->o->n_skip, d->id)) {
            p->action = "skip";
            continue;
        }
        p->action = !f || listed(j->o->empty_disks, j->o->n_empty, d->id)
                        ? "empty"
                    : j->o->mode == OVFK_HV_IMPORT ? "import"
                                                   : "restore";
        p->source = f ? strdup(f->href) : NULL;
        p->target = target_name(j, dir, d->id, j->plan->n_disks - 1);
        if (!p->target) {
            return fail(j, -ENOSPC, "no free name for disk '%s' in '%s'",
                        d->id, dir);
        }
        if (!d->capacity && !strcmp(p->action, "empty")) {
            return fail(j, -EINVAL, "disk '%s' has no capacity to create it "
                        "empty with", d->id);
        }
    }
    for (size_t i = 0; i < j->plan->n_disks; i++) {
        if (!strcmp(j->plan->disks[i].action, "skip")) {
            continue;
        }
        if (keep != i) {
            struct ovfk_hv_disk t = vm->disks[keep];
            vm->disks[keep] = vm->disks[i];
            vm->disks[i] = t;
        }
        free(vm->disks[keep].path);
        vm->disks[keep].path = strdup(j->plan->disks[i].target);
        keep++;
    }
    for (size_t i = keep; i < vm->n_disks; i++) {
        free(vm->disks[i].id);
        free(vm->disks[i].path);
        free(vm->disks[i].format);
        free(vm->disks[i].bus);
    }
    vm->n_disks = keep;
    for (size_t i = 0; i < vm->n_disks; i++) {
        vm->disks[i].boot_order = i == 0 ? 1 : 0;
    }
    return 0;
}

static int make_plan(struct job *j, const char *pkg)
{
    const struct ovfk_hv_import_opts *o = j->o;
    char *buf = NULL, *name = NULL, **w = NULL;
    size_t len = 0, nw = 0;
    int r;

    r = ovfk_ova_load_descriptor(pkg, &buf, &len, &name);
    if (r == 0) {
        r = ovfk_ovf_parse_memory(buf, len, name, &j->doc);
    }
    free(name);
    if (r < 0) {
        free(buf);
        return fail(j, r, "%s", ovfk_last_error());
    }
    j->desc = buf;      /* for the new UUID and the package's MACs */
    j->desc_len = len;
    j->sys = hv_pick_system(j->doc, o->system, &j->c->err);
    if (!j->sys) {
        return j->c->err.code;
    }
    j->plan = calloc(1, sizeof(*j->plan));
    if (!j->plan) {
        return fail(j, -ENOMEM, "out of memory");
    }
    r = hv_vm_from_ovf(j->doc, j->sys, &j->plan->vm, &w, &nw);
    for (size_t i = 0; i < nw; i++) {
        warn(j, "%s", w[i]);
    }
    ovfk_hv_strv_free(w, nw);
    if (r < 0) {
        return fail(j, r, "cannot read the package's VM");
    }
    if (o->name) {
        free(j->plan->vm->name);
        j->plan->vm->name = strdup(o->name);
    }
    if (o->cpus) {
        j->plan->vm->cpus = o->cpus;
    }
    if (o->memory_mib) {
        j->plan->vm->memory_mib = o->memory_mib;
    }
    r = ovfk_hv_list(j->c, &j->vms, &j->n_vms);
    if (r == 0) {
        r = package_macs(j);
    }
    if (r == 0) {
        r = identity(j);
    }
    if (r == 0) {
        r = networks(j);
    }
    if (r == 0 && ovfk_hv_vm_check_limits(j->plan->vm, o->max_cpus ?
                                     o->max_cpus : j->c->max_cpus,
                                     limit_error, limit_warn, j) > 0) {
        r = j->c->err.code;
    }
    if (r == 0) {
        r = plan_disks(j);
    }
    if (r == 0) {
        const struct ovfk_hv_vm *vm = j->plan->vm;
        j->plan->guest = o->mode != OVFK_HV_IMPORT || !vm->n_nics ||
                         !vm->n_disks ? OVFK_HV_GUEST_NONE :
                         o->keep_guest_config ? OVFK_HV_GUEST_KEPT :
                         OVFK_HV_GUEST_PLANNED;
    }
    return r;
}

/* What a VHD of capacity cap needs besides its data, at most: the
 * footer, its copy, the dynamic header, the BAT, and per 2 MiB block its
 * bitmap sector with the padding to the 4 KiB data boundary (a hole on
 * most file systems, counted anyway). */
static uint64_t vhd_overhead(uint64_t cap)
{
    uint64_t blocks = cap / (2u << 20) + 1;

    return blocks * 4096 + (blocks * 4 + 4095) / 4096 * 4096 + 16384;
}

static bool is_vhd(const struct ovfk_ovf_disk *k, const struct ovfk_ovf_file *f)
{
    size_t n = f && f->href ? strlen(f->href) : 0;

    return (k->format && !strcmp(k->format, HV_VHD_FORMAT_URI)) ||
           (n > 4 && !strcasecmp(f->href + n - 4, ".vhd"));
}

/*
 * The size the VM's disk will have, when the descriptor says otherwise:
 * a VHD keeps its own virtual size (the guest's data is laid out for it),
 * so the plan shows that size, with a warning naming both.
 */
static void capacity_differs(struct job *j, struct ovfk_hv_plan_disk *p,
                             uint64_t actual)
{
    if (actual && actual != p->capacity) {
        warn(j, "disk '%s': the descriptor declares %llu bytes, its VHD "
             "holds %llu: the VM's disk has the VHD's size", p->id,
             (unsigned long long)p->capacity, (unsigned long long)actual);
        p->capacity = actual;
    }
}

/* The same, before anything is copied, for a loose package's VHD beside
 * its descriptor (an OVA's is known once extracted: place_disk). */
static void true_capacity(struct job *j, struct ovfk_hv_plan_disk *p,
                          const struct ovfk_ovf_disk *k,
                          const struct ovfk_ovf_file *f, const char *base)
{
    char path[PATH_MAX];

    if (!k || !f || !f->href || (f->compression && *f->compression) ||
        f->chunk_size || !is_vhd(k, f) || !strcmp(p->action, "empty")) {
        return;
    }
    if (snprintf(path, sizeof(path), "%s/%s", base, f->href) <
        (int)sizeof(path)) {
        capacity_differs(j, p, hv_image_capacity(path, "vhd"));
    }
}

/*
 * The most one disk of the plan takes on the target, given the package
 * (an OVA, or the directory base of a loose descriptor).  A disk from an
 * OVA is extracted beside its target (the member's size; the rest of
 * the package is counted by the caller); gzip and chunks are undone into
 * a second file; a VHD is then renamed into place, anything else (and
 * every disk of a loose package, which stays the user's) is converted to
 * a dynamic VHD, which holds at most what the source holds: for a raw or
 * VHD file its allocated bytes, for other formats the capacity.
 */
static uint64_t disk_space(struct job *j, const struct ovfk_hv_plan_disk *p,
                           bool ova, const char *base)
{
    const struct ovfk_ovf_disk *k = ovfk_ovf_find_disk(j->doc, p->id);
    const struct ovfk_ovf_file *f =
        k ? ovfk_ovf_find_file(j->doc, k->file_ref) : NULL;
    uint64_t cap = p->capacity, full = cap + vhd_overhead(cap), need = 0;
    uint64_t data = full;
    bool packed = f && ((f->compression && *f->compression) ||
                        f->chunk_size);
    char path[PATH_MAX];
    struct stat st;

    if (!strcmp(p->action, "empty")) {
        return vhd_overhead(cap);
    }
    if (!f) {
        return full;
    }
    if (ova) {
        need = f->has_size ? f->size : full;
    } else if (!packed && is_vhd(k, f) &&
               snprintf(path, sizeof(path), "%s/%s", base, f->href) > 0 &&
               stat(path, &st) == 0) {
        data = (uint64_t)st.st_blocks * 512;
        data = (data < cap ? data : cap) + vhd_overhead(cap);
    }
    if (packed) {
        need += full;           /* joined or inflated: a VHD of cap */
    }
    if (!ova || !is_vhd(k, f)) {
        need += data;           /* the converted copy */
    }
    return need;
}

/*
 * Will it fit?  Sum what every disk may take (and, for an OVA, the rest
 * of its members, all extracted) and compare with the free space of the
 * file system the disks go to (the nearest existing directory).  The plan
 * keeps both figures, so a refused plan can be shown with them.
 */
static int plan_space(struct job *j, const char *pkg)
{
    struct ovfk_hv_plan *p = j->plan;
    bool ova = ovfk_ova_is_archive(pkg);
    char base[PATH_MAX], dir[PATH_MAX], need[32], have[32], *slash;
    uint64_t members = 0;
    struct statvfs fs;
    struct stat st;

    snprintf(base, sizeof(base), "%s", pkg);
    slash = strrchr(base, '/');
    if (slash) {
        *slash = '\0';
    } else {
        snprintf(base, sizeof(base), ".");
    }
    for (size_t i = 0; i < p->n_disks; i++) {
        const struct ovfk_ovf_disk *k =
            ovfk_ovf_find_disk(j->doc, p->disks[i].id);
        const struct ovfk_ovf_file *f =
            k ? ovfk_ovf_find_file(j->doc, k->file_ref) : NULL;
        if (strcmp(p->disks[i].action, "skip")) {
            if (!ova) {
                true_capacity(j, &p->disks[i], k, f, base);
            }
            p->disks[i].space = disk_space(j, &p->disks[i], ova, base);
            p->space_needed += p->disks[i].space;
        }
        if (ova && f && f->has_size && strcmp(p->disks[i].action, "skip") &&
            copies(&p->disks[i])) {
            members += f->size;
        }
    }
    if (ova && stat(pkg, &st) == 0 && (uint64_t)st.st_size > members) {
        p->space_needed += (uint64_t)st.st_size - members;
    }
    snprintf(dir, sizeof(dir), "%s", p->space_dir ? p->space_dir : ".");
    while (statvfs(dir, &fs) < 0) {
        slash = strrchr(dir, '/');
        if (!slash || slash == dir) {
            snprintf(dir, sizeof(dir), "%s", slash ? "/" : ".");
            if (statvfs(dir, &fs) < 0) {
                return fail(j, -errno, "cannot tell the free space of "
                            "'%s': %s", dir, strerror(errno));
            }
            break;
        }
        *slash = '\0';
    }
    p->space_free = (uint64_t)fs.f_bavail * fs.f_frsize;
    if (p->space_needed > p->space_free) {
        ovfk_size_str(p->space_needed, need, sizeof(need));
        ovfk_size_str(p->space_free, have, sizeof(have));
        return fail(j, -ENOSPC, "not enough space in '%s': the disks need "
                    "up to %s, only %s free; make room or choose another "
                    "place with --storage", p->space_dir, need, have);
    }
    return 0;
}

/* Put one disk in place: move the package's VHD, or convert to VHD. */
static int place_disk(struct job *j, ovfk_ova_pkg *pkg,
                      struct ovfk_hv_plan_disk *p, struct ovfk_hv_disk *d)
{
    const struct ovfk_ovf_disk *k = ovfk_ovf_find_disk(j->doc, p->id);
    const char *src;
    bool movable = false;
    ovfk_vhd *h;
    int r;

    if (!strcmp(p->action, "empty")) {
        struct ovfk_vhd_create_opts co = { .type = OVFK_VHD_TYPE_DYNAMIC,
                                      .size = p->capacity };
        r = ovfk_vhd_create(p->target, &co, NULL);
        if (r < 0) {
            return fail(j, r, "%s", ovfk_last_error());
        }
        d->capacity = p->capacity;
        return 0;
    }
    src = ovfk_ova_pkg_file(pkg, k ? k->file_ref : NULL, &movable);
    if (!src) {
        return fail(j, -ENOENT, "the package lacks the file of disk '%s'",
                    p->id);
    }
    /* A standalone VHD we extracted moves into place; anything else (a
     * file of the user's package directory, a chain, another format) is
     * copied as a new VHD, which also checks it can be read. */
    if (movable && ovfk_vhd_probe(src) &&
        ovfk_vhd_open(src, OVFK_VHD_OPEN_NO_PARENT, &h) == 0) {
        bool standalone = ovfk_vhd_type(h) != OVFK_VHD_TYPE_DIFF;
        d->capacity = ovfk_vhd_size(h);
        ovfk_vhd_close(h);
        capacity_differs(j, p, d->capacity);
        /* link, not rename: a file that appeared at the target since the
         * plan (EEXIST) is never replaced; across file systems (EXDEV)
         * the copy below does the work */
        if (standalone && link(src, p->target) == 0) {
            unlink(src);
            return 0;
        }
        if (standalone && errno == EEXIST) {
            return fail(j, -EEXIST, "'%s' appeared while importing: it is "
                        "not replaced", p->target);
        }
    }
    {
        struct ovfk_vhd_convert_opts co = { .type = OVFK_VHD_OUT_DYNAMIC,
                                       .progress = j->o->progress,
                                       .opaque = j->o->opaque };
        ovfk_source *s;
        r = ovfk_open_source(src, hv_ovf_disk_format(k ? k->format : NULL),
                             &s);
        if (r == 0) {
            d->capacity = s->size;
            capacity_differs(j, p, d->capacity);
            r = ovfk_vhd_convert(s, p->target, &co);
            ovfk_source_free(s);
        }
        if (r < 0) {
            /* an OVA's member is read from a temporary copy: name the
             * file as the package does */
            const struct ovfk_ovf_file *f =
                ovfk_ovf_find_file(j->doc, k->file_ref);
            return fail(j, r, "disk '%s' (file '%s' of the package): %s",
                        p->id, f && f->href ? f->href : "?",
                        ovfk_last_error());
        }
    }
    return 0;
}

static bool may_replace(struct job *j)
{
    char q[300];

    if (j->o->force) {
        return true;
    }
    if (!j->o->confirm) {
        return false;
    }
    snprintf(q, sizeof(q), "Replace the existing VM '%s' with the one in the "
             "package?", j->existing->name);
    return j->o->confirm(j->o->opaque, q);
}

static int carry_out(struct job *j, const char *pkg)
{
    struct ovfk_hv_vm *vm = j->plan->vm;
    const char **skip = calloc(j->plan->n_disks + 1, sizeof(*skip));
    struct ovfk_ova_open_opts po = { .verify = true, .progress = j->o->progress,
                                .opaque = j->o->opaque };
    char workdir[PATH_MAX];
    ovfk_ova_pkg *p = NULL;
    size_t ns = 0, di = 0;
    ovfk_lock *lock = NULL;
    int r = 0;

    if (!skip) {
        return fail(j, -ENOMEM, "out of memory");
    }
    if (j->existing) {
        if (!may_replace(j)) {
            free(skip);
            return fail(j, -EEXIST, "VM '%s' exists; a restore replaces it: "
                        "confirm on a terminal or pass --force",
                        j->existing->name);
        }
        r = hv_lock(j->c, j->existing, &lock);
        if (r == 0 && ovfk_hv_is_running(j->c, j->existing) > 0) {
            r = fail(j, -EBUSY, "VM '%s' is running; stop it before "
                     "restoring over it", j->existing->name);
        }
    }
    for (size_t i = 0; i < j->plan->n_disks; i++) {
        const struct ovfk_ovf_disk *k = ovfk_ovf_find_disk(j->doc,
                                                 j->plan->disks[i].id);
        if (!copies(&j->plan->disks[i]) && k && k->file_ref) {
            skip[ns++] = k->file_ref;
        }
    }
    /* extract next to the disks' home: moving them is a rename */
    for (size_t i = 0; r == 0 && i < j->plan->n_disks; i++) {
        if (j->plan->disks[i].target) {
            char *slash;
            snprintf(workdir, sizeof(workdir), "%s",
                     j->plan->disks[i].target);
            slash = strrchr(workdir, '/');
            if (slash) {
                *slash = '\0';
            }
            mkdir(workdir, 0755);
            po.workdir = workdir;
            break;
        }
    }
    po.skip = skip;
    if (r == 0) {
        r = ovfk_ova_pkg_open(pkg, &po, &p);
        if (r < 0) {
            fail(j, r, "%s", ovfk_last_error());
        }
    }
    for (size_t i = 0; r == 0 && i < j->plan->n_disks; i++) {
        struct ovfk_hv_plan_disk *pd = &j->plan->disks[i];
        if (!strcmp(pd->action, "skip")) {
            continue;
        }
        r = place_disk(j, p, pd, &vm->disks[di++]);
        if (r == 0) {
            vm->disks[di - 1].owned = true;     /* made for this VM */
            hv_strv_add(&j->made, &j->n_made, pd->target);
        }
    }
    ovfk_ova_pkg_free(p);
    if (r == 0) {
        r = j->existing ? j->c->drv->replace(j->c, j->existing, vm)
                        : j->c->drv->define(j->c, vm);
    }
    if (r < 0) {
        for (size_t i = 0; i < j->n_made; i++) {
            unlink(j->made[i]);
        }
        if (!j->existing && j->c->drv->discard) {
            j->c->drv->discard(j->c, vm);
        }
    } else if (j->existing) {
        /* the old definition is gone: its disks go too, as vm remove
         * takes them: only those ovfkit made for it that no other
         * definition uses (a user's file, a shared disk stay) */
        struct hv_refs refs;
        if (hv_refs_collect(j->c, j->existing, &refs) == 0) {
            for (size_t i = 0; i < j->existing->n_disks; i++) {
                const struct ovfk_hv_disk *d = &j->existing->disks[i];
                if (!listed((const char *const *)j->made, j->n_made,
                            d->path) && hv_disk_removable(d, &refs)) {
                    unlink(d->path);
                }
            }
            hv_refs_free(&refs);
        }
    }
    ovfk_lock_release(lock);
    free(skip);
    return r;
}

/*
 * What libblkid finds on a disk, read in process (no appliance).  The
 * disk (a VHD: libblkid reads only raw devices) is laid out in a sparse
 * memory file of its size, filled where libblkid looks: the first 16 MiB
 * (the deepest signature it knows from the start is VMFS's at 8.25 MiB;
 * partition tables, file systems, LVM, RAID, LUKS lie in the first
 * 256 KiB) and the last 1 MiB (GPT's backup, md 0.90/1.0, ZFS's labels,
 * firmware RAID metadata).  Zero ranges stay holes.  Returns 1 with what
 * names the find ("dos", "gpt", "ext4", ...), 0 when the disk is blank,
 * negative when it cannot be read.
 */
#define PROBE_HEAD (16ull << 20)
#define PROBE_TAIL (1ull << 20)

static int fill(ovfk_source *s, int fd, uint64_t off, uint64_t end,
                uint8_t *buf, size_t len)
{
    while (off < end) {
        uint64_t n = end - off < len ? end - off : len, pnum = n;
        int st = s->ops->status ? s->ops->status(s->opaque, off, n, &pnum)
                                : 1;
        if (st < 0) {
            return st;
        }
        if (pnum == 0 || pnum > n) {
            pnum = n;
        }
        if (st > 0) {
            int r = s->ops->pread(s->opaque, buf, pnum, off);
            if (r < 0) {
                return r;
            }
            if (pwrite(fd, buf, pnum, (off_t)off) != (ssize_t)pnum) {
                return -errno;
            }
        }
        off += pnum;
    }
    return 0;
}

static int probe_disk(const char *path, char *what, size_t len)
{
    const size_t bufsz = 1u << 20;
    ovfk_source *s = NULL;
    uint8_t *buf = malloc(bufsz);
    blkid_probe pr = NULL;
    int fd = -1, r;

    what[0] = '\0';
    r = buf ? ovfk_open_source(path, NULL, &s) : -ENOMEM;
    if (r == 0) {
        fd = memfd_create("ovfkit-probe", MFD_CLOEXEC);
        r = fd < 0 || ftruncate(fd, (off_t)s->size) < 0 ? -errno : 0;
    }
    if (r == 0) {
        uint64_t head = s->size < PROBE_HEAD ? s->size : PROBE_HEAD;
        uint64_t tail = s->size > head + PROBE_TAIL ? s->size - PROBE_TAIL
                                                    : head;
        r = fill(s, fd, 0, head, buf, bufsz);
        if (r == 0) {
            r = fill(s, fd, tail, s->size, buf, bufsz);
        }
    }
    if (r == 0) {
        const char *v = NULL;
        pr = blkid_new_probe();
        if (!pr || blkid_probe_set_device(pr, fd, 0, (blkid_loff_t)s->size)) {
            r = -EIO;
        } else {
            blkid_probe_enable_superblocks(pr, 1);
            blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
            blkid_probe_enable_partitions(pr, 1);
            r = blkid_do_safeprobe(pr);
            /* 0 found, 1 nothing, -2 several signatures (something) */
            if (r == 0 &&
                blkid_probe_lookup_value(pr, "PTTYPE", &v, NULL) < 0 &&
                blkid_probe_lookup_value(pr, "TYPE", &v, NULL) < 0) {
                v = "a signature";
            }
            snprintf(what, len, "%s", r == -2 ? "several signatures" :
                     v ? v : "");
            r = r == 1 ? 0 : r == 0 || r == -2 ? 1 : -EIO;
        }
    }
    blkid_free_probe(pr);
    if (fd >= 0) {
        close(fd);
    }
    ovfk_source_free(s);
    free(buf);
    return r;
}

/* Any disk with something on it (or that cannot be read: let libguestfs
 * tell)?  Nothing on any: there is no guest to fix. */
static bool disks_blank(const struct ovfk_hv_vm *vm)
{
    for (size_t i = 0; i < vm->n_disks; i++) {
        char what[64];
        if (probe_disk(vm->disks[i].path, what, sizeof(what)) != 0) {
            return false;
        }
    }
    return true;
}

static int add_change(struct ovfk_hv_plan *p,
                      const struct ovfk_sysprep_change *c)
{
    struct ovfk_hv_guest_change *v = realloc(p->guest_changes,
                                        (p->n_guest_changes + 1) *
                                        sizeof(*v));

    if (!v) {
        return -ENOMEM;
    }
    p->guest_changes = v;
    v = &v[p->n_guest_changes++];
    v->kind = hv_strdup(c->kind);
    v->path = hv_strdup(c->path);
    v->old_value = c->old_value ? hv_strdup(c->old_value) : NULL;
    v->new_value = c->new_value ? hv_strdup(c->new_value) : NULL;
    return 0;
}

/*
 * Guest fixups after an import gave new MACs (sysprep's net-mac-pins),
 * each change kept in the plan for the report.  Disks that hold no
 * partition table and no file system (data disks, blank ones) have no
 * guest: the appliance is not started for them.
 */
static void fix_guest(struct job *j)
{
    struct ovfk_hv_plan *p = j->plan;
    struct ovfk_hv_vm *vm = p->vm;
    const char **disks;
    ovfk_sysprep *s = NULL;
    int r;

    if (p->guest != OVFK_HV_GUEST_PLANNED) {
        return;
    }
    if (disks_blank(vm)) {
        p->guest = OVFK_HV_GUEST_BLANK;
        return;
    }
    disks = calloc(vm->n_disks + 1, sizeof(*disks));
    if (!disks) {
        p->guest = OVFK_HV_GUEST_FAILED;
        warn(j, "could not clean the guest's MAC-pinned network settings "
             "(out of memory); the guest may rename its NICs");
        return;
    }
    for (size_t i = 0; i < vm->n_disks; i++) {
        disks[i] = vm->disks[i].path;
    }
    r = ovfk_sysprep_open(disks, vm->n_disks, false, &s);
    if (r == 0) {
        r = ovfk_sysprep_op_net_mac_pins(s, false);
        for (size_t i = 0; i < ovfk_sysprep_change_count(s); i++) {
            if (add_change(p, ovfk_sysprep_change_at(s, i)) < 0) {
                break;
            }
        }
    }
    if (r < 0) {
        p->guest = OVFK_HV_GUEST_FAILED;
        warn(j, "could not clean the guest's MAC-pinned network settings "
             "(%s); the guest may rename its NICs",
             s ? ovfk_sysprep_error(s) : ovfk_last_error());
    } else {
        p->guest = OVFK_HV_GUEST_CLEANED;
    }
    ovfk_sysprep_close(s);
    free(disks);
}

int ovfk_hv_import(ovfk_hv_conn *c, const char *pkg,
                   const struct ovfk_hv_import_opts *o,
                   struct ovfk_hv_plan **planp)
{
    struct job j = { .c = c, .o = o };
    bool planned = false, carried = false;
    ovfk_lock *lock = NULL;
    int r;

    if (planp) {
        *planp = NULL;
    }
    ovfk_err_clear(&c->err);
    r = hv_lock(c, NULL, &lock);          /* identities are checked and */
    if (r == 0) {                         /* taken under one lock       */
        r = make_plan(&j, pkg);
    }
    if (r == 0) {
        planned = true;
        r = plan_space(&j, pkg);
    }
    if (r == 0 && !o->dry_run) {
        carried = true;                    /* it cleans up after itself */
        r = carry_out(&j, pkg);
    }
    if (!carried && j.plan && j.plan->vm && !j.existing &&
        c->drv->discard) {
        c->drv->discard(c, j.plan->vm);    /* planning made directories */
    }
    ovfk_lock_release(lock);
    if (r == 0 && !o->dry_run) {
        fix_guest(&j);
    }
    for (size_t i = 0; j.plan && o->warn && i < j.plan->n_warnings; i++) {
        o->warn(o->opaque, j.plan->warnings[i]);
    }
    ovfk_hv_list_free(j.vms, j.n_vms);
    ovfk_hv_strv_free(j.made, j.n_made);
    ovfk_hv_strv_free(j.pkg_macs, j.n_pkg_macs);
    free(j.desc);
    ovfk_ovf_free(j.doc);
    if (planned && planp) {
        *planp = j.plan;
    } else {
        ovfk_hv_plan_free(j.plan);
    }
    return r;
}

const char *ovfk_hv_guest_fix_name(enum ovfk_hv_guest_fix g)
{
    switch (g) {
    case OVFK_HV_GUEST_KEPT:
        return "kept";
    case OVFK_HV_GUEST_PLANNED:
        return "planned";
    case OVFK_HV_GUEST_BLANK:
        return "blank";
    case OVFK_HV_GUEST_CLEANED:
        return "cleaned";
    case OVFK_HV_GUEST_FAILED:
        return "failed";
    case OVFK_HV_GUEST_NONE:
    default:
        return "none";
    }
}

static json_object *space_json(const struct ovfk_hv_plan *p)
{
    json_object *o = json_object_new_object();

    if (p->space_dir) {
        json_object_object_add(o, "dir", json_object_new_string(p->space_dir));
    }
    json_object_object_add(o, "needed",
                           json_object_new_uint64(p->space_needed));
    json_object_object_add(o, "free", json_object_new_uint64(p->space_free));
    return o;
}

/* "guest": the MAC-pin fixup, and each change it made */
static json_object *guest_json(const struct ovfk_hv_plan *p)
{
    json_object *o = json_object_new_object();
    json_object *changes = json_object_new_array();

    json_object_object_add(o, "operation",
                           json_object_new_string("net-mac-pins"));
    json_object_object_add(
        o, "status", json_object_new_string(ovfk_hv_guest_fix_name(p->guest)));
    for (size_t i = 0; i < p->n_guest_changes; i++) {
        const struct ovfk_hv_guest_change *c = &p->guest_changes[i];
        json_object *e = json_object_new_object();
        json_object_object_add(e, "kind", json_object_new_string(c->kind));
        json_object_object_add(e, "path", json_object_new_string(c->path));
        json_object_object_add(e, "old", c->old_value ?
                               json_object_new_string(c->old_value) : NULL);
        json_object_object_add(e, "new", c->new_value ?
                               json_object_new_string(c->new_value) : NULL);
        json_object_array_add(changes, e);
    }
    json_object_object_add(o, "changes", changes);
    return o;
}

char *ovfk_hv_plan_to_json(const struct ovfk_hv_plan *p)
{
    json_object *o, *vm, *disks = json_object_new_array();
    json_object *warnings = json_object_new_array();
    char *text = ovfk_hv_vm_to_json(p->vm, false), *out;

    vm = text ? json_tokener_parse(text) : NULL;
    free(text);
    o = json_object_new_object();
    json_object_object_add(o, "vm", vm);
    json_object_object_add(o, "replaces", json_object_new_boolean(p->replaces));
    for (size_t i = 0; i < p->n_disks; i++) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "id", json_object_new_string(p->disks[i].id));
        json_object_object_add(d, "action",
                               json_object_new_string(p->disks[i].action));
        if (p->disks[i].source) {
            json_object_object_add(d, "source",
                                   json_object_new_string(p->disks[i].source));
        }
        if (p->disks[i].target) {
            json_object_object_add(d, "target",
                                   json_object_new_string(p->disks[i].target));
        }
        json_object_object_add(d, "capacity",
                               json_object_new_uint64(p->disks[i].capacity));
        json_object_object_add(d, "space",
                               json_object_new_uint64(p->disks[i].space));
        json_object_array_add(disks, d);
    }
    json_object_object_add(o, "space", space_json(p));
    json_object_object_add(o, "guest", guest_json(p));
    for (size_t i = 0; i < p->n_warnings; i++) {
        json_object_array_add(warnings,
                              json_object_new_string(p->warnings[i]));
    }
    json_object_object_add(o, "disks", disks);
    json_object_object_add(o, "warnings", warnings);
    out = hv_strdup(json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
               JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return out;
}

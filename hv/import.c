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
 * limits, disk targets) -> refuse before writing anything -> extract the
 * package beside the target disks (verifying its manifest) -> put the
 * disks in place under fresh names -> define the VM (or swap the
 * definition) -> only then remove a replaced VM's old disks.  A failure
 * before the definition removes every disk made; the inventory is as it
 * was.
 */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv/internal.h"
#include "ovfkit/convert.h"
#include "ovfkit/vhd.h"
#include "ovfkit/sysprep.h"

struct job {
    hv_conn *c;
    const struct hv_import_opts *o;
    ovf_doc *doc;
    const struct ovf_system *sys;
    struct hv_plan *plan;
    struct hv_vm **vms;
    size_t n_vms;
    struct hv_vm *existing;     /* restore: the VM being replaced */
    char **made;                /* disks created, removed on failure */
    size_t n_made;
};

void hv_plan_free(struct hv_plan *p)
{
    if (!p) {
        return;
    }
    hv_vm_free(p->vm);
    for (size_t i = 0; i < p->n_disks; i++) {
        free(p->disks[i].id);
        free(p->disks[i].source);
        free(p->disks[i].target);
    }
    free(p->disks);
    hv_strv_free(p->warnings, p->n_warnings);
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

/* Identity: import gets a fresh one, restore keeps the package's. */
static int identity(struct job *j)
{
    struct hv_vm *vm = j->plan->vm;
    const char **macs = calloc(vm->n_nics + 1, sizeof(*macs));
    char u[37];
    int r = 0;

    if (!macs) {
        return fail(j, -ENOMEM, "out of memory");
    }
    if (j->o->mode == HV_IMPORT) {
        bool clash;
        do {
            hv_uuid_generate(vm->uuid);
            clash = false;
            for (size_t i = 0; i < j->n_vms; i++) {
                clash |= !memcmp(j->vms[i]->uuid, vm->uuid, 16);
            }
        } while (clash);
    } else {
        static const uint8_t zero[16];
        if (!memcmp(vm->uuid, zero, 16)) {
            free(macs);
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
            hv_uuid_str(j->vms[i]->uuid, u);
            r = fail(j, -EEXIST, "a VM named '%s' already exists (%s); "
                     "choose another name with --name", vm->name, u);
        }
    }
    for (size_t i = 0; r == 0 && i < vm->n_nics; i++) {
        struct hv_nic *n = &vm->nics[i];
        const struct hv_vm *owner;
        if (j->o->mode == HV_IMPORT || !n->mac[0]) {
            if (j->o->mode == HV_RESTORE) {
                warn(j, "NIC %zu has no MAC in the package; it gets a new "
                     "one", i + 1);
            }
            r = hv_mac_next(j->c, j->vms, j->n_vms, macs, i, n->mac);
        } else if ((owner = hv_mac_owner(j->vms, j->n_vms, n->mac,
                                         vm->uuid))) {
            r = fail(j, -EEXIST, "MAC %s of NIC %zu belongs to VM '%s'; "
                     "restore keeps MACs, so remove or change that VM, or "
                     "use 'ovfkit import' for new ones", n->mac, i + 1,
                     owner->name);
        }
        for (size_t k = 0; r == 0 && k < i; k++) {
            if (!strcmp(macs[k], n->mac)) {
                r = fail(j, -EEXIST, "MAC %s appears on two NICs", n->mac);
            }
        }
        macs[i] = n->mac;
    }
    free(macs);
    return r;
}

/* Every NIC's network must exist on the target, after --network maps. */
static int networks(struct job *j)
{
    struct hv_vm *vm = j->plan->vm;
    char **have = NULL, avail[512] = "";
    size_t n = 0;
    int r = hv_networks(j->c, &have, &n);

    for (size_t i = 0; i < n; i++) {
        if (strlen(avail) + strlen(have[i]) + 3 < sizeof(avail)) {
            strcat(avail, i ? ", " : "");
            strcat(avail, have[i]);
        }
    }
    for (size_t i = 0; r == 0 && i < vm->n_nics; i++) {
        struct hv_nic *nic = &vm->nics[i];
        for (size_t m = 0; m < j->o->n_networks; m++) {
            if (!strcmp(j->o->networks[m].from, nic->network)) {
                free(nic->network);
                nic->network = strdup(j->o->networks[m].to);
                break;
            }
        }
        if (!listed((const char *const *)have, n, nic->network)) {
            r = fail(j, -ENOENT, "network '%s' does not exist on the target; "
                     "map it with --network '%s'=NAME (available: %s)",
                     nic->network, nic->network, avail[0] ? avail : "none");
        }
    }
    hv_strv_free(have, n);
    return r;
}

/* Every limit problem is named, not just the first. */
static void limit_error(void *opaque, const char *msg)
{
    struct job *j = opaque;

    if (!j->c->err.code) {
        fail(j, -EINVAL, "%s", msg);
    } else {
        ovfk_err_prefix(&j->c->err, "%s", msg);
    }
}

static void limit_warn(void *opaque, const char *msg)
{
    warn(opaque, "%s", msg);
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
            taken = !strcmp(j->plan->disks[i].target, path);
        }
        if (!taken) {
            return strdup(path);
        }
    }
    return NULL;
}

static int plan_disks(struct job *j)
{
    struct hv_vm *vm = j->plan->vm;
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
    j->plan->disks = calloc(vm->n_disks + 1, sizeof(*j->plan->disks));
    if (!j->plan->disks) {
        return fail(j, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < vm->n_disks; i++) {
        struct hv_disk *d = &vm->disks[i];
        struct hv_plan_disk *p = &j->plan->disks[j->plan->n_disks++];
        const struct ovf_disk *k = ovf_find_disk(j->doc, d->id);
        const struct ovf_file *f = k ? ovf_find_file(j->doc, k->file_ref)
                                     : NULL;
        p->id = strdup(d->id);
        p->capacity = d->capacity;
        if (listed(j->o->skip_disks, j->o->n_skip, d->id)) {
            p->action = "skip";
            continue;
        }
        p->action = f && !listed(j->o->empty_disks, j->o->n_empty, d->id) ?
                    "restore" : "empty";
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
            struct hv_disk t = vm->disks[keep];
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
    const struct hv_import_opts *o = j->o;
    char *buf = NULL, *name = NULL, **w = NULL;
    size_t len, nw = 0;
    int r;

    r = ova_load_descriptor(pkg, &buf, &len, &name);
    if (r == 0) {
        r = ovf_parse_memory(buf, len, name, &j->doc);
    }
    free(buf);
    free(name);
    if (r < 0) {
        return fail(j, r, "%s", ovfk_last_error());
    }
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
    hv_strv_free(w, nw);
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
    r = hv_list(j->c, &j->vms, &j->n_vms);
    if (r == 0) {
        r = identity(j);
    }
    if (r == 0) {
        r = networks(j);
    }
    if (r == 0 && hv_vm_check_limits(j->plan->vm, o->max_cpus ?
                                     o->max_cpus : j->c->max_cpus,
                                     limit_error, limit_warn, j) > 0) {
        r = j->c->err.code;
    }
    if (r == 0) {
        r = plan_disks(j);
    }
    return r;
}

/* Put one disk in place: move the package's VHD, or convert to VHD. */
static int place_disk(struct job *j, ova_pkg *pkg, struct hv_plan_disk *p,
                      struct hv_disk *d)
{
    const struct ovf_disk *k = ovf_find_disk(j->doc, p->id);
    const char *src;
    bool movable = false;
    vhd_t *h;
    int r;

    if (!strcmp(p->action, "empty")) {
        struct vhd_create_opts co = { .type = VHD_TYPE_DYNAMIC,
                                      .size = p->capacity };
        r = vhd_create(p->target, &co, NULL);
        if (r < 0) {
            return fail(j, r, "%s", ovfk_last_error());
        }
        d->capacity = p->capacity;
        return 0;
    }
    src = ova_pkg_file(pkg, k ? k->file_ref : NULL, &movable);
    if (!src) {
        return fail(j, -ENOENT, "the package lacks the file of disk '%s'",
                    p->id);
    }
    /* A standalone VHD we extracted moves into place; anything else (a
     * file of the user's package directory, a chain, another format) is
     * copied as a new VHD, which also checks it can be read. */
    if (movable && vhd_probe(src) &&
        vhd_open(src, VHD_OPEN_NO_PARENT, &h) == 0) {
        bool standalone = vhd_type(h) != VHD_TYPE_DIFF;
        d->capacity = vhd_size(h);
        vhd_close(h);
        if (standalone && rename(src, p->target) == 0) {
            return 0;
        }
    }
    {
        struct vhd_convert_opts co = { .type = VHD_OUT_DYNAMIC,
                                       .progress = j->o->progress,
                                       .opaque = j->o->opaque };
        ovfk_source *s;
        r = ovfk_open_source(src, hv_ovf_disk_format(k ? k->format : NULL),
                             &s);
        if (r == 0) {
            d->capacity = s->size;
            r = vhd_convert(s, p->target, &co);
            ovfk_source_free(s);
        }
        if (r < 0) {
            return fail(j, r, "disk '%s': %s", p->id, ovfk_last_error());
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
    struct hv_vm *vm = j->plan->vm;
    const char **skip = calloc(j->plan->n_disks + 1, sizeof(*skip));
    struct ova_open_opts po = { .verify = true, .progress = j->o->progress,
                                .opaque = j->o->opaque };
    char workdir[PATH_MAX];
    ova_pkg *p = NULL;
    size_t ns = 0, di = 0;
    int lock = -1, r = 0;

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
        r = j->c->drv->lock(j->c, j->existing->uuid, &lock);
        if (r == 0 && hv_is_running(j->c, j->existing) > 0) {
            r = fail(j, -EBUSY, "VM '%s' is running; stop it before "
                     "restoring over it", j->existing->name);
        }
    }
    for (size_t i = 0; i < j->plan->n_disks; i++) {
        const struct ovf_disk *k = ovf_find_disk(j->doc,
                                                 j->plan->disks[i].id);
        if (strcmp(j->plan->disks[i].action, "restore") && k &&
            k->file_ref) {
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
        r = ova_pkg_open(pkg, &po, &p);
        if (r < 0) {
            fail(j, r, "%s", ovfk_last_error());
        }
    }
    for (size_t i = 0; r == 0 && i < j->plan->n_disks; i++) {
        struct hv_plan_disk *pd = &j->plan->disks[i];
        if (!strcmp(pd->action, "skip")) {
            continue;
        }
        r = place_disk(j, p, pd, &vm->disks[di++]);
        if (r == 0) {
            vm->disks[di - 1].owned = true;     /* made for this VM */
            hv_strv_add(&j->made, &j->n_made, pd->target);
        }
    }
    ova_pkg_free(p);
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
        /* the old definition is gone: its disks go too */
        for (size_t i = 0; i < j->existing->n_disks; i++) {
            const char *old = j->existing->disks[i].path;
            if (old && !listed((const char *const *)j->made, j->n_made, old)) {
                unlink(old);
            }
        }
    }
    if (lock >= 0) {
        j->c->drv->unlock(j->c, lock);
    }
    free(skip);
    return r;
}

/* Guest fixups after an import gave new MACs (sysprep's net-mac-pins). */
static void fix_guest(struct job *j)
{
    struct hv_vm *vm = j->plan->vm;
    const char **disks;

    if (j->o->mode != HV_IMPORT || j->o->keep_guest_config ||
        vm->n_nics == 0 || vm->n_disks == 0) {
        return;
    }
    disks = calloc(vm->n_disks + 1, sizeof(*disks));
    if (!disks) {
        return;
    }
    for (size_t i = 0; i < vm->n_disks; i++) {
        disks[i] = vm->disks[i].path;
    }
    if (sysprep_mac_pins(disks, vm->n_disks) < 0) {
        warn(j, "could not clean the guest's MAC-pinned network settings "
             "(%s); the guest may rename its NICs", ovfk_last_error());
    }
    free(disks);
}

int hv_import(hv_conn *c, const char *pkg, const struct hv_import_opts *o,
              struct hv_plan **planp)
{
    struct job j = { .c = c, .o = o };
    int lock = -1, r;

    if (planp) {
        *planp = NULL;
    }
    ovfk_err_clear(&c->err);
    r = c->drv->lock(c, NULL, &lock);     /* identities are checked and */
    if (r == 0) {                         /* taken under one lock       */
        r = make_plan(&j, pkg);
    }
    if (r == 0 && !o->dry_run) {
        r = carry_out(&j, pkg);
    }
    if (o->dry_run && j.plan && j.plan->vm && !j.existing &&
        c->drv->discard) {
        c->drv->discard(c, j.plan->vm);    /* planning made directories */
    }
    c->drv->unlock(c, lock);
    if (r == 0 && !o->dry_run) {
        fix_guest(&j);
    }
    for (size_t i = 0; j.plan && o->warn && i < j.plan->n_warnings; i++) {
        o->warn(o->opaque, j.plan->warnings[i]);
    }
    hv_list_free(j.vms, j.n_vms);
    hv_strv_free(j.made, j.n_made);
    ovf_free(j.doc);
    if (r == 0 && planp) {
        *planp = j.plan;
    } else {
        hv_plan_free(j.plan);
    }
    return r;
}

char *hv_plan_to_json(const struct hv_plan *p)
{
    json_object *o, *vm, *disks = json_object_new_array();
    json_object *warnings = json_object_new_array();
    char *text = hv_vm_to_json(p->vm, false), *out;

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
        json_object_array_add(disks, d);
    }
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

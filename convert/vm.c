/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert/vm.c - the P2V / V2V flow (DESIGN.md section 4):
 *
 *   sources -> a VM model -> [VHDs staged, guest fixed up] -> OVF + VHDs
 *                                                           -> [import]
 *
 * The model comes from the source's own description (an OVF package, a
 * .vmx, a libvirt domain XML) or, for bare disks and block devices, from
 * options; options override it.  Without fixups each source disk streams
 * once, straight into the package (ovfk_hv_export_model).  With --p2v or
 * --v2v the disks are first converted to VHDs in a staging directory
 * beside the target, the catalog's services are disabled in the guest
 * through libguestfs (the sources are never written), and the package is
 * made from the staged VHDs; the sysprep report is kept beside the
 * package.  Nothing appears under the target name until it is complete;
 * the staging directory goes in every case.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "convert/vmsrc.h"
#include "ovfkit/convert.h"
#include "ovfkit/ova.h"
#include "ovfkit/sysprep.h"
#include "ovfkit/vhd.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/io.h"

static bool ends_with(const char *s, const char *e)
{
    size_t n = strlen(s), m = strlen(e);

    return n >= m && !strcasecmp(s + n - m, e);
}

static void rm_tree(const char *dir)
{
    if (dir[0]) {
        ovfk_rm_tree(dir);
    }
}

/* What kind of description the first source is. */
enum src_kind { SRC_DISKS, SRC_PACKAGE, SRC_VMX, SRC_DOMXML };

static enum src_kind kind_of(const char *path)
{
    char head[256] = "";

    if (ends_with(path, ".ova") || ends_with(path, ".ovf") ||
        ovfk_ova_is_archive(path)) {
        return SRC_PACKAGE;
    }
    if (ends_with(path, ".vmx")) {
        return SRC_VMX;
    }
    if (ovfk_read_head(path, head, sizeof(head) - 1) == 0 ||
        ovfk_read_head(path, head, 16) == 0) {
        const char *p = head + strspn(head, " \t\r\n");
        if (!strncmp(p, "<domain", 7)) {
            return SRC_DOMXML;
        }
        if (!strncmp(p, "<?xml", 5) && strstr(p, "<domain")) {
            return SRC_DOMXML;
        }
    }
    return SRC_DISKS;
}

/* A name the inventories accept: [A-Za-z0-9_], at most 50. */
static char *clean_name(const char *from)
{
    char buf[51];
    size_t n = 0;

    for (const char *p = from; *p && n < 50; p++) {
        buf[n++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') ? *p : '_';
    }
    buf[n] = '\0';
    if (n == 0 || strspn(buf, "0123456789_") == n) {
        snprintf(buf, sizeof(buf), "vm_%.40s", from[0] ? from : "disk");
    }
    return strdup(buf);
}

static int from_disks(const char *const *srcs, size_t n, const char *format,
                      struct ovfk_hv_vm **out)
{
    struct ovfk_hv_vm *vm = ovfk_hv_vm_new();
    char base[PATH_MAX], *dot;

    if (!vm) {
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    snprintf(base, sizeof(base), "%s", srcs[0]);
    {
        char *part_ = basename(base);
        memmove(base, part_, strlen(part_) + 1);  /* overlaps */
    }
    dot = strchr(base, '.');
    if (dot && dot != base) {
        *dot = '\0';
    }
    vm->name = clean_name(base);
    vm->cpus = 1;
    vm->memory_mib = 1024;
    vm->firmware = strdup("bios");
    for (size_t i = 0; i < n; i++) {
        struct ovfk_hv_disk *d = ovfk_hv_vm_add_disk(vm);
        char id[32];
        if (!d) {
            ovfk_hv_vm_free(vm);
            return ovfk_err_last(-ENOMEM, "out of memory");
        }
        d->path = strdup(srcs[i]);
        d->format = format ? strdup(format) : NULL;
        snprintf(id, sizeof(id), "vmdisk%zu", i + 1);
        d->id = strdup(id);
        d->bus = strdup("virtio");
        d->boot_order = i == 0;
    }
    *out = vm;
    return 0;
}

/* An OVF package: its model, with each disk read from the package's
 * files (extracted under work): a disk the descriptor declares VHD must
 * be one; the others (streamOptimized VMDK, ...) are probed. */
static int from_package(const char *src, const char *work, ovfk_ova_pkg **pkgp,
                        struct ovfk_hv_vm **out)
{
    struct ovfk_ova_open_opts po = { .workdir = work, .verify = true };
    int r = ovfk_ova_pkg_open(src, &po, pkgp);

    if (r < 0) {
        return r;
    }
    r = ovfk_hv_vm_from_package(*pkgp, NULL, out);
    if (r < 0) {
        return ovfk_err_last(r, "'%s': %s", src, ovfk_last_error());
    }
    return 0;
}

/* Options override what the source says. */
static int apply(const struct ovfk_convert_opts *o, struct ovfk_hv_vm *vm)
{
    if (o->name) {
        free(vm->name);
        vm->name = strdup(o->name);
    } else {
        char *c = clean_name(vm->name ? vm->name : "vm");
        free(vm->name);
        vm->name = c;
    }
    if (o->cpus) {
        vm->cpus = o->cpus;
    }
    if (o->memory_mib) {
        vm->memory_mib = o->memory_mib;
    }
    if (o->os_type) {
        free(vm->os_type);
        vm->os_type = strdup(o->os_type);
    }
    if (o->n_nics) {
        for (size_t i = 0; i < vm->n_nics; i++) {
            free(vm->nics[i].network);
            free(vm->nics[i].model);
        }
        vm->n_nics = 0;
        for (size_t i = 0; i < o->n_nics; i++) {
            struct ovfk_hv_nic *n = ovfk_hv_vm_add_nic(vm);
            if (!n) {
                return -ENOMEM;
            }
            n->network = strdup(o->nics[i]);
            n->model = strdup("virtio");
        }
    }
    for (size_t i = 0; i < vm->n_disks; i++) {
        ovfk_source *s;
        int r = ovfk_open_source(vm->disks[i].path, vm->disks[i].format, &s);
        if (r < 0) {
            return ovfk_err_last(r, "disk %zu ('%s'): %s", i + 1,
                                 vm->disks[i].path, ovfk_last_error());
        }
        vm->disks[i].capacity = s->size;
        if (!vm->disks[i].format) {
            vm->disks[i].format = strdup(s->format);
        }
        ovfk_source_free(s);
    }
    if (!vm->memory_mib) {
        vm->memory_mib = 1024;
    }
    if (!vm->cpus) {
        vm->cpus = 1;
    }
    return 0;
}

/* Stage VHDs, fix the guest up, point the model at the staged disks. */
static bool uuid_is_null(const uint8_t u[16])
{
    static const uint8_t zero[16];

    return memcmp(u, zero, 16) == 0;
}

/* A distribution's names, as inspection spells it and as producers write
 * it in their OS types ("rhel8_64Guest", "RedHat_64", "sles15"). */
static const struct {
    const char *distro;
    const char *names[4];
} distros[] = {
    { "debian", { "debian" } },
    { "ubuntu", { "ubuntu" } },
    { "rhel", { "rhel", "redhat", "red hat" } },
    { "centos", { "centos" } },
    { "fedora", { "fedora" } },
    { "sles", { "sles", "suse" } },
    { "opensuse", { "opensuse", "suse" } },
    { "oraclelinux", { "oracle" } },
    { "archlinux", { "arch" } },
};

/* Does the declared OS type name another OS than the one found?  Only
 * what the text says plainly counts: "windows" against a Linux guest, or
 * a distribution other than the one inspection found. */
static bool os_disagrees(const char *declared, const struct ovfk_sysprep_os *os)
{
    bool says_win = strcasestr(declared, "win") != NULL;
    bool named = false, same = false;

    if (os->type && strcmp(os->type, "windows") == 0) {
        return !says_win && (strcasestr(declared, "linux") ||
                             strcasestr(declared, "solaris") ||
                             strcasestr(declared, "bsd"));
    }
    if (says_win) {
        return true;
    }
    for (size_t i = 0; i < sizeof(distros) / sizeof(distros[0]); i++) {
        for (size_t j = 0; j < 4 && distros[i].names[j]; j++) {
            if (strcasestr(declared, distros[i].names[j])) {
                named = true;
                same |= os->distro && !strcmp(os->distro, distros[i].distro);
            }
        }
    }
    return named && !same;
}

/*
 * What inspection found goes beside the declared OS type, never over it
 * (the VMware Converter bug users remember: "Windows 2000 Server" became
 * "Advanced Server").  Only a source that declares nothing (a bare disk)
 * takes inspection's finding as its type.
 */
static int os_found(const struct ovfk_convert_opts *o, struct ovfk_hv_vm *vm,
                    const struct ovfk_sysprep_os *os)
{
    const char *colon = vm->os_vendor ? strchr(vm->os_vendor, ':') : NULL;
    const char *declared = vm->os_type ? vm->os_type
                           : colon ? colon + 1 : vm->os_vendor;
    const char *distro = os->distro ? os->distro : "unknown";
    char found[256];

    if (os->product && strcasestr(os->product, distro)) {
        snprintf(found, sizeof(found), "%s", os->product);
    } else {
        snprintf(found, sizeof(found), "%s%s%s", distro,
                 os->product ? " " : "", os->product ? os->product : "");
    }
    if (o->os_found && !(*o->os_found = strdup(found))) {
        return -ENOMEM;
    }
    if (o->os_mismatch) {
        *o->os_mismatch = declared && os_disagrees(declared, os);
    }
    if (!declared && vm->os_id == 0) {
        vm->os_type = strdup(found);
        return vm->os_type ? 0 : -ENOMEM;
    }
    return 0;
}

static int fixup(const struct ovfk_convert_opts *o, const char *stage,
                 struct ovfk_hv_vm *vm, const char *report)
{
    const char *section = o->mode == OVFK_CONVERT_P2V ? "p2v" : "v2v";
    struct ovfk_sysprep_services set = { 0 };
    const char **paths = calloc(vm->n_disks + 1, sizeof(*paths));
    char **origin = calloc(vm->n_disks + 1, sizeof(*origin));
    ovfk_sysprep *s = NULL;
    int r = paths && origin ? 0 : ovfk_err_last(-ENOMEM, "out of memory");
    int rw;

    for (size_t i = 0; r == 0 && i < vm->n_disks; i++) {
        struct ovfk_hv_disk *d = &vm->disks[i];
        struct ovfk_vhd_convert_opts co = { .type = o->fixed
                                                        ? OVFK_VHD_OUT_FIXED
                                                        : OVFK_VHD_OUT_DYNAMIC,
                                            .progress = o->progress,
                                            .opaque = o->opaque };
        char path[PATH_MAX];
        ovfk_source *src;
        snprintf(path, sizeof(path), "%s/%s-disk%zu.vhd", stage, vm->name,
                 i + 1);
        r = ovfk_open_source(d->path, d->format, &src);
        if (r == 0) {
            r = ovfk_vhd_convert(src, path, &co);
            ovfk_source_free(src);
        }
        if (r < 0) {
            r = ovfk_err_last(r, "disk %zu ('%s'): %s", i + 1, d->path,
                              ovfk_last_error());
            break;
        }
        origin[i] = d->path;    /* the user's name for the disk */
        d->path = strdup(path);
        free(d->format);
        d->format = strdup("vhd");
        paths[i] = d->path;
    }
    if (r == 0) {
        r = ovfk_sysprep_services_resolve(&section, 1, o->catalog, &set);
    }
    if (r == 0) {
        r = ovfk_sysprep_open(paths, vm->n_disks, false, &s);
    }
    if (r == 0) {
        if (ovfk_sysprep_os_count(s) == 0) {
            r = ovfk_err_last(-ENOENT, "no operating system found on the "
                              "disks: nothing to fix up (convert without "
                              "--%s to take them as they are)", section);
        } else {
            r = os_found(o, vm, ovfk_sysprep_os_at(s, 0));
        }
        if (r == 0) {
            r = ovfk_sysprep_op_disable_services(s, &set, false);
            if (r < 0) {
                ovfk_err_last(r, "%s", ovfk_sysprep_error(s));
            } else {
                r = ovfk_cv_choose_bus(o, s, vm,
                                       (const char *const *)origin);
            }
        }
        rw = ovfk_sysprep_report_write(s, paths, vm->n_disks, false, report);
        if (rw < 0 && r == 0) {
            r = ovfk_err_last(rw, "%s", ovfk_sysprep_error(s));
        }
        if (o->changes) {
            *o->changes = ovfk_sysprep_change_count(s);
        }
        ovfk_sysprep_close(s);
    }
    ovfk_sysprep_services_free(&set);
    for (size_t i = 0; origin && i < vm->n_disks; i++) {
        free(origin[i]);
    }
    free(origin);
    free(paths);
    return r;
}

int ovfk_convert_vm(const char *const *srcs, size_t n,
                    const struct ovfk_convert_opts *o,
                    struct ovfk_hv_vm **model)
{
    enum src_kind kind = n ? kind_of(srcs[0]) : SRC_DISKS;
    struct ovfk_hv_export_opts eo = { .to = o->to, .digest = o->digest,
                                 .fixed = o->fixed,
                                 .progress = o->progress,
                                 .opaque = o->opaque,
                                 .package = o->package };
    char stage[PATH_MAX] = "", work[PATH_MAX + 16], dir[PATH_MAX];
    char report[PATH_MAX + 32];
    ovfk_ova_pkg *pkg = NULL;
    struct ovfk_hv_vm *vm = NULL;
    int r = 0;

    if (model) {
        *model = NULL;
    }
    if (n == 0 || !o->to) {
        return ovfk_err_last(-EINVAL, "nothing to convert, or no target");
    }
    if (kind != SRC_DISKS && n > 1) {
        return ovfk_err_last(-EINVAL, "'%s' describes a whole VM: give it "
                             "alone", srcs[0]);
    }
    if (kind != SRC_DISKS && o->format) {
        return ovfk_err_last(-EINVAL, "'%s' describes a whole VM: the "
                             "format %s applies to disk images", srcs[0],
                             o->format);
    }
    if (access(o->to, F_OK) == 0) {
        return ovfk_err_last(-EEXIST, "'%s' already exists", o->to);
    }
    /* staging: beside the target, on its file system */
    snprintf(dir, sizeof(dir), "%s", o->to);
    snprintf(stage, sizeof(stage), "%s/.ovfkit-convert-XXXXXX", dirname(dir));
    if (!mkdtemp(stage)) {
        stage[0] = '\0';
        return ovfk_err_last(-errno, "cannot make a staging directory beside "
                             "'%s': %s", o->to, ovfk_errtext(-errno));
    }
    snprintf(work, sizeof(work), "%s", stage);
    switch (kind) {
    case SRC_PACKAGE:
        r = from_package(srcs[0], work, &pkg, &vm);
        break;
    case SRC_VMX:
        r = ovfk_vm_from_vmx(srcs[0], &vm);
        break;
    case SRC_DOMXML:
        r = ovfk_vm_from_domxml(srcs[0], &vm);
        break;
    default:
        r = from_disks(srcs, n, o->format, &vm);
    }
    if (r == 0 && uuid_is_null(vm->uuid)) {
        /* the source has no real UUID ("app01", a bare disk): a new one,
         * never the all-zero UUID every such conversion would share */
        ovfk_hv_uuid_generate(vm->uuid);
    }
    if (r == 0) {
        r = apply(o, vm);
    }
    if (r == 0 && o->mode != OVFK_CONVERT_PLAIN) {
        /* the report stays beside the package: --undo needs it */
        snprintf(report, sizeof(report), "%s", o->report ? o->report : "");
        if (!o->report) {
            snprintf(report, sizeof(report), "%s.sysprep.json", o->to);
        }
        r = fixup(o, stage, vm, report);
    }
    if (r == 0) {
        r = ovfk_hv_export_model(vm, &eo);
    }
    ovfk_ova_pkg_free(pkg);
    rm_tree(stage);
    if (r == 0 && model) {
        *model = vm;
    } else {
        ovfk_hv_vm_free(vm);
    }
    return r;
}

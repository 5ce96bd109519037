/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/cmd_convert.c - `ovfkit convert`: physical servers (disks, block
 * devices, their dd / G4L images) and foreign VMs (OVA/OVF, .vmx, libvirt
 * domain XML; VMDK, VHDX, qcow2, raw, VHD disks) into an OVF package of
 * VHDs, optionally with the guest fixed up (--p2v, --v2v) and imported.
 *
 * Exit codes: 0 done, 1 failed (no package left behind), 64 usage error.
 */
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/export_opts.h"
#include "ovfkit/convert.h"
#include "ovfkit/hv.h"

#define SYN_CONVERT "ovfkit convert SRC... --to DIR|FILE.ova [--name N] " \
    "[--p2v|--v2v] [--os-type T] [--cpus N]\n" \
    "       [--max-cpus N] [--memory MIB] [--nic NETWORK]... " \
    "[-f FORMAT] [--catalog FILE.json] " \
    "[--report FILE.json]\n" \
    "       " CLI_PACKAGING_SYN "\n" \
    "       [--import [--store DIR|--connect URI] [--keep-guest-config]]\n" \
    "       [--bus virtio|scsi|sata|ide] [--no-driver-changes] " \
    "[--virtio-win DIR]"

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

/* What the command line asks for. */
struct convert_args {
    struct ovfk_convert_opts o;
    const char *nics[16];
    bool import;            /* --import */
    bool keep;              /* --keep-guest-config */
    const char *cpus;       /* checked once --max-cpus is known */
    uint32_t max_cpus;
    size_t changes;         /* out of the conversion */
    char *os_found;         /* out: what inspection found, or NULL */
    bool os_mismatch;       /* out: it is not what the source declares */
};

/* parse_args() printed the help: exit 0 */
#define CONVERT_HELP (-1)

/* One of convert's own options into a: 0, 1 when ch is none of them
 * (the shared packaging options, or invalid), or EXIT_USAGE (printed). */
static int take_convert_opt(int ch, const char *arg, struct convert_args *a)
{
    struct ovfk_convert_opts *o = &a->o;

    switch (ch) {
    case 't':
        o->to = arg;
        return 0;
    case 'n':
        o->name = arg;
        return 0;
    case 'P':
    case 'V':
        if (o->mode != OVFK_CONVERT_PLAIN) {
            return cli_usage(SYN_CONVERT, "--p2v and --v2v exclude each "
                             "other");
        }
        o->mode = ch == 'P' ? OVFK_CONVERT_P2V : OVFK_CONVERT_V2V;
        return 0;
    case 'o':
        o->os_type = arg;
        return 0;
    case 'c':
        a->cpus = arg;
        return 0;
    case 'M':
        if (cli_max_cpus(SYN_CONVERT, arg, &a->max_cpus)) {
            return EXIT_USAGE;
        }
        return 0;
    case 'm':
        if (cli_memory(SYN_CONVERT, arg, &o->memory_mib)) {
            return EXIT_USAGE;
        }
        return 0;
    case 'f':
        o->format = arg;
        return 0;
    case 'N':
        if (o->n_nics == 16) {
            return cli_usage(SYN_CONVERT, "at most 16 --nic");
        }
        a->nics[o->n_nics++] = arg;
        return 0;
    case 'C':
        o->catalog = arg;
        return 0;
    case 'r':
        o->report = arg;
        return 0;
    case 'i':
        a->import = true;
        return 0;
    case 's':
        g.store = arg;
        return 0;
    case 'u':
        g.connect = arg;
        return 0;
    case 'k':
        a->keep = true;
        return 0;
    case 'j':
        g.json = true;
        return 0;
    case 'B':
        if (strcmp(arg, "virtio") && strcmp(arg, "scsi") &&
            strcmp(arg, "sata") && strcmp(arg, "ide")) {
            return cli_usage(SYN_CONVERT, "--bus: virtio, scsi, sata or ide");
        }
        o->bus = arg;
        return 0;
    case 'D':
        o->no_driver_changes = true;
        return 0;
    case 'W':
        o->virtio_win = arg;
        return 0;
    default:
        return 1;
    }
}

/* Options and operands into a: 0, CONVERT_HELP, or EXIT_USAGE (printed).
 * a->o.nics and a->o.changes point into a. */
static int parse_args(int argc, char **argv, struct convert_args *a)
{
    static const struct option own[] = {
        { "to", required_argument, NULL, 't' },
        { "name", required_argument, NULL, 'n' },
        { "p2v", no_argument, NULL, 'P' },
        { "v2v", no_argument, NULL, 'V' },
        { "os-type", required_argument, NULL, 'o' },
        { "cpus", required_argument, NULL, 'c' },
        { "memory", required_argument, NULL, 'm' },
        { "max-cpus", required_argument, NULL, 'M' },
        { "format", required_argument, NULL, 'f' },
        { "nic", required_argument, NULL, 'N' },
        { "catalog", required_argument, NULL, 'C' },
        { "report", required_argument, NULL, 'r' },
        { "import", no_argument, NULL, 'i' },
        { "store", required_argument, NULL, 's' },
        { "connect", required_argument, NULL, 'u' },
        { "keep-guest-config", no_argument, NULL, 'k' },
        { "json", no_argument, NULL, 'j' },
        { "bus", required_argument, NULL, 'B' },
        { "no-driver-changes", no_argument, NULL, 'D' },
        { "virtio-win", required_argument, NULL, 'W' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct option opts[32];
    struct ovfk_hv_export_opts pkg = { 0 };
    struct ovfk_convert_opts *o = &a->o;
    int ch, r;

    if (cli_export_options(CLI_EXP_PACKAGING, own, opts, 32) < 0) {
        return cli_error("convert: option table too small");
    }
    optind = 0;
    o->nics = a->nics;
    o->changes = &a->changes;
    o->os_found = &a->os_found;
    o->os_mismatch = &a->os_mismatch;
    while ((ch = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
        if (ch == 'h') {
            printf("usage: %s\n", SYN_CONVERT);
            cli_export_help(CLI_EXP_PACKAGING);
            return CONVERT_HELP;
        }
        r = take_convert_opt(ch, optarg, a);
        if (r == 1) {
            /* --digest and --fixed: the shared table's packaging options */
            r = cli_export_opt(SYN_CONVERT, ch, optarg, &pkg);
        }
        if (r) {
            return r == 1 ? cli_usage(SYN_CONVERT, "invalid option") : r;
        }
    }
    o->digest = pkg.digest;
    o->fixed = pkg.fixed;
    if (cli_cpus(SYN_CONVERT, a->cpus, a->max_cpus, &o->cpus)) {
        return EXIT_USAGE;
    }
    if (argc - optind < 1 || (!o->to && !a->import)) {
        return cli_usage(SYN_CONVERT, "expected sources and --to (or "
                         "--import)");
    }
    if (g.store && g.connect) {
        return cli_usage(SYN_CONVERT, "--store and --connect exclude each "
                         "other");
    }
    return 0;
}

/* Without --to (straight into the inventory): a package in a private
 * directory, staged (PATH_MAX bytes) its path.  0 or 1 (printed). */
static int make_staged(char *staged)
{
    const char *tmp = getenv("TMPDIR");
    size_t n;

    snprintf(staged, PATH_MAX, "%s/ovfkit-convert-XXXXXX",
             tmp && *tmp ? tmp : "/var/tmp");
    if (!mkdtemp(staged)) {
        return cli_error("cannot make a directory in %s", staged);
    }
    n = strlen(staged);
    snprintf(staged + n, PATH_MAX - n, "/pkg");
    return 0;
}

/* The OS type as the source declared it: its description, else the
 * producer's own type ("vmware:debian10_64Guest"). */
static const char *declared_os(const struct ovfk_hv_vm *vm)
{
    return vm->os_type ? vm->os_type
           : vm->os_vendor ? vm->os_vendor : "unknown";
}

static void print_converted(const struct convert_args *a,
                            const struct ovfk_hv_vm *vm, bool staged)
{
    const struct ovfk_convert_opts *o = &a->o;

    printf("converted '%s' (%u vCPU, %llu MiB, %zu disk%s, OS '%s')%s%s\n",
           vm->name, vm->cpus, (unsigned long long)vm->memory_mib,
           vm->n_disks, vm->n_disks == 1 ? "" : "s", declared_os(vm),
           staged ? "" : " to ", staged ? "" : o->to);
    if (a->os_found) {
        printf("inspection found: %s\n", a->os_found);
    }
    if (o->mode != OVFK_CONVERT_PLAIN) {
        printf("%zu guest change%s; report in '%s%s'\n", a->changes,
               a->changes == 1 ? "" : "s", o->report ? o->report : o->to,
               o->report ? "" : ".sysprep.json");
    }
}

/* --import: the package the library says it wrote, not a guess at its
 * name.  0 or 1 (printed). */
/* a VM model as `vm show --json` prints it (a new object, or NULL) */
static json_object *model_json(const struct ovfk_hv_vm *vm)
{
    char *text = ovfk_hv_vm_to_json(vm, false);
    json_object *o = text ? json_tokener_parse(text) : NULL;

    free(text);
    return o;
}

static int import_package(const struct convert_args *a, const char *package,
                          json_object *out)
{
    struct ovfk_hv_import_opts io = { .mode = OVFK_HV_IMPORT,
                                 .keep_guest_config = a->keep,
                                 .max_cpus = a->max_cpus,
                                 .progress = cli_progress,
                                 .opaque = "importing" };
    struct ovfk_hv_plan *plan = NULL;
    ovfk_hv_conn *c;
    int r;

    if (cli_connect(&c)) {
        return 1;
    }
    r = ovfk_hv_import(c, package, &io, &plan);
    cli_progress_done();
    if (r < 0) {
        r = cli_fail(r, "%s", ovfk_hv_error(c));
    } else if (out) {
        json_object_object_add(out, "imported", model_json(plan->vm));
    } else if (!g.quiet) {
        char u[37];
        ovfk_hv_uuid_str(plan->vm->uuid, u);
        printf("imported as '%s' (%s)\n", plan->vm->name, u);
    }
    ovfk_hv_plan_free(plan);
    ovfk_hv_disconnect(c);
    return r;
}

/* The private package goes; the report beside it stays (--undo). */
static void remove_staged(char *staged, const struct convert_args *a, int r)
{
    nftw(staged, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    if (!g.quiet && a->o.mode != OVFK_CONVERT_PLAIN && r == 0 &&
        !a->o.report) {     /* with --report, print_converted named it */
        printf("the guest changes are reported in '%s.sysprep.json'\n",
               staged);
    }
    *strrchr(staged, '/') = '\0';
    rmdir(staged);      /* only when no report is in it */
}

static void convert_warn(void *opaque, const char *msg)
{
    (void)opaque;
    cli_progress_done();
    fprintf(stderr, "warning: %s\n", msg);
}

int cmd_convert(int argc, char **argv)
{
    struct convert_args a = { .o = { .progress = cli_progress,
                                     .opaque = "converting",
                                     .warn = convert_warn } };
    char staged[PATH_MAX] = "", *package = NULL;
    struct ovfk_hv_vm *vm = NULL;
    int r;

    r = parse_args(argc, argv, &a);
    if (r) {
        return r == CONVERT_HELP ? 0 : r;
    }
    if (!a.o.to) {
        if (make_staged(staged)) {
            return 1;
        }
        a.o.to = staged;
    }
    a.o.package = &package;
    r = ovfk_convert_vm((const char *const *)argv + optind,
                        (size_t)(argc - optind), &a.o, &vm);
    cli_progress_done();
    if (r < 0) {
        r = cli_fail(r, "%s", ovfk_last_error());
    } else {
        if (a.os_mismatch) {
            cli_warn("the source declares OS '%s' but inspection found "
                     "'%s': the declared type is kept (--os-type sets "
                     "another)", declared_os(vm), a.os_found);
        }
        json_object *out = NULL;
        if (g.json) {
            out = json_object_new_object();
            json_object_object_add(out, "vm", model_json(vm));
            json_object_object_add(out, "package", staged[0] ? NULL :
                                   package ? cli_package_json(package) : NULL);
            json_object_object_add(out, "guest_changes",
                                   json_object_new_uint64(a.changes));
            json_object_object_add(out, "imported", NULL);
        } else if (!g.quiet) {
            print_converted(&a, vm, staged[0] != '\0');
        }
        if (a.import) {
            r = import_package(&a, package, out);
        }
        if (out && r == 0) {
            cli_json_print(out);
        } else {
            json_object_put(out);
        }
    }
    if (staged[0]) {
        remove_staged(staged, &a, r);
    }
    free(package);
    free(a.os_found);
    ovfk_hv_vm_free(vm);
    return r;
}

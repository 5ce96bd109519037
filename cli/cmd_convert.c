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
#include "ovfkit/convert.h"
#include "ovfkit/hv.h"

#define SYN_CONVERT "ovfkit convert SRC... --to DIR|FILE.ova [--name N] " \
    "[--p2v|--v2v] [--os-type T] [--cpus N]\n" \
    "       [--max-cpus N] [--memory MIB] [--nic NETWORK]... " \
    "[-f FORMAT] [--catalog FILE.json] " \
    "[--report FILE.json]\n" \
    "       [--fixed] [--digest sha256|sha1|sha512]\n" \
    "       [--import [--store DIR|--connect URI] [--keep-guest-config]]"

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

int cmd_convert(int argc, char **argv)
{
    static const struct option opts[] = {
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
        { "fixed", no_argument, NULL, 'F' },
        { "digest", required_argument, NULL, 'd' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct ovfk_convert_opts o = { .progress = cli_progress,
                                   .opaque = "convert" };
    const char *nics[16];
    char staged[PATH_MAX] = "", *package = NULL;
    bool import = false, keep = false;
    const char *cpus = NULL;
    uint32_t max_cpus = 0;
    struct hv_vm *vm = NULL;
    size_t changes = 0, n;
    int ch, r;

    optind = 0;
    o.nics = nics;
    o.changes = &changes;
    while ((ch = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
        switch (ch) {
        case 't':
            o.to = optarg;
            break;
        case 'n':
            o.name = optarg;
            break;
        case 'P':
        case 'V':
            if (o.mode != OVFK_CONVERT_PLAIN) {
                return cli_usage(SYN_CONVERT, "--p2v and --v2v exclude each "
                                 "other");
            }
            o.mode = ch == 'P' ? OVFK_CONVERT_P2V : OVFK_CONVERT_V2V;
            break;
        case 'o':
            o.os_type = optarg;
            break;
        case 'c':
            cpus = optarg;
            break;
        case 'M':
            if (cli_max_cpus(SYN_CONVERT, optarg, &max_cpus)) {
                return EXIT_USAGE;
            }
            break;
        case 'm':
            if (cli_memory(SYN_CONVERT, optarg, &o.memory_mib)) {
                return EXIT_USAGE;
            }
            break;
        case 'f':
            o.format = optarg;
            break;
        case 'N':
            if (o.n_nics == 16) {
                return cli_usage(SYN_CONVERT, "at most 16 --nic");
            }
            nics[o.n_nics++] = optarg;
            break;
        case 'C':
            o.catalog = optarg;
            break;
        case 'r':
            o.report = optarg;
            break;
        case 'i':
            import = true;
            break;
        case 's':
            g.store = optarg;
            break;
        case 'u':
            g.connect = optarg;
            break;
        case 'k':
            keep = true;
            break;
        case 'F':
            o.fixed = true;
            break;
        case 'd':
            if (ova_digest_parse(optarg, &o.digest) < 0) {
                return cli_usage(SYN_CONVERT, "unknown digest '%s'", optarg);
            }
            break;
        case 'j':
            g.json = true;
            break;
        case 'h':
            printf("usage: %s\n", SYN_CONVERT);
            return 0;
        default:
            return cli_usage(SYN_CONVERT, "invalid option");
        }
    }
    if (cli_cpus(SYN_CONVERT, cpus, max_cpus, &o.cpus)) {
        return EXIT_USAGE;
    }
    if (argc - optind < 1 || (!o.to && !import)) {
        return cli_usage(SYN_CONVERT, "expected sources and --to (or "
                         "--import)");
    }
    if (g.store && g.connect) {
        return cli_usage(SYN_CONVERT, "--store and --connect exclude each "
                         "other");
    }
    if (!o.to) {
        /* straight into the inventory: a package in a private directory */
        const char *tmp = getenv("TMPDIR");
        snprintf(staged, sizeof(staged), "%s/ovfkit-convert-XXXXXX",
                 tmp && *tmp ? tmp : "/var/tmp");
        if (!mkdtemp(staged)) {
            return cli_error("cannot make a directory in %s", staged);
        }
        n = strlen(staged);
        snprintf(staged + n, sizeof(staged) - n, "/pkg");
        o.to = staged;
    }
    o.package = import ? &package : NULL;
    r = ovfk_convert_vm((const char *const *)argv + optind,
                        (size_t)(argc - optind), &o, &vm);
    cli_progress_done();
    if (r < 0) {
        r = cli_error("%s", ovfk_last_error());
        goto out;
    }
    if (!g.quiet && !g.json) {
        printf("converted '%s' (%u vCPU, %llu MiB, %zu disk%s, OS '%s')%s%s\n",
               vm->name, vm->cpus, (unsigned long long)vm->memory_mib,
               vm->n_disks, vm->n_disks == 1 ? "" : "s",
               vm->os_type ? vm->os_type : "unknown",
               staged[0] ? "" : " to ", staged[0] ? "" : o.to);
        if (o.mode != OVFK_CONVERT_PLAIN) {
            printf("%zu guest change%s; report in '%s%s'\n", changes,
                   changes == 1 ? "" : "s", o.report ? o.report : o.to,
                   o.report ? "" : ".sysprep.json");
        }
    }
    if (import) {
        struct hv_import_opts io = { .mode = HV_IMPORT,
                                     .keep_guest_config = keep,
                                     .max_cpus = max_cpus,
                                     .progress = cli_progress,
                                     .opaque = "import" };
        struct hv_plan *plan = NULL;
        hv_conn *c;
        if (cli_connect(&c)) {
            r = 1;
            goto out;
        }
        /* the package the library says it wrote, not a guess at its name */
        r = hv_import(c, package, &io, &plan);
        cli_progress_done();
        if (r < 0) {
            r = cli_error("%s", hv_error(c));
        } else if (!g.quiet) {
            char u[37];
            hv_uuid_str(plan->vm->uuid, u);
            printf("imported as '%s' (%s)\n", plan->vm->name, u);
        }
        hv_plan_free(plan);
        hv_disconnect(c);
    }
out:
    if (staged[0]) {
        /* the private package goes; the report beside it stays (--undo) */
        nftw(staged, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        if (!g.quiet && o.mode != OVFK_CONVERT_PLAIN && r == 0) {
            printf("the guest changes are reported in '%s.sysprep.json'\n",
                   staged);
        }
        *strrchr(staged, '/') = '\0';
        rmdir(staged);      /* only when no report is in it */
    }
    free(package);
    hv_vm_free(vm);
    return r;
}

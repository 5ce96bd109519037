/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/cmd_vm.c - `ovfkit vm ...` (create, list, show, remove, start, stop)
 * and `ovfkit net ...` (add, list) on the inventory chosen with --store or
 * --connect.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/numarg.h"
#include "ovfkit/hv.h"
#include "ovfkit/vhd.h"

#define SYN_CREATE "ovfkit [--store DIR | --connect URI|xen:DIR] vm create " \
    "NAME [--cpus N] [--memory MIB] [--disk SIZE|FILE]... [-f FORMAT] " \
    "[--nic NETWORK[,mac=MAC][,model=M]]... [--os-type T] [--max-cpus N] " \
    "[--kernel F --initrd F --cmdline S]"
#define SYN_LIST "ovfkit [...] vm list [--json]"
#define SYN_SHOW "ovfkit [...] vm show [--json] VM"
#define SYN_REMOVE "ovfkit [...] vm remove [--keep-disks] VM"
#define SYN_START "ovfkit [...] vm start [--console] VM"
#define SYN_STOP "ovfkit [...] vm stop VM"
#define SYN_NET                                                                \
    "ovfkit [...] net add NAME [--bridge BR]    ovfkit [...] net list"

int cli_connect(ovfk_hv_conn **c)
{
    if (ovfk_hv_connect(g.store, g.connect, c) < 0) {
        return cli_error("%s", ovfk_last_error());
    }
    ovfk_hv_set_lock_wait(*c, g.lock_wait);
    return 0;
}

static json_object *vm_json(const struct ovfk_hv_vm *vm)
{
    char *text = ovfk_hv_vm_to_json(vm, false);
    json_object *o = text ? json_tokener_parse(text) : NULL;

    free(text);
    return o ? o : json_object_new_object();
}

struct vopts {
    const char *disks[64], *nics[64];
    size_t n_disks, n_nics;
    uint32_t cpus, max_cpus;
    uint64_t memory;
    const char *cpus_text;      /* checked once --max-cpus is known */
    const char *os_type, *kernel, *initrd, *cmdline, *bridge, *format;
    bool keep_disks, console;
};

/*
 * --disk SIZE|FILE: an existing file is an image; otherwise a spec that
 * starts like a number ("64M", "0", "-5", "12Q") means a new disk's size
 * and must be one, from 1 byte to the VHD maximum.  Anything else is a
 * file name, whose absence the library reports.  EXIT_USAGE or 0.
 */
static int bad_disk(const char *syn, const char *spec)
{
    char why[200];
    uint64_t v;
    int r;

    if (!spec[0] || !strchr("0123456789+-", spec[0]) ||
        access(spec, F_OK) == 0) {
        return 0;
    }
    r = numarg_size(spec, 1, OVFK_VHD_MAX_SIZE, &v, why, sizeof(why));
    if (r < 0) {
        return cli_usage(syn, "invalid --disk '%s': %s%s", spec,
                         r == -EINVAL ? "no such file, and " : "", why);
    }
    return 0;
}

static int parse(int argc, char **argv, const char *syn, struct vopts *o)
{
    static const struct option opts[] = {
        { "cpus", required_argument, NULL, 'c' },
        { "memory", required_argument, NULL, 'm' },
        { "disk", required_argument, NULL, 'd' },
        { "nic", required_argument, NULL, 'n' },
        { "os-type", required_argument, NULL, 'o' },
        { "max-cpus", required_argument, NULL, 'M' },
        { "kernel", required_argument, NULL, 'k' },
        { "initrd", required_argument, NULL, 'i' },
        { "cmdline", required_argument, NULL, 'a' },
        { "bridge", required_argument, NULL, 'b' },
        { "format", required_argument, NULL, 'f' },
        { "keep-disks", no_argument, NULL, 'K' },
        { "console", no_argument, NULL, 'C' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    memset(o, 0, sizeof(*o));
    optind = 0;
    while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->cpus_text = optarg;
            break;
        case 'M':
            if (cli_max_cpus(syn, optarg, &o->max_cpus)) {
                return -EXIT_USAGE;
            }
            break;
        case 'm':
            if (cli_memory(syn, optarg, &o->memory)) {
                return -EXIT_USAGE;
            }
            break;
        case 'd':
            if (o->n_disks < 64) {
                o->disks[o->n_disks++] = optarg;
            }
            break;
        case 'n':
            if (o->n_nics < 64) {
                o->nics[o->n_nics++] = optarg;
            }
            break;
        case 'o':
            o->os_type = optarg;
            break;
        case 'k':
            o->kernel = optarg;
            break;
        case 'i':
            o->initrd = optarg;
            break;
        case 'a':
            o->cmdline = optarg;
            break;
        case 'b':
            o->bridge = optarg;
            break;
        case 'f':
            o->format = optarg;
            break;
        case 'K':
            o->keep_disks = true;
            break;
        case 'C':
            o->console = true;
            break;
        case 'j':
            g.json = true;
            break;
        case 'h':
            printf("usage: %s\n", syn);
            exit(0);
        default:
            return -cli_usage(syn, "invalid option");
        }
    }
    if (cli_cpus(syn, o->cpus_text, o->max_cpus, &o->cpus)) {
        return -EXIT_USAGE;
    }
    for (size_t k = 0; k < o->n_disks; k++) {
        if (bad_disk(syn, o->disks[k])) {
            return -EXIT_USAGE;
        }
    }
    return optind;
}

static int do_create(int argc, char **argv)
{
    struct ovfk_hv_create_opts co = { 0 };
    struct ovfk_hv_vm *vm;
    struct vopts o;
    ovfk_hv_conn *c;
    int r, i = parse(argc, argv, SYN_CREATE, &o);

    if (i < 0) {
        return -i;
    }
    if (argc - i != 1) {
        return cli_usage(SYN_CREATE, "expected one NAME");
    }
    if (cli_connect(&c)) {
        return 1;
    }
    co.name = argv[i];
    co.cpus = o.cpus;
    co.memory_mib = o.memory;
    co.os_type = o.os_type;
    co.disks = o.disks;
    co.n_disks = o.n_disks;
    co.disk_format = o.format;
    co.nics = o.nics;
    co.n_nics = o.n_nics;
    co.kernel = o.kernel;
    co.initrd = o.initrd;
    co.cmdline = o.cmdline;
    co.max_cpus = o.max_cpus;
    r = ovfk_hv_vm_create(c, &co, &vm);
    if (r < 0) {
        r = cli_fail(r, "%s", ovfk_hv_error(c));
    } else {
        if (g.json) {
            cli_json_print(vm_json(vm));
        } else if (!g.quiet) {
            char u[37];
            ovfk_hv_uuid_str(vm->uuid, u);
            printf("created VM '%s' (%s)\n", vm->name, u);
        }
        ovfk_hv_vm_free(vm);
    }
    ovfk_hv_disconnect(c);
    return r;
}

static int do_list(int argc, char **argv)
{
    json_object *arr = NULL;
    struct ovfk_hv_vm **vms;
    struct vopts o;
    ovfk_hv_conn *c;
    size_t n;
    int i = parse(argc, argv, SYN_LIST, &o);

    if (i < 0) {
        return -i;
    }
    if (cli_connect(&c)) {
        return 1;
    }
    if (ovfk_hv_list(c, &vms, &n) < 0) {
        int r = cli_error("%s", ovfk_hv_error(c));
        ovfk_hv_disconnect(c);
        return r;
    }
    if (g.json) {
        arr = json_object_new_array();
    } else {
        printf("%-24s %-36s %5s %8s %s\n", "NAME", "UUID", "CPUS",
               "MEMORY", "STATE");
    }
    for (size_t k = 0; k < n; k++) {
        char u[37];
        bool running = ovfk_hv_is_running(c, vms[k]) > 0;
        ovfk_hv_uuid_str(vms[k]->uuid, u);
        if (arr) {
            json_object *e = vm_json(vms[k]);
            json_object_object_add(e, "running",
                                   json_object_new_boolean(running));
            json_object_array_add(arr, e);
        } else {
            printf("%-24s %-36s %5u %6lluMi %s\n", vms[k]->name, u,
                   vms[k]->cpus, (unsigned long long)vms[k]->memory_mib,
                   running ? "running" : "stopped");
        }
    }
    if (arr) {
        cli_json_print(arr);
    }
    ovfk_hv_list_free(vms, n);
    ovfk_hv_disconnect(c);
    return 0;
}

static int do_show(int argc, char **argv)
{
    struct ovfk_hv_vm *vm;
    struct vopts o;
    ovfk_hv_conn *c;
    int r = 0, i = parse(argc, argv, SYN_SHOW, &o);

    if (i < 0) {
        return -i;
    }
    if (argc - i != 1) {
        return cli_usage(SYN_SHOW, "expected one VM");
    }
    if (cli_connect(&c)) {
        return 1;
    }
    if (ovfk_hv_load(c, argv[i], &vm) < 0) {
        r = cli_error("%s", ovfk_hv_error(c));
    } else if (g.json) {
        cli_json_print(vm_json(vm));
    } else {
        char *text = ovfk_hv_vm_to_json(vm, true);
        puts(text ? text : "");
        free(text);
    }
    if (r == 0) {
        ovfk_hv_vm_free(vm);
    }
    ovfk_hv_disconnect(c);
    return r;
}

static int simple(int argc, char **argv, const char *syn, int op)
{
    struct vopts o;
    ovfk_hv_conn *c;
    int r, i = parse(argc, argv, syn, &o);

    if (i < 0) {
        return -i;
    }
    if (argc - i != 1) {
        return cli_usage(syn, "expected one VM");
    }
    if (cli_connect(&c)) {
        return 1;
    }
    switch (op) {
    case 0:
        r = ovfk_hv_vm_remove(c, argv[i], o.keep_disks);
        break;
    case 1:
        r = ovfk_hv_vm_start(c, argv[i], o.console);
        break;
    default:
        r = ovfk_hv_vm_stop(c, argv[i]);
        break;
    }
    if (r < 0) {
        r = cli_fail(r, "%s", ovfk_hv_error(c));
    }
    ovfk_hv_disconnect(c);
    return r;
}

static int do_remove(int argc, char **argv)
{
    return simple(argc, argv, SYN_REMOVE, 0);
}

static int do_start(int argc, char **argv)
{
    return simple(argc, argv, SYN_START, 1);
}

static int do_stop(int argc, char **argv)
{
    return simple(argc, argv, SYN_STOP, 2);
}

static const struct cli_command vm_commands[] = {
    { "create", do_create, "create a VM with new or existing disks" },
    { "list", do_list, "list the VMs of the inventory" },
    { "show", do_show, "show one VM (by name or UUID)" },
    { "remove", do_remove, "remove a VM (and its disks)" },
    { "start", do_start, "start a VM (qemu for the dir store)" },
    { "stop", do_stop, "stop a VM" },
    { NULL, NULL, NULL },
};

int cmd_vm(int argc, char **argv)
{
    return cli_dispatch("vm", vm_commands, argc - 1, argv + 1);
}

static int net_add(int argc, char **argv)
{
    struct vopts o;
    ovfk_hv_conn *c;
    int r, i = parse(argc, argv, SYN_NET, &o);

    if (i < 0) {
        return -i;
    }
    if (argc - i != 1) {
        return cli_usage(SYN_NET, "expected one NAME");
    }
    if (cli_connect(&c)) {
        return 1;
    }
    r = ovfk_hv_net_add(c, argv[i], o.bridge) < 0
            ? cli_error("%s", ovfk_hv_error(c))
            : 0;
    ovfk_hv_disconnect(c);
    return r;
}

static int net_list(int argc, char **argv)
{
    struct vopts o;
    ovfk_hv_conn *c;
    char **names;
    size_t n;
    int i = parse(argc, argv, SYN_NET, &o);

    if (i < 0) {
        return -i;
    }
    if (cli_connect(&c)) {
        return 1;
    }
    if (ovfk_hv_networks(c, &names, &n) < 0) {
        i = cli_error("%s", ovfk_hv_error(c));
        ovfk_hv_disconnect(c);
        return i;
    }
    for (size_t k = 0; k < n; k++) {
        printf("%s\n", names[k]);
    }
    ovfk_hv_strv_free(names, n);
    ovfk_hv_disconnect(c);
    return 0;
}

static const struct cli_command net_commands[] = {
    { "add", net_add, "add a network to the dir store" },
    { "list", net_list, "list the networks of the target" },
    { NULL, NULL, NULL },
};

int cmd_net(int argc, char **argv)
{
    return cli_dispatch("net", net_commands, argc - 1, argv + 1);
}

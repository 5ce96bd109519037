/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/cmd_export.c - the main job: `ovfkit export`, `ovfkit import`,
 * `ovfkit restore`.
 *
 * Exit codes: 0 done (or planned, with --dry-run), 1 failed (nothing was
 * changed), 64 usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/export_opts.h"
#include "ovfkit/hv.h"

#define SYN_EXPORT "ovfkit [--store DIR | --connect URI|xen:DIR] export VM " \
    "--to DIR|FILE.ova\n       " CLI_EXPORT_SYN
#define SYN_IMPORT "ovfkit [...] import|restore PKG [--name N] [--cpus N] " \
    "[--memory MIB] [--network OLD=NEW]... [--storage DIR] " \
    "[--skip-disk ID]... [--empty-disk ID]... [--system ID] [--dry-run] " \
    "[--force] [--keep-guest-config] [--max-cpus N]"


static int do_export(int argc, char **argv)
{
    static const struct option own[] = {
        { "to", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct option opts[16];
    struct ovfk_hv_export_opts o = { .progress = cli_progress,
                                     .opaque = "export" };
    ovfk_hv_conn *c;
    int ch, r;

    if (cli_export_options(CLI_EXP_ALL, own, opts, 16) < 0) {
        return cli_error("export: option table too small");
    }
    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 't':
            o.to = optarg;
            break;
        case 'j':
            g.json = true;
            break;
        case 'h':
            printf("usage: %s\n", SYN_EXPORT);
            cli_export_help(CLI_EXP_ALL);
            return 0;
        default:
            r = cli_export_opt(SYN_EXPORT, ch, optarg, &o);
            if (r) {
                return r == 1 ? cli_usage(SYN_EXPORT, "invalid option") : r;
            }
        }
    }
    if (argc - optind != 1 || !o.to) {
        return cli_usage(SYN_EXPORT, "expected VM and --to");
    }
    if (cli_export_check(SYN_EXPORT, &o)) {
        return EXIT_USAGE;
    }
    if (cli_connect(&c)) {
        return 1;
    }
    r = ovfk_hv_export(c, argv[optind], &o);
    cli_progress_done();
    if (r < 0) {
        r = cli_fail(r, "%s", ovfk_hv_error(c));
    } else if (g.json) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "vm", json_object_new_string(argv[optind]));
        json_object_object_add(e, "package", json_object_new_string(o.to));
        cli_json_event("exported", e);
    } else if (!g.quiet) {
        printf("exported '%s' to '%s'\n", argv[optind], o.to);
    }
    ovfk_hv_disconnect(c);
    return r;
}

static void warn_line(void *opaque, const char *msg)
{
    (void)opaque;
    cli_warn("%s", msg);
}

/* A restore over an existing VM asks first on a terminal. */
static bool ask(void *opaque, const char *question)
{
    char answer[16];

    (void)opaque;
    if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
        return false;
    }
    fprintf(stderr, "%s [y/N] ", question);
    if (!fgets(answer, sizeof(answer), stdin)) {
        return false;
    }
    return answer[0] == 'y' || answer[0] == 'Y';
}

/* The guest fixup of an import: what it did, or why not. */
static void print_guest(const struct ovfk_hv_plan *p)
{
    switch (p->guest) {
    case OVFK_HV_GUEST_KEPT:
        printf("  guest:   left as it is (--keep-guest-config): MAC pins "
               "not looked for\n");
        break;
    case OVFK_HV_GUEST_PLANNED:
        printf("  guest:   MAC pins to be removed (libguestfs), unless no "
               "disk holds a partition table or file system\n");
        break;
    case OVFK_HV_GUEST_BLANK:
        printf("  guest:   no disk holds a partition table or file system: "
               "no guest to inspect, MAC pins not looked for\n");
        break;
    case OVFK_HV_GUEST_CLEANED:
        if (!p->n_guest_changes) {
            printf("  guest:   inspected: no MAC pins found\n");
        }
        for (size_t i = 0; i < p->n_guest_changes; i++) {
            const struct ovfk_hv_guest_change *c = &p->guest_changes[i];
            printf("  guest:   %s %s (MAC pin)\n",
                   c->new_value ? "changed" : "removed", c->path);
        }
        break;
    case OVFK_HV_GUEST_FAILED:
        printf("  guest:   MAC pins not removed (see the warning)\n");
        break;
    case OVFK_HV_GUEST_NONE:
    default:
        break;
    }
}

/* state: 0 done, 1 dry run, 2 refused or failed */
static void print_plan(const struct ovfk_hv_plan *p, int state)
{
    static const char *const head[] = { "defined", "would define",
                                         "did not define" };
    const struct ovfk_hv_vm *vm = p->vm;
    char u[37];

    ovfk_hv_uuid_str(vm->uuid, u);
    printf("%s VM '%s' (%s)%s\n", head[state], vm->name,
           u, p->replaces ? ", replacing the existing one" : "");
    printf("  cpus:    %u\n  memory:  %llu MiB\n  os:      %s (%d)\n",
           vm->cpus, (unsigned long long)vm->memory_mib,
           vm->os_type ? vm->os_type : "(unknown)", vm->os_id);
    for (size_t i = 0; i < p->n_disks; i++) {
        const struct ovfk_hv_plan_disk *d = &p->disks[i];
        printf("  disk:    %s %s (%llu bytes)%s%s%s%s\n", d->id, d->action,
               (unsigned long long)d->capacity, d->source ? " from " : "",
               d->source ? d->source : "", d->target ? " -> " : "",
               d->target ? d->target : "");
    }
    for (size_t i = 0; i < vm->n_nics; i++) {
        printf("  nic:     %s on %s (%s)\n", vm->nics[i].mac,
               vm->nics[i].network, vm->nics[i].model ? vm->nics[i].model
                                                     : "default");
    }
    if (p->space_dir) {
        char need[32], have[32];
        printf("  space:   up to %s in '%s', %s free\n",
               ovfk_size_str(p->space_needed, need, sizeof(need)), p->space_dir,
               ovfk_size_str(p->space_free, have, sizeof(have)));
    }
    print_guest(p);
}

/* What the command line of an import or restore asks for. */
struct import_args {
    struct ovfk_hv_import_opts o;
    struct ovfk_hv_map maps[32];
    const char *skip[32], *empty[32];
    const char *cpus;       /* checked once --max-cpus is known */
};

/* parse_import() printed the help: exit 0 */
#define IMPORT_HELP (-1)

/* One option into a: 0 or EXIT_USAGE (printed). */
static int take_import_opt(int ch, char *arg, struct import_args *a)
{
    struct ovfk_hv_import_opts *o = &a->o;
    char *eq;

    switch (ch) {
    case 'n':
        o->name = arg;
        return 0;
    case 'c':
        a->cpus = arg;
        return 0;
    case 'm':
        return cli_memory(SYN_IMPORT, arg, &o->memory_mib) ? EXIT_USAGE : 0;
    case 'M':
        return cli_max_cpus(SYN_IMPORT, arg, &o->max_cpus) ? EXIT_USAGE : 0;
    case 'N':
        eq = strchr(arg, '=');
        if (!eq || o->n_networks >= 32) {
            return cli_usage(SYN_IMPORT, "--network takes OLD=NEW");
        }
        *eq = '\0';
        a->maps[o->n_networks].from = arg;
        a->maps[o->n_networks++].to = eq + 1;
        return 0;
    case 's':
        o->storage = arg;
        return 0;
    case 'S':
        if (o->n_skip < 32) {
            a->skip[o->n_skip++] = arg;
        }
        return 0;
    case 'E':
        if (o->n_empty < 32) {
            a->empty[o->n_empty++] = arg;
        }
        return 0;
    case 'y':
        o->system = arg;
        return 0;
    case 'D':
        o->dry_run = true;
        return 0;
    case 'f':
        o->force = true;
        return 0;
    case 'K':
        o->keep_guest_config = true;
        return 0;
    case 'j':
        g.json = true;
        return 0;
    default:
        return cli_usage(SYN_IMPORT, "invalid option");
    }
}

/* The options and the one PKG (argv[optind]) into a: 0, IMPORT_HELP or
 * EXIT_USAGE (printed). */
static int parse_import(int argc, char **argv, struct import_args *a)
{
    static const struct option opts[] = {
        { "name", required_argument, NULL, 'n' },
        { "cpus", required_argument, NULL, 'c' },
        { "memory", required_argument, NULL, 'm' },
        { "network", required_argument, NULL, 'N' },
        { "storage", required_argument, NULL, 's' },
        { "skip-disk", required_argument, NULL, 'S' },
        { "empty-disk", required_argument, NULL, 'E' },
        { "system", required_argument, NULL, 'y' },
        { "dry-run", no_argument, NULL, 'D' },
        { "force", no_argument, NULL, 'f' },
        { "keep-guest-config", no_argument, NULL, 'K' },
        { "max-cpus", required_argument, NULL, 'M' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'h') {
            printf("usage: %s\n", SYN_IMPORT);
            return IMPORT_HELP;
        }
        r = take_import_opt(ch, optarg, a);
        if (r) {
            return r;
        }
    }
    if (cli_cpus(SYN_IMPORT, a->cpus, a->o.max_cpus, &a->o.cpus)) {
        return EXIT_USAGE;
    }
    if (argc - optind != 1) {
        return cli_usage(SYN_IMPORT, "expected one PKG");
    }
    a->o.networks = a->maps;
    a->o.skip_disks = a->skip;
    a->o.empty_disks = a->empty;
    return 0;
}

/* The plan, also when it was refused (space) or failed (r < 0): first
 * the plan, then the error. */
static void show_plan(ovfk_hv_conn *c, const struct ovfk_hv_plan *plan,
                      const struct ovfk_hv_import_opts *o, int r)
{
    if (g.json) {
        char *text = ovfk_hv_plan_to_json(plan);
        json_object *j = text ? json_tokener_parse(text) : NULL;
        free(text);
        if (!j) {
            return;
        }
        json_object_object_add(j, "dry_run",
                               json_object_new_boolean(o->dry_run));
        json_object_object_add(j, "done",
                               json_object_new_boolean(r == 0 &&
                                                       !o->dry_run));
        if (r < 0) {
            json_object_object_add(j, "error",
                                   json_object_new_string(ovfk_hv_error(c)));
        }
        cli_json_print(j);
    } else if (!g.quiet || o->dry_run) {
        print_plan(plan, r < 0 ? 2 : o->dry_run ? 1 : 0);
        fflush(stdout);
    }
}

static int do_import_restore(int argc, char **argv, enum ovfk_hv_identity mode)
{
    struct import_args a = { .o = { .mode = mode, .confirm = ask,
                                    .warn = warn_line,
                                    .progress = cli_progress,
                                    .opaque = NULL } };
    struct ovfk_hv_plan *plan = NULL;
    ovfk_hv_conn *c;
    int r;

    r = parse_import(argc, argv, &a);
    if (r) {
        return r == IMPORT_HELP ? 0 : r;
    }
    if (cli_connect(&c)) {
        return 1;
    }
    a.o.opaque = mode == OVFK_HV_IMPORT ? "import" : "restore";
    r = ovfk_hv_import(c, argv[optind], &a.o, &plan);
    cli_progress_done();
    if (plan) {
        show_plan(c, plan, &a.o, r);
    }
    if (r < 0) {
        r = cli_fail(r, "%s", ovfk_hv_error(c));
    }
    ovfk_hv_plan_free(plan);
    ovfk_hv_disconnect(c);
    return r;
}

static int do_import(int argc, char **argv)
{
    return do_import_restore(argc, argv, OVFK_HV_IMPORT);
}

static int do_restore(int argc, char **argv)
{
    return do_import_restore(argc, argv, OVFK_HV_RESTORE);
}

int cmd_export(int argc, char **argv)
{
    return do_export(argc, argv);
}

int cmd_import(int argc, char **argv)
{
    return do_import(argc, argv);
}

int cmd_restore(int argc, char **argv)
{
    return do_restore(argc, argv);
}

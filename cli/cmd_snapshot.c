/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/cmd_snapshot.c - `ovfkit snapshot create|list|revert|export|delete`:
 * VM snapshots over VHD delta chains (DESIGN.md section 3).
 *
 * Exit codes: 0 done (or planned, with --dry-run), 1 failed (the chain
 * reads as before), 64 usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/export_opts.h"
#include "ovfkit/snapshot.h"

#define SYN_CREATE "ovfkit snapshot create VM [--name N] [--description D]"
#define SYN_LIST "ovfkit snapshot list VM [--json]"
#define SYN_REVERT "ovfkit snapshot revert VM SNAP"
#define SYN_EXPORT "ovfkit snapshot export VM SNAP --to DIR|FILE.ova\n" \
    "       " CLI_EXPORT_SYN
#define SYN_DELETE "ovfkit snapshot delete VM SNAP|--all [--dry-run] [--json]"

static int do_create(int argc, char **argv)
{
    static const struct option opts[] = {
        { "name", required_argument, NULL, 'n' },
        { "description", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *name = NULL, *description = NULL;
    struct ovfk_snap_list l;
    ovfk_hv_conn *c;
    int ch, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'n') {
            name = optarg;
        } else if (ch == 'd') {
            description = optarg;
        } else if (ch == 'h') {
            printf("usage: %s\n", SYN_CREATE);
            return 0;
        } else {
            return cli_usage(SYN_CREATE, "invalid option");
        }
    }
    if (argc - optind != 1) {
        return cli_usage(SYN_CREATE, "expected one VM");
    }
    if (cli_connect(&c)) {
        return 1;
    }
    r = ovfk_snap_create(c, argv[optind], name, description, &l);
    if (r < 0) {
        r = cli_fail(r, "%s", ovfk_hv_error(c));
    } else {
        const struct ovfk_snap *s = ovfk_snap_find(&l, l.current);
        if (g.json) {
            json_object *e = json_object_new_object();
            json_object_object_add(e, "vm",
                                   json_object_new_string(argv[optind]));
            json_object_object_add(e, "id", json_object_new_string(s->id));
            json_object_object_add(e, "name", json_object_new_string(s->name));
            cli_json_event("snapshot-created", e);
        } else if (!g.quiet) {
            printf("snapshot %s '%s' of '%s' taken\n", s->id, s->name,
                   argv[optind]);
        }
        ovfk_snap_list_free(&l);
    }
    ovfk_hv_disconnect(c);
    return r;
}

/* Bytes a file occupies on disk (what a delta really costs). */
static uint64_t allocated(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

static void human(uint64_t b, char *buf, size_t len)
{
    static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)b;
    int u = 0;

    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static json_object *snap_json(const struct ovfk_snap *s)
{
    json_object *o = json_object_new_object(), *disks = json_object_new_array();

    json_object_object_add(o, "id", json_object_new_string(s->id));
    json_object_object_add(o, "name", s->name ?
                           json_object_new_string(s->name) : NULL);
    json_object_object_add(o, "description", s->description ?
                           json_object_new_string(s->description) : NULL);
    json_object_object_add(o, "created", s->created ?
                           json_object_new_string(s->created) : NULL);
    json_object_object_add(o, "parent", s->parent ?
                           json_object_new_string(s->parent) : NULL);
    for (size_t k = 0; k < s->n_disks; k++) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "id", json_object_new_string(s->disks[k].id));
        json_object_object_add(d, "file",
                               json_object_new_string(s->disks[k].file));
        json_object_object_add(d, "allocated_bytes", json_object_new_int64(
                                   (int64_t)allocated(s->disks[k].file)));
        json_object_array_add(disks, d);
    }
    json_object_object_add(o, "disks", disks);
    return o;
}

/* Print the children of parent (NULL: the roots), depth-first. */
static void print_tree(const struct ovfk_snap_list *l,
                       const struct ovfk_hv_vm *vm, const char *parent,
                       int depth)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct ovfk_snap *s = &l->snaps[i];
        uint64_t bytes = 0;
        char h[32];
        bool root = !s->parent || !ovfk_snap_find(l, s->parent);
        if (parent ? (!s->parent || strcmp(s->parent, parent)) : !root) {
            continue;
        }
        for (size_t k = 0; k < s->n_disks; k++) {
            bytes += allocated(s->disks[k].file);
        }
        human(bytes, h, sizeof(h));
        printf("%*s%s %-20s %s  %9s%s%s\n", depth * 2, "", s->id,
               s->name ? s->name : "", s->created ? s->created : "", h,
               s->description ? "  " : "",
               s->description ? s->description : "");
        if (l->current && !strcmp(l->current, s->id)) {
            bytes = 0;
            for (size_t k = 0; k < vm->n_disks; k++) {
                bytes += allocated(vm->disks[k].path);
            }
            human(bytes, h, sizeof(h));
            printf("%*s> you are here %27s %9s\n", depth * 2 + 2, "", "", h);
        }
        print_tree(l, vm, s->id, depth + 1);
    }
}

static int do_list(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct ovfk_snap_list l;
    struct ovfk_hv_vm *vm;
    ovfk_hv_conn *c;
    int ch, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'j') {
            g.json = true;
        } else if (ch == 'h') {
            printf("usage: %s\n", SYN_LIST);
            return 0;
        } else {
            return cli_usage(SYN_LIST, "invalid option");
        }
    }
    if (argc - optind != 1) {
        return cli_usage(SYN_LIST, "expected one VM");
    }
    if (cli_connect(&c)) {
        return 1;
    }
    r = ovfk_hv_load(c, argv[optind], &vm);
    if (r < 0) {
        r = cli_fail(r, "%s", ovfk_hv_error(c));
        ovfk_hv_disconnect(c);
        return r;
    }
    r = ovfk_snap_load(c, vm, &l);
    if (r < 0) {
        r = cli_fail(r, "%s", ovfk_hv_error(c));
    } else if (g.json) {
        json_object *o = json_object_new_object();
        json_object *arr = json_object_new_array(), *cur;
        for (size_t i = 0; i < l.n; i++) {
            json_object_array_add(arr, snap_json(&l.snaps[i]));
        }
        json_object_object_add(o, "vm", json_object_new_string(vm->name));
        json_object_object_add(o, "snapshots", arr);
        cur = json_object_new_array();
        for (size_t k = 0; k < vm->n_disks; k++) {
            json_object *d = json_object_new_object();
            json_object_object_add(d, "id",
                                   json_object_new_string(vm->disks[k].id));
            json_object_object_add(d, "file",
                                   json_object_new_string(vm->disks[k].path));
            json_object_object_add(d, "allocated_bytes", json_object_new_int64(
                                       (int64_t)allocated(vm->disks[k].path)));
            json_object_array_add(cur, d);
        }
        json_object_object_add(o, "current", json_object_new_object());
        json_object_object_add(json_object_object_get(o, "current"),
                               "parent", l.current ?
                               json_object_new_string(l.current) : NULL);
        json_object_object_add(json_object_object_get(o, "current"),
                               "disks", cur);
        cli_json_print(o);
    } else if (l.n == 0) {
        printf("VM '%s' has no snapshots\n", vm->name);
    } else {
        print_tree(&l, vm, NULL, 0);
    }
    if (r == 0) {
        ovfk_snap_list_free(&l);
    }
    ovfk_hv_vm_free(vm);
    ovfk_hv_disconnect(c);
    return r;
}

static int do_revert(int argc, char **argv)
{
    ovfk_hv_conn *c;
    int r;

    if (cli_wants_help(argc, argv)) {
        printf("usage: %s\n", SYN_REVERT);
        return 0;
    }
    if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-') {
        return cli_usage(SYN_REVERT, "expected VM and SNAP");
    }
    if (cli_connect(&c)) {
        return 1;
    }
    r = ovfk_snap_revert(c, argv[1], argv[2]);
    if (r < 0) {
        r = cli_fail(r, "%s", ovfk_hv_error(c));
    } else if (!g.quiet && !g.json) {
        printf("'%s' continues from snapshot '%s'\n", argv[1], argv[2]);
    }
    ovfk_hv_disconnect(c);
    return r;
}

static int do_export(int argc, char **argv)
{
    static const struct option own[] = {
        { "to", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct option opts[16];
    struct ovfk_hv_export_opts o = { .progress = cli_progress,
                                     .opaque = "export" };
    ovfk_hv_conn *c;
    int ch, r;

    if (cli_export_options(CLI_EXP_ALL, own, opts, 16) < 0) {
        return cli_error("snapshot export: option table too small");
    }
    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 't':
            o.to = optarg;
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
    if (argc - optind != 2 || !o.to) {
        return cli_usage(SYN_EXPORT, "expected VM, SNAP and --to");
    }
    if (cli_export_check(SYN_EXPORT, &o)) {
        return EXIT_USAGE;
    }
    if (cli_connect(&c)) {
        return 1;
    }
    r = ovfk_snap_export(c, argv[optind], argv[optind + 1], &o);
    cli_progress_done();
    if (r < 0) {
        r = cli_fail(r, "%s", ovfk_hv_error(c));
    } else if (!g.quiet && !g.json) {
        printf("exported snapshot '%s' of '%s' to '%s'\n", argv[optind + 1],
               argv[optind], o.to);
    }
    ovfk_hv_disconnect(c);
    return r;
}

static void print_plan(const struct ovfk_snap_plan *p, bool dry)
{
    char a[32], b[32];

    if (g.json) {
        json_object *o = json_object_new_object();
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < p->n; i++) {
            const struct ovfk_snap_step *s = &p->steps[i];
            json_object *e = json_object_new_object();
            static const char *actions[] = { "merge", "remove", "keep" };
            json_object_object_add(e, "action",
                                   json_object_new_string(actions[s->action]));
            json_object_object_add(e, "snapshot",
                                   json_object_new_string(s->snapshot));
            json_object_object_add(e, "child", s->child ?
                                   json_object_new_string(s->child) : NULL);
            json_object_object_add(e, "file", json_object_new_string(s->file));
            json_object_object_add(
                e, "bytes_needed",
                json_object_new_int64((int64_t)s->bytes_needed));
            json_object_object_add(
                e, "child_bytes",
                json_object_new_int64((int64_t)s->child_bytes));
            json_object_object_add(e, "frees",
                                   json_object_new_int64((int64_t)s->frees));
            json_object_array_add(arr, e);
        }
        json_object_object_add(o, "dry_run", json_object_new_boolean(dry));
        json_object_object_add(o, "steps", arr);
        json_object_object_add(o, "total_bytes",
                               json_object_new_int64((int64_t)p->total_bytes));
        json_object_object_add(o, "peak_bytes",
                               json_object_new_int64((int64_t)p->peak_bytes));
        json_object_object_add(o, "available_bytes",
                               json_object_new_int64((int64_t)p->available));
        cli_json_print(o);
        return;
    }
    if (g.quiet) {
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        const struct ovfk_snap_step *s = &p->steps[i];
        char who[80];
        snprintf(who, sizeof(who), s->snapshot[0] ? "snapshot %s" :
                 "left over%s", s->snapshot);
        if (s->action == OVFK_SNAP_KEEP) {
            printf("%s: record only; '%s' stays (other states build on "
                   "it)\n", who, s->file);
        } else if (s->action == OVFK_SNAP_REMOVE) {
            printf("%s: remove '%s' (nothing builds on it)\n", who, s->file);
        } else {
            human(s->bytes_needed, a, sizeof(a));
            human(s->child_bytes, b, sizeof(b));
            printf("%s: merge '%s' (%s of data) into '%s': needs %s\n", who,
                   s->child, b, s->file, a);
        }
    }
    human(p->peak_bytes, a, sizeof(a));
    human(p->available, b, sizeof(b));
    printf("%s %s free at most; %s available\n", dry ? "would need" : "needed",
           a, b);
}

static int do_delete(int argc, char **argv)
{
    static const struct option opts[] = {
        { "all", no_argument, NULL, 'a' },
        { "dry-run", no_argument, NULL, 'n' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct ovfk_snap_plan p;
    bool all = false, dry = false;
    ovfk_hv_conn *c;
    int ch, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'a':
            all = true;
            break;
        case 'n':
            dry = true;
            break;
        case 'j':
            g.json = true;
            break;
        case 'h':
            printf("usage: %s\n", SYN_DELETE);
            return 0;
        default:
            return cli_usage(SYN_DELETE, "invalid option");
        }
    }
    if (argc - optind != (all ? 1 : 2)) {
        return cli_usage(SYN_DELETE, all ? "--all takes only the VM" :
                         "expected VM and SNAP (or --all)");
    }
    if (cli_connect(&c)) {
        return 1;
    }
    r = ovfk_snap_delete(c, argv[optind], all ? NULL : argv[optind + 1], all,
                         dry, &p,
                         g.json || g.quiet ? cli_stop_only : cli_progress,
                         "merge");
    cli_progress_done();
    if (r < 0) {
        r = cli_fail(r, "%s", ovfk_hv_error(c));
    } else {
        print_plan(&p, dry);
    }
    ovfk_snap_plan_free(&p);
    ovfk_hv_disconnect(c);
    return r;
}

int cmd_snapshot(int argc, char **argv)
{
    static const struct cli_command cmds[] = {
        { "create", do_create, "freeze the disks; new writes go to deltas" },
        { "list", do_list, "the snapshot tree with each delta's size" },
        { "revert", do_revert, "discard the current state, go back to SNAP" },
        { "export", do_export, "export the VM as it was at SNAP" },
        { "delete", do_delete, "merge a snapshot's delta away" },
        { NULL, NULL, NULL },
    };

    return cli_dispatch("snapshot", cmds, argc - 1, argv + 1);
}

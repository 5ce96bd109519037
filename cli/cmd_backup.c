/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/cmd_backup.c - `ovfkit backup VM` and `ovfkit backup list|restore|
 * export|verify|prune`: backup repositories (DESIGN.md section 5).
 *
 * Exit codes: 0 done, 1 failed, 2 damage found (verify), 64 usage error,
 * 75 another ovfkit process holds the VM's repository lock (--wait waits).
 * With --json the result is one JSON document on stdout (schemas in
 * data/json-schema/backup*.json), progress JSON events before it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/export_opts.h"
#include "ovfkit/backup.h"
#include "ovfkit/lock.h"

#define EXIT_DAMAGED EXIT_DAMAGE

#define SYN_RUN "ovfkit backup [create] VM [--repo DIR] [--full] [--pre CMD] " \
    "[--post CMD]\n       [--wait[=SECONDS]] [--json]"
#define SYN_LIST "ovfkit backup list [--repo DIR] [VM] [--json]"
#define SYN_RESTORE "ovfkit backup restore VM POINT [--repo DIR] " \
    "[--as-new [--name N]] [--force] [--dry-run]\n       [--instant] " \
    "[--json]"
#define SYN_MOVE "ovfkit backup move-storage VM [--json]"
#define SYN_EXPORT "ovfkit backup export VM POINT --to DIR|FILE.ova " \
    "[--repo DIR] [--json]\n       " CLI_EXPORT_SYN
#define SYN_VERIFY "ovfkit backup verify [--repo DIR] [VM [POINT]] " \
    "[--wait[=SECONDS]] [--json]"
#define SYN_FILES "ovfkit backup files VM POINT [PATH] [--repo DIR] [--json]"
#define SYN_EXTRACT "ovfkit backup extract VM POINT PATH... --to DIR " \
    "[--repo DIR] [--json]"
#define SYN_PRUNE "ovfkit backup prune [--repo DIR] [VM] [--keep-last N] " \
    "[--keep-hourly N]\n       [--keep-daily N] [--keep-weekly N] " \
    "[--keep-monthly N] [--keep-yearly N]\n       [--dry-run] " \
    "[--wait[=SECONDS]] [--json]"

/* Exit code for a library failure: 75 for a lock held elsewhere, 130/143
 * after a signal (cli/exit.c). */
static int fail(ovfk_backup_repo *r, int e)
{
    return cli_fail(e, "%s", ovfk_backup_error(r));
}

/* --wait[=SECONDS]: without a value, as long as it takes */
static int wait_arg(const char *syn, const char *arg, int *out)
{
    uint64_t v;

    if (!arg) {
        *out = OVFK_LOCK_WAIT_FOREVER;
        return 0;
    }
    if (cli_uint(syn, "--wait", arg, 0, 7 * 86400, "s", &v)) {
        return EXIT_USAGE;
    }
    *out = (int)v;
    return 0;
}

static int open_repo(const char *dir, ovfk_backup_repo **r)
{
    if (ovfk_backup_repo_open(dir, r) < 0) {
        return cli_error("%s", ovfk_last_error());
    }
    return 0;
}

/* the notes of the backup being taken, for its --json document */
static json_object *notes;

static void note_line(void *opaque, const char *msg)
{
    (void)opaque;
    if (notes) {
        json_object_array_add(notes, json_object_new_string(msg));
    }
    if (!g.quiet) {
        fprintf(stderr, "ovfkit: %s\n", msg);
    }
}

static int do_run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "repo", required_argument, NULL, 'r' },
        { "full", no_argument, NULL, 'F' },
        { "pre", required_argument, NULL, 'p' },
        { "post", required_argument, NULL, 'P' },
        { "wait", optional_argument, NULL, 'w' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct ovfk_backup_opts o = { .wait = g.lock_wait, .note = note_line,
                                  .progress = cli_progress,
                                  .opaque = "backup" };
    struct ovfk_backup_result res;
    const char *repo = NULL;
    ovfk_backup_repo *r;
    ovfk_hv_conn *c;
    int ch, e;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'r':
            repo = optarg;
            break;
        case 'F':
            o.full = true;
            break;
        case 'p':
            o.pre = optarg;
            break;
        case 'P':
            o.post = optarg;
            break;
        case 'w':
            if (wait_arg(SYN_RUN, optarg, &o.wait)) {
                return EXIT_USAGE;
            }
            break;
        case 'j':
            g.json = true;
            break;
        case 'h':
            printf("usage: %s\n", SYN_RUN);
            return 0;
        default:
            return cli_usage(SYN_RUN, "invalid option");
        }
    }
    if (argc - optind != 1) {
        return cli_usage(SYN_RUN, "expected one VM");
    }
    if (open_repo(repo, &r)) {
        return 1;
    }
    if (cli_connect(&c)) {
        ovfk_backup_repo_close(r);
        return 1;
    }
    ovfk_hv_set_lock_wait(c, o.wait);
    notes = json_object_new_array();
    e = ovfk_backup_run(r, c, argv[optind], &o, &res);
    cli_progress_done();
    if (e < 0) {
        e = fail(r, e);
    } else if (g.json) {
        json_object *j = json_object_new_object();
        json_object_object_add(j, "vm", json_object_new_string(
                                   argv[optind]));
        json_object_object_add(j, "repo", json_object_new_string(
                                   ovfk_backup_repo_path(r)));
        json_object_object_add(j, "id", json_object_new_string(res.id));
        json_object_object_add(j, "kind", json_object_new_string(res.kind));
        json_object_object_add(j, "parent", res.parent[0] ?
                               json_object_new_string(res.parent) : NULL);
        json_object_object_add(j, "copied_bytes",
                               json_object_new_uint64(res.copied));
        json_object_object_add(j, "logical_bytes",
                               json_object_new_uint64(res.logical));
        json_object_object_add(j, "notes", json_object_get(notes));
        cli_json_print(j);
    } else if (!g.quiet) {
        char b[32];
        printf("%s backup point %s of '%s' written (%s copied)%s%s\n",
               res.kind, res.id, argv[optind],
               ovfk_size_str(res.copied, b, sizeof(b)),
               res.parent[0] ? " on " : "", res.parent);
    }
    json_object_put(notes);
    notes = NULL;
    ovfk_hv_disconnect(c);
    ovfk_backup_repo_close(r);
    return e;
}

static json_object *jstr_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *point_json(const struct ovfk_backup_point *p)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "vm", json_object_new_string(p->vm_name));
    json_object_object_add(o, "vm_uuid", json_object_new_string(p->vm_uuid));
    json_object_object_add(o, "id", json_object_new_string(p->id));
    json_object_object_add(o, "time", json_object_new_int64(p->time));
    json_object_object_add(o, "created", json_object_new_string(p->created));
    json_object_object_add(o, "kind", json_object_new_string(p->kind));
    json_object_object_add(o, "parent", jstr_or_null(p->parent));
    json_object_object_add(o, "logical_bytes",
                           json_object_new_uint64(p->logical));
    json_object_object_add(o, "stored_bytes",
                           json_object_new_uint64(p->stored));
    json_object_object_add(o, "package", json_object_new_string(p->package));
    json_object_object_add(o, "damaged", jstr_or_null(p->damaged));
    return o;
}

static int do_list(int argc, char **argv)
{
    static const struct option opts[] = {
        { "repo", required_argument, NULL, 'r' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct ovfk_backup_point *pts;
    const char *repo = NULL;
    ovfk_backup_repo *r;
    size_t n;
    int ch, e;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'r') {
            repo = optarg;
        } else if (ch == 'j') {
            g.json = true;
        } else if (ch == 'h') {
            printf("usage: %s\n", SYN_LIST);
            return 0;
        } else {
            return cli_usage(SYN_LIST, "invalid option");
        }
    }
    if (argc - optind > 1) {
        return cli_usage(SYN_LIST, "expected at most one VM");
    }
    if (open_repo(repo, &r)) {
        return 1;
    }
    e = ovfk_backup_list(r, argc > optind ? argv[optind] : NULL, &pts, &n);
    if (e < 0) {
        e = fail(r, e);
    } else if (g.json) {
        json_object *o = json_object_new_object();
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
            json_object_array_add(arr, point_json(&pts[i]));
        }
        json_object_object_add(o, "repo", json_object_new_string(
                                   ovfk_backup_repo_path(r)));
        json_object_object_add(o, "points", arr);
        cli_json_print(o);
        ovfk_backup_points_free(pts, n);
    } else {
        if (n) {
            printf("%-20s %-18s %-20s %-11s %9s %9s  %s\n", "VM", "POINT",
                   "TIME", "KIND", "LOGICAL", "STORED", "PARENT");
        }
        for (size_t i = 0; i < n; i++) {
            char l[32], s[32];
            printf("%-20s %-18s %-20s %-11s %9s %9s  %s%s%s\n",
                   pts[i].vm_name, pts[i].id, pts[i].created, pts[i].kind,
                   ovfk_size_str(pts[i].logical, l, sizeof(l)),
                   ovfk_size_str(pts[i].stored, s, sizeof(s)),
                   pts[i].parent ? pts[i].parent : "-",
                   pts[i].damaged ? "  DAMAGED: " : "",
                   pts[i].damaged ? pts[i].damaged : "");
        }
        ovfk_backup_points_free(pts, n);
    }
    ovfk_backup_repo_close(r);
    return e;
}

static void restore_warn(void *opaque, enum ovfk_severity sev,
                         const char *msg)
{
    (void)opaque;
    cli_warn("%s", msg);
}

static int do_instant(ovfk_backup_repo *r, ovfk_hv_conn *c, const char *vm,
                      const char *point, bool as_new, const char *name)
{
    struct ovfk_hv_vm *out = NULL;
    int e = ovfk_backup_instant(r, c, vm, point, as_new, name, &out);
    char u[37];

    if (e < 0) {
        return fail(r, e);
    }
    ovfk_uuid_str(out->uuid, u);
    if (g.json) {
        json_object *j = json_object_new_object();
        json_object_object_add(j, "vm", json_object_new_string(out->name));
        json_object_object_add(j, "uuid", json_object_new_string(u));
        json_object_object_add(j, "point", json_object_new_string(point));
        json_object_object_add(j, "instant", json_object_new_boolean(true));
        cli_json_print(j);
    } else if (!g.quiet) {
        printf("VM '%s' (%s) defined on point %s: it reads the repository, "
               "writes to its own deltas ('ovfkit backup move-storage %s' "
               "copies it into the store)\n", out->name, u, point,
               out->name);
    }
    ovfk_hv_vm_free(out);
    return 0;
}

static int do_move(int argc, char **argv)
{
    ovfk_backup_repo *r;
    ovfk_hv_conn *c;
    int e;

    if (cli_wants_help(argc, argv)) {
        printf("usage: %s\n", SYN_MOVE);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[2], "--json")) {
        g.json = true;
        argc--;
    }
    if (argc != 2 || argv[1][0] == '-') {
        return cli_usage(SYN_MOVE, "expected one VM");
    }
    if (open_repo(NULL, &r)) {
        return 1;
    }
    if (cli_connect(&c)) {
        ovfk_backup_repo_close(r);
        return 1;
    }
    e = ovfk_backup_move_storage(r, c, argv[1], cli_progress, "move");
    cli_progress_done();
    if (e < 0) {
        e = fail(r, e);
    } else if (g.json) {
        json_object *j = json_object_new_object();
        json_object_object_add(j, "vm", json_object_new_string(argv[1]));
        json_object_object_add(j, "moved", json_object_new_boolean(true));
        cli_json_print(j);
    } else if (!g.quiet) {
        printf("the disks of '%s' are in the store\n", argv[1]);
    }
    ovfk_hv_disconnect(c);
    ovfk_backup_repo_close(r);
    return e;
}

static int do_restore(int argc, char **argv)
{
    static const struct option opts[] = {
        { "repo", required_argument, NULL, 'r' },
        { "as-new", no_argument, NULL, 'a' },
        { "name", required_argument, NULL, 'n' },
        { "force", no_argument, NULL, 'f' },
        { "dry-run", no_argument, NULL, 'D' },
        { "instant", no_argument, NULL, 'I' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool instant = false;
    struct ovfk_hv_import_opts o = { .mode = OVFK_HV_RESTORE,
                                     .warn = restore_warn,
                                .progress = cli_progress,
                                .opaque = "restore" };
    struct ovfk_hv_plan *plan = NULL;
    const char *repo = NULL;
    ovfk_backup_repo *r;
    ovfk_hv_conn *c;
    int ch, e;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'r':
            repo = optarg;
            break;
        case 'a':
            o.mode = OVFK_HV_IMPORT;
            break;
        case 'n':
            o.name = optarg;
            break;
        case 'f':
            o.force = true;
            break;
        case 'D':
            o.dry_run = true;
            break;
        case 'I':
            instant = true;
            break;
        case 'j':
            g.json = true;
            break;
        case 'h':
            printf("usage: %s\n", SYN_RESTORE);
            return 0;
        default:
            return cli_usage(SYN_RESTORE, "invalid option");
        }
    }
    if (argc - optind != 2) {
        return cli_usage(SYN_RESTORE, "expected VM and POINT");
    }
    if (o.name && o.mode != OVFK_HV_IMPORT) {
        return cli_usage(SYN_RESTORE, "--name goes with --as-new (a restore "
                         "keeps the VM's identity)");
    }
    if (open_repo(repo, &r)) {
        return 1;
    }
    if (cli_connect(&c)) {
        ovfk_backup_repo_close(r);
        return 1;
    }
    if (instant) {
        e = do_instant(r, c, argv[optind], argv[optind + 1],
                       o.mode == OVFK_HV_IMPORT, o.name);
        ovfk_hv_disconnect(c);
        ovfk_backup_repo_close(r);
        return e;
    }
    e = ovfk_backup_restore(r, c, argv[optind], argv[optind + 1], &o, &plan);
    cli_progress_done();
    if (e < 0) {
        e = fail(r, e);
    } else if (g.json) {
        char *text = ovfk_hv_plan_to_json(plan);
        json_object *j = text ? json_tokener_parse(text) : NULL;
        free(text);
        if (j) {
            json_object_object_add(j, "dry_run",
                                   json_object_new_boolean(o.dry_run));
            json_object_object_add(j, "point", json_object_new_string(
                                       argv[optind + 1]));
            cli_json_print(j);
        }
    } else if (!g.quiet) {
        char u[37];
        ovfk_uuid_str(plan->vm->uuid, u);
        printf("%s VM '%s' (%s) from point %s%s\n",
               o.dry_run ? "would restore" :
               o.mode == OVFK_HV_IMPORT ? "imported" : "restored",
               plan->vm->name,
               u, argv[optind + 1],
               plan->replaces ? ", replacing the existing one" : "");
    }
    ovfk_hv_plan_free(plan);
    ovfk_hv_disconnect(c);
    ovfk_backup_repo_close(r);
    return e;
}

static int do_export(int argc, char **argv)
{
    static const struct option own[] = {
        { "repo", required_argument, NULL, 'r' },
        { "to", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct option opts[32];
    struct ovfk_hv_export_opts o = { .progress = cli_progress,
                                     .opaque = "export" };
    const char *repo = NULL;
    char *package = NULL;
    ovfk_backup_repo *r;
    int ch, e;

    cli_export_options(CLI_EXP_ALL, own, opts, 32);
    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        e = cli_export_opt(SYN_EXPORT, ch, optarg, &o);
        if (e == EXIT_USAGE) {
            return e;
        }
        if (e == 0) {
            continue;
        }
        if (ch == 'r') {
            repo = optarg;
        } else if (ch == 't') {
            o.to = optarg;
        } else if (ch == 'j') {
            g.json = true;
        } else if (ch == 'h') {
            printf("usage: %s\n", SYN_EXPORT);
            cli_export_help(CLI_EXP_ALL);
            return 0;
        } else {
            return cli_usage(SYN_EXPORT, "invalid option");
        }
    }
    if (argc - optind != 2 || !o.to) {
        return cli_usage(SYN_EXPORT, "expected VM, POINT and --to");
    }
    if (cli_export_check(SYN_EXPORT, &o)) {
        return EXIT_USAGE;
    }
    if (open_repo(repo, &r)) {
        return 1;
    }
    o.package = &package;
    e = ovfk_backup_export(r, argv[optind], argv[optind + 1], &o);
    cli_progress_done();
    if (e < 0) {
        e = fail(r, e);
    } else if (g.json) {
        json_object *j = json_object_new_object();
        json_object_object_add(j, "vm", json_object_new_string(
                                   argv[optind]));
        json_object_object_add(j, "point", json_object_new_string(
                                   argv[optind + 1]));
        json_object_object_add(j, "to", json_object_new_string(o.to));
        json_object_object_add(j, "package", json_object_new_string(
                                   package ? package : o.to));
        cli_json_print(j);
    } else if (!g.quiet) {
        printf("point %s of '%s' exported to '%s'\n", argv[optind + 1],
               argv[optind], o.to);
    }
    free(package);
    ovfk_backup_repo_close(r);
    return e;
}

static void damage_line(void *opaque, const struct ovfk_backup_point *p,
                        const char *problem)
{
    json_object *arr = opaque;

    if (g.json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "vm", json_object_new_string(p->vm_name));
        json_object_object_add(o, "vm_uuid",
                               json_object_new_string(p->vm_uuid));
        json_object_object_add(o, "id", json_object_new_string(p->id));
        json_object_object_add(o, "problem", json_object_new_string(problem));
        json_object_array_add(arr, o);
    } else {
        printf("damaged: %s point %s: %s\n", p->vm_name, p->id, problem);
    }
}

static int do_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        { "repo", required_argument, NULL, 'r' },
        { "wait", optional_argument, NULL, 'w' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *repo = NULL;
    ovfk_backup_repo *r;
    json_object *arr;
    int ch, e, wait = g.lock_wait;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'r') {
            repo = optarg;
        } else if (ch == 'j') {
            g.json = true;
        } else if (ch == 'w') {
            if (wait_arg(SYN_VERIFY, optarg, &wait)) {
                return EXIT_USAGE;
            }
        } else if (ch == 'h') {
            printf("usage: %s\n", SYN_VERIFY);
            return 0;
        } else {
            return cli_usage(SYN_VERIFY, "invalid option");
        }
    }
    if (argc - optind > 2) {
        return cli_usage(SYN_VERIFY, "expected at most VM and POINT");
    }
    if (open_repo(repo, &r)) {
        return 1;
    }
    arr = json_object_new_array();
    e = ovfk_backup_verify(r, argc > optind ? argv[optind] : NULL,
                           argc > optind + 1 ? argv[optind + 1] : NULL,
                           wait, damage_line, arr);
    if (e < 0) {
        e = fail(r, e);
    } else if (g.json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ok", json_object_new_boolean(e == 0));
        json_object_object_add(o, "damaged", json_object_get(arr));
        cli_json_print(o);
        e = e ? EXIT_DAMAGED : 0;
    } else {
        if (!e && !g.quiet) {
            printf("every point verified\n");
        }
        e = e ? EXIT_DAMAGED : 0;
    }
    json_object_put(arr);
    ovfk_backup_repo_close(r);
    return e;
}

static int do_prune(int argc, char **argv)
{
    static const struct option opts[] = {
        { "repo", required_argument, NULL, 'r' },
        { "keep-last", required_argument, NULL, '0' },
        { "keep-hourly", required_argument, NULL, '1' },
        { "keep-daily", required_argument, NULL, '2' },
        { "keep-weekly", required_argument, NULL, '3' },
        { "keep-monthly", required_argument, NULL, '4' },
        { "keep-yearly", required_argument, NULL, '5' },
        { "dry-run", no_argument, NULL, 'D' },
        { "wait", optional_argument, NULL, 'w' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static const char *const keep_names[] = {
        "--keep-last", "--keep-hourly", "--keep-daily", "--keep-weekly",
        "--keep-monthly", "--keep-yearly",
    };
    struct ovfk_backup_keep k = { 0 };
    unsigned *slot[] = { &k.last, &k.hourly, &k.daily, &k.weekly,
                         &k.monthly, &k.yearly };
    struct ovfk_backup_prune_plan plan;
    const char *repo = NULL;
    bool dry = false;
    int wait = g.lock_wait;
    ovfk_backup_repo *r;
    uint32_t v;
    int ch, e;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch >= '0' && ch <= '5') {
            if (cli_uint32(SYN_PRUNE, keep_names[ch - '0'], optarg, 0,
                           1000000, &v)) {
                return EXIT_USAGE;
            }
            *slot[ch - '0'] = v;
        } else if (ch == 'r') {
            repo = optarg;
        } else if (ch == 'D') {
            dry = true;
        } else if (ch == 'w') {
            if (wait_arg(SYN_PRUNE, optarg, &wait)) {
                return EXIT_USAGE;
            }
        } else if (ch == 'j') {
            g.json = true;
        } else if (ch == 'h') {
            printf("usage: %s\n", SYN_PRUNE);
            return 0;
        } else {
            return cli_usage(SYN_PRUNE, "invalid option");
        }
    }
    if (argc - optind > 1) {
        return cli_usage(SYN_PRUNE, "expected at most one VM");
    }
    if (!k.last && !k.hourly && !k.daily && !k.weekly && !k.monthly &&
        !k.yearly) {
        return cli_usage(SYN_PRUNE, "give at least one --keep-* option");
    }
    if (open_repo(repo, &r)) {
        return 1;
    }
    e = ovfk_backup_prune(r, argc > optind ? argv[optind] : NULL, &k, dry,
                          wait, &plan, cli_progress, "prune");
    cli_progress_done();
    if (g.json && (e == 0 || plan.n)) {
        json_object *o = json_object_new_object();
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < plan.n; i++) {
            const struct ovfk_backup_prune_item *it = &plan.items[i];
            json_object *x = json_object_new_object();
            json_object_object_add(x, "vm_uuid",
                                   json_object_new_string(it->vm_uuid));
            json_object_object_add(x, "id", json_object_new_string(it->id));
            json_object_object_add(x, "keep",
                                   json_object_new_boolean(it->keep));
            json_object_object_add(x, "reason", jstr_or_null(it->reason));
            json_object_object_add(x, "action", jstr_or_null(
                                       it->keep ? NULL : it->action));
            json_object_object_add(x, "into", jstr_or_null(it->into));
            json_object_object_add(x, "bytes_needed",
                                   json_object_new_uint64(it->bytes_needed));
            json_object_object_add(x, "frees_bytes",
                                   json_object_new_uint64(it->frees));
            json_object_array_add(arr, x);
        }
        json_object_object_add(o, "dry_run", json_object_new_boolean(dry));
        json_object_object_add(o, "done", json_object_new_boolean(
                                   e == 0 && !dry));
        json_object_object_add(o, "peak_bytes",
                               json_object_new_uint64(plan.peak_bytes));
        json_object_object_add(o, "available_bytes",
                               json_object_new_uint64(plan.available));
        json_object_object_add(o, "points", arr);
        cli_json_print(o);
    } else if (!g.quiet || dry) {
        for (size_t i = 0; i < plan.n; i++) {
            const struct ovfk_backup_prune_item *it = &plan.items[i];
            char b[32];
            if (it->keep) {
                printf("keep   %s (%s)\n", it->id, it->reason);
            } else if (it->into) {
                printf("%s %s into %s (needs %s)\n", dry ? "merge " : "merged",
                       it->id, it->into,
                       ovfk_size_str(it->bytes_needed, b, sizeof(b)));
            } else {
                printf("%s %s\n", dry ? "remove" : "removed", it->id);
            }
        }
        if (plan.n) {
            char need[32], have[32];
            printf("space: needs %s at most, %s available\n",
                   ovfk_size_str(plan.peak_bytes, need, sizeof(need)),
                   ovfk_size_str(plan.available, have, sizeof(have)));
        }
    }
    if (e < 0) {
        e = fail(r, e);
    }
    ovfk_backup_prune_plan_free(&plan);
    ovfk_backup_repo_close(r);
    return e;
}

static const char *const type_names[] = { "file", "directory", "link",
                                          "other" };

static const char *type_name(char t)
{
    return t == 'f' ? type_names[0] : t == 'd' ? type_names[1] :
           t == 'l' ? type_names[2] : type_names[3];
}

static int entry_line(void *opaque, const struct ovfk_backup_entry *en)
{
    json_object *arr = opaque;

    if (g.json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(en->name));
        json_object_object_add(o, "type", json_object_new_string(
                                   type_name(en->type)));
        json_object_object_add(o, "mode", json_object_new_int(
                                   (int)en->mode));
        json_object_object_add(o, "size", json_object_new_uint64(en->size));
        json_object_object_add(o, "mtime", json_object_new_int64(en->mtime));
        json_object_object_add(o, "target", jstr_or_null(en->target));
        json_object_array_add(arr, o);
    } else {
        char when[32];
        time_t t = (time_t)en->mtime;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
        printf("%c %04o %12llu %s %s%s%s\n", en->type == 'f' ? '-' : en->type,
               (unsigned)en->mode, (unsigned long long)en->size, when,
               en->name, en->target ? " -> " : "",
               en->target ? en->target : "");
    }
    return 0;
}

static int do_files(int argc, char **argv)
{
    static const struct option opts[] = {
        { "repo", required_argument, NULL, 'r' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *repo = NULL, *path;
    ovfk_backup_repo *r;
    json_object *arr;
    int ch, e;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'r') {
            repo = optarg;
        } else if (ch == 'j') {
            g.json = true;
        } else if (ch == 'h') {
            printf("usage: %s\n", SYN_FILES);
            return 0;
        } else {
            return cli_usage(SYN_FILES, "invalid option");
        }
    }
    if (argc - optind < 2 || argc - optind > 3) {
        return cli_usage(SYN_FILES, "expected VM, POINT and at most a PATH");
    }
    path = argc - optind == 3 ? argv[optind + 2] : "/";
    if (open_repo(repo, &r)) {
        return 1;
    }
    arr = json_object_new_array();
    e = ovfk_backup_files(r, argv[optind], argv[optind + 1], path,
                          entry_line, arr);
    if (e < 0) {
        e = fail(r, e);
    } else if (g.json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "point", json_object_new_string(
                                   argv[optind + 1]));
        json_object_object_add(o, "path", json_object_new_string(path));
        json_object_object_add(o, "entries", json_object_get(arr));
        cli_json_print(o);
    }
    json_object_put(arr);
    ovfk_backup_repo_close(r);
    return e;
}

static int do_extract(int argc, char **argv)
{
    static const struct option opts[] = {
        { "repo", required_argument, NULL, 'r' },
        { "to", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *repo = NULL, *to = NULL;
    ovfk_backup_repo *r;
    uint64_t files = 0;
    int ch, e;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'r') {
            repo = optarg;
        } else if (ch == 't') {
            to = optarg;
        } else if (ch == 'j') {
            g.json = true;
        } else if (ch == 'h') {
            printf("usage: %s\n", SYN_EXTRACT);
            return 0;
        } else {
            return cli_usage(SYN_EXTRACT, "invalid option");
        }
    }
    if (argc - optind < 3 || !to) {
        return cli_usage(SYN_EXTRACT, "expected VM, POINT, a PATH and --to");
    }
    if (open_repo(repo, &r)) {
        return 1;
    }
    notes = json_object_new_array();
    e = ovfk_backup_extract(r, argv[optind], argv[optind + 1],
                            (const char *const *)argv + optind + 2,
                            (size_t)(argc - optind - 2), to, note_line, NULL,
                            &files);
    if (e < 0) {
        e = fail(r, e);
    } else if (g.json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "point", json_object_new_string(
                                   argv[optind + 1]));
        json_object_object_add(o, "to", json_object_new_string(to));
        json_object_object_add(o, "files", json_object_new_uint64(files));
        json_object_object_add(o, "notes", json_object_get(notes));
        cli_json_print(o);
    } else if (!g.quiet) {
        printf("%llu file%s of point %s copied to '%s'\n",
               (unsigned long long)files, files == 1 ? "" : "s",
               argv[optind + 1], to);
    }
    json_object_put(notes);
    notes = NULL;
    ovfk_backup_repo_close(r);
    return e;
}

int cmd_backup(int argc, char **argv)
{
    static const struct cli_command subs[] = {
        { "create", do_run, "back up a VM (also: ovfkit backup VM)" },
        { "list", do_list, "the points of a repository" },
        { "restore", do_restore, "restore a point (or --as-new import it)" },
        { "export", do_export, "a point as a standalone package" },
        { "verify", do_verify, "re-hash points, check their chains" },
        { "prune", do_prune, "keep what retention keeps, merge the rest" },
        { "files", do_files, "list a guest directory of a point" },
        { "extract", do_extract, "copy guest files out of a point" },
        { "move-storage", do_move, "copy an instant restore into the store" },
        { NULL, NULL, NULL },
    };

    /* `ovfkit backup VM ...` is `ovfkit backup create VM ...`; a VM
     * named like a subcommand needs the long form */
    if (argc >= 2 && argv[1][0] != '-' && strcmp(argv[1], "help")) {
        for (const struct cli_command *s = subs; s->name; s++) {
            if (!strcmp(argv[1], s->name)) {
                return s->fn(argc - 1, argv + 1);
            }
        }
        return do_run(argc, argv);
    }
    return cli_dispatch("backup", subs, argc - 1, argv + 1);
}

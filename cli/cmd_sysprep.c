/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/cmd_sysprep.c - `ovfkit sysprep` (disable services, reset identity,
 * with a report that --undo puts back) and `ovfkit inspect`, offline,
 * through libguestfs.
 *
 * Exit codes: 0 done, 1 failed (or, for --undo, some changes were left
 * alone because they changed since), 64 usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ovfkit/sysprep.h"

#define SYN_SYSPREP "ovfkit sysprep DISK... [--disable-services " \
    "p2v|v2v|NAME,...] [--operations OP,...] [--hostname NAME] " \
    "[--catalog FILE.json] [--report FILE.json] [--dry-run]\n" \
    "       ovfkit sysprep --undo REPORT.json DISK..."
#define SYN_INSPECT "ovfkit inspect DISK... [--json]"

/* Split "a,b,c" into v (pointers into s, which is modified). */
static size_t split(char *s, const char **v, size_t max)
{
    size_t n = 0;

    for (char *t; n < max && (t = strsep(&s, ",")) != NULL;) {
        if (*t) {
            v[n++] = t;
        }
    }
    return n;
}

static void print_os(ovfk_sysprep *s)
{
    size_t n = ovfk_sysprep_os_count(s);

    if (n == 0) {
        printf("no operating system found\n");
    }
    for (size_t i = 0; i < n; i++) {
        const struct ovfk_sysprep_os *o = ovfk_sysprep_os_at(s, i);
        printf("%s: %s %s %d.%d (%s), %s, hostname %s\n", o->root, o->type,
               o->distro ? o->distro : "?", o->major, o->minor,
               o->product ? o->product : "?", o->arch ? o->arch : "?",
               o->hostname && o->hostname[0] ? o->hostname : "(none)");
    }
}

static json_object *os_json(ovfk_sysprep *s)
{
    json_object *a = json_object_new_array();

    for (size_t i = 0; i < ovfk_sysprep_os_count(s); i++) {
        const struct ovfk_sysprep_os *o = ovfk_sysprep_os_at(s, i);
        json_object *e = json_object_new_object();
#define STR(k, v)                                                              \
    json_object_object_add(e, k, (v) ? json_object_new_string(v) : NULL)
        STR("root", o->root);
        STR("type", o->type);
        STR("distro", o->distro);
        STR("product", o->product);
        json_object_object_add(e, "major", json_object_new_int(o->major));
        json_object_object_add(e, "minor", json_object_new_int(o->minor));
        STR("hostname", o->hostname);
        STR("arch", o->arch);
#undef STR
        json_object_array_add(a, e);
    }
    return a;
}

static int do_undo(const char *report, int argc, char **argv)
{
    size_t restored = 0;
    int r;

    if (argc < 1) {
        return cli_usage(SYN_SYSPREP, "--undo needs the disks");
    }
    r = ovfk_sysprep_undo(report, (const char *const *)argv, (size_t)argc,
                     &restored);
    if (!g.quiet) {
        printf("%zu change%s put back\n", restored, restored == 1 ? "" : "s");
    }
    return r < 0 ? cli_error("%s", ovfk_last_error()) : 0;
}

/* What the command line asks for. */
struct sysprep_args {
    const char *services[64], *ops[16];
    size_t ns, no;
    char *sbuf, *obuf;      /* the split copies services and ops point in */
    const char *hostname, *catalog, *report, *undo;
    bool dry;
};

/* parse_args() printed the help: exit 0 */
#define SYSPREP_HELP (-1)

static void print_help(void)
{
    printf("usage: %s\n\noperations:", SYN_SYSPREP);
    for (const char *const *n = ovfk_sysprep_op_names(); *n; n++) {
        printf(" %s", *n);
    }
    printf("\n");
}

/* The options into a (a->sbuf and a->obuf to free): 0, SYSPREP_HELP, or
 * EXIT_USAGE (printed). */
static int parse_args(int argc, char **argv, struct sysprep_args *a)
{
    static const struct option opts[] = {
        { "disable-services", required_argument, NULL, 's' },
        { "operations", required_argument, NULL, 'o' },
        { "hostname", required_argument, NULL, 'H' },
        { "catalog", required_argument, NULL, 'c' },
        { "report", required_argument, NULL, 'r' },
        { "dry-run", no_argument, NULL, 'n' },
        { "undo", required_argument, NULL, 'u' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            free(a->sbuf);
            a->sbuf = strdup(optarg);
            a->ns = split(a->sbuf, a->services, 64);
            break;
        case 'o':
            free(a->obuf);
            a->obuf = strdup(optarg);
            a->no = split(a->obuf, a->ops, 16);
            break;
        case 'H':
            a->hostname = optarg;
            break;
        case 'c':
            a->catalog = optarg;
            break;
        case 'r':
            a->report = optarg;
            break;
        case 'n':
            a->dry = true;
            break;
        case 'u':
            a->undo = optarg;
            break;
        case 'j':
            g.json = true;
            break;
        case 'h':
            print_help();
            return SYSPREP_HELP;
        default:
            return cli_usage(SYN_SYSPREP, "invalid option");
        }
    }
    return 0;
}

/* Before anything is opened: the disks and what to do with them are
 * there, every operation is one the library knows.  0 or EXIT_USAGE. */
static int check_args(int ndisks, const struct sysprep_args *a)
{
    if (ndisks < 1 || (a->ns == 0 && a->no == 0)) {
        return cli_usage(SYN_SYSPREP, "expected disks and --disable-services "
                         "or --operations");
    }
    for (size_t i = 0; i < a->no; i++) {
        bool known = false;
        for (const char *const *n = ovfk_sysprep_op_names(); *n; n++) {
            known |= !strcmp(*n, a->ops[i]);
        }
        if (!known) {
            return cli_usage(SYN_SYSPREP, "unknown operation '%s'",
                             a->ops[i]);
        }
    }
    return 0;
}

/* What sysprep changed (or would change, dry): JSON or one line each. */
static void print_changes(ovfk_sysprep *s, bool dry)
{
    size_t n = ovfk_sysprep_change_count(s);

    if (g.json) {
        json_object *o = json_object_new_object(), *a = json_object_new_array();
        json_object_object_add(o, "os", os_json(s));
        for (size_t i = 0; i < n; i++) {
            const struct ovfk_sysprep_change *c = ovfk_sysprep_change_at(s, i);
            json_object *e = json_object_new_object();
            json_object_object_add(e, "kind", json_object_new_string(c->kind));
            json_object_object_add(e, "path", json_object_new_string(c->path));
            json_object_array_add(a, e);
        }
        json_object_object_add(o, "changes", a);
        json_object_object_add(o, "dry_run", json_object_new_boolean(dry));
        cli_json_print(o);
        return;
    }
    if (g.quiet) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct ovfk_sysprep_change *c = ovfk_sysprep_change_at(s, i);
        printf("%s%s %s\n", dry ? "would change: " : "", c->kind, c->path);
    }
    printf("%zu change%s%s\n", n, n == 1 ? "" : "s",
           dry ? " (dry run: nothing written)" : "");
}

/* Open the disks, run the operations, write the report: 0 or 1
 * (printed). */
static int run(const char *const *disks, size_t ndisks,
               const struct sysprep_args *a,
               const struct ovfk_sysprep_services *set)
{
    ovfk_sysprep *s = NULL;
    int r = 0;

    if (ovfk_sysprep_open(disks, ndisks, a->dry, &s) < 0) {
        return cli_error("%s", ovfk_last_error());
    }
    if (!g.quiet && !g.json) {
        print_os(s);
    }
    if (a->ns) {
        r = ovfk_sysprep_op_disable_services(s, set, a->dry);
    }
    for (size_t i = 0; r == 0 && i < a->no; i++) {
        r = ovfk_sysprep_op_run(s, a->ops[i], a->hostname, a->dry);
    }
    if (r < 0) {
        r = cli_error("%s", ovfk_sysprep_error(s));
    }
    /* the report is written even after a failure: it holds what changed */
    if (a->report && ovfk_sysprep_report_write(s, disks, ndisks, a->dry,
                                          a->report) < 0) {
        r = cli_error("%s", ovfk_sysprep_error(s));
    }
    print_changes(s, a->dry);
    ovfk_sysprep_close(s);
    return r;
}

int cmd_sysprep(int argc, char **argv)
{
    struct sysprep_args a = { .ns = 0 };
    struct ovfk_sysprep_services set = { 0 };
    const char *const *disks;
    size_t ndisks;
    int r;

    r = parse_args(argc, argv, &a);
    disks = (const char *const *)argv + optind;
    ndisks = (size_t)(argc - optind);
    if (r) {
        r = r == SYSPREP_HELP ? 0 : r;
    } else if (a.undo) {
        r = (a.ns || a.no || a.dry)
            ? cli_usage(SYN_SYSPREP, "--undo takes only the disks")
            : do_undo(a.undo, argc - optind, argv + optind);
    } else if ((r = check_args(argc - optind, &a)) == 0) {
        if (a.ns && ovfk_sysprep_services_resolve(a.services, a.ns, a.catalog,
                                             &set) < 0) {
            r = cli_error("%s", ovfk_last_error());
        } else {
            r = run(disks, ndisks, &a, &set);
        }
    }
    ovfk_sysprep_services_free(&set);
    free(a.sbuf);
    free(a.obuf);
    return r;
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    ovfk_sysprep *s;
    int ch;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'j') {
            g.json = true;
        } else if (ch == 'h') {
            printf("usage: %s\n", SYN_INSPECT);
            return 0;
        } else {
            return cli_usage(SYN_INSPECT, "invalid option");
        }
    }
    if (argc - optind < 1) {
        return cli_usage(SYN_INSPECT, "expected disks");
    }
    if (ovfk_sysprep_open((const char *const *)argv + optind,
                     (size_t)(argc - optind), true, &s) < 0) {
        return cli_error("%s", ovfk_last_error());
    }
    if (g.json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "os", os_json(s));
        cli_json_print(o);
    } else {
        print_os(s);
    }
    ovfk_sysprep_close(s);
    return 0;
}

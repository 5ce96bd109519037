/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/util.c - error printing, dispatch, progress and JSON for the CLI.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/numarg.h"
#include "ovfkit/common.h"
#include "ovfkit/hv.h"

struct cli_globals g;

static bool bar_drawn;

int cli_error(const char *fmt, ...)
{
    va_list ap;

    cli_progress_done();
    fputs("ovfkit: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;

    cli_progress_done();
    fputs("ovfkit: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage(const char *synopsis, const char *fmt, ...)
{
    va_list ap;

    fputs("ovfkit: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: %s\n", synopsis);
    return EXIT_USAGE;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            return false;
        }
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            return true;
        }
    }
    return false;
}

int cli_dispatch(const char *group, const struct cli_command *cmds,
                 int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 ||
        strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "help") == 0) {
        FILE *out = argc < 1 ? stderr : stdout;
        fprintf(out, "usage: ovfkit %s <command> [options]\n\ncommands:\n",
                group);
        for (const struct cli_command *c = cmds; c->name; c++) {
            fprintf(out, "  %-10s %s\n", c->name, c->summary);
        }
        return argc < 1 ? EXIT_USAGE : 0;
    }
    for (const struct cli_command *c = cmds; c->name; c++) {
        if (strcmp(c->name, argv[0]) == 0) {
            return c->fn(argc, argv);
        }
    }
    fprintf(stderr, "ovfkit: '%s' is not an 'ovfkit %s' command; see "
            "'ovfkit %s --help'\n", argv[0], group, group);
    return EXIT_USAGE;
}

int cli_progress(void *opaque, uint64_t done, uint64_t total)
{
    static time_t last;
    const char *label = opaque ? opaque : "";
    time_t now = time(NULL);

    if (cli_progress_stop()) {
        return 1;           /* SIGINT/SIGTERM: the library stops */
    }
    if (g.quiet) {
        return 0;
    }
    if (g.json) {
        if (now != last || (total && done >= total)) {
            json_object *f = json_object_new_object();
            json_object_object_add(f, "label", json_object_new_string(label));
            json_object_object_add(f, "done", json_object_new_uint64(done));
            json_object_object_add(f, "total",
                                   json_object_new_uint64(total));
            cli_json_event("progress", f);
            last = now;
        }
        return 0;
    }
    if (isatty(STDERR_FILENO) && total) {
        int pct = (int)(done * 100 / total);
        int fill = pct / 4;
        fprintf(stderr, "\r%-12.12s [%-25.*s%*s] %3d%%", label, fill,
                "#########################", 25 - fill, "", pct);
        bar_drawn = true;
    }
    return 0;
}

void cli_progress_done(void)
{
    if (bar_drawn) {
        fputc('\n', stderr);
        bar_drawn = false;
    }
}

void cli_json_print(json_object *o)
{
    cli_progress_done();
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                           JSON_C_TO_STRING_SPACED |
                                           JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

void cli_json_event(const char *name, json_object *fields)
{
    json_object *o = fields ? fields : json_object_new_object();

    json_object_object_add(o, "event", json_object_new_string(name));
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                           JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
    json_object_put(o);
}

int cli_uint(const char *syn, const char *opt, const char *text,
             uint64_t min, uint64_t max, const char *unit, uint64_t *out)
{
    char why[200];

    if (numarg_uint(text, min, max, unit, out, why, sizeof(why)) < 0) {
        return cli_usage(syn, "invalid %s '%s': %s", opt, text ? text : "",
                         why);
    }
    return 0;
}

int cli_uint32(const char *syn, const char *opt, const char *text,
               uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v;
    int r = cli_uint(syn, opt, text, min, max, NULL, &v);

    if (r == 0) {
        *out = (uint32_t)v;
    }
    return r;
}

int cli_size(const char *syn, const char *opt, const char *text,
             uint64_t min, uint64_t max, uint64_t *out)
{
    char why[200];

    if (numarg_size(text, min, max, out, why, sizeof(why)) < 0) {
        return cli_usage(syn, "invalid %s '%s': %s", opt, text ? text : "",
                         why);
    }
    return 0;
}

int cli_cpus(const char *syn, const char *text, uint32_t max_cpus,
             uint32_t *out)
{
    uint32_t max = max_cpus ? max_cpus : OVFK_HV_DEFAULT_MAX_CPUS;
    char why[200];
    uint64_t v;
    int r;

    if (!text) {
        return 0;
    }
    r = numarg_uint(text, 1, max, NULL, &v, why, sizeof(why));
    if (r == -ERANGE) {
        /* the limit is the platform's (DESIGN.md), and can be moved */
        return cli_usage(syn, "invalid --cpus '%s': a VM has 1 to %u vCPUs "
                         "here (--max-cpus N for another platform)", text,
                         max);
    }
    if (r < 0) {
        return cli_usage(syn, "invalid --cpus '%s': %s", text, why);
    }
    *out = (uint32_t)v;
    return 0;
}

int cli_memory(const char *syn, const char *text, uint64_t *out)
{
    return cli_uint(syn, "--memory", text, OVFK_HV_MIN_MEMORY_MIB,
                    CLI_MAX_MEMORY_MIB, "MiB", out);
}

int cli_max_cpus(const char *syn, const char *text, uint32_t *out)
{
    return cli_uint32(syn, "--max-cpus", text, 1, CLI_MAX_CPUS_CEILING, out);
}

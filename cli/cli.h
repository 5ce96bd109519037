/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/cli.h - what the subcommands of the ovfkit command share: global
 * options, error printing, progress display, JSON output.  The CLI uses
 * only the public headers of the library (include/ovfkit).
 *
 * Exit codes common to all commands: 0 success, 1 failure, 64 usage
 * error.  Commands with more document them in their --help.
 */
#ifndef OVFK_CLI_H
#define OVFK_CLI_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#define EXIT_USAGE 64

struct cli_globals {
    bool json;          /* --json: machine output on stdout */
    bool quiet;         /* -q: no progress, no chatter */
    const char *store;  /* --store DIR */
    const char *connect;/* --connect URI|xen:DIR */
};

extern struct cli_globals g;

struct cli_command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

/* Print "ovfkit: <message>" on stderr; returns 1 (the failure exit). */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a warning "ovfkit: warning: ..." on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a usage error and the synopsis; returns EXIT_USAGE. */
int cli_usage(const char *synopsis, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Dispatch argv[0] through a {name, fn, summary} table. */
int cli_dispatch(const char *group, const struct cli_command *cmds,
                 int argc, char **argv);

/* true when argv holds -h or --help before a "--" */
bool cli_wants_help(int argc, char **argv);

/* Progress callback for the library: a bar on a terminal, JSON events
 * with --json, nothing otherwise.  opaque is a label (const char *). */
int cli_progress(void *opaque, uint64_t done, uint64_t total);
/* End a progress bar line if one was drawn. */
void cli_progress_done(void);

/* Print a JSON value on stdout (pretty) and release it. */
void cli_json_print(json_object *o);
/* Emit one JSON event line {"event": name, ...} on stdout (--json). */
void cli_json_event(const char *name, json_object *fields);

/*
 * Numbers on the command line (cli/numarg.h): a whole number, or a size
 * with an optional K/M/G/T suffix, in [min, max].  0, or EXIT_USAGE after
 * printing "invalid OPT 'TEXT': why" and the synopsis syn.
 */
int cli_uint(const char *syn, const char *opt, const char *text,
             uint64_t min, uint64_t max, const char *unit, uint64_t *out);
int cli_uint32(const char *syn, const char *opt, const char *text,
               uint32_t min, uint32_t max, uint32_t *out);
int cli_size(const char *syn, const char *opt, const char *text,
             uint64_t min, uint64_t max, uint64_t *out);
/* --cpus TEXT (NULL: not given, *out untouched) in 1..max_cpus, the
 * --max-cpus value or, when 0, OVFK_HV_DEFAULT_MAX_CPUS; read after all the
 * options, as --max-cpus may follow --cpus. */
int cli_cpus(const char *syn, const char *text, uint32_t max_cpus,
             uint32_t *out);
/* --memory MIB: OVFK_HV_MIN_MEMORY_MIB..CLI_MAX_MEMORY_MIB */
int cli_memory(const char *syn, const char *text, uint64_t *out);
/* --max-cpus N: 1..CLI_MAX_CPUS_CEILING */
int cli_max_cpus(const char *syn, const char *text, uint32_t *out);

/* Connect to the inventory --store/--connect name (prints errors). */
struct ovfk_hv_conn;
int cli_connect(struct ovfk_hv_conn **c);

/* Subcommand groups. */
int cmd_vhd(int argc, char **argv);
int cmd_ovf(int argc, char **argv);
int cmd_ova(int argc, char **argv);
int cmd_vm(int argc, char **argv);
int cmd_net(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_sysprep(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_backup(int argc, char **argv);

#endif

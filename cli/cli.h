/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/cli.h - what the subcommands of the ovfkit command share: global
 * options, error printing, progress display, JSON output.  The CLI uses
 * only the public headers of the library (include/ovfkit).
 *
 * Exit codes: one table for every command, cli_exit_codes (cli/exit.c).
 */
#ifndef OVFK_CLI_H
#define OVFK_CLI_H

#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The exit codes (cli/exit.c has the table that documents them). */
#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_DAMAGE 2       /* partly done, or damage found */
#define EXIT_USAGE 64       /* sysexits.h EX_USAGE */
#define EXIT_TEMPFAIL 75    /* sysexits.h EX_TEMPFAIL: a lock is held */
#define EXIT_SIGINT 130     /* 128 + SIGINT */
#define EXIT_SIGTERM 143    /* 128 + SIGTERM */

/* One row: code, the command it is special to (NULL: every command),
 * what it means.  The table ends with a NULL meaning; `ovfkit --help`
 * prints it (cli_exit_codes_print).  It is generated from the EXIT STATUS
 * of doc/ovfkit.1.scd (scripts/scd2help.py), the man page's source. */
struct cli_exit_code {
    int code;
    const char *commands;
    const char *meaning;
};
extern const struct cli_exit_code cli_exit_codes[];
void cli_exit_codes_print(FILE *out);

/* The exit code for a library result: 0 for r >= 0, 128 + the signal
 * once SIGINT or SIGTERM arrived, EXIT_TEMPFAIL for -EAGAIN (a lock is
 * held), else EXIT_FAILED. */
int cli_exit_for(int r);
/* Print "ovfkit: <message>" (with a --wait hint for -EAGAIN, or that the
 * command was interrupted) and return cli_exit_for(r). */
int cli_fail(int r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* SIGINT/SIGTERM set cli_signal (the signal's number); long operations
 * notice it through cli_progress, which then asks the library to stop;
 * a second signal of the same kind ends the process at once. */
extern volatile sig_atomic_t cli_signal;
void cli_signals_install(void);
/* What every progress callback asks first: true once a signal arrived.
 * For tests, OVFKIT_TEST_SLOW_MS=N first sleeps N ms (each step of a copy
 * takes that long, so a test can catch a command in the middle). */
bool cli_progress_stop(void);
/* A progress callback that shows nothing and only stops on a signal, for
 * commands whose --json or -q output must stay free of progress. */
int cli_stop_only(void *opaque, uint64_t done, uint64_t total);

/* --progress=WHEN (cli/progress.c) */
enum cli_progress_mode {
    CLI_PROGRESS_AUTO,  /* a bar when stderr is a terminal, unless -q */
    CLI_PROGRESS_NONE,
    CLI_PROGRESS_BAR,   /* a bar on stderr even on a pipe */
    CLI_PROGRESS_JSON,  /* one JSON event per line on stdout */
};

struct cli_globals {
    bool json;          /* --json: machine output on stdout */
    enum cli_progress_mode progress;
    bool quiet;         /* -q: no progress, no chatter */
    const char *store;  /* --store DIR */
    const char *connect;/* --connect URI|xen:DIR */
    int lock_wait;      /* --wait SECONDS for a locked VM/store */
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

/* Progress callback for the library (cli/progress.c): a bar on stderr
 * with bytes, rate and time left, or JSON events on stdout, or nothing,
 * as --progress and -q say.  opaque is the phase ("exporting"). */
int cli_progress(void *opaque, uint64_t done, uint64_t total);
/* End the step under way: the final event, or the bar's newline. */
void cli_progress_done(void);
/* Before a line on stderr in the middle of an operation (a warning): the
 * bar moves out of its way, the step goes on. */
void cli_progress_pause(void);
/* true with --progress=json (stdout is JSON Lines) */
bool cli_progress_json(void);
/* "auto", "bar", "json", "none": 0, or -1 for anything else */
int cli_progress_mode_parse(const char *text, enum cli_progress_mode *out);

/* Print a JSON value on stdout (pretty) and release it. */
void cli_json_print(json_object *o);

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
int cmd_p2v(int argc, char **argv);
int cmd_backup(int argc, char **argv);

#endif

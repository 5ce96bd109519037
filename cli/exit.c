/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/exit.c - the exit codes of every ovfkit command, in one table that
 * `ovfkit --help`, the README and the man pages print (stable from 0.1 on:
 * scripts and backup jobs test them); the mapping from the library's
 * codes to them; and SIGINT/SIGTERM, which set a flag the long operations
 * notice (through the progress callback) so they stop, put everything
 * back, and exit 130/143.
 *
 * The general codes follow sysexits.h where it has one (64 EX_USAGE, 75
 * EX_TEMPFAIL) and the shell's 128 + signal; `vhd check` keeps qemu-img
 * check's codes and `vhd compare` qemu-img compare's, so scripts written
 * for qemu-img work unchanged.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ovfkit/lock.h"

const struct cli_exit_code cli_exit_codes[] = {
    { EXIT_OK, NULL, "success (with --dry-run: planned)" },
    { EXIT_FAILED, NULL, "failed; what the command changed was put back" },
    { EXIT_DAMAGE, NULL, "partly done, or damage found (ova verify, ovf "
      "validate; vhd check: corrupt)" },
    { EXIT_USAGE, NULL, "usage error: an unknown option, a missing or "
      "invalid argument" },
    { EXIT_TEMPFAIL, NULL, "temporary failure: a VM, store or repository "
      "is locked by another job (the message names it); retry later, or "
      "wait with --wait SECONDS" },
    { EXIT_SIGINT, NULL, "interrupted by SIGINT (Ctrl-C): everything left "
      "as before (a snapshot delete stopped inside a merge says what it "
      "left)" },
    { EXIT_SIGTERM, NULL, "stopped by SIGTERM: as for 130" },
    /* qemu-img check's codes */
    { 0, "vhd check", "no problems found" },
    { 1, "vhd check", "could not check (cannot open, I/O error)" },
    { 2, "vhd check", "corruption found" },
    { 3, "vhd check", "leaks only, or an unfinished merge (data intact; "
      "vhd repair completes it)" },
    { 63, "vhd check", "the image uses what the check does not support" },
    /* qemu-img compare's codes */
    { 0, "vhd compare", "the contents are the same" },
    { 1, "vhd compare", "the contents differ" },
    { 2, "vhd compare", "error (cannot open or read)" },
    { -1, NULL, NULL },
};

/* text at column indent, words wrapped before column 79 */
static void wrap(FILE *out, const char *text, int indent, int col)
{
    const char *p = text;

    while (*p) {
        const char *end = p + strcspn(p, " ");
        int len = (int)(end - p);
        if (col > indent && col + 1 + len > 79) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", len, p);
        col += len;
        p = *end ? end + 1 : end;
    }
    fputc('\n', out);
}

void cli_exit_codes_print(FILE *out)
{
    const char *group = NULL;

    fprintf(out, "exit codes:\n");
    for (const struct cli_exit_code *e = cli_exit_codes; e->meaning; e++) {
        int indent = e->commands ? 9 : 7;
        if (e->commands && (!group || strcmp(group, e->commands) != 0)) {
            group = e->commands;
            fprintf(out, "  %s:\n", group);
        }
        fprintf(out, "%*s%-4d ", indent - 5, "", e->code);
        wrap(out, e->meaning, indent, indent);
    }
}

volatile sig_atomic_t cli_signal;

static void on_signal(int sig)
{
    if (cli_signal == sig) {
        /* asked twice: the user insists, whatever is left half done */
        signal(sig, SIG_DFL);
        raise(sig);
    }
    cli_signal = sig;
    ovfk_lock_interrupt();      /* a wait for a lock ends too */
}

void cli_signals_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* no SA_RESTART: a wait (for a lock, a child) ends at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_exit_for(int r)
{
    if (r >= 0) {
        return EXIT_OK;
    }
    if (cli_signal) {
        return 128 + cli_signal;
    }
    if (r == -EAGAIN) {
        return EXIT_TEMPFAIL;
    }
    return EXIT_FAILED;
}

int cli_fail(int r, const char *fmt, ...)
{
    va_list ap;

    cli_progress_done();
    fputs("ovfkit: ", stderr);
    if (cli_signal) {
        /* the library's message says what was left (-ECANCELED: as it
         * was before, unless the message says otherwise) */
        fprintf(stderr, "interrupted by %s: ",
                cli_signal == SIGINT ? "SIGINT" : "SIGTERM");
    }
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (r == -EAGAIN) {
        fputs(g.lock_wait ? "; pass a longer --wait SECONDS to wait for it"
                          : "; pass --wait SECONDS to wait for it", stderr);
    }
    fputc('\n', stderr);
    return cli_exit_for(r);
}

bool cli_progress_stop(void)
{
    static long slow_ms = -1;

    if (slow_ms < 0) {
        const char *env = getenv("OVFKIT_TEST_SLOW_MS");
        slow_ms = env ? strtol(env, NULL, 10) : 0;
        slow_ms = slow_ms > 0 && slow_ms < 10000 ? slow_ms : 0;
    }
    if (slow_ms && !cli_signal) {
        struct timespec t = { slow_ms / 1000, (slow_ms % 1000) * 1000000L };
        nanosleep(&t, NULL);    /* a signal ends it early */
    }
    return cli_signal != 0;
}

int cli_stop_only(void *opaque, uint64_t done, uint64_t total)
{
    (void)opaque;
    (void)done;
    (void)total;
    return cli_progress_stop() ? 1 : 0;
}

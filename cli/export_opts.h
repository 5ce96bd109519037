/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/export_opts.h - the options of the commands that write a package
 * (`export`, `snapshot export`, `convert`, later `backup`): one table, so
 * every command accepts the same spellings and says the same in --help.
 *
 * A command keeps its own getopt_long loop for its own options; it builds
 * its option table with cli_export_options() and hands every option it
 * does not know to cli_export_opt(), which parses it into the library's
 * struct ovfk_hv_export_opts.
 */
#ifndef OVFK_CLI_EXPORT_OPTS_H
#define OVFK_CLI_EXPORT_OPTS_H

#include <getopt.h>
#include <stddef.h>

#include "ovfkit/hv.h"

/* Which of the shared options a command takes. */
enum cli_export_set {
    CLI_EXP_OVF = 1u << 0,          /* --ovf 1.0|2.0 */
    CLI_EXP_DIGEST = 1u << 1,       /* --digest sha256|sha1|sha512 */
    CLI_EXP_COMPRESS = 1u << 2,     /* --compress */
    CLI_EXP_CONFIG_ONLY = 1u << 3,  /* --config-only */
    CLI_EXP_FIXED = 1u << 4,        /* --fixed */
    CLI_EXP_SIGN = 1u << 5,         /* --key KEY.pem --cert CERT.pem */
    /* export and snapshot export: everything */
    CLI_EXP_ALL = (1u << 6) - 1,
    /* convert: how the package is written, not what goes in it */
    CLI_EXP_PACKAGING = CLI_EXP_DIGEST | CLI_EXP_FIXED,
};

/* The synopsis words of CLI_EXP_ALL and CLI_EXP_PACKAGING, in the order
 * of the table, for the commands' SYN_ strings. */
#define CLI_EXPORT_SYN "[--ovf 1.0|2.0] [--digest sha256|sha1|sha512] " \
    "[--compress]\n       [--config-only] [--fixed] " \
    "[--key KEY.pem --cert CERT.pem]"
#define CLI_PACKAGING_SYN "[--digest sha256|sha1|sha512] [--fixed]"

/*
 * Fill out (max entries) with the command's own options (own, ended by a
 * NULL name) followed by the shared options in set, and the terminating
 * entry.  The shared options' getopt values lie above every character,
 * so they never collide with a command's short options.  Returns 0, or
 * -ENOSPC when out is too small (a mistake in the caller).
 */
int cli_export_options(unsigned set, const struct option *own,
                       struct option *out, size_t max);

/*
 * Take the option getopt_long returned as ch (its argument arg) into o:
 * 0 when it was a shared option, 1 when it is not one (the command's own,
 * or an invalid option), EXIT_USAGE after printing the usage error (with
 * syn) for a bad value.
 */
int cli_export_opt(const char *syn, int ch, const char *arg,
                   struct ovfk_hv_export_opts *o);

/* After the options: the combinations the table allows (--key and --cert
 * go together).  0, or EXIT_USAGE after printing the usage error. */
int cli_export_check(const char *syn, const struct ovfk_hv_export_opts *o);

/* Print the help lines of the shared options in set (after "usage:"). */
void cli_export_help(unsigned set);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/help.h - `ovfkit help`, every command's --help, and what the bash
 * completion asks.  The text is not written here: `make` generates the
 * table from the man page sources, doc/ovfkit*.1.scd, with
 * scripts/scd2help.py, so the help and the man pages are one text.  A new
 * command is documented by one `## NAME` section in a page (a new page
 * for a new group: make finds it); scripts/scd2help.py says how.
 */
#ifndef OVFK_CLI_HELP_H
#define OVFK_CLI_HELP_H

#include <stdbool.h>
#include <stdio.h>

struct cli_command;

struct cli_help {
    const char *name;       /* "vhd create", "export"; "ovfkit": global */
    const char *page;       /* the man page: "ovfkit-vhd" */
    const char *text;       /* "usage: ..." and the rest, as printed */
    const char *options;    /* one "--name\tARG" (or "--name\t") a line */
    const char *operands;   /* the synopsis's operands: "VM SNAP" */
};

/* The generated table (build/cli/help_text.c), ended by a NULL name. */
extern const struct cli_help cli_help_table[];

/* The entry called name, or NULL. */
const struct cli_help *cli_help_find(const char *name);

/* Print the help of the command name ("vhd create") on stdout: 0, or -1
 * (nothing printed) when it has none. */
int cli_help_show(const char *name);

/* When argv (the command and its arguments) asks for --help and the
 * command, or the subcommand argv[1] of the group argv[0], has an entry:
 * print it and return true.  Here, not in each group's dispatch, so that
 * a group that dispatches in its own way (`backup VM` for `backup create
 * VM`) gets it too. */
bool cli_help_wanted(int argc, char **argv);

/* The synopsis of name ("ovfkit") on out, and where the help is. */
void cli_help_synopsis(FILE *out, const char *name);

/* `ovfkit --help` on out: the global entry, then the commands of cmds. */
void cli_help_main(FILE *out, const struct cli_command *cmds);

/* `ovfkit help [COMMAND [SUBCOMMAND]]` (argv[0] is "help"), with the
 * queries of the completion: --commands [GROUP], --options COMMAND...,
 * --operands COMMAND...  Returns the exit code. */
int cli_help_cmd(int argc, char **argv, const struct cli_command *cmds);

#endif

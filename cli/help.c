/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/help.c - `ovfkit help`, the --help of every command, and the
 * queries the bash completion makes (cli/help.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/help.h"

const struct cli_help *cli_help_find(const char *name)
{
    for (const struct cli_help *h = cli_help_table; h->name; h++) {
        if (strcmp(h->name, name) == 0) {
            return h;
        }
    }
    return NULL;
}

int cli_help_show(const char *name)
{
    const struct cli_help *h = cli_help_find(name);

    if (!h) {
        return -1;
    }
    fputs(h->text, stdout);
    printf("\nglobal options and exit codes: 'ovfkit help'; "
           "the manual: 'man %s'\n", h->page);
    return 0;
}

bool cli_help_wanted(int argc, char **argv)
{
    char name[128];

    if (!cli_wants_help(argc, argv)) {
        return false;
    }
    if (argc > 1 && argv[1][0] != '-') {
        snprintf(name, sizeof(name), "%s %s", argv[0], argv[1]);
        if (cli_help_show(name) == 0) {
            return true;
        }
    }
    return cli_help_show(argv[0]) == 0;
}

void cli_help_synopsis(FILE *out, const char *name)
{
    const struct cli_help *h = cli_help_find(name);
    const char *end = h ? strstr(h->text, "\n\n") : NULL;

    if (end) {
        fprintf(out, "%.*s\n", (int)(end - h->text), h->text);
    }
    fprintf(out, "see 'ovfkit help%s%s'\n", strcmp(name, "ovfkit") ? " " : "",
            strcmp(name, "ovfkit") ? name : "");
}

void cli_help_main(FILE *out, const struct cli_command *cmds)
{
    const struct cli_help *h = cli_help_find("ovfkit");

    if (h) {
        fputs(h->text, out);
    }
    fprintf(out, "\ncommands:\n");
    for (const struct cli_command *c = cmds; c->name; c++) {
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    }
    fprintf(out, "  %-10s %s\n", "help", "describe ovfkit or a command");
    fprintf(out, "\n'ovfkit help COMMAND [SUBCOMMAND]' describes a command; "
            "'man ovfkit' the whole.\n\n");
    cli_exit_codes_print(out);
}

/* argv joined with spaces into buf: "vhd create" */
static void join(int argc, char **argv, char *buf, size_t len)
{
    size_t n = 0;

    buf[0] = '\0';
    for (int i = 0; i < argc && n < len; i++) {
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? " " : "",
                              argv[i]);
    }
}

/* --commands [GROUP]: the commands, or the subcommands of GROUP, one a
 * line, for the completion. */
static int list_commands(int argc, char **argv,
                         const struct cli_command *cmds)
{
    size_t glen = argc > 0 ? strlen(argv[0]) : 0;

    if (argc == 0) {
        for (const struct cli_command *c = cmds; c->name; c++) {
            printf("%s\n", c->name);
        }
        printf("help\n");
        return 0;
    }
    for (const struct cli_help *h = cli_help_table; h->name; h++) {
        if (strncmp(h->name, argv[0], glen) == 0 && h->name[glen] == ' ') {
            printf("%s\n", h->name + glen + 1);
        }
    }
    return 0;
}

int cli_help_cmd(int argc, char **argv, const struct cli_command *cmds)
{
    const char *query = argc > 1 && argv[1][0] == '-' ? argv[1] : NULL;
    const struct cli_help *h;
    char name[256];

    if (argc == 1) {
        cli_help_main(stdout, cmds);
        return 0;
    }
    if (query && (!strcmp(query, "--help") || !strcmp(query, "-h"))) {
        return cli_help_show("help") < 0 ? 1 : 0;
    }
    if (query && strcmp(query, "--commands") == 0) {
        return list_commands(argc - 2, argv + 2, cmds);
    }
    if (query && strcmp(query, "--options") != 0 &&
        strcmp(query, "--operands") != 0) {
        return cli_usage("ovfkit help [COMMAND [SUBCOMMAND]]\n"
                         "       ovfkit help --commands [GROUP] | --options "
                         "[COMMAND...] | --operands COMMAND...",
                         "unknown option '%s'", query);
    }
    join(argc - 1 - !!query, argv + 1 + !!query, name, sizeof(name));
    h = cli_help_find(query && !name[0] ? "ovfkit" : name);
    if (query) {
        if (!h) {
            fprintf(stderr, "ovfkit: no help for '%s'\n", name);
            return EXIT_USAGE;
        }
        fputs(strcmp(query, "--options") == 0 ? h->options : h->operands,
              stdout);
        if (strcmp(query, "--operands") == 0 && h->operands[0]) {
            putchar('\n');
        }
        return 0;
    }
    if (h) {
        return cli_help_show(name) < 0 ? 1 : 0;
    }
    /* a group ("vhd"): its own listing, as `ovfkit vhd --help` prints
     * it; a subcommand the group does not have: the group's error */
    for (const struct cli_command *c = cmds; c->name; c++) {
        if (strcmp(c->name, argv[1]) == 0) {
            char **args = calloc((size_t)argc + 1, sizeof(*args));
            int r;
            if (!args) {
                return cli_error("out of memory");
            }
            memcpy(args, argv + 1, (size_t)(argc - 1) * sizeof(*args));
            args[argc - 1] = (char *)"--help";
            r = c->fn(argc, args);
            free(args);
            return r;
        }
    }
    fprintf(stderr, "ovfkit: no help for '%s': not an ovfkit command; see "
            "'ovfkit help'\n", name);
    return EXIT_USAGE;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/main.c - the ovfkit command: global options, then one subcommand
 * from the table below (git and qemu-img style).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/help.h"
#include "ovfkit/common.h"

static const struct cli_command commands[] = {
    { "vhd", cmd_vhd, "create, inspect, check, repair, convert VHD files" },
    { "ovf", cmd_ovf, "describe, validate, convert OVF descriptors" },
    { "ova", cmd_ova, "pack, unpack, list, verify, sign OVA packages" },
    { "vm", cmd_vm, "create, list, show, remove, start, stop VMs" },
    { "net", cmd_net, "add and list networks" },
    { "export", cmd_export, "export a VM as OVF + VHD or OVA" },
    { "import", cmd_import, "import a package as a new VM (new identity)" },
    { "restore", cmd_restore, "restore a package as the same VM" },
    { "snapshot", cmd_snapshot, "create, list, revert, export, delete snapshots" },
    { "convert", cmd_convert, "convert disks or foreign VMs (P2V, V2V) to a package" },
    { "sysprep", cmd_sysprep, "disable services, reset identity in a guest (offline)" },
    { "inspect", cmd_inspect, "what operating system a disk holds" },
    { "p2v", cmd_p2v, "capture a running server live, receive it (ssh)" },
    { "backup", cmd_backup, "back up VMs; list, restore, export, verify, prune points" },
    { NULL, NULL, NULL },
};

/* The whole help on stdout (--help); on a usage error, the synopsis. */
static void usage(FILE *out)
{
    if (out == stdout) {
        cli_help_main(out, commands);
        return;
    }
    cli_help_synopsis(out, "ovfkit");
}

static void warn_handler(void *opaque, enum ovfk_severity sev,
                         const char *msg)
{
    (void)opaque;
    cli_warn("%s", msg);
}

/*
 * --json and --progress=WHEN after the command mean what they mean before
 * it (`ovfkit vhd info --json F` = `ovfkit --json vhd info F`), for every
 * command alike: taken out of argv here, up to a "--".  Returns the new
 * argc, or -1 after a usage error.
 */
static int command_globals(int argc, char **argv)
{
    int k = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            while (i < argc) {
                argv[k++] = argv[i++];
            }
            break;
        }
        if (strcmp(a, "--json") == 0) {
            g.json = true;
            continue;
        }
        if (strncmp(a, "--progress=", 11) == 0) {
            if (cli_progress_mode_parse(a + 11, &g.progress) < 0) {
                cli_usage("ovfkit [--progress=auto|bar|json|none] ...",
                          "invalid --progress '%s': expected auto, bar, "
                          "json or none", a + 11);
                return -1;
            }
            continue;
        }
        argv[k++] = argv[i];
    }
    argv[k] = NULL;
    return k;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "store", required_argument, NULL, 's' },
        { "connect", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { "quiet", no_argument, NULL, 'q' },
        { "progress", required_argument, NULL, 'p' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { "wait", required_argument, NULL, 'w' },
        { NULL, 0, NULL, 0 },
    };
    uint64_t wait;
    int c, r;

    /* "+": stop at the first non-option, the command */
    while ((c = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            g.store = optarg;
            break;
        case 'c':
            g.connect = optarg;
            break;
        case 'j':
            g.json = true;
            break;
        case 'q':
            g.quiet = true;
            break;
        case 'p':
            if (cli_progress_mode_parse(optarg, &g.progress) < 0) {
                return cli_usage("ovfkit [--progress=auto|bar|json|none] "
                                 "...", "invalid --progress '%s': expected "
                                 "auto, bar, json or none", optarg);
            }
            break;
        case 'V':
            printf("ovfkit %s\n", OVFKIT_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case 'w':
            if (cli_uint("ovfkit --wait SECONDS <command> ...", "--wait",
                         optarg, 0, 7 * 86400, "s", &wait)) {
                return EXIT_USAGE;
            }
            g.lock_wait = (int)wait;
            break;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (g.store && g.connect) {
        return cli_usage("ovfkit [--store DIR | --connect URI] ...",
                         "--store and --connect exclude each other");
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    argc -= optind;
    argv += optind;
    argc = command_globals(argc, argv);
    if (argc < 0) {
        return EXIT_USAGE;
    }
    /* stdout is then JSON Lines, the events and the result: never the
     * human text a command prints without --json */
    if (g.progress == CLI_PROGRESS_JSON) {
        g.json = true;
    }
    if (strcmp(argv[0], "help") == 0) {
        return cli_help_cmd(argc, argv, commands);
    }
    ovfk_set_warn_handler(warn_handler, NULL);
    cli_signals_install();
    for (const struct cli_command *cmd = commands; cmd->name; cmd++) {
        if (strcmp(cmd->name, argv[0]) == 0) {
            /* the help of the man page; the command's own without one */
            if (cli_help_wanted(argc, argv)) {
                return 0;
            }
            r = cmd->fn(argc, argv);
            /* stopped by a signal: the shell's code, whatever failed */
            return cli_signal && r != 0 ? 128 + cli_signal : r;
        }
    }
    fprintf(stderr, "ovfkit: '%s' is not an ovfkit command; see "
            "'ovfkit --help'\n", argv[0]);
    return EXIT_USAGE;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/cmd_p2v.c - `ovfkit p2v capture` (on the running server) and
 * `ovfkit p2v receive` (on the conversion host, started by capture
 * through ssh).
 *
 * Exit codes (ovfkit(1)): 0 done, 1 failed (the file systems are thawed
 * and nothing is left at a local DIR), 3 refused to freeze (the last pass
 * would be longer than --max-freeze), 64 usage error, 130/143 SIGINT/
 * SIGTERM (thawed, nothing left).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ovfkit/p2v.h"

#define SYN_CAPTURE "ovfkit p2v capture [DISK...] --to DIR|FILE.ova|" \
    "ssh://[USER@]HOST[:PORT]/DIR [--name N]\n" \
    "       [--consistency auto|snapshot|freeze|none] [--max-freeze " \
    "SECONDS] [--compress zlib|zstd]\n" \
    "       [--no-convert] [--remote-cmd PROGRAM] [--dry-run] [--json]"
#define SYN_RECEIVE "ovfkit p2v receive [--no-convert] DIR  " \
    "(the capture stream on standard input)"
#define EXIT_REFUSED 3

static void log_line(void *opaque, const char *line)
{
    if (!g.quiet) {
        fprintf(stderr, "ovfkit: %s%s\n", opaque ? (const char *)opaque : "",
                line);
    }
}

static int parse_consistency(const char *s, enum ovfk_p2v_consistency *c)
{
    static const char *const names[] = { "auto", "snapshot", "freeze",
                                          "none" };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strcmp(s, names[i])) {
            *c = (enum ovfk_p2v_consistency)i;
            return 0;
        }
    }
    return -EINVAL;
}

static void print_human(const char *text, bool plan)
{
    json_object *o = json_tokener_parse(text), *v, *disks, *m, *nics;

    if (!o) {
        return;
    }
    if (json_object_object_get_ex(o, "machine", &m)) {
        json_object *c, *mem;
        json_object_object_get_ex(m, "cpus", &c);
        json_object_object_get_ex(m, "memory_mib", &mem);
        printf("machine: %d CPUs, %lld MiB\n", json_object_get_int(c),
               (long long)json_object_get_int64(mem));
        if (json_object_object_get_ex(m, "nics", &nics)) {
            for (size_t i = 0; i < json_object_array_length(nics); i++) {
                json_object *n = json_object_array_get_idx(nics, i), *a, *b;
                json_object_object_get_ex(n, "name", &a);
                json_object_object_get_ex(n, "mac", &b);
                printf("nic %s: %s\n", json_object_get_string(a),
                       json_object_get_string(b));
            }
        }
    }
    json_object_object_get_ex(o, "consistency", &v);
    printf("consistency: %s", json_object_get_string(v));
    json_object_object_get_ex(o, "reason", &v);
    printf(" (%s)\n", json_object_get_string(v));
    json_object_object_get_ex(o, "disks", &disks);
    for (size_t i = 0; disks && i < json_object_array_length(disks); i++) {
        json_object *d = json_object_array_get_idx(disks, i), *parts, *x;
        json_object_object_get_ex(d, "path", &x);
        printf("disk %s", json_object_get_string(x));
        json_object_object_get_ex(d, "bytes_to_send", &x);
        printf(": %lld bytes to send\n", (long long)json_object_get_int64(x));
        json_object_object_get_ex(d, "partitions", &parts);
        for (size_t j = 0; j < json_object_array_length(parts); j++) {
            json_object *p = json_object_array_get_idx(parts, j), *a, *b,
                        *c, *e;
            json_object_object_get_ex(p, "path", &a);
            json_object_object_get_ex(p, "fstype", &b);
            json_object_object_get_ex(p, "used_map", &c);
            json_object_object_get_ex(p, "consistency", &e);
            printf("  %s %s: %s, %s\n", json_object_get_string(a),
                   json_object_get_string(b)[0] ? json_object_get_string(b)
                                                : "(no file system)",
                   json_object_get_string(c), json_object_get_string(e));
        }
    }
    json_object_object_get_ex(o, "bytes_to_send", &v);
    printf("bytes to send: %lld\n", (long long)json_object_get_int64(v));
    json_object_object_get_ex(o, "estimated_freeze_seconds", &v);
    printf("estimated freeze: %.2f s", json_object_get_double(v));
    if (json_object_object_get_ex(o, "estimate_basis", &v)) {
        printf(" (%s)", json_object_get_string(v));
    }
    printf("\n");
    if (!plan) {
        json_object_object_get_ex(o, "freeze_seconds", &v);
        printf("frozen for: %.2f s\n", json_object_get_double(v));
        json_object_object_get_ex(o, "wire_bytes", &v);
        printf("bytes sent: %lld\n", (long long)json_object_get_int64(v));
        json_object_object_get_ex(o, "crash_consistent", &v);
        if (json_object_get_boolean(v)) {
            printf("warning: the copy is crash-consistent at best\n");
        }
    }
    json_object_put(o);
}

static int do_capture(int argc, char **argv)
{
    static const struct option opts[] = {
        { "to", required_argument, NULL, 't' },
        { "name", required_argument, NULL, 'n' },
        { "consistency", required_argument, NULL, 'c' },
        { "max-freeze", required_argument, NULL, 'm' },
        { "compress", required_argument, NULL, 'z' },
        { "no-convert", no_argument, NULL, 'N' },
        { "remote-cmd", required_argument, NULL, 'R' },
        { "dry-run", no_argument, NULL, 'd' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct ovfk_p2v_capture_opts o = { .log = log_line };
    char *report = NULL, *end;
    int ch, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 't':
            o.to = optarg;
            break;
        case 'n':
            o.name = optarg;
            break;
        case 'c':
            if (parse_consistency(optarg, &o.consistency) < 0) {
                return cli_usage(SYN_CAPTURE, "unknown consistency '%s'",
                                 optarg);
            }
            break;
        case 'm':
            o.max_freeze = strtod(optarg, &end);
            if (*end || end == optarg || !(o.max_freeze > 0) ||
                o.max_freeze > 3600) {
                return cli_usage(SYN_CAPTURE, "--max-freeze '%s' is not a "
                                 "number of seconds from 0 to 3600", optarg);
            }
            break;
        case 'z':
            if (!strcmp(optarg, "zlib")) {
                o.compress = OVFK_P2V_COMPRESS_ZLIB;
            } else if (!strcmp(optarg, "zstd")) {
                o.compress = OVFK_P2V_COMPRESS_ZSTD;
            } else {
                return cli_usage(SYN_CAPTURE, "unknown compression '%s'",
                                 optarg);
            }
            break;
        case 'N':
            o.no_convert = true;
            break;
        case 'R':
            o.remote_cmd = optarg;
            break;
        case 'd':
            o.dry_run = true;
            break;
        case 'j':
            g.json = true;
            break;
        case 'h':
            printf("usage: %s\n", SYN_CAPTURE);
            return 0;
        default:
            return cli_usage(SYN_CAPTURE, "invalid option");
        }
    }
    if (!o.to) {
        return cli_usage(SYN_CAPTURE, "--to is required");
    }
    o.disks = (const char *const *)argv + optind;
    o.n_disks = (size_t)(argc - optind);
    o.report = &report;
    r = ovfk_p2v_capture(&o);
    if (report && g.json) {
        printf("%s\n", report);
    } else if (report) {
        print_human(report, o.dry_run);
    }
    free(report);
    if (r == -ETIME && !cli_signal) {
        cli_error("%s", ovfk_last_error());
        return EXIT_REFUSED;
    }
    return r < 0 ? cli_fail(r, "%s", ovfk_last_error()) : 0;
}

static int do_receive(int argc, char **argv)
{
    static const struct option opts[] = {
        { "no-convert", no_argument, NULL, 'N' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct ovfk_p2v_receive_opts o = { .fd = 0, .log = log_line,
                                       .opaque = "receiver: " };
    char *report = NULL;
    int ch, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'N') {
            o.no_convert = true;
        } else if (ch == 'h') {
            printf("usage: %s\n", SYN_RECEIVE);
            return 0;
        } else {
            return cli_usage(SYN_RECEIVE, "invalid option");
        }
    }
    if (argc - optind != 1) {
        return cli_usage(SYN_RECEIVE, "expected one DIR");
    }
    o.dir = argv[optind];
    o.report = &report;
    r = ovfk_p2v_receive(&o);
    if (r < 0) {
        return cli_fail(r, "receiver: %s", ovfk_last_error());
    }
    if (g.json && report) {
        printf("%s\n", report);
    }
    free(report);
    log_line("receiver: ", "wrote the capture in place");
    return 0;
}

int cmd_p2v(int argc, char **argv)
{
    static const struct cli_command cmds[] = {
        { "capture", do_capture, "capture this running machine's disks" },
        { "receive", do_receive, "write a capture stream (started by ssh)" },
        { NULL, NULL, NULL },
    };

    return cli_dispatch("p2v", cmds, argc - 1, argv + 1);
}

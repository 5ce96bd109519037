/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/cmd_ova.c - `ovfkit ova ...`: pack, unpack, list, verify, sign.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/export_opts.h"
#include "ovfkit/ova.h"
#include "ovfkit/vhd.h"

#define SYN_PACK "ovfkit ova pack [--digest sha256|sha1|sha512] [--compress] " \
    "[--chunk-size N] [--key KEY.pem --cert CERT.pem] FILE.ovf OUT.ova"
#define SYN_UNPACK "ovfkit ova unpack PKG.ova DIR"
#define SYN_LIST "ovfkit ova list [--json] PKG.ova"
#define SYN_VERIFY                                                             \
    "ovfkit ova verify [--ca BUNDLE.pem] [--require-signature] "               \
    "PKG.ova|FILE.ovf\nexit: 0 verified, 2 problems (one line each), "        \
    "1 could not check"
#define SYN_SIGN                                                               \
    "ovfkit ova sign --key KEY.pem --cert CERT.pem PKG.ova|FILE.ovf"

struct aopts {
    struct ovfk_ova_pack_opts pack;
    struct ovfk_ova_verify_opts verify;
};

static int parse(int argc, char **argv, const char *syn, struct aopts *o)
{
    static const struct option own[] = {
        { "chunk-size", required_argument, NULL, 'c' },
        { "ca", required_argument, NULL, 'a' },
        { "require-signature", no_argument, NULL, 'r' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    /* --digest, --compress, --key, --cert: the export commands' table */
    struct ovfk_hv_export_opts eo = { 0 };
    struct option opts[16];
    int c, r;

    memset(o, 0, sizeof(*o));
    if (cli_export_options(CLI_EXP_DIGEST | CLI_EXP_COMPRESS | CLI_EXP_SIGN,
                           own, opts, 16) < 0) {
        return -cli_error("ova: option table too small");
    }
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            /* at least 1 MiB: smaller chunks only multiply tar members
             * and manifest lines; at most the largest VHD */
            if (cli_size(syn, "--chunk-size", optarg, 1u << 20,
                         OVFK_VHD_MAX_SIZE, &o->pack.chunk_size)) {
                return -EXIT_USAGE;
            }
            break;
        case 'a':
            o->verify.ca = optarg;
            break;
        case 'r':
            o->verify.require_signature = true;
            break;
        case 'j':
            g.json = true;
            break;
        case 'h':
            printf("usage: %s\n", syn);
            exit(0);
        default:
            r = cli_export_opt(syn, c, optarg, &eo);
            if (r) {
                return -(r == 1 ? cli_usage(syn, "invalid option") : r);
            }
        }
    }
    if (cli_export_check(syn, &eo)) {
        return -EXIT_USAGE;
    }
    o->pack.digest = eo.digest;
    o->pack.compress = eo.compress;
    o->pack.key = eo.key;
    o->pack.cert = eo.cert;
    return optind;
}

static int do_pack(int argc, char **argv)
{
    struct aopts o;
    int r, i = parse(argc, argv, SYN_PACK, &o);

    if (i < 0) {
        return -i;
    }
    if (argc - i != 2) {
        return cli_usage(SYN_PACK, "expected FILE.ovf and OUT.ova");
    }
    o.pack.progress = cli_progress;
    o.pack.opaque = "pack";
    r = ovfk_ova_pack(argv[i], argv[i + 1], &o.pack);
    cli_progress_done();
    return r < 0 ? cli_error("%s", ovfk_last_error()) : 0;
}

static int do_unpack(int argc, char **argv)
{
    struct aopts o;
    int r, i = parse(argc, argv, SYN_UNPACK, &o);

    if (i < 0) {
        return -i;
    }
    if (argc - i != 2) {
        return cli_usage(SYN_UNPACK, "expected PKG.ova and DIR");
    }
    r = ovfk_ova_unpack(argv[i], argv[i + 1], cli_progress, "unpack");
    cli_progress_done();
    return r < 0 ? cli_error("%s", ovfk_last_error()) : 0;
}

struct list_ctx {
    json_object *arr;
    int bad;
};

static int list_one(void *opaque, const char *name, uint64_t size,
                    const char *problem)
{
    struct list_ctx *c = opaque;

    c->bad += problem != NULL;
    if (c->arr) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "name", json_object_new_string(name));
        json_object_object_add(e, "size", json_object_new_uint64(size));
        if (problem) {
            json_object_object_add(e, "problem",
                                   json_object_new_string(problem));
        }
        json_object_array_add(c->arr, e);
    } else {
        printf("%12llu  %s%s%s\n", (unsigned long long)size, name,
               problem ? "  <- " : "", problem ? problem : "");
    }
    return 0;
}

static int do_list(int argc, char **argv)
{
    struct list_ctx c = { NULL, 0 };
    struct aopts o;
    int r, i = parse(argc, argv, SYN_LIST, &o);

    if (i < 0) {
        return -i;
    }
    if (argc - i != 1) {
        return cli_usage(SYN_LIST, "expected PKG.ova");
    }
    if (g.json) {
        c.arr = json_object_new_array();
    }
    r = ovfk_ova_list(argv[i], list_one, &c);
    if (r < 0) {
        json_object_put(c.arr);
        return cli_error("%s", ovfk_last_error());
    }
    if (c.arr) {
        cli_json_print(c.arr);
    }
    return c.bad ? 1 : 0;
}

static void say(void *opaque, const char *msg)
{
    (void)opaque;
    printf("%s\n", msg);
}

static int do_verify(int argc, char **argv)
{
    struct aopts o;
    int r, i = parse(argc, argv, SYN_VERIFY, &o);

    if (i < 0) {
        return -i;
    }
    if (argc - i != 1) {
        return cli_usage(SYN_VERIFY, "expected PKG.ova or FILE.ovf");
    }
    r = ovfk_ova_verify(argv[i], &o.verify, say, NULL);
    if (r < 0) {
        /* a damaged archive is a finding; a missing file is not */
        cli_error("%s", ovfk_last_error());
        return r == OVFK_ECORRUPT ? EXIT_DAMAGE : EXIT_FAILED;
    }
    if (r == 0 && !g.quiet) {
        printf("%s: verified\n", argv[i]);
    }
    return r ? EXIT_DAMAGE : 0;
}

static int do_sign(int argc, char **argv)
{
    struct aopts o;
    int i = parse(argc, argv, SYN_SIGN, &o);

    if (i < 0) {
        return -i;
    }
    if (argc - i != 1 || !o.pack.key) {
        return cli_usage(SYN_SIGN, "expected --key, --cert and a package");
    }
    if (ovfk_ova_sign(argv[i], o.pack.key, o.pack.cert) < 0) {
        return cli_error("%s", ovfk_last_error());
    }
    return 0;
}

static const struct cli_command ova_commands[] = {
    { "pack", do_pack, "pack a descriptor and its files into an OVA" },
    { "unpack", do_unpack, "extract an OVA, verifying its manifest" },
    { "list", do_list, "list the members of an OVA" },
    { "verify", do_verify, "check manifest, files and signature" },
    { "sign", do_sign, "sign the manifest of a package" },
    { NULL, NULL, NULL },
};

int cmd_ova(int argc, char **argv)
{
    return cli_dispatch("ova", ova_commands, argc - 1, argv + 1);
}

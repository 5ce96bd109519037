/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/export_opts.c - the one table of the options every command that
 * writes a package takes (cli/export_opts.h).  Before it, `export` and
 * `snapshot export` each had their own copy and had drifted apart
 * (`--ovf 1` accepted by one only, --fixed, --config-only, --key and
 * --cert missing from the other).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/export_opts.h"

/* getopt values: above every character a command may use as its own */
enum {
    OPT_OVF = 0x100,
    OPT_DIGEST,
    OPT_COMPRESS,
    OPT_CONFIG_ONLY,
    OPT_FIXED,
    OPT_KEY,
    OPT_CERT,
};

struct export_opt {
    unsigned set;               /* the enum cli_export_set bit */
    struct option opt;
    const char *arg;            /* the argument as --help names it */
    const char *help;
};

static const struct export_opt table[] = {
    { CLI_EXP_OVF, { "ovf", required_argument, NULL, OPT_OVF }, "1.0|2.0",
      "OVF version (1 and 2 also accepted; default 1.0)" },
    { CLI_EXP_DIGEST, { "digest", required_argument, NULL, OPT_DIGEST },
      "sha256|sha1|sha512", "manifest digest (default sha256)" },
    { CLI_EXP_COMPRESS, { "compress", no_argument, NULL, OPT_COMPRESS },
      NULL, "gzip the disk files (ovf:compression=\"gzip\")" },
    { CLI_EXP_CONFIG_ONLY,
      { "config-only", no_argument, NULL, OPT_CONFIG_ONLY }, NULL,
      "the descriptor only, no disk files" },
    { CLI_EXP_FIXED, { "fixed", no_argument, NULL, OPT_FIXED }, NULL,
      "fixed VHDs, not dynamic (Azure, Hyper-V tools)" },
    { CLI_EXP_SIGN, { "key", required_argument, NULL, OPT_KEY }, "KEY.pem",
      "sign the manifest with this key (needs --cert)" },
    { CLI_EXP_SIGN, { "cert", required_argument, NULL, OPT_CERT },
      "CERT.pem", "the signer's certificate, put in the package" },
};

#define N_TABLE (sizeof(table) / sizeof(table[0]))

int cli_export_options(unsigned set, const struct option *own,
                       struct option *out, size_t max)
{
    size_t n = 0;

    for (; own && own->name; own++) {
        if (n + 1 >= max) {
            return -ENOSPC;
        }
        out[n++] = *own;
    }
    for (size_t i = 0; i < N_TABLE; i++) {
        if (!(table[i].set & set)) {
            continue;
        }
        if (n + 1 >= max) {
            return -ENOSPC;
        }
        out[n++] = table[i].opt;
    }
    memset(&out[n], 0, sizeof(out[n]));
    return 0;
}

/* "1", "1.0", "2", "2.0": the version number hv_export_opts takes */
static int parse_ovf(const char *syn, const char *arg, int *out)
{
    if (!strcmp(arg, "1.0") || !strcmp(arg, "1")) {
        *out = 10;
    } else if (!strcmp(arg, "2.0") || !strcmp(arg, "2")) {
        *out = 20;
    } else {
        return cli_usage(syn, "--ovf takes 1.0 or 2.0");
    }
    return 0;
}

int cli_export_opt(const char *syn, int ch, const char *arg,
                   struct ovfk_hv_export_opts *o)
{
    switch (ch) {
    case OPT_OVF:
        return parse_ovf(syn, arg, &o->ovf_version);
    case OPT_DIGEST:
        if (ovfk_ova_digest_parse(arg, &o->digest) < 0) {
            return cli_usage(syn, "unknown digest '%s'", arg);
        }
        return 0;
    case OPT_COMPRESS:
        o->compress = true;
        return 0;
    case OPT_CONFIG_ONLY:
        o->config_only = true;
        return 0;
    case OPT_FIXED:
        o->fixed = true;
        return 0;
    case OPT_KEY:
        o->key = arg;
        return 0;
    case OPT_CERT:
        o->cert = arg;
        return 0;
    default:
        return 1;
    }
}

int cli_export_check(const char *syn, const struct ovfk_hv_export_opts *o)
{
    if (!o->key != !o->cert) {
        return cli_usage(syn, "--key and --cert go together");
    }
    return 0;
}

void cli_export_help(unsigned set)
{
    for (size_t i = 0; i < N_TABLE; i++) {
        char left[64];
        if (!(table[i].set & set)) {
            continue;
        }
        snprintf(left, sizeof(left), "--%s%s%s", table[i].opt.name,
                 table[i].arg ? " " : "", table[i].arg ? table[i].arg : "");
        printf("  %-28s %s\n", left, table[i].help);
    }
}

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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

struct pkg_files {
    json_object *files;
    const struct ovfk_ova_manifest *mf;
    char *dir;                  /* a directory package's directory */
};

static json_object *file_json(const struct pkg_files *p, const char *name,
                              uint64_t size)
{
    json_object *f = json_object_new_object();

    json_object_object_add(f, "name", json_object_new_string(name));
    json_object_object_add(f, "size", json_object_new_uint64(size));
    for (size_t i = 0; p->mf && i < p->mf->n; i++) {
        const struct ovfk_ova_manifest_entry *e = &p->mf->entries[i];
        if (strcmp(e->name, name) == 0) {
            json_object *d = json_object_new_object();
            json_object_object_add(d, "algorithm", json_object_new_string(
                                       ovfk_ova_digest_name(e->digest)));
            json_object_object_add(d, "value",
                                   json_object_new_string(e->hex));
            json_object_object_add(f, "digest", d);
        }
    }
    return f;
}

static int add_member(void *opaque, const char *name, uint64_t size,
                      const char *problem)
{
    struct pkg_files *p = opaque;

    (void)problem;
    json_object_array_add(p->files, file_json(p, name, size));
    return 0;
}

/* a directory package: the descriptor, the manifest's files, the
 * manifest and a certificate, each when it is there */
static void dir_files(struct pkg_files *p, const char *ovf, const char *mf)
{
    const char *base = strrchr(ovf, '/');
    size_t n = strlen(ovf);
    char path[4096], cert[4096];
    struct stat st;

    base = base ? base + 1 : ovf;
    snprintf(cert, sizeof(cert), "%.*scert", (int)(n - 3), ovf);
    const char *names[] = { ovf, mf, cert };
    if (stat(ovf, &st) == 0) {
        json_object_array_add(p->files, file_json(p, base,
                                                  (uint64_t)st.st_size));
    }
    for (size_t i = 0; p->mf && i < p->mf->n; i++) {
        const char *fn = p->mf->entries[i].name;
        if (strcmp(fn, base) == 0) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", p->dir, fn);
        if (stat(path, &st) == 0) {
            json_object_array_add(p->files, file_json(p, fn,
                                                      (uint64_t)st.st_size));
        }
    }
    for (size_t i = 1; i < 3; i++) {
        const char *s = strrchr(names[i], '/');
        if (names[i][0] && stat(names[i], &st) == 0) {
            json_object_array_add(p->files, file_json(
                p, s ? s + 1 : names[i], (uint64_t)st.st_size));
        }
    }
}

json_object *cli_package_json(const char *package)
{
    struct ovfk_ova_manifest mf = { 0 };
    struct pkg_files p = { .files = json_object_new_array() };
    bool ova = ovfk_ova_is_archive(package);
    json_object *o = json_object_new_object();
    char *buf = NULL, *name = NULL;
    size_t len = 0;

    json_object_object_add(o, "package", json_object_new_string(package));
    json_object_object_add(o, "format",
                           json_object_new_string(ova ? "ova" : "ovf"));
    if (ovfk_ova_load_manifest(package, &buf, &len, &name) == 0 &&
        ovfk_ova_manifest_parse(buf, len, &mf, NULL, NULL) >= 0) {
        p.mf = &mf;
    }
    if (ova) {
        if (ovfk_ova_list(package, add_member, &p) < 0) {
            cli_error("%s", ovfk_last_error());
            json_object_put(p.files);
            json_object_put(o);
            o = NULL;
            goto out;
        }
    } else {
        p.dir = strdup(package);
        char *slash = p.dir ? strrchr(p.dir, '/') : NULL;
        if (slash) {
            *slash = '\0';
        } else if (p.dir) {
            p.dir[0] = '.';
            p.dir[1] = '\0';
        }
        dir_files(&p, package, name ? name : "");
        free(p.dir);
    }
    json_object_object_add(o, "files", p.files);
out:
    if (p.mf) {
        ovfk_ova_manifest_free(&mf);
    }
    free(buf);
    free(name);
    return o;
}

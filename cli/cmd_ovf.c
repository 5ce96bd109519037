/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/cmd_ovf.c - `ovfkit ovf ...`: info, validate, convert.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ovfkit/ova.h"
#include "ovfkit/ovf.h"

#define SYN_INFO "ovfkit ovf info [--json] FILE.ovf|PKG.ova"
#define SYN_VALIDATE "ovfkit ovf validate [--strict] FILE.ovf|PKG.ova\n" \
    "errors break a deployment, warnings are what readers tolerate;\n" \
    "--strict also requires the DMTF schema (errors for each violation)\n" \
    "exit: 0 valid (warnings allowed), 2 errors found (one line each), " \
    "1 could not check"
#define SYN_CONVERT "ovfkit ovf convert --to 1.0|2.0 FILE.ovf -o OUT.ovf"

static const char *version_name(const ovfk_ovf_doc *d)
{
    switch (d->version) {
    case 9:
        return "0.9";
    case 20:
        return "2.0";
    default:
        return d->version_text && d->version_text[0] == '1' ?
               d->version_text : "1.0";
    }
}

static json_object *jstr(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *system_json(const ovfk_ovf_doc *d,
                                const struct ovfk_ovf_system *s)
{
    json_object *o = json_object_new_object();
    json_object *os = json_object_new_object();
    json_object *disks = json_object_new_array();
    json_object *nics = json_object_new_array();
    struct ovfk_ovf_hw_summary hw;

    ovfk_ovf_summary(d, s, NULL, &hw);
    json_object_object_add(o, "id", jstr(s->id));
    json_object_object_add(o, "name", jstr(s->name));
    json_object_object_add(o, "collection",
                           json_object_new_boolean(s->collection));
    if (s->has_os) {
        json_object_object_add(os, "id", json_object_new_int(s->os_id));
        json_object_object_add(os, "description", jstr(s->os_description));
    }
    json_object_object_add(o, "os", os);
    json_object_object_add(o, "cpus", json_object_new_uint64(hw.cpus));
    json_object_object_add(o, "memory_mib",
                           json_object_new_uint64(hw.memory_mib));
    for (size_t i = 0; i < s->n_items; i++) {
        const struct ovfk_ovf_item *it = &s->items[i];
        int t = ovfk_ovf_item_type(it);
        json_object *e;
        if (t == OVFK_OVF_RT_DISK || (t == OVFK_OVF_RT_STORAGE_EXTENT &&
                                 ovfk_ovf_host_resource_disk(ovfk_ovf_item_get(
                                     it, "HostResource")))) {
            const char *hr = ovfk_ovf_item_get(it, "HostResource");
            const char *id = ovfk_ovf_host_resource_disk(hr);
            const struct ovfk_ovf_disk *k = ovfk_ovf_find_disk(d, id);
            e = json_object_new_object();
            json_object_object_add(e, "instance_id",
                                   jstr(ovfk_ovf_item_get(it, "InstanceID")));
            json_object_object_add(e, "disk", jstr(id));
            if (k && k->capacity_known) {
                json_object_object_add(e, "capacity",
                                       json_object_new_uint64(k->capacity));
            }
            json_object_object_add(e, "configuration",
                                   jstr(it->configuration));
            json_object_array_add(disks, e);
        } else if (t == OVFK_OVF_RT_ETHERNET) {
            e = json_object_new_object();
            json_object_object_add(e, "mac",
                                   jstr(ovfk_ovf_item_get(it, "Address")));
            json_object_object_add(e, "network",
                                   jstr(ovfk_ovf_item_get(it, "Connection")));
            json_object_object_add(
                e, "model", jstr(ovfk_ovf_item_get(it, "ResourceSubType")));
            json_object_object_add(e, "configuration",
                                   jstr(it->configuration));
            json_object_array_add(nics, e);
        }
    }
    json_object_object_add(o, "disks", disks);
    json_object_object_add(o, "nics", nics);
    return o;
}

static json_object *info_json(const ovfk_ovf_doc *d)
{
    json_object *o = json_object_new_object();
    json_object *files = json_object_new_array();
    json_object *disks = json_object_new_array();
    json_object *nets = json_object_new_array();
    json_object *systems = json_object_new_array();
    json_object *warnings = json_object_new_array();
    json_object *props = json_object_new_array();

    json_object_object_add(o, "version", json_object_new_string(
                               version_name(d)));
    for (size_t i = 0; i < d->n_files; i++) {
        json_object *f = json_object_new_object();
        json_object_object_add(f, "id", jstr(d->files[i].id));
        json_object_object_add(f, "href", jstr(d->files[i].href));
        if (d->files[i].has_size) {
            json_object_object_add(f, "size", json_object_new_uint64(
                                       d->files[i].size));
        }
        if (d->files[i].compression) {
            json_object_object_add(f, "compression",
                                   jstr(d->files[i].compression));
        }
        if (d->files[i].chunk_size) {
            json_object_object_add(f, "chunk_size", json_object_new_uint64(
                                       d->files[i].chunk_size));
        }
        json_object_array_add(files, f);
    }
    for (size_t i = 0; i < d->n_disks; i++) {
        json_object *k = json_object_new_object();
        json_object_object_add(k, "id", jstr(d->disks[i].id));
        json_object_object_add(k, "file", jstr(d->disks[i].file_ref));
        json_object_object_add(k, "capacity", d->disks[i].capacity_known ?
                               json_object_new_uint64(d->disks[i].capacity)
                               : NULL);
        json_object_object_add(k, "format", jstr(d->disks[i].format));
        json_object_array_add(disks, k);
    }
    for (size_t i = 0; i < d->n_networks; i++) {
        json_object *n = json_object_new_object();
        json_object_object_add(n, "name", jstr(d->networks[i].name));
        json_object_array_add(nets, n);
    }
    for (size_t i = 0; i < ovfk_ovf_system_count(d); i++) {
        const struct ovfk_ovf_system *s = ovfk_ovf_system_at(d, i);
        json_object_array_add(systems, system_json(d, s));
        for (size_t p = 0; p < s->n_products; p++) {
            for (size_t q = 0; q < s->products[p].n_props; q++) {
                const struct ovfk_ovf_property *pr = &s->products[p].props[q];
                json_object *e;
                if (pr->is_category) {
                    continue;
                }
                e = json_object_new_object();
                json_object_object_add(e, "system", jstr(s->id));
                json_object_object_add(e, "key", jstr(pr->key));
                json_object_object_add(e, "type", jstr(pr->type));
                json_object_object_add(e, "value", pr->password ? NULL :
                                       jstr(pr->value));
                json_object_array_add(props, e);
            }
        }
    }
    for (size_t i = 0; i < d->n_warnings; i++) {
        json_object_array_add(warnings, jstr(d->warnings[i]));
    }
    json_object_object_add(o, "files", files);
    json_object_object_add(o, "disks", disks);
    json_object_object_add(o, "networks", nets);
    json_object_object_add(o, "systems", systems);
    json_object_object_add(o, "properties", props);
    json_object_object_add(o, "warnings", warnings);
    return o;
}

static void info_text(const ovfk_ovf_doc *d)
{
    printf("OVF version:  %s\n", version_name(d));
    for (size_t i = 0; i < d->n_files; i++) {
        printf("file:         %s (%s, %llu bytes%s%s)\n", d->files[i].href,
               d->files[i].id, (unsigned long long)d->files[i].size,
               d->files[i].compression ? ", " : "",
               d->files[i].compression ? d->files[i].compression : "");
    }
    for (size_t i = 0; i < d->n_disks; i++) {
        printf("disk:         %s: %llu bytes, file %s\n", d->disks[i].id,
               (unsigned long long)d->disks[i].capacity,
               d->disks[i].file_ref ? d->disks[i].file_ref : "(blank)");
    }
    for (size_t i = 0; i < d->n_networks; i++) {
        printf("network:      %s\n", d->networks[i].name);
    }
    for (size_t i = 0; i < ovfk_ovf_system_count(d); i++) {
        const struct ovfk_ovf_system *s = ovfk_ovf_system_at(d, i);
        struct ovfk_ovf_hw_summary hw;
        ovfk_ovf_summary(d, s, NULL, &hw);
        printf("%s %s%s%s%s\n", s->collection ? "collection:  " :
               "system:      ", s->id ? s->id : "?", s->name ? " (" : "",
               s->name ? s->name : "", s->name ? ")" : "");
        if (s->has_os) {
            printf("  os:         %d %s\n", s->os_id,
                   s->os_description ? s->os_description : "");
        }
        if (s->has_hardware) {
            printf("  cpus:       %llu\n  memory:     %llu MiB\n",
                   (unsigned long long)hw.cpus,
                   (unsigned long long)hw.memory_mib);
        }
        for (size_t k = 0; k < s->n_items; k++) {
            const struct ovfk_ovf_item *it = &s->items[k];
            if (ovfk_ovf_item_type(it) == OVFK_OVF_RT_ETHERNET) {
                const char *mac = ovfk_ovf_item_get(it, "Address");
                const char *net = ovfk_ovf_item_get(it, "Connection");
                printf("  nic:        %s on %s\n", mac ? mac : "(no MAC)",
                       net ? net : "(no network)");
            }
        }
    }
    for (size_t i = 0; i < d->n_warnings; i++) {
        printf("warning:      %s\n", d->warnings[i]);
    }
}

/* Parse FILE.ovf or the descriptor of PKG.ova. */
static int load(const char *path, ovfk_ovf_doc **doc, char **buf, size_t *len)
{
    char *name = NULL;
    int r;

    r = ovfk_ova_load_descriptor(path, buf, len, &name);
    if (r < 0) {
        return cli_error("%s", ovfk_last_error());
    }
    r = ovfk_ovf_parse_memory(*buf, *len, name, doc);
    free(name);
    if (r < 0) {
        free(*buf);
        *buf = NULL;
        return cli_error("%s", ovfk_last_error());
    }
    return 0;
}

static int parse_opts(int argc, char **argv, const char *syn,
                      const char **to, const char **out)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "to", required_argument, NULL, 't' },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            g.json = true;
            break;
        case 't':
            if (to) {
                *to = optarg;
                break;
            }
            return -cli_usage(syn, "--to is not an option here");
        case 'o':
            if (out) {
                *out = optarg;
                break;
            }
            return -cli_usage(syn, "-o is not an option here");
        case 'h':
            printf("usage: %s\n", syn);
            exit(0);
        default:
            return -cli_usage(syn, "invalid option");
        }
    }
    return optind;
}

static int do_info(int argc, char **argv)
{
    ovfk_ovf_doc *d;
    char *buf;
    size_t len;
    int i = parse_opts(argc, argv, SYN_INFO, NULL, NULL);

    if (i < 0) {
        return -i;
    }
    if (argc - i != 1) {
        return cli_usage(SYN_INFO, "expected one FILE");
    }
    if (load(argv[i], &d, &buf, &len) != 0) {
        return 1;
    }
    if (g.json) {
        cli_json_print(info_json(d));
    } else {
        info_text(d);
    }
    ovfk_ovf_free(d);
    free(buf);
    return 0;
}

struct vcount {
    int warnings;
};

static void diag_line(void *opaque, enum ovfk_ovf_severity sev, const char *msg)
{
    struct vcount *c = opaque;

    if (sev == OVFK_OVF_ERROR) {
        printf("error: %s\n", msg);
    } else {
        c->warnings++;
        if (!g.quiet) {
            printf("warning: %s\n", msg);
        }
    }
}

static int do_validate(int argc, char **argv)
{
    static const struct option opts[] = {
        { "strict", no_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct ovfk_ova_validate_opts vo = { false };
    struct vcount c = { 0 };
    int n, ch;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            vo.strict = true;
            break;
        case 'h':
            printf("usage: %s\n", SYN_VALIDATE);
            exit(0);
        default:
            return cli_usage(SYN_VALIDATE, "invalid option");
        }
    }
    if (argc - optind != 1) {
        return cli_usage(SYN_VALIDATE, "expected one FILE");
    }
    n = ovfk_ova_validate(argv[optind], &vo, diag_line, &c);
    if (n < 0) {
        /* a descriptor that is not XML is a finding; a missing file or
         * an OVF version we do not know is not */
        cli_error("%s", ovfk_last_error());
        return n == OVFK_ECORRUPT ? EXIT_DAMAGE : EXIT_FAILED;
    }
    if (n == 0 && !g.quiet) {
        if (c.warnings) {
            printf("%s: valid (%d warning%s)\n", argv[optind], c.warnings,
                   c.warnings == 1 ? "" : "s");
        } else {
            printf("%s: valid\n", argv[optind]);
        }
    }
    return n ? EXIT_DAMAGE : 0;
}

static int do_convert(int argc, char **argv)
{
    const char *to = NULL, *out = NULL;
    ovfk_ovf_doc *d;
    char *buf, *xml;
    size_t len, xlen;
    int version, r, i = parse_opts(argc, argv, SYN_CONVERT, &to, &out);

    if (i < 0) {
        return -i;
    }
    if (argc - i != 1 || !to || !out) {
        return cli_usage(SYN_CONVERT, "expected --to, FILE and -o OUT");
    }
    if (strcmp(to, "1.0") == 0 || strcmp(to, "1") == 0) {
        version = 10;
    } else if (strcmp(to, "2.0") == 0 || strcmp(to, "2") == 0) {
        version = 20;
    } else {
        return cli_usage(SYN_CONVERT, "--to takes 1.0 or 2.0, not '%s'", to);
    }
    if (load(argv[i], &d, &buf, &len) != 0) {
        return 1;
    }
    r = ovfk_ovf_emit(d, version, &xml, &xlen);
    ovfk_ovf_free(d);
    free(buf);
    if (r < 0) {
        return cli_error("%s", ovfk_last_error());
    }
    r = ovfk_ova_write_file(out, xml, xlen);
    free(xml);
    if (r < 0) {
        return cli_error("cannot write '%s': %s", out, ovfk_strerror(r));
    }
    return 0;
}

static const struct cli_command ovf_commands[] = {
    { "info", do_info, "describe a descriptor or package" },
    { "validate", do_validate, "check what a deployment needs (--strict: "
      "and the DMTF schema)" },
    { "convert", do_convert, "rewrite a descriptor as OVF 1.0 or 2.0" },
    { NULL, NULL, NULL },
};

int cmd_ovf(int argc, char **argv)
{
    return cli_dispatch("ovf", ovf_commands, argc - 1, argv + 1);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/cmd_vhd.c - `ovfkit vhd ...`: create, snapshot, info, check, repair,
 * map, convert, compare, write.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ovfkit/convert.h"
#include "ovfkit/vhd.h"

#define SYN_CREATE "ovfkit vhd create [--type fixed|dynamic] " \
    "[--block-size N] [--round-mib] FILE SIZE\n" \
    "       ovfkit vhd create --parent PARENT FILE"
#define SYN_SNAPSHOT "ovfkit vhd snapshot [--block-size N] PARENT CHILD"
#define SYN_CONVERT "ovfkit vhd convert [--type raw|fixed|dynamic] " \
    "[-B PARENT] [--block-size N] [--round-mib] [-f FORMAT] SRC DST"
#define SYN_INFO "ovfkit vhd info [--json] FILE"
#define SYN_CHECK "ovfkit vhd check [--json] FILE\n" \
    "exit: 0 good, 1 could not check, 2 corrupt, 3 leaks only, " \
    "63 unsupported"
#define SYN_REPAIR "ovfkit vhd repair FILE"
#define SYN_MAP "ovfkit vhd map [--json] FILE"
#define SYN_COMPARE "ovfkit vhd compare [-f FORMAT] [-F FORMAT] A B\n" \
    "exit: 0 same contents, 1 different, 2 error"
#define SYN_WRITE "ovfkit vhd write FILE OFFSET [LENGTH]   (data on stdin)"
#define SYN_MERGE "ovfkit vhd merge [--dry-run] [--json] [--force] CHILD\n" \
    "merges CHILD into its parent; CHILD's children beside it are " \
    "re-pointed at the parent"
#define SYN_CHAIN "ovfkit vhd chain [--json] FILE"

static const struct option common_opts[] = {
    { "type", required_argument, NULL, 't' },
    { "block-size", required_argument, NULL, 'b' },
    { "parent", required_argument, NULL, 'p' },
    { "round-mib", no_argument, NULL, 'r' },
    { "json", no_argument, NULL, 'j' },
    { "format", required_argument, NULL, 'f' },
    { "dry-run", no_argument, NULL, 'D' },
    { "force", no_argument, NULL, 'X' },   /* -F is compare's format */
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

struct vopts {
    const char *type;
    const char *parent;
    const char *backing;
    const char *format;
    const char *format2;        /* compare: -F, the format of B */
    uint64_t block_size;
    bool round_mib;
    bool dry_run;
    bool force;
};

/* Parse the options shared by the vhd subcommands; returns the index of
 * the first operand, or -1 after printing a usage error. */
static int parse(int argc, char **argv, const char *syn, struct vopts *o)
{
    int c;

    memset(o, 0, sizeof(*o));
    optind = 0;
    while ((c = getopt_long(argc, argv, "t:b:p:B:f:F:rjh", common_opts,
                            NULL)) != -1) {
        switch (c) {
        case 't':
            o->type = optarg;
            break;
        case 'b':
            /* what VHD writers accept (vhd/create.c): a power of two
             * from 64 KiB to 256 MiB */
            if (cli_size(syn, "--block-size", optarg, 64u << 10,
                         256u << 20, &o->block_size)) {
                return -1;
            }
            if (o->block_size & (o->block_size - 1)) {
                cli_usage(syn, "invalid --block-size '%s': not a power of "
                          "two", optarg);
                return -1;
            }
            break;
        case 'p':
            o->parent = optarg;
            break;
        case 'B':
            o->backing = optarg;
            break;
        case 'f':
            o->format = optarg;
            break;
        case 'F':
            o->format2 = optarg;    /* qemu-img compare's -F */
            break;
        case 'r':
            o->round_mib = true;
            break;
        case 'D':
            o->dry_run = true;
            break;
        case 'X':
            o->force = true;
            break;
        case 'j':
            g.json = true;
            break;
        case 'h':
            printf("usage: %s\n", syn);
            exit(0);
        default:
            cli_usage(syn, "invalid option");
            return -1;
        }
    }
    return optind;
}

static json_object *info_json(const char *path, const struct ovfk_vhd_info *in);

/* --json after create, snapshot, convert, repair: the file as `vhd info
 * --json` describes it (the document of vhd-info.json) */
static int print_result(const char *path)
{
    struct ovfk_vhd_info info;
    ovfk_vhd *h;

    if (!g.json) {
        return 0;
    }
    if (ovfk_vhd_open(path, 0, &h) < 0) {
        return cli_error("%s", ovfk_last_error());
    }
    ovfk_vhd_get_info(h, &info);
    cli_json_print(info_json(path, &info));
    ovfk_vhd_close(h);
    return 0;
}

static int do_create(int argc, char **argv)
{
    struct ovfk_vhd_create_opts co = { 0 };
    struct vopts o;
    int i = parse(argc, argv, SYN_CREATE, &o);

    if (i < 0) {
        return EXIT_USAGE;
    }
    co.block_size = (uint32_t)o.block_size;
    co.round_to_mib = o.round_mib;
    if (o.parent) {
        if (argc - i != 1) {
            return cli_usage(SYN_CREATE, "expected FILE after --parent");
        }
        co.parent = o.parent;
    } else {
        if (argc - i != 2) {
            return cli_usage(SYN_CREATE, "expected FILE and SIZE");
        }
        if (!o.type || strcmp(o.type, "dynamic") == 0) {
            co.type = OVFK_VHD_TYPE_DYNAMIC;
        } else if (strcmp(o.type, "fixed") == 0) {
            co.type = OVFK_VHD_TYPE_FIXED;
        } else {
            return cli_usage(SYN_CREATE, "unknown type '%s'", o.type);
        }
        if (cli_size(SYN_CREATE, "size", argv[i + 1], 1, OVFK_VHD_MAX_SIZE,
                     &co.size)) {
            return EXIT_USAGE;
        }
    }
    if (ovfk_vhd_create(argv[i], &co, NULL) < 0) {
        return cli_error("%s", ovfk_last_error());
    }
    return print_result(argv[i]);
}

static int do_snapshot(int argc, char **argv)
{
    struct ovfk_vhd_create_opts co = { 0 };
    struct vopts o;
    int i = parse(argc, argv, SYN_SNAPSHOT, &o);

    if (i < 0) {
        return EXIT_USAGE;
    }
    if (argc - i != 2) {
        return cli_usage(SYN_SNAPSHOT, "expected PARENT and CHILD");
    }
    co.parent = argv[i];
    co.block_size = (uint32_t)o.block_size;     /* 0: the parent's */
    if (ovfk_vhd_create(argv[i + 1], &co, NULL) < 0) {
        return cli_error("%s", ovfk_last_error());
    }
    return print_result(argv[i + 1]);
}

static const char *type_name(enum ovfk_vhd_type t)
{
    switch (t) {
    case OVFK_VHD_TYPE_FIXED:
        return "fixed";
    case OVFK_VHD_TYPE_DYNAMIC:
        return "dynamic";
    case OVFK_VHD_TYPE_DIFF:
        return "differencing";
    }
    return "unknown";
}

static void vhd_time(uint32_t ts, char *buf, size_t len)
{
    time_t t = (time_t)ts + 946684800;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_object *info_json(const char *path, const struct ovfk_vhd_info *in)
{
    json_object *o = json_object_new_object();
    json_object *geo = json_object_new_object();
    char uuid[37], ts[32];

    ovfk_vhd_uuid_str(in->uuid, uuid);
    vhd_time(in->timestamp, ts, sizeof(ts));
    json_object_object_add(o, "filename", json_object_new_string(path));
    json_object_object_add(o, "format", json_object_new_string("vhd"));
    json_object_object_add(o, "type",
                           json_object_new_string(type_name(in->type)));
    json_object_object_add(o, "virtual_size", json_object_new_uint64(in->size));
    json_object_object_add(o, "size_source", json_object_new_string(
                               in->size_from_chs ? "chs" : "current_size"));
    json_object_object_add(o, "current_size",
                           json_object_new_uint64(in->current_size));
    json_object_object_add(o, "original_size",
                           json_object_new_uint64(in->original_size));
    json_object_object_add(geo, "cylinders",
                           json_object_new_int(in->cylinders));
    json_object_object_add(geo, "heads", json_object_new_int(in->heads));
    json_object_object_add(geo, "sectors", json_object_new_int(in->sectors));
    json_object_object_add(geo, "size", json_object_new_uint64(in->chs_size));
    json_object_object_add(o, "geometry", geo);
    json_object_object_add(o, "creator_app",
                           json_object_new_string(in->creator_app));
    json_object_object_add(o, "creator_version",
                           json_object_new_int64(in->creator_version));
    json_object_object_add(o, "creator_os",
                           json_object_new_string(in->creator_os));
    json_object_object_add(o, "timestamp", json_object_new_string(ts));
    json_object_object_add(o, "uuid", json_object_new_string(uuid));
    json_object_object_add(o, "saved_state",
                           json_object_new_boolean(in->saved_state));
    json_object_object_add(o, "file_size",
                           json_object_new_uint64(in->file_size));
    if (in->type == OVFK_VHD_TYPE_FIXED) {
        return o;
    }
    json_object_object_add(o, "block_size",
                           json_object_new_int64(in->block_size));
    json_object_object_add(o, "max_table_entries",
                           json_object_new_int64(in->max_table_entries));
    json_object_object_add(o, "allocated_blocks",
                           json_object_new_int64(in->allocated_blocks));
    if (in->type == OVFK_VHD_TYPE_DIFF) {
        json_object *p = json_object_new_object();
        json_object *locs = json_object_new_array();
        ovfk_vhd_uuid_str(in->parent_uuid, uuid);
        vhd_time(in->parent_timestamp, ts, sizeof(ts));
        json_object_object_add(p, "uuid", json_object_new_string(uuid));
        json_object_object_add(p, "name",
                               json_object_new_string(in->parent_name));
        json_object_object_add(p, "timestamp", json_object_new_string(ts));
        for (int i = 0; i < in->n_locators; i++) {
            json_object *l = json_object_new_object();
            json_object_object_add(l, "platform", json_object_new_string(
                                       in->locators[i].code));
            json_object_object_add(l, "path", json_object_new_string(
                                       in->locators[i].path));
            json_object_array_add(locs, l);
        }
        json_object_object_add(p, "locators", locs);
        json_object_object_add(o, "parent", p);
        json_object_object_add(o, "chain_depth",
                               json_object_new_int(in->chain_depth));
    }
    return o;
}

static void info_text(const char *path, const struct ovfk_vhd_info *in)
{
    char uuid[37], ts[32];

    ovfk_vhd_uuid_str(in->uuid, uuid);
    vhd_time(in->timestamp, ts, sizeof(ts));
    printf("file:            %s\n", path);
    printf("type:            %s\n", type_name(in->type));
    printf("virtual size:    %llu bytes (from %s)\n",
           (unsigned long long)in->size,
           in->size_from_chs ? "CHS geometry" : "current_size");
    printf("current size:    %llu\n", (unsigned long long)in->current_size);
    printf("geometry:        %u/%u/%u (C/H/S, %llu bytes)\n", in->cylinders,
           in->heads, in->sectors, (unsigned long long)in->chs_size);
    printf("creator:         '%s' %u.%u on '%s'\n", in->creator_app,
           in->creator_version >> 16, in->creator_version & 0xffff,
           in->creator_os);
    printf("timestamp:       %s\n", ts);
    printf("uuid:            %s\n", uuid);
    printf("file size:       %llu\n", (unsigned long long)in->file_size);
    if (in->type == OVFK_VHD_TYPE_FIXED) {
        return;
    }
    printf("block size:      %u\n", in->block_size);
    printf("blocks:          %u allocated of %u\n", in->allocated_blocks,
           in->max_table_entries);
    if (in->type != OVFK_VHD_TYPE_DIFF) {
        return;
    }
    ovfk_vhd_uuid_str(in->parent_uuid, uuid);
    printf("parent uuid:     %s\n", uuid);
    printf("parent name:     %s\n", in->parent_name);
    for (int i = 0; i < in->n_locators; i++) {
        printf("parent locator:  %s %s\n", in->locators[i].code,
               in->locators[i].path);
    }
    printf("chain depth:     %d\n", in->chain_depth);
}

static int do_info(int argc, char **argv)
{
    struct ovfk_vhd_info info;
    struct vopts o;
    ovfk_vhd *h;
    int i = parse(argc, argv, SYN_INFO, &o);

    if (i < 0) {
        return EXIT_USAGE;
    }
    if (argc - i != 1) {
        return cli_usage(SYN_INFO, "expected one FILE");
    }
    if (ovfk_vhd_open(argv[i], 0, &h) < 0) {
        return cli_error("%s", ovfk_last_error());
    }
    ovfk_vhd_get_info(h, &info);
    if (g.json) {
        cli_json_print(info_json(argv[i], &info));
    } else {
        info_text(argv[i], &info);
    }
    ovfk_vhd_close(h);
    return 0;
}

struct report_ctx {
    json_object *list;
};

static void report(void *opaque, enum ovfk_severity severity, const char *msg)
{
    struct report_ctx *c = opaque;
    const char *sev = ovfk_severity_str(severity);

    if (c->list) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "severity", json_object_new_string(sev));
        json_object_object_add(o, "message", json_object_new_string(msg));
        json_object_array_add(c->list, o);
    } else {
        printf("%s: %s\n", sev, msg);
    }
}

static int do_check(int argc, char **argv)
{
    struct report_ctx c = { NULL };
    struct vopts o;
    enum ovfk_vhd_check_result res;
    int i = parse(argc, argv, SYN_CHECK, &o);

    if (i < 0) {
        return 1;
    }
    if (argc - i != 1) {
        cli_usage(SYN_CHECK, "expected one FILE");
        return 1;
    }
    if (g.json) {
        c.list = json_object_new_array();
    }
    res = ovfk_vhd_check(argv[i], report, &c);
    if (g.json) {
        json_object *out = json_object_new_object();
        static const char *const names[] = {
            [OVFK_VHD_CHECK_OK] = "ok",
            [OVFK_VHD_CHECK_FAILED] = "failed",
            [OVFK_VHD_CHECK_CORRUPT] = "corrupt",
            [OVFK_VHD_CHECK_LEAKS] = "leaks",
        };
        json_object_object_add(out, "filename",
                               json_object_new_string(argv[i]));
        json_object_object_add(out, "result", json_object_new_string(
                                   res == OVFK_VHD_CHECK_UNSUPPORTED ?
                                   "unsupported" : names[res]));
        json_object_object_add(out, "findings", c.list);
        cli_json_print(out);
    } else if (res == OVFK_VHD_CHECK_OK && !g.quiet) {
        printf("No errors were found on the image.\n");
    }
    return (int)res;
}

static int do_repair(int argc, char **argv)
{
    struct report_ctx c = { NULL };
    struct vopts o;
    int i = parse(argc, argv, SYN_REPAIR, &o);

    if (i < 0) {
        return EXIT_USAGE;
    }
    if (argc - i != 1) {
        return cli_usage(SYN_REPAIR, "expected one FILE");
    }
    if (g.json) {
        c.list = json_object_new_array();
    }
    if (ovfk_vhd_repair(argv[i], g.quiet && !g.json ? NULL : report, &c) < 0) {
        json_object_put(c.list);
        return cli_error("%s", ovfk_last_error());
    }
    if (g.json) {
        json_object *out = json_object_new_object();
        json_object_object_add(out, "filename",
                               json_object_new_string(argv[i]));
        json_object_object_add(out, "changes", c.list);
        cli_json_print(out);
    }
    return 0;
}

static int do_map(int argc, char **argv)
{
    json_object *list = NULL;
    struct vopts o;
    uint64_t off = 0, pnum;
    ovfk_vhd *h;
    int depth, r = 0;
    int i = parse(argc, argv, SYN_MAP, &o);

    if (i < 0) {
        return EXIT_USAGE;
    }
    if (argc - i != 1) {
        return cli_usage(SYN_MAP, "expected one FILE");
    }
    if (ovfk_vhd_open(argv[i], 0, &h) < 0) {
        return cli_error("%s", ovfk_last_error());
    }
    if (g.json) {
        list = json_object_new_array();
    } else {
        printf("%-20s %-20s %-6s %s\n", "Offset", "Length", "Depth", "File");
    }
    while (off < ovfk_vhd_size(h)) {
        const ovfk_vhd *f = h;
        r = ovfk_vhd_block_status(h, off, ovfk_vhd_size(h) - off, &pnum,
                                  &depth);
        if (r < 0) {
            break;
        }
        for (int d = 0; d < depth && f; d++) {
            f = ovfk_vhd_parent(f);
        }
        if (list) {
            json_object *e = json_object_new_object();
            json_object_object_add(e, "start", json_object_new_uint64(off));
            json_object_object_add(e, "length", json_object_new_uint64(pnum));
            json_object_object_add(e, "depth", json_object_new_int(depth));
            json_object_object_add(e, "data", json_object_new_boolean(r > 0));
            json_object_object_add(e, "zero", json_object_new_boolean(r == 0));
            if (r > 0) {
                json_object_object_add(
                    e, "file", json_object_new_string(ovfk_vhd_path(f)));
            }
            json_object_array_add(list, e);
        } else if (r > 0) {
            printf("%#-20llx %#-20llx %-6d %s\n", (unsigned long long)off,
                   (unsigned long long)pnum, depth, ovfk_vhd_path(f));
        }
        off += pnum;
    }
    if (r < 0) {
        json_object_put(list);
        r = cli_error("%s", ovfk_vhd_error(h));
    } else {
        r = 0;
        if (list) {
            cli_json_print(list);
        }
    }
    ovfk_vhd_close(h);
    return r;
}

static int do_convert(int argc, char **argv)
{
    struct ovfk_vhd_convert_opts co = { 0 };
    ovfk_source *src;
    struct vopts o;
    int r, i = parse(argc, argv, SYN_CONVERT, &o);

    if (i < 0) {
        return EXIT_USAGE;
    }
    if (argc - i != 2) {
        return cli_usage(SYN_CONVERT, "expected SRC and DST");
    }
    if (!o.type || strcmp(o.type, "dynamic") == 0) {
        co.type = OVFK_VHD_OUT_DYNAMIC;
    } else if (strcmp(o.type, "fixed") == 0) {
        co.type = OVFK_VHD_OUT_FIXED;
    } else if (strcmp(o.type, "raw") == 0) {
        co.type = OVFK_VHD_OUT_RAW;
    } else {
        return cli_usage(SYN_CONVERT, "unknown type '%s'", o.type);
    }
    co.block_size = (uint32_t)o.block_size;
    co.round_to_mib = o.round_mib;
    co.backing = o.backing;
    co.progress = cli_progress;
    co.opaque = "converting";
    if (ovfk_open_source(argv[i], o.format, &src) < 0) {
        return cli_error("%s", ovfk_last_error());
    }
    r = ovfk_vhd_convert(src, argv[i + 1], &co);
    cli_progress_done();
    if (r < 0) {
        ovfk_source_free(src);
        return cli_error("%s", ovfk_last_error());
    }
    if (g.json) {
        json_object *out = json_object_new_object();
        json_object_object_add(out, "source", json_object_new_string(argv[i]));
        json_object_object_add(out, "output",
                               json_object_new_string(argv[i + 1]));
        json_object_object_add(out, "type", json_object_new_string(
                                   o.type ? o.type : "dynamic"));
        json_object_object_add(out, "virtual_size",
                               json_object_new_uint64(src->size));
        cli_json_print(out);
    }
    ovfk_source_free(src);
    return 0;
}

static int do_compare(int argc, char **argv)
{
    ovfk_source *a = NULL, *b = NULL;
    uint64_t at = 0;
    struct vopts o;
    int r, i = parse(argc, argv, SYN_COMPARE, &o);

    if (i < 0) {
        return 2;
    }
    if (argc - i != 2) {
        cli_usage(SYN_COMPARE, "expected A and B");
        return 2;
    }
    if (ovfk_open_source(argv[i], o.format, &a) < 0 ||
        ovfk_open_source(argv[i + 1], o.format2, &b) < 0) {
        cli_error("%s", ovfk_last_error());
        ovfk_source_free(a);
        return 2;
    }
    r = ovfk_vhd_compare(a, b, &at, cli_progress, "comparing");
    cli_progress_done();
    if (r < 0) {
        cli_error("%s", ovfk_last_error());
        r = 2;
    } else if (g.json) {
        json_object *out = json_object_new_object();
        json_object_object_add(out, "a", json_object_new_string(argv[i]));
        json_object_object_add(out, "b", json_object_new_string(argv[i + 1]));
        json_object_object_add(out, "identical",
                               json_object_new_boolean(r == 0));
        json_object_object_add(out, "mismatch_offset",
                               r == 1 ? json_object_new_uint64(at) : NULL);
        json_object_object_add(out, "size_mismatch",
                               json_object_new_boolean(a->size != b->size));
        cli_json_print(out);
    } else if (r == 1) {
        printf("Content mismatch at offset %llu!\n", (unsigned long long)at);
    } else if (a->size != b->size && !g.quiet) {
        printf("Warning: image size mismatch!\nImages are identical.\n");
    } else if (!g.quiet) {
        printf("Images are identical.\n");
    }
    ovfk_source_free(a);
    ovfk_source_free(b);
    return r;
}

static int do_write(int argc, char **argv)
{
    const size_t chunk = 1u << 20;
    uint64_t off, limit = UINT64_MAX, done = 0;
    struct vopts o;
    uint8_t *buf;
    ovfk_vhd *h;
    int r = 0, i = parse(argc, argv, SYN_WRITE, &o);

    if (i < 0) {
        return EXIT_USAGE;
    }
    if (argc - i < 2 || argc - i > 3) {
        return cli_usage(SYN_WRITE, "expected FILE OFFSET [LENGTH]");
    }
    if (cli_size(SYN_WRITE, "offset", argv[i + 1], 0, OVFK_VHD_MAX_SIZE,
                 &off) ||
        (argc - i == 3 && cli_size(SYN_WRITE, "length", argv[i + 2], 1,
                                   OVFK_VHD_MAX_SIZE, &limit))) {
        return EXIT_USAGE;
    }
    if (ovfk_vhd_open(argv[i], OVFK_VHD_OPEN_RDWR, &h) < 0) {
        return cli_error("%s", ovfk_last_error());
    }
    buf = malloc(chunk);
    while (buf && done < limit) {
        size_t want = limit - done < chunk ? (size_t)(limit - done) : chunk;
        size_t got = fread(buf, 1, want, stdin);
        if (got == 0) {
            break;
        }
        r = ovfk_vhd_pwrite(h, buf, got, off + done);
        if (r < 0) {
            break;
        }
        done += got;
    }
    if (!buf) {
        r = cli_error("out of memory");
    } else if (r < 0) {
        r = cli_error("%s", ovfk_vhd_error(h));
    } else if (ferror(stdin)) {
        r = cli_error("cannot read standard input: %s", strerror(errno));
    } else if (limit != UINT64_MAX && done < limit) {
        r = cli_error("standard input ended after %llu of %llu bytes",
                      (unsigned long long)done, (unsigned long long)limit);
    } else {
        r = ovfk_vhd_flush(h) < 0 ? cli_error("%s", ovfk_vhd_error(h)) : 0;
    }
    if (r == 0 && g.json) {
        json_object *out = json_object_new_object();
        json_object_object_add(out, "filename",
                               json_object_new_string(argv[i]));
        json_object_object_add(out, "offset", json_object_new_uint64(off));
        json_object_object_add(out, "bytes", json_object_new_uint64(done));
        cli_json_print(out);
    }
    free(buf);
    ovfk_vhd_close(h);
    return r;
}

static void dir_of(const char *path, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');

    if (!slash) {
        snprintf(out, len, ".");
    } else {
        snprintf(out, len, "%.*s", (int)(slash - path ? slash - path : 1),
                 path);
    }
}

static int do_merge(int argc, char **argv)
{
    json_object *res = NULL;
    struct ovfk_vhd_merge_plan plan;
    char dir[4096], **kids = NULL, **sibs = NULL;
    size_t nk = 0, ns = 0;
    struct vopts o;
    int r, i = parse(argc, argv, SYN_MERGE, &o);

    if (i < 0) {
        return EXIT_USAGE;
    }
    if (argc - i != 1) {
        return cli_usage(SYN_MERGE, "expected one CHILD");
    }
    if (ovfk_vhd_merge_plan(argv[i], &plan) < 0) {
        return cli_error("%s", ovfk_last_error());
    }
    dir_of(argv[i], dir, sizeof(dir));
    r = ovfk_vhd_find_children(argv[i], dir, &kids, &nk);
    if (r == 0) {
        char pdir[4096];
        dir_of(plan.parent, pdir, sizeof(pdir));
        r = ovfk_vhd_find_children(plan.parent, pdir, &sibs, &ns);
    }
    if (r < 0) {
        r = cli_error("%s", ovfk_last_error());
        goto out;
    }
    if (g.json) {
        json_object *out = json_object_new_object();
        json_object *steps = json_object_new_array();
        json_object *step = json_object_new_object();
        json_object *k = json_object_new_array();
        json_object_object_add(step, "child", json_object_new_string(argv[i]));
        json_object_object_add(step, "parent",
                               json_object_new_string(plan.parent));
        json_object_object_add(step, "bytes_needed",
                               json_object_new_uint64(plan.bytes_needed));
        json_object_object_add(step, "child_bytes",
                               json_object_new_uint64(plan.child_bytes));
        json_object_object_add(step, "blocks",
                               json_object_new_int64(plan.child_blocks));
        for (size_t n = 0; n < nk; n++) {
            json_object_array_add(k, json_object_new_string(kids[n]));
        }
        json_object_object_add(step, "repoint", k);
        json_object_array_add(steps, step);
        json_object_object_add(out, "steps", steps);
        json_object_object_add(out, "total_bytes",
                               json_object_new_uint64(plan.bytes_needed));
        json_object_object_add(out, "dry_run",
                               json_object_new_boolean(o.dry_run));
        res = out;
    } else if (o.dry_run || !g.quiet) {
        printf("merge %s into %s: %u blocks, needs %llu bytes free "
               "(the child holds %llu)\n", argv[i], plan.parent,
               plan.child_blocks, (unsigned long long)plan.bytes_needed,
               (unsigned long long)plan.child_bytes);
        for (size_t n = 0; n < nk; n++) {
            printf("  re-point %s\n", kids[n]);
        }
    }
    if (ns > 1 && !o.force) {
        r = cli_error("'%s' has %zu children: merging '%s' into it would "
                      "change what the others read; pass --force if they "
                      "are no longer needed", plan.parent, ns, argv[i]);
    } else if (!o.dry_run) {
        r = ovfk_vhd_merge(argv[i], (const char *const *)kids, nk, 0,
                           cli_progress, "merging");
        cli_progress_done();
        if (r < 0) {
            r = cli_fail(r, "%s", ovfk_last_error());
        }
    }
    if (res && r == 0) {
        /* after the merge: with --progress=json the result comes last */
        json_object_object_add(res, "done",
                               json_object_new_boolean(!o.dry_run));
        cli_json_print(res);
        res = NULL;
    }
out:
    json_object_put(res);
    for (size_t n = 0; n < nk; n++) {
        free(kids[n]);
    }
    free(kids);
    for (size_t n = 0; n < ns; n++) {
        free(sibs[n]);
    }
    free(sibs);
    return r;
}

static int do_chain(int argc, char **argv)
{
    json_object *arr = NULL;
    struct vopts o;
    ovfk_vhd *h;
    int i = parse(argc, argv, SYN_CHAIN, &o);

    if (i < 0) {
        return EXIT_USAGE;
    }
    if (argc - i != 1) {
        return cli_usage(SYN_CHAIN, "expected one FILE");
    }
    if (ovfk_vhd_open(argv[i], 0, &h) < 0) {
        return cli_error("%s", ovfk_last_error());
    }
    if (g.json) {
        arr = json_object_new_array();
    }
    for (ovfk_vhd *f = h; f; f = ovfk_vhd_parent(f)) {
        struct ovfk_vhd_info in;
        char u[37];
        ovfk_vhd_get_info(f, &in);
        ovfk_vhd_uuid_str(in.uuid, u);
        if (arr) {
            json_object *e = json_object_new_object();
            json_object_object_add(e, "path", json_object_new_string(
                                       ovfk_vhd_path(f)));
            json_object_object_add(e, "type", json_object_new_string(
                                       type_name(in.type)));
            json_object_object_add(e, "uuid", json_object_new_string(u));
            json_object_object_add(e, "file_size",
                                   json_object_new_uint64(in.file_size));
            json_object_object_add(e, "allocated_blocks",
                                   json_object_new_int64(in.allocated_blocks));
            json_object_array_add(arr, e);
        } else {
            printf("%-12s %s  %s (%u blocks)\n", type_name(in.type), u,
                   ovfk_vhd_path(f), in.allocated_blocks);
        }
    }
    if (arr) {
        cli_json_print(arr);
    }
    ovfk_vhd_close(h);
    return 0;
}

static const struct cli_command vhd_commands[] = {
    { "create", do_create, "create a fixed, dynamic or differencing VHD" },
    { "snapshot", do_snapshot, "start a differencing child on a parent" },
    { "info", do_info, "show the footer, header and parent of a VHD" },
    { "check", do_check, "check a VHD (exit codes as qemu-img check)" },
    { "repair", do_repair, "restore a lost footer, drop trailing garbage" },
    { "map", do_map, "list the allocated ranges of a VHD chain" },
    { "convert", do_convert, "convert between raw, fixed and dynamic" },
    { "compare", do_compare, "compare the logical contents of two images" },
    { "write", do_write, "write standard input into a VHD at an offset" },
    { "merge", do_merge, "merge a differencing VHD into its parent" },
    { "chain", do_chain, "list a VHD and its parents" },
    { NULL, NULL, NULL },
};

int cmd_vhd(int argc, char **argv)
{
    return cli_dispatch("vhd", vhd_commands, argc - 1, argv + 1);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert/input.c - pick the input driver for an image and open it.
 *
 * Raw is what is left when no format bids, so a damaged image of any other
 * format would silently become "raw bytes": a VHD whose footers are gone
 * would turn into a disk of metadata and garbage, with no error.  Before
 * falling back to raw, we therefore ask what the file claims to be, by its
 * name (the extensions producers give) and by its content (magic numbers
 * that a probe may have passed over, e.g. in a file too short for the
 * structure); a file that claims a format is opened with that format's
 * driver, and when that fails the driver's reason is reported, with the
 * way to insist on raw (format "raw", -f raw on the command line).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "image/input.h"
#include "ovfkit/image.h"
#include "util/err.h"
#include "util/io.h"

/* Every input format, in one explicit table; raw bids lowest. */
static const struct input_driver *const drivers[] = {
    &input_vhd,
    &input_vhdx,
    &input_vmdk,
    &input_qcow2,
    &input_raw,
};

#define NDRIVERS (sizeof(drivers) / sizeof(drivers[0]))

/* The extensions that name a format (case does not matter). */
static const struct {
    const char *ext;
    const struct input_driver *d;
    const char *label;
} named[] = {
    { ".vhd", &input_vhd, "VHD" },
    { ".avhd", &input_vhd, "VHD" },     /* Hyper-V's differencing VHDs */
    { ".vhdx", &input_vhdx, "VHDX" },
    { ".avhdx", &input_vhdx, "VHDX" },
    { ".vmdk", &input_vmdk, "VMDK" },
    { ".qcow2", &input_qcow2, "qcow2" },
    { ".qcow", &input_qcow2, "qcow2" },
};

#define NNAMED (sizeof(named) / sizeof(named[0]))

/* What a file claims to be, and why we think so. */
struct claim {
    const struct input_driver *d;
    const char *label;          /* "VHD", ... */
    char why[96];
};

static const struct input_driver *best(const char *path)
{
    const struct input_driver *pick = &input_raw;
    int score = 0;

    for (size_t i = 0; i < NDRIVERS; i++) {
        int s = drivers[i]->probe(path);
        if (s > score) {
            score = s;
            pick = drivers[i];
        }
    }
    return pick;
}

static bool claim_by_name(const char *path, struct claim *c)
{
    size_t n = strlen(path);

    for (size_t i = 0; i < NNAMED; i++) {
        size_t m = strlen(named[i].ext);
        if (n > m && strcasecmp(path + n - m, named[i].ext) == 0) {
            c->d = named[i].d;
            c->label = named[i].label;
            snprintf(c->why, sizeof(c->why), "its name says %s",
                     named[i].label);
            return true;
        }
    }
    return false;
}

/*
 * Magic numbers at the start, and the VHD footer cookie at the end (the
 * footer of a fixed disk is only there).  The probes look at the same
 * bytes but also want the structure to fit; a file that has the magic
 * without the structure is a damaged image, not a raw one.
 */
static bool claim_by_content(const char *path, struct claim *c)
{
    static const struct {
        const char *magic;
        size_t len;
        const struct input_driver *d;
        const char *label, *what;
    } heads[] = {
        { "conectix", 8, &input_vhd, "VHD", "a VHD footer copy" },
        { "vhdxfile", 8, &input_vhdx, "VHDX", "the VHDX signature" },
        { "KDMV", 4, &input_vmdk, "VMDK", "the VMDK sparse magic" },
        { "# Disk DescriptorFile", 21, &input_vmdk, "VMDK",
          "a VMDK descriptor" },
        { "QFI\xfb", 4, &input_qcow2, "qcow2", "the qcow2 magic" },
    };
    uint8_t head[32] = { 0 }, tail[8];
    uint64_t size = 0;
    ovfk_io *io;
    int r;

    if (ovfk_io_open_file(path, OVFK_IO_RDONLY, &io) < 0) {
        return false;
    }
    r = ovfk_io_size(io, &size);
    if (r == 0) {
        r = ovfk_io_pread(io, head, size < sizeof(head) ? (size_t)size
                                                        : sizeof(head), 0);
    }
    for (size_t i = 0; r == 0 && i < sizeof(heads) / sizeof(heads[0]); i++) {
        if (size >= heads[i].len && !memcmp(head, heads[i].magic,
                                            heads[i].len)) {
            c->d = heads[i].d;
            c->label = heads[i].label;
            snprintf(c->why, sizeof(c->why), "it begins with %s",
                     heads[i].what);
            ovfk_io_close(io);
            return true;
        }
    }
    if (r == 0 && size >= 512 &&
        ovfk_io_pread(io, tail, sizeof(tail), size - 512) == 0 &&
        !memcmp(tail, "conectix", 8)) {
        c->d = &input_vhd;
        c->label = "VHD";
        snprintf(c->why, sizeof(c->why), "it ends with a VHD footer");
        ovfk_io_close(io);
        return true;
    }
    ovfk_io_close(io);
    return false;
}

/*
 * The last error, completed with what to do: repair for a damaged VHD
 * (the command that puts a lost footer back, or says why it cannot), and
 * the raw format for a file that claims another format.  claim is NULL
 * when the format was asked for.  Returns code.
 */
static int explain(int code, const char *path, const struct claim *c)
{
    char msg[OVFK_ERR_MAX], repair[OVFK_ERR_MAX / 2] = "";
    bool vhd = c ? c->d == &input_vhd : true;

    if (code == -ENOENT || code == -EACCES || code == -EPERM ||
        code == -EISDIR || code == -ENOTDIR || code == -ENOMEM) {
        return code;    /* not about the content: nothing to add */
    }
    /* readers that fail deep inside may not say which file */
    if (strstr(ovfk_last_error(), path)) {
        snprintf(msg, sizeof(msg), "%s", ovfk_last_error());
    } else {
        snprintf(msg, sizeof(msg), "'%s': %s", path, ovfk_last_error());
    }
    if (vhd && !strstr(msg, "vhd repair")) {
        snprintf(repair, sizeof(repair), "try 'ovfkit vhd repair %s'%s",
                 path, c ? ", or " : "");
    }
    if (!c) {
        return ovfk_err_last(code, "%s%s%s", msg, repair[0] ? "; " : "",
                             repair);
    }
    return ovfk_err_last(code, "%s; %s, so it is not read as raw: %sinsist "
                         "on raw with -f raw", msg, c->why, repair);
}

const char *ovfk_probe_format(const char *path)
{
    const struct input_driver *d = best(path);
    struct claim c = { 0 };

    if (d == &input_raw && (claim_by_name(path, &c) ||
                            claim_by_content(path, &c))) {
        return c.d->name;   /* what ovfk_open_source would try */
    }
    return d->name;
}

int ovfk_open_source(const char *path, const char *format,
                     ovfk_source **out)
{
    const struct input_driver *d = NULL;
    struct claim c = { 0 };
    int r;

    *out = NULL;
    if (!format) {
        d = best(path);
        if (d == &input_raw && (claim_by_name(path, &c) ||
                                claim_by_content(path, &c))) {
            /* the claimed format's driver opens it, or says why not */
            r = c.d->open(path, out);
            return r < 0 ? explain(r, path, &c) : 0;
        }
    } else {
        for (size_t i = 0; i < NDRIVERS; i++) {
            if (strcmp(drivers[i]->name, format) == 0) {
                d = drivers[i];
            }
        }
        if (!d) {
            return ovfk_err_last(-EINVAL, "unknown image format '%s'",
                                 format);
        }
    }
    r = d->open(path, out);
    if (r < 0 && d == &input_vhd) {
        return explain(r, path, NULL);
    }
    return r;
}

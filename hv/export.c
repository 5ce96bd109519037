/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv/export.c - a VM out as OVF + one VHD per disk (a directory) or one
 * OVA, in one pass over each disk: the VHD is generated as it streams
 * into the package (its size is known from the allocation map alone, see
 * ovfk_vhd_stream), hashed on the way for the manifest.  Disks in other
 * formats are read through the convert layer.  Nothing appears under the
 * target name until the package is complete.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv/internal.h"
#include "ovfkit/image.h"
#include "ovfkit/vhd.h"
#include "util/io.h"
#include "util/tmpfile.h"

struct edisk {
    ovfk_source *src;
    ovfk_vhd *vhd;
    ovfk_vhd_stream *stream;
    char href[300];
    uint64_t size;
    char tmp[PATH_MAX];         /* --compress: the gzip file */
};

static bool ends_with(const char *s, const char *e)
{
    size_t n = strlen(s), m = strlen(e);

    return n >= m && !strcmp(s + n - m, e);
}

static int open_disk(ovfk_hv_conn *c, const struct ovfk_hv_disk *d, bool fixed,
                     struct edisk *e)
{
    int r;

    if (!d->format || !strcmp(d->format, "vhd")) {
        r = ovfk_vhd_open(d->path, 0, &e->vhd);
        if (r == 0) {
            r = ovfk_vhd_source(e->vhd, &e->src);
        }
    } else {
        r = ovfk_open_source(d->path, d->format, &e->src);
    }
    if (r < 0) {
        return ovfk_err_set(&c->err, r, "cannot read disk '%s': %s", d->path,
                            ovfk_last_error());
    }
    r = ovfk_vhd_stream_new(e->src,
                            fixed ? OVFK_VHD_OUT_FIXED : OVFK_VHD_OUT_DYNAMIC,
                            0, &e->stream);
    if (r < 0) {
        return ovfk_err_set(&c->err, r, "%s", ovfk_last_error());
    }
    e->size = ovfk_vhd_stream_size(e->stream);
    return 0;
}

static void close_disk(struct edisk *e)
{
    ovfk_vhd_stream_free(e->stream);
    ovfk_source_free(e->src);
    ovfk_vhd_close(e->vhd);
    if (e->tmp[0]) {
        unlink(e->tmp);
    }
}

struct file_sink {
    ovfk_io *io;
    uint64_t off;
};

static int file_write(void *opaque, const void *buf, size_t len)
{
    struct file_sink *f = opaque;
    int r = ovfk_io_pwrite(f->io, buf, len, f->off);

    f->off += len;
    return r;
}

/* The caller's progress callback asked only whether to go on (total 0:
 * nothing to show): compressing comes before the package's own count. */
struct ping {
    const struct ovfk_hv_export_opts *o;
};

static int ping(void *opaque, uint64_t done, uint64_t total)
{
    const struct ping *p = opaque;

    (void)done;
    (void)total;
    return p->o->progress ? p->o->progress(p->o->opaque, 0, 0) : 0;
}

/*
 * Write the disk's VHD gzip-compressed into a temporary beside `to`: the
 * compressed size must be in the descriptor, which precedes the data.  A
 * cancel (o's progress) leaves the temporary to close_disk, which removes
 * it.
 */
static int compress_disk(ovfk_hv_conn *c, struct edisk *e,
                         const struct ovfk_hv_export_opts *o)
{
    struct ping pg = { o };
    const char *to = o->to;
    struct file_sink fs = { 0 };
    ovfk_sink sink = { &fs, file_write }, up;
    ovfk_ova_gzip *gz = NULL;
    int r;

    r = ovfk_tmp_name(to, e->tmp, sizeof(e->tmp));
    if (r == 0) {
        r = ovfk_io_open_file(e->tmp, OVFK_IO_RDWR | OVFK_IO_CREATE, &fs.io);
    }
    if (r == 0) {
        r = ovfk_ova_gzip_new(&sink, &gz, &up);
    }
    if (r == 0) {
        r = ovfk_vhd_stream_write(e->stream, &up, ping, &pg);
    }
    if (r == 0) {
        r = ovfk_ova_gzip_finish(gz);
    }
    ovfk_ova_gzip_free(gz);
    ovfk_io_close(fs.io);
    if (r < 0) {
        return ovfk_err_set(&c->err, r, "cannot compress '%s': %s", e->href,
                            ovfk_errtext(r));
    }
    e->size = fs.off;
    return 0;
}

static int copy_file(const char *path, uint64_t size, const ovfk_sink *sink)
{
    char *buf = malloc(1u << 20);
    ovfk_io *io;
    int r = buf ? ovfk_io_open_file(path, OVFK_IO_RDONLY, &io) : -ENOMEM;

    for (uint64_t off = 0; r == 0 && off < size;) {
        size_t n = size - off < (1u << 20) ? (size_t)(size - off) : (1u << 20);
        r = ovfk_io_pread(io, buf, n, off);
        if (r == 0) {
            r = sink->write(sink->opaque, buf, n);
        }
        off += n;
    }
    if (buf && r != -ENOMEM) {
        ovfk_io_close(io);
    }
    free(buf);
    return r;
}

int ovfk_hv_export_vm(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm,
                 const struct ovfk_hv_export_opts *o)
{
    struct ovfk_ova_pack_opts po = { .digest = o->digest, .key = o->key,
                                .cert = o->cert, .progress = o->progress,
                                .opaque = o->opaque };
    struct edisk *disks = calloc(vm->n_disks + 1, sizeof(*disks));
    const char **hrefs = calloc(vm->n_disks + 1, sizeof(*hrefs));
    uint64_t *sizes = calloc(vm->n_disks + 1, sizeof(*sizes));
    bool ova = ends_with(o->to, ".ova");
    char desc_name[300], *xml = NULL, *pkg_path = NULL;
    ovfk_ova_writer *w = NULL;
    ovfk_ovf_doc *doc = NULL;
    ovfk_sink sink;
    size_t xml_len;
    int r = 0;

    if (!disks || !hrefs || !sizes) {
        r = ovfk_err_set(&c->err, -ENOMEM, "out of memory");
        goto out;
    }
    snprintf(desc_name, sizeof(desc_name), "%s.ovf", vm->name);
    for (size_t i = 0; r == 0 && !o->config_only && i < vm->n_disks; i++) {
        struct edisk *e = &disks[i];
        snprintf(e->href, sizeof(e->href), "%s-disk%zu.vhd%s", vm->name,
                 i + 1, o->compress ? ".gz" : "");
        r = open_disk(c, &vm->disks[i], o->fixed, e);
        if (r == 0 && o->compress) {
            r = compress_disk(c, e, o);
        }
        hrefs[i] = e->href;
        sizes[i] = e->size;
    }
    if (r == 0) {
        r = hv_vm_to_ovf(vm, o->config_only ? NULL : hrefs, sizes,
                         o->ovf_version ? o->ovf_version : 10, &doc);
        if (r < 0) {
            ovfk_err_set(&c->err, r, "%s", ovfk_last_error());
        }
    }
    for (size_t i = 0; r == 0 && o->compress && i < doc->n_files; i++) {
        ovfk_ovf_set_str(&doc->files[i].compression, "gzip");
    }
    if (r == 0) {
        r = ovfk_ovf_emit(doc, o->ovf_version ? o->ovf_version : 10, &xml,
                     &xml_len);
        if (r < 0) {
            ovfk_err_set(&c->err, r, "%s", ovfk_last_error());
        }
    }
    if (r == 0) {
        r = ovfk_ova_writer_new(o->to, !ova, &po, &w);
        if (r < 0) {
            ovfk_err_set(&c->err, r, "%s", ovfk_last_error());
        }
    }
    for (size_t i = 0; r == 0 && !o->config_only && i < vm->n_disks; i++) {
        r = ovfk_ova_writer_plan(w, disks[i].href, disks[i].size);
    }
    if (r == 0) {
        r = ovfk_ova_writer_descriptor(w, desc_name, xml, xml_len);
    }
    for (size_t i = 0; r == 0 && !o->config_only && i < vm->n_disks; i++) {
        struct edisk *e = &disks[i];
        r = ovfk_ova_writer_next(w, e->href, &sink);
        if (r == 0) {
            r = e->tmp[0] ? copy_file(e->tmp, e->size, &sink)
                          : ovfk_vhd_stream_write(e->stream, &sink, NULL, NULL);
        }
    }
    if (r == 0 && o->package) {
        /* allocated before the package completes: a complete package is
         * never reported as a failure for want of this string */
        char path[PATH_MAX + 300];
        snprintf(path, sizeof(path), "%s%s%s", o->to, ova ? "" : "/",
                 ova ? "" : desc_name);
        pkg_path = strdup(path);
        if (!pkg_path) {
            r = ovfk_err_set(&c->err, -ENOMEM, "out of memory");
        }
    }
    if (r == 0) {
        r = ovfk_ova_writer_finish(w);
    }
    if (r == 0 && o->package) {
        *o->package = pkg_path;
        pkg_path = NULL;
    }
    if (r < 0 && w && !c->err.code) {
        ovfk_err_set(&c->err, r, "cannot export '%s': %s", vm->name,
                     ovfk_ova_writer_error(w)[0] ? ovfk_ova_writer_error(w)
                                            : ovfk_errtext(r));
    }
out:
    ovfk_ova_writer_free(w);
    for (size_t i = 0; disks && i < vm->n_disks; i++) {
        close_disk(&disks[i]);
    }
    free(disks);
    free(hrefs);
    free(sizes);
    free(pkg_path);
    free(xml);
    ovfk_ovf_free(doc);
    return r;
}

int ovfk_hv_export(ovfk_hv_conn *c, const char *key,
                   const struct ovfk_hv_export_opts *o)
{
    struct ovfk_hv_vm *vm;
    ovfk_lock *lock = NULL;
    int r;

    r = ovfk_hv_load(c, key, &vm);
    if (r < 0) {
        return r;
    }
    r = hv_lock(c, vm, &lock);
    if (r == 0 && !o->allow_running && ovfk_hv_is_running(c, vm) > 0) {
        r = ovfk_err_set(&c->err, -EBUSY, "VM '%s' is running: stop it, or "
                         "export a snapshot ('ovfkit snapshot create' then "
                         "'ovfkit snapshot export') to keep it running",
                         vm->name);
    }
    if (r == 0) {
        r = ovfk_hv_export_vm(c, vm, o);
    }
    ovfk_lock_release(lock);
    ovfk_hv_vm_free(vm);
    return r;
}

int ovfk_hv_export_model(const struct ovfk_hv_vm *vm,
                         const struct ovfk_hv_export_opts *o)
{
    ovfk_hv_conn c = { 0 };
    int r = ovfk_hv_export_vm(&c, vm, o);

    if (r < 0) {
        ovfk_err_publish(&c.err);
    }
    return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/ovfk_ova_pkg.c - a package opened for import: the descriptor parsed, and
 * each referenced file available as a local path with its content ready
 * to use: chunks joined, gzip undone (bounded by what the descriptor
 * allows, so a decompression bomb stops early).
 *
 * An OVA is extracted in one pass into a work directory the caller picks
 * (on the file system its disks will live on, so moving them is a rename),
 * its manifest verified as the members stream by.  A descriptor with its
 * files beside it is used in place; its manifest, if any, is verified.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ovf/pkg.h"
#include "util/fs.h"
#include "util/io.h"

struct pkg_file {
    char *id;
    char *path;
};

struct ovfk_ova_pkg {
    ovfk_ovf_doc *doc;
    char *desc;
    size_t desc_len;
    char base[PATH_MAX];        /* where the package's files are */
    char work[PATH_MAX];        /* our directory, removed at the end */
    struct pkg_file *files;
    size_t n;
    ovfk_err err;
};

ovfk_ovf_doc *ovfk_ova_pkg_doc(ovfk_ova_pkg *p)
{
    return p->doc;
}

const char *ovfk_ova_pkg_descriptor(ovfk_ova_pkg *p, size_t *len)
{
    *len = p->desc_len;
    return p->desc;
}

const char *ovfk_ova_pkg_file(ovfk_ova_pkg *p, const char *id, bool *movable)
{
    size_t w = strlen(p->work);

    for (size_t i = 0; id && i < p->n; i++) {
        if (!strcmp(p->files[i].id, id)) {
            if (movable) {
                *movable = w && !strncmp(p->files[i].path, p->work, w) &&
                           p->files[i].path[w] == '/';
            }
            return p->files[i].path;
        }
    }
    return NULL;
}

void ovfk_ova_pkg_free(ovfk_ova_pkg *p)
{
    if (!p) {
        return;
    }
    if (p->work[0]) {
        ovfk_rm_tree(p->work);
    }
    for (size_t i = 0; i < p->n; i++) {
        free(p->files[i].id);
        free(p->files[i].path);
    }
    free(p->files);
    ovfk_ovf_free(p->doc);
    free(p->desc);
    free(p);
}

static int add_file(ovfk_ova_pkg *p, const char *id, const char *path)
{
    struct pkg_file *f = realloc(p->files, (p->n + 1) * sizeof(*f));

    if (!f) {
        return ovfk_err_set(&p->err, -ENOMEM, "out of memory");
    }
    p->files = f;
    f[p->n].id = strdup(id);
    f[p->n].path = strdup(path);
    p->n++;
    return 0;
}

/*
 * The most a file's content may expand to: a disk's capacity plus the
 * metadata of any image format (VHD/VMDK/qcow2 tables are well under 1%),
 * or, for a file no disk uses, 1024 times its packed size (gzip's best
 * ratio is about 1032:1).
 */
static uint64_t content_bound(const ovfk_ovf_doc *d,
                              const struct ovfk_ovf_file *f)
{
    for (size_t i = 0; i < d->n_disks; i++) {
        const struct ovfk_ovf_disk *k = &d->disks[i];
        if (k->file_ref && !strcmp(k->file_ref, f->id) && k->capacity_known) {
            return k->capacity + k->capacity / 64 + (64u << 20);
        }
    }
    return (f->size ? f->size : (1u << 20)) * 1024;
}

/* Join href.000000000, href.000000001, ... into dst. */
static int join_chunks(ovfk_ova_pkg *p, const struct ovfk_ovf_file *f,
                       const char *dst)
{
    char part[PATH_MAX];
    char *buf = malloc(1u << 20);
    uint64_t total = 0, off = 0;
    ovfk_io *out = NULL;
    int r;

    if (!buf) {
        return ovfk_err_set(&p->err, -ENOMEM, "out of memory");
    }
    r = ovfk_io_open_file(dst, OVFK_IO_RDWR | OVFK_IO_CREATE, &out);
    if (r < 0) {
        free(buf);
        return ovfk_err_set(&p->err, r, "%s", ovfk_last_error());
    }
    for (unsigned k = 0; r == 0; k++) {
        ovfk_io *in;
        uint64_t size;
        snprintf(part, sizeof(part), "%s/%s.%09u", p->base, f->href, k);
        if (access(part, F_OK) != 0) {
            break;
        }
        r = ovfk_io_open_file(part, OVFK_IO_RDONLY, &in);
        if (r == 0) {
            r = ovfk_io_size(in, &size);
        }
        if (r == 0 && size != f->chunk_size && total + size != f->size) {
            r = ovfk_err_set(&p->err, OVFK_ECORRUPT, "chunk '%s' has %llu "
                             "bytes; chunks but the last have %llu", part,
                             (unsigned long long)size,
                             (unsigned long long)f->chunk_size);
        }
        for (uint64_t pos = 0; r == 0 && pos < size;) {
            size_t n = size - pos < (1u << 20) ? (size_t)(size - pos)
                                              : (1u << 20);
            r = ovfk_io_pread(in, buf, n, pos);
            if (r == 0) {
                r = ovfk_io_pwrite(out, buf, n, off);
            }
            pos += n;
            off += n;
        }
        ovfk_io_close(in);
        total += size;
        if (r < 0 && !p->err.code) {
            ovfk_err_set(&p->err, r, "cannot join '%s': %s", part,
                         ovfk_errtext(r));
        }
    }
    if (r == 0 && f->has_size && total != f->size) {
        r = ovfk_err_set(&p->err, OVFK_ECORRUPT, "the chunks of '%s' hold "
                         "%llu bytes, the descriptor says %llu", f->href,
                         (unsigned long long)total,
                         (unsigned long long)f->size);
    }
    if (r == 0) {
        r = ovfk_io_sync(out);
    }
    ovfk_io_close(out);
    free(buf);
    if (r < 0) {
        unlink(dst);
    }
    return r;
}

static bool skipped(const struct ovfk_ova_open_opts *o, const char *id)
{
    for (size_t i = 0; o->skip && o->skip[i]; i++) {
        if (!strcmp(o->skip[i], id)) {
            return true;
        }
    }
    return false;
}

/* Make every referenced file available, as a path with its content. */
static int prepare(ovfk_ova_pkg *p, const struct ovfk_ova_open_opts *o)
{
    char path[PATH_MAX], dst[PATH_MAX], norm[512];
    int r;

    for (size_t i = 0; i < p->doc->n_files; i++) {
        const struct ovfk_ovf_file *f = &p->doc->files[i];
        if (!f->id || !f->href || skipped(o, f->id) || strstr(f->href, "://")) {
            continue;
        }
        if (tar_name_problem(f->href, norm, sizeof(norm))) {
            return ovfk_err_set(&p->err, OVFK_ECORRUPT, "file reference '%s' "
                                "is not a plain file name", f->href);
        }
        snprintf(path, sizeof(path), "%s/%s", p->base, norm);
        if (f->chunk_size) {
            snprintf(dst, sizeof(dst), "%s/%s.joined", p->work, norm);
            r = join_chunks(p, f, dst);
            if (r < 0) {
                return r;
            }
            snprintf(path, sizeof(path), "%s", dst);
        } else if (access(path, F_OK) != 0) {
            return ovfk_err_set(&p->err, -ENOENT, "'%s' (file '%s' of the "
                                "descriptor) is missing from the package",
                                f->href, f->id);
        }
        if (f->compression && !strcmp(f->compression, "gzip")) {
            snprintf(dst, sizeof(dst), "%s/%s.unpacked", p->work, norm);
            r = gz_decompress_file(path, dst, content_bound(p->doc, f),
                                   &p->err);
            if (r < 0) {
                return r;
            }
            snprintf(path, sizeof(path), "%s", dst);
        }
        r = add_file(p, f->id, path);
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

static void note(void *opaque, const char *msg)
{
    ovfk_ova_pkg *p = opaque;

    if (!p->err.code) {
        ovfk_err_set(&p->err, OVFK_EMISMATCH, "package does not verify: %s",
                     msg);
    }
}

static int find_descriptor(ovfk_ova_pkg *p, char *out, size_t len)
{
    DIR *d = opendir(p->base);
    struct dirent *e;
    int r = -ENOENT;

    if (!d) {
        return -errno;
    }
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 4 && !strcasecmp(e->d_name + n - 4, ".ovf")) {
            snprintf(out, len, "%s/%s", p->base, e->d_name);
            r = 0;
            break;
        }
    }
    closedir(d);
    return r;
}

int ovfk_ova_pkg_open(const char *path, const struct ovfk_ova_open_opts *o,
                 ovfk_ova_pkg **out)
{
    ovfk_ova_pkg *p = calloc(1, sizeof(*p));
    char desc[PATH_MAX], tmp[PATH_MAX], *name = NULL;
    int r;

    *out = NULL;
    if (!p) {
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    snprintf(p->work, sizeof(p->work), "%s/.ovfkit-pkg-XXXXXX",
             o->workdir ? o->workdir : "/var/tmp");
    if (!mkdtemp(p->work)) {
        r = ovfk_err_set(&p->err, -errno, "cannot create a work directory "
                         "in '%s': %s", o->workdir ? o->workdir : "/var/tmp",
                         ovfk_errtext(-errno));
        p->work[0] = '\0';
        goto fail;
    }
    if (ovfk_ova_is_archive(path)) {
        /* one pass: extract and verify the manifest on the way */
        snprintf(p->base, sizeof(p->base), "%s/members", p->work);
        r = ovfk_ova_unpack(path, p->base, o->progress, o->opaque);
        if (r < 0) {
            ovfk_err_set(&p->err, r, "%s", ovfk_last_error());
            goto fail;
        }
        r = find_descriptor(p, desc, sizeof(desc));
        if (r < 0) {
            r = ovfk_err_set(&p->err, OVFK_ECORRUPT, "'%s' contains no OVF "
                             "descriptor", path);
            goto fail;
        }
    } else {
        snprintf(tmp, sizeof(tmp), "%s", path);
        snprintf(p->base, sizeof(p->base), "%s", dirname(tmp));
        snprintf(desc, sizeof(desc), "%s", path);
        if (o->verify) {
            struct ovfk_ova_verify_opts vo = { 0 };
            char mf[PATH_MAX];
            size_t n = strlen(path);
            snprintf(mf, sizeof(mf), "%.*s.mf", (int)(n > 4 ? n - 4 : n),
                     path);
            if (access(mf, F_OK) == 0) {
                r = ovfk_ova_verify(path, &vo, note, p);
                if (r != 0) {
                    if (r < 0) {
                        ovfk_err_set(&p->err, r, "%s", ovfk_last_error());
                    }
                    r = p->err.code;
                    goto fail;
                }
            }
        }
    }
    r = ovfk_ova_load_descriptor(desc, &p->desc, &p->desc_len, &name);
    if (r == 0) {
        r = ovfk_ovf_parse_memory(p->desc, p->desc_len, name, &p->doc);
    }
    free(name);
    if (r < 0) {
        ovfk_err_set(&p->err, r, "%s", ovfk_last_error());
        goto fail;
    }
    r = prepare(p, o);
    if (r < 0) {
        goto fail;
    }
    *out = p;
    return 0;
fail:
    ovfk_err_publish(&p->err);
    ovfk_ova_pkg_free(p);
    return r;
}

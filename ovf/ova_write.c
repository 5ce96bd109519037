/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/ova_write.c - write a package in one pass: an OVA (tar) or a
 * directory, descriptor first, then manifest and certificate, then the
 * files in References order (DSP0243 5.3).
 *
 * The manifest precedes the files whose digests it holds, yet the data
 * passes only once: its exact length is known in advance (one line of
 * known width per file), so the tar member is written as a placeholder and
 * filled in at the end; so is the certificate (an RSA signature has a
 * fixed width).  The archive is built under a temporary name and renamed
 * when complete.
 *
 * Tar headers: GNU format.  Members under 8 GiB have ordinary ustar-sized
 * fields; larger ones carry a base-256 size, which GNU tar, bsdtar,
 * Python, VirtualBox and vSphere read.  We avoid pax extended headers
 * because vSphere rejects them (VMware's own ova-compose writes GNU for
 * that reason); chunking (ova pack --chunk-size) is there for readers that
 * take neither.
 */
#include <archive.h>
#include <archive_entry.h>
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
#include <time.h>
#include <unistd.h>

#include "ovf/pkg.h"
#include "util/io.h"
#include "util/tmpfile.h"

struct planned {
    char *name;
    uint64_t size;
    char hex[129];
};

struct ovfk_ova_writer {
    bool dir;
    char *out;
    char tmp[PATH_MAX];
    struct ovfk_ova_pack_opts o;
    struct planned *files;
    size_t n, next;             /* next: files started so far */
    uint64_t written;           /* bytes of the current file */
    char *desc_name;
    char desc_hex[129];
    char *mf_name, *cert_name;
    /* tar */
    int fd;
    uint64_t off;
    uint64_t kicked;        /* write-back started up to here (the tar,
                               or the current file of a directory) */
    struct archive *a;
    uint64_t mf_off, mf_len, cert_off, cert_len;
    bool failed_io;
    /* directory */
    ovfk_io *cur;
    pkg_hash h;
    uint64_t total, done;
    bool started;
    ovfk_err err;
};

static la_ssize_t tar_write_cb(struct archive *a, void *opaque,
                               const void *buf, size_t len)
{
    ovfk_ova_writer *w = opaque;
    int r;

    (void)a;
    /* Zeros (unallocated disk blocks, the unwritten parts of allocated
     * ones, a fixed VHD's empty space, tar padding) are left as holes, in
     * 64 KiB pieces: the file is new, holes read as zeros, and
     * ovfk_ova_writer_finish sets the final length. */
    r = ovfk_fault_check("write");
    if (r == 0) {
        r = ovfk_pwrite_sparse(w->fd, buf, len, w->off);
    }
    if (r < 0) {
        errno = -r;
        w->failed_io = true;
        return -1;
    }
    w->off += len;
    /* the digest thread is the longer leg: let the disk write meanwhile,
     * not all at the final fsync */
    ovfk_writeback(w->fd, &w->kicked, w->off);
    return (la_ssize_t)len;
}

static int ar_error(ovfk_ova_writer *w, const char *what)
{
    int e = w->failed_io && errno ? -errno : -EIO;

    return ovfk_err_set(&w->err, e, "cannot write %s to '%s': %s", what,
                        w->out, w->failed_io ? ovfk_errtext(e)
                                             : archive_error_string(w->a));
}

const char *ovfk_ova_writer_error(const ovfk_ova_writer *w)
{
    return w->err.msg;
}

int ovfk_ova_writer_new(const char *out, bool dir,
                        const struct ovfk_ova_pack_opts *o,
                        ovfk_ova_writer **wp)
{
    ovfk_ova_writer *w = calloc(1, sizeof(*w));
    int r;

    *wp = NULL;
    if (!w || !(w->out = strdup(out))) {
        free(w);
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    w->o = *o;
    if (!w->o.digest) {
        w->o.digest = OVFK_OVA_DIGEST_SHA256;
    }
    w->dir = dir;
    w->fd = -1;
    if (access(out, F_OK) == 0) {
        free(w->out);
        free(w);
        return ovfk_err_last(-EEXIST, "'%s' already exists", out);
    }
    r = ovfk_tmp_name(out, w->tmp, sizeof(w->tmp));
    if (r == 0 && dir && mkdir(w->tmp, 0755) < 0) {
        r = -errno;
    }
    if (r == 0 && !dir) {
        w->fd = open(w->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (w->fd < 0) {
            r = -errno;
        }
    }
    if (r < 0) {
        r = ovfk_err_last(r, "cannot create '%s': %s", w->tmp,
                          ovfk_errtext(r));
        free(w->out);
        free(w);
        return r;
    }
    if (!dir) {
        w->a = archive_write_new();
        if (!w->a || archive_write_set_format_gnutar(w->a) != ARCHIVE_OK ||
            archive_write_set_bytes_per_block(w->a, 0) != ARCHIVE_OK ||
            archive_write_open(w->a, w, NULL, tar_write_cb, NULL) !=
                ARCHIVE_OK) {
            ovfk_ova_writer_free(w);
            return ovfk_err_last(-ENOMEM, "cannot start a tar archive");
        }
    }
    *wp = w;
    return 0;
}

int ovfk_ova_writer_plan(ovfk_ova_writer *w, const char *name, uint64_t size)
{
    struct planned *p;
    char norm[512];

    if (w->started) {
        return ovfk_err_set(&w->err, -EINVAL, "files must be planned before "
                            "the descriptor is written");
    }
    if (tar_name_problem(name, norm, sizeof(norm)) || strcmp(norm, name)) {
        return ovfk_err_set(&w->err, -EINVAL, "'%s' cannot be a package "
                            "file name", name);
    }
    p = realloc(w->files, (w->n + 1) * sizeof(*p));
    if (!p) {
        return ovfk_err_set(&w->err, -ENOMEM, "out of memory");
    }
    w->files = p;
    memset(&p[w->n], 0, sizeof(p[w->n]));
    if (!(p[w->n].name = strdup(name))) {
        return ovfk_err_set(&w->err, -ENOMEM, "out of memory");
    }
    p[w->n].size = size;
    w->n++;
    w->total += size;
    return 0;
}

static size_t hexlen(enum ovfk_ova_digest d)
{
    return d == OVFK_OVA_DIGEST_SHA1     ? 40
           : d == OVFK_OVA_DIGEST_SHA512 ? 128
                                         : 64;
}

/* Exact length of the manifest: one line per file, hex of known width. */
static uint64_t manifest_len(ovfk_ova_writer *w)
{
    char hex[129];
    char line[1024];
    uint64_t len;

    memset(hex, '0', hexlen(w->o.digest));
    hex[hexlen(w->o.digest)] = '\0';
    len = pkg_manifest_line(w->o.digest, w->desc_name, hex, line,
                            sizeof(line));
    for (size_t i = 0; i < w->n; i++) {
        len += pkg_manifest_line(w->o.digest, w->files[i].name, hex, line,
                                 sizeof(line));
    }
    return len;
}

static int tar_header(ovfk_ova_writer *w, const char *name, uint64_t size)
{
    struct archive_entry *e = archive_entry_new();
    int r;

    if (!e) {
        return ovfk_err_set(&w->err, -ENOMEM, "out of memory");
    }
    archive_entry_set_pathname(e, name);
    archive_entry_set_size(e, (la_int64_t)size);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, time(NULL), 0);
    archive_entry_set_uname(e, "ovfkit");
    archive_entry_set_gname(e, "ovfkit");
    r = archive_write_header(w->a, e);
    archive_entry_free(e);
    return r == ARCHIVE_OK ? 0 : ar_error(w, name);
}

static int tar_data(ovfk_ova_writer *w, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        la_ssize_t n = archive_write_data(w->a, p, len);
        if (n <= 0) {
            return ar_error(w, "data");
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reserve a member of len bytes; returns where its data starts. */
static int tar_placeholder(ovfk_ova_writer *w, const char *name, uint64_t len,
                           uint64_t *at)
{
    char *blank = malloc(len ? len : 1);
    int r;

    if (!blank) {
        return ovfk_err_set(&w->err, -ENOMEM, "out of memory");
    }
    memset(blank, ' ', len);
    r = tar_header(w, name, len);
    *at = w->off;
    if (r == 0) {
        r = tar_data(w, blank, len);
    }
    free(blank);
    return r;
}

static int dir_write_file(ovfk_ova_writer *w, const char *name, const void *buf,
                          size_t len)
{
    char path[PATH_MAX];
    ovfk_io *io;
    int r;

    snprintf(path, sizeof(path), "%s/%s", w->tmp, name);
    r = ovfk_io_open_file(path, OVFK_IO_RDWR | OVFK_IO_CREATE, &io);
    if (r == 0) {
        r = ovfk_io_pwrite(io, buf, len, 0);
        if (r == 0) {
            r = ovfk_io_sync(io);
        }
        ovfk_io_close(io);
    }
    if (r < 0) {
        return ovfk_err_set(&w->err, r, "cannot write '%s': %s", path,
                            ovfk_errtext(r));
    }
    return 0;
}

static char *with_ext(const char *desc, const char *ext)
{
    size_t n = strlen(desc);
    char *s;

    if (n > 4 && strcasecmp(desc + n - 4, ".ovf") == 0) {
        n -= 4;
    }
    s = malloc(n + strlen(ext) + 1);
    if (s) {
        memcpy(s, desc, n);
        memcpy(s + n, ext, strlen(ext) + 1);
    }
    return s;
}

int ovfk_ova_writer_descriptor(ovfk_ova_writer *w, const char *name,
                               const char *buf, size_t len)
{
    pkg_hash h;
    int r;

    if (w->started) {
        return ovfk_err_set(&w->err, -EINVAL, "descriptor given twice");
    }
    w->started = true;
    w->desc_name = strdup(name);
    w->mf_name = with_ext(name, ".mf");
    w->cert_name = with_ext(name, ".cert");
    if (!w->desc_name || !w->mf_name || !w->cert_name) {
        return ovfk_err_set(&w->err, -ENOMEM, "out of memory");
    }
    r = pkg_hash_init(&h, w->o.digest);
    if (r == 0) {
        r = pkg_hash_update(&h, buf, len);
    }
    if (r == 0) {
        r = pkg_hash_final(&h, w->desc_hex);
    }
    pkg_hash_free(&h);
    if (r < 0) {
        return ovfk_err_set(&w->err, r, "cannot hash the descriptor");
    }
    if (w->dir) {
        return dir_write_file(w, name, buf, len);
    }
    r = tar_header(w, name, len);
    if (r == 0) {
        r = tar_data(w, buf, len);
    }
    if (r == 0) {
        w->mf_len = manifest_len(w);
        r = tar_placeholder(w, w->mf_name, w->mf_len, &w->mf_off);
    }
    if (r == 0 && w->o.key) {
        size_t cl;
        r = pkg_cert_size(w->mf_name, w->o.digest, w->o.key, w->o.cert, &cl,
                          &w->err);
        w->cert_len = cl;
        if (r == 0) {
            r = tar_placeholder(w, w->cert_name, w->cert_len, &w->cert_off);
        }
    }
    return r;
}

/* Close the file being written: check its size, keep its digest. */
static int end_current(ovfk_ova_writer *w)
{
    struct planned *p;
    int r;

    if (w->next == 0) {
        return 0;
    }
    p = &w->files[w->next - 1];
    if (p->hex[0]) {
        return 0;
    }
    if (w->written != p->size) {
        return ovfk_err_set(&w->err, -EIO, "file '%s' has %llu bytes, not "
                            "the %llu planned", p->name,
                            (unsigned long long)w->written,
                            (unsigned long long)p->size);
    }
    r = pkg_hash_final(&w->h, p->hex);
    pkg_hash_free(&w->h);
    if (r == 0 && w->cur) {
        /* zeros at the end were not written: give the file its length */
        r = ovfk_io_truncate(w->cur, p->size);
    }
    if (r == 0 && w->cur) {
        r = ovfk_io_sync(w->cur);
        ovfk_io_close(w->cur);
        w->cur = NULL;
    }
    return r < 0 ? ovfk_err_set(&w->err, r, "cannot finish '%s': %s",
                                p->name, ovfk_errtext(r)) : 0;
}

static int sink_write(void *opaque, const void *buf, size_t len)
{
    ovfk_ova_writer *w = opaque;
    struct planned *p = &w->files[w->next - 1];
    int r;

    if (len > p->size - w->written) {
        return ovfk_err_set(&w->err, -EIO, "file '%s' is longer than the "
                            "%llu bytes planned", p->name,
                            (unsigned long long)p->size);
    }
    r = pkg_hash_update(&w->h, buf, len);
    if (r < 0) {
        return r;
    }
    if (w->dir) {
        /* zero pieces stay holes here too (end_current sets the length) */
        r = ovfk_io_pwrite_sparse(w->cur, buf, len, w->written);
        if (r < 0) {
            return ovfk_err_set(&w->err, r, "cannot write '%s': %s", p->name,
                                ovfk_errtext(r));
        }
        ovfk_writeback(ovfk_io_fd(w->cur), &w->kicked, w->written + len);
    } else {
        r = tar_data(w, buf, len);
        if (r < 0) {
            return r;
        }
    }
    w->written += len;
    w->done += len;
    if (w->o.progress && w->o.progress(w->o.opaque, w->done, w->total)) {
        return ovfk_err_set(&w->err, -ECANCELED, "canceled");
    }
    return 0;
}

int ovfk_ova_writer_next(ovfk_ova_writer *w, const char *name, ovfk_sink *sink)
{
    struct planned *p;
    char path[PATH_MAX];
    int r;

    if (!w->started) {
        return ovfk_err_set(&w->err, -EINVAL, "write the descriptor first");
    }
    r = end_current(w);
    if (r < 0) {
        return r;
    }
    if (w->next >= w->n || strcmp(w->files[w->next].name, name) != 0) {
        return ovfk_err_set(&w->err, -EINVAL, "'%s' is not the next planned "
                            "file", name);
    }
    p = &w->files[w->next++];
    w->written = 0;
    r = pkg_hash_init_bg(&w->h, w->o.digest);
    if (r < 0) {
        return ovfk_err_set(&w->err, r, "out of memory");
    }
    if (w->dir) {
        snprintf(path, sizeof(path), "%s/%s", w->tmp, name);
        w->kicked = 0;
        r = ovfk_io_open_file(path, OVFK_IO_RDWR | OVFK_IO_CREATE, &w->cur);
        if (r < 0) {
            return ovfk_err_set(&w->err, r, "%s", ovfk_last_error());
        }
    } else {
        r = tar_header(w, p->name, p->size);
        if (r < 0) {
            return r;
        }
    }
    sink->opaque = w;
    sink->write = sink_write;
    return 0;
}

static char *manifest_text(ovfk_ova_writer *w, size_t *len)
{
    size_t cap = (size_t)manifest_len(w) + 1, used = 0;
    char *buf = malloc(cap);

    if (!buf) {
        return NULL;
    }
    used += pkg_manifest_line(w->o.digest, w->desc_name, w->desc_hex,
                              buf + used, cap - used);
    for (size_t i = 0; i < w->n; i++) {
        used += pkg_manifest_line(w->o.digest, w->files[i].name,
                                  w->files[i].hex, buf + used, cap - used);
    }
    *len = used;
    return buf;
}

static int put_at(ovfk_ova_writer *w, uint64_t off, const char *buf, size_t len)
{
    int r = ovfk_pwrite_all(w->fd, buf, len, off);

    return r < 0 ? ovfk_err_set(&w->err, r, "cannot write '%s': %s", w->tmp,
                                ovfk_errtext(r)) : 0;
}

int ovfk_ova_writer_finish(ovfk_ova_writer *w)
{
    char *mf = NULL, *cert = NULL;
    size_t mf_len = 0, cert_len = 0;
    int r = end_current(w);

    if (r == 0 && (w->next != w->n || !w->started)) {
        r = ovfk_err_set(&w->err, -EINVAL, "%zu of %zu planned files were "
                         "written", w->next, w->n);
    }
    if (r == 0 && !(mf = manifest_text(w, &mf_len))) {
        r = ovfk_err_set(&w->err, -ENOMEM, "out of memory");
    }
    if (r == 0 && w->o.key) {
        r = pkg_cert_make(w->mf_name, mf, mf_len, w->o.digest, w->o.key,
                          w->o.cert, &cert, &cert_len, &w->err);
    }
    if (r == 0 && w->dir) {
        r = dir_write_file(w, w->mf_name, mf, mf_len);
        if (r == 0 && cert) {
            r = dir_write_file(w, w->cert_name, cert, cert_len);
        }
    } else if (r == 0) {
        if (archive_write_close(w->a) != ARCHIVE_OK) {
            r = ar_error(w, "the end of the archive");
        } else if (ftruncate(w->fd, (off_t)w->off) < 0) {
            r = ovfk_err_set(&w->err, -errno, "cannot write '%s': %s",
                             w->tmp, ovfk_errtext(-errno));
        } else if (mf_len != w->mf_len ||
                   (cert && cert_len != w->cert_len)) {
            r = ovfk_err_set(&w->err, -EIO, "manifest or certificate length "
                             "differs from the space reserved");
        } else {
            r = put_at(w, w->mf_off, mf, mf_len);
            if (r == 0 && cert) {
                r = put_at(w, w->cert_off, cert, cert_len);
            }
        }
        if (r == 0 && fsync(w->fd) < 0) {
            r = ovfk_err_set(&w->err, -errno, "cannot sync '%s'", w->tmp);
        }
    }
    if (r == 0) {
        r = ovfk_tmp_commit(w->tmp, w->out, 0);
        if (r < 0) {
            ovfk_err_set(&w->err, r, "cannot rename to '%s': %s", w->out,
                         ovfk_errtext(r));
        } else {
            w->tmp[0] = '\0';   /* nothing left to clean up */
        }
    }
    free(mf);
    free(cert);
    return r;
}

static int rm_tree(const char *dir)
{
    char cmd[PATH_MAX];
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d) {
        return -errno;
    }
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(cmd, sizeof(cmd), "%s/%s", dir, e->d_name);
            unlink(cmd);
        }
    }
    closedir(d);
    return rmdir(dir) < 0 ? -errno : 0;
}

void ovfk_ova_writer_free(ovfk_ova_writer *w)
{
    if (!w) {
        return;
    }
    if (w->a) {
        archive_write_free(w->a);
    }
    if (w->fd >= 0) {
        close(w->fd);
    }
    ovfk_io_close(w->cur);
    pkg_hash_free(&w->h);
    if (w->tmp[0]) {
        if (w->dir) {
            rm_tree(w->tmp);
        } else {
            unlink(w->tmp);
        }
    }
    for (size_t i = 0; i < w->n; i++) {
        free(w->files[i].name);
    }
    free(w->files);
    free(w->desc_name);
    free(w->mf_name);
    free(w->cert_name);
    free(w->out);
    free(w);
}

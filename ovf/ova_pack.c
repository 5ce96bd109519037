/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/ovfk_ova_pack.c - `ova pack` (a descriptor and its files into an OVA,
 * optionally gzip-compressed or chunked) and `ova sign`.
 *
 * The descriptor is edited in place with libxml2 (File ovf:size,
 * ovf:compression, ovf:chunkSize) so everything else in it is kept byte
 * for byte.  Chunks are members named href.000000000, href.000000001, ...
 * each chunkSize bytes but the last (DSP0243 5.4).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ovf/internal.h"
#include "ovf/pkg.h"
#include "util/io.h"
#include "util/tmpfile.h"

#define CHUNK (1u << 20)

struct pfile {
    char *href;
    char *src;          /* local file whose bytes go in */
    bool src_is_tmp;
    uint64_t size;
};

struct pack {
    struct pfile *files;
    size_t n;
    ovfk_err err;
};

static void pack_free(struct pack *p)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->files[i].src_is_tmp) {
            unlink(p->files[i].src);
        }
        free(p->files[i].href);
        free(p->files[i].src);
    }
    free(p->files);
}

struct fdsink {
    ovfk_io *io;
    uint64_t off;
};

static int fd_write(void *opaque, const void *buf, size_t len)
{
    struct fdsink *s = opaque;
    int r = ovfk_io_pwrite(s->io, buf, len, s->off);

    s->off += len;
    return r;
}

/* Copy [off, off + len) of path into sink. */
static int copy_range(const char *path, uint64_t off, uint64_t len,
                      const ovfk_sink *sink, ovfk_err *err)
{
    char *buf = malloc(CHUNK);
    ovfk_io *io = NULL;
    int r;

    if (!buf) {
        return ovfk_err_set(err, -ENOMEM, "out of memory");
    }
    r = ovfk_io_open_file(path, OVFK_IO_RDONLY, &io);
    if (r < 0) {
        free(buf);
        return ovfk_err_set(err, r, "%s", ovfk_last_error());
    }
    while (r == 0 && len > 0) {
        size_t n = len < CHUNK ? (size_t)len : CHUNK;
        r = ovfk_io_pread(io, buf, n, off);
        if (r < 0) {
            ovfk_err_set(err, r, "cannot read '%s': %s", path,
                         ovfk_errtext(r));
            break;
        }
        r = sink->write(sink->opaque, buf, n);
        off += n;
        len -= n;
    }
    ovfk_io_close(io);
    free(buf);
    return r;
}

/* gzip path into a temporary file beside out; returns its name. */
static int compress_to_tmp(const char *path, const char *out, char **tmp_out,
                           uint64_t *size, ovfk_err *err)
{
    char tmp[PATH_MAX];
    struct fdsink fs = { 0 };
    ovfk_sink down = { &fs, fd_write }, up;
    gz_out *gz = NULL;
    uint64_t len;
    ovfk_io *in;
    int r;

    r = ovfk_tmp_name(out, tmp, sizeof(tmp));
    if (r == 0) {
        r = ovfk_io_open_file(tmp, OVFK_IO_RDWR | OVFK_IO_CREATE, &fs.io);
    }
    if (r < 0) {
        return ovfk_err_set(err, r, "cannot create a temporary file beside "
                            "'%s'", out);
    }
    r = ovfk_io_open_file(path, OVFK_IO_RDONLY, &in);
    if (r == 0) {
        r = ovfk_io_size(in, &len);
        ovfk_io_close(in);
    }
    if (r == 0) {
        r = gz_out_new(&down, &gz);
    }
    if (r == 0) {
        gz_out_sink(gz, &up);
        r = copy_range(path, 0, len, &up, err);
    }
    if (r == 0) {
        r = gz_out_finish(gz);
    }
    gz_out_free(gz);
    *size = fs.off;
    ovfk_io_close(fs.io);
    if (r < 0) {
        unlink(tmp);
        if (!err->code) {
            ovfk_err_set(err, r, "cannot compress '%s': %s", path,
                         ovfk_errtext(r));
        }
        return r;
    }
    *tmp_out = strdup(tmp);
    return *tmp_out ? 0 : -ENOMEM;
}

/* Set ovf:name on a File element in the OVF namespace (with a prefix). */
static void set_ovf_attr(xmlNodePtr n, const char *name, const char *value)
{
    xmlNsPtr ns = NULL;
    const xmlChar *href = n->ns ? n->ns->href : BAD_CAST NS_OVF1;

    xmlNsPtr *list = xmlGetNsList(n->doc, n);

    for (size_t i = 0; list && list[i]; i++) {
        if (xmlStrEqual(list[i]->href, href) && list[i]->prefix) {
            ns = list[i];
        }
    }
    xmlFree(list);
    if (!ns) {
        ns = xmlNewNs(xmlDocGetRootElement(n->doc), href, BAD_CAST "ovf");
    }
    xmlSetNsProp(n, ns, BAD_CAST name, BAD_CAST value);
}

static char *get_attr(xmlNodePtr n, const char *name)
{
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        if (!strcmp((const char *)a->name, name)) {
            xmlChar *v = xmlNodeGetContent((xmlNodePtr)a);
            char *r = strdup(v ? (const char *)v : "");
            xmlFree(v);
            return r;
        }
    }
    return NULL;
}

static int add_pfile(struct pack *p, const char *href, const char *src,
                     bool tmp, uint64_t size)
{
    struct pfile *f = realloc(p->files, (p->n + 1) * sizeof(*f));

    if (!f) {
        return -ENOMEM;
    }
    p->files = f;
    f[p->n].href = strdup(href);
    f[p->n].src = strdup(src);
    f[p->n].src_is_tmp = tmp;
    f[p->n].size = size;
    p->n++;
    return f[p->n - 1].href && f[p->n - 1].src ? 0 : -ENOMEM;
}

/* Walk References/File: resolve, compress, decide sizes, edit the DOM. */
static int prepare_files(xmlDocPtr doc, const char *dir, const char *out,
                         const struct ovfk_ova_pack_opts *o, struct pack *p)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    char norm[512], path[PATH_MAX], num[32];
    int r;

    for (xmlNodePtr refs = root ? root->children : NULL; refs;
         refs = refs->next) {
        if (refs->type != XML_ELEMENT_NODE ||
            strcmp((const char *)refs->name, "References")) {
            continue;
        }
        for (xmlNodePtr f = refs->children; f; f = f->next) {
            char *href, *tmp = NULL;
            struct stat st;
            uint64_t size;
            if (f->type != XML_ELEMENT_NODE ||
                strcmp((const char *)f->name, "File")) {
                continue;
            }
            href = get_attr(f, "href");
            if (!href || strstr(href, "://") ||
                tar_name_problem(href, norm, sizeof(norm))) {
                r = ovfk_err_set(&p->err, -EINVAL, "file reference '%s' is "
                                 "not a plain file name beside the "
                                 "descriptor; cannot pack it",
                                 href ? href : "(none)");
                free(href);
                return r;
            }
            snprintf(path, sizeof(path), "%s/%s", dir, norm);
            if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
                r = ovfk_err_set(&p->err, -ENOENT, "'%s', referenced by the "
                                 "descriptor, is missing", path);
                free(href);
                return r;
            }
            size = (uint64_t)st.st_size;
            if (o->compress) {
                r = compress_to_tmp(path, out, &tmp, &size, &p->err);
                if (r < 0) {
                    free(href);
                    return r;
                }
                set_ovf_attr(f, "compression", "gzip");
            }
            snprintf(num, sizeof(num), "%llu", (unsigned long long)size);
            set_ovf_attr(f, "size", num);
            if (o->chunk_size && size > o->chunk_size) {
                snprintf(num, sizeof(num), "%llu",
                         (unsigned long long)o->chunk_size);
                set_ovf_attr(f, "chunkSize", num);
            }
            r = add_pfile(p, norm, tmp ? tmp : path, tmp != NULL, size);
            free(tmp);
            free(href);
            if (r < 0) {
                return ovfk_err_set(&p->err, r, "out of memory");
            }
        }
    }
    return 0;
}

static int plan_and_write(ovfk_ova_writer *w, struct pack *p,
                          const struct ovfk_ova_pack_opts *o,
                          const char *desc_name, const char *xml,
                          size_t xml_len)
{
    char name[600];
    ovfk_sink sink;
    int r = 0;

    for (int pass = 0; pass < 2 && r == 0; pass++) {
        if (pass == 1) {
            r = ovfk_ova_writer_descriptor(w, desc_name, xml, xml_len);
        }
        for (size_t i = 0; r == 0 && i < p->n; i++) {
            struct pfile *f = &p->files[i];
            bool chunked = o->chunk_size && f->size > o->chunk_size;
            uint64_t nchunks = chunked ? (f->size + o->chunk_size - 1) /
                                         o->chunk_size : 1;
            for (uint64_t k = 0; r == 0 && k < nchunks; k++) {
                uint64_t off = chunked ? k * o->chunk_size : 0;
                uint64_t len = chunked ? (f->size - off < o->chunk_size ?
                                          f->size - off : o->chunk_size)
                                       : f->size;
                if (chunked) {
                    snprintf(name, sizeof(name), "%s.%09llu", f->href,
                             (unsigned long long)k);
                } else {
                    snprintf(name, sizeof(name), "%s", f->href);
                }
                if (pass == 0) {
                    r = ovfk_ova_writer_plan(w, name, len);
                } else {
                    r = ovfk_ova_writer_next(w, name, &sink);
                    if (r == 0) {
                        r = copy_range(f->src, off, len, &sink, &p->err);
                    }
                }
            }
        }
    }
    if (r == 0) {
        r = ovfk_ova_writer_finish(w);
    }
    if (r < 0 && !p->err.code) {
        ovfk_err_set(&p->err, r, "%s", ovfk_ova_writer_error(w));
    } else if (r < 0 && ovfk_ova_writer_error(w)[0]) {
        ovfk_err_set(&p->err, r, "%s", ovfk_ova_writer_error(w));
    }
    return r;
}

int ovfk_ova_pack(const char *ovf, const char *out,
                  const struct ovfk_ova_pack_opts *o)
{
    struct pack p = { 0 };
    char dir[PATH_MAX], tmp[PATH_MAX];
    char *buf = NULL, *name = NULL;
    xmlChar *xml = NULL;
    xmlDocPtr doc = NULL;
    ovfk_ova_writer *w = NULL;
    size_t len;
    int xml_len = 0, r;

    if (ovfk_ova_is_archive(ovf)) {
        return ovfk_err_last(-EINVAL, "'%s' is already an archive; pack "
                             "takes a descriptor (.ovf)", ovf);
    }
    r = ovfk_ova_load_descriptor(ovf, &buf, &len, &name);
    if (r < 0) {
        return r;
    }
    doc = xmlReadMemory(buf, (int)len, ovf, NULL, XML_PARSE_NONET |
                        XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc || doc->intSubset) {
        r = ovfk_err_set(&p.err, OVFK_ECORRUPT, "'%s' is not a usable OVF "
                         "descriptor", ovf);
        goto out;
    }
    snprintf(tmp, sizeof(tmp), "%s", ovf);
    snprintf(dir, sizeof(dir), "%s", dirname(tmp));
    r = ovfk_ova_writer_new(out, false, o, &w);
    if (r < 0) {
        ovfk_err_set(&p.err, r, "%s", ovfk_last_error());
        goto out;
    }
    r = prepare_files(doc, dir, out, o, &p);
    if (r < 0) {
        goto out;
    }
    xmlDocDumpMemoryEnc(doc, &xml, &xml_len, "UTF-8");
    if (!xml) {
        r = ovfk_err_set(&p.err, -ENOMEM, "out of memory");
        goto out;
    }
    snprintf(tmp, sizeof(tmp), "%s", ovf);
    r = plan_and_write(w, &p, o, basename(tmp), (const char *)xml,
                       (size_t)xml_len);
out:
    ovfk_ova_writer_free(w);
    pack_free(&p);
    xmlFree(xml);
    xmlFreeDoc(doc);
    free(buf);
    free(name);
    return r < 0 ? ovfk_err_publish(&p.err) : 0;
}

/* --- signing --- */

static int sign_dir(const char *ovf, const char *key, const char *cert)
{
    char dir[PATH_MAX], tmp[PATH_MAX], mf[PATH_MAX], certp[PATH_MAX];
    char mfname[PATH_MAX];
    ovfk_err err = { 0 };
    char *text = NULL, *buf = NULL;
    size_t text_len, n;
    ovfk_io *io;
    uint64_t size;
    char *base;
    int r;

    snprintf(tmp, sizeof(tmp), "%s", ovf);
    snprintf(dir, sizeof(dir), "%s", dirname(tmp));
    snprintf(tmp, sizeof(tmp), "%s", ovf);
    base = basename(tmp);
    n = strlen(base);
    if (n > 4 && strcasecmp(base + n - 4, ".ovf") == 0) {
        n -= 4;
    }
    snprintf(mfname, sizeof(mfname), "%.*s.mf", (int)n, base);
    snprintf(mf, sizeof(mf), "%s/%s", dir, mfname);
    snprintf(certp, sizeof(certp), "%s/%.*s.cert", dir, (int)n, base);
    r = ovfk_io_open_file(mf, OVFK_IO_RDONLY, &io);
    if (r < 0) {
        return ovfk_err_last(r, "'%s' has no manifest '%s' to sign", ovf, mf);
    }
    r = ovfk_io_size(io, &size);
    if (r == 0 && size > OVFK_OVA_MAX_MANIFEST) {
        r = -EFBIG;
    }
    if (r == 0 && !(buf = malloc(size + 1))) {
        r = -ENOMEM;
    }
    if (r == 0) {
        r = ovfk_io_pread(io, buf, size, 0);
    }
    ovfk_io_close(io);
    if (r == 0) {
        r = pkg_cert_make(mfname, buf, size, OVFK_OVA_DIGEST_SHA256, key, cert,
                          &text, &text_len, &err);
        if (r < 0) {
            free(buf);
            return ovfk_err_publish(&err);
        }
        r = ovfk_write_file_atomic(certp, text, text_len);
    }
    free(buf);
    free(text);
    return r < 0 ? ovfk_err_last(r, "cannot sign '%s': %s", ovf,
                                 ovfk_errtext(r)) : 0;
}

static la_ssize_t fd_cb(struct archive *a, void *opaque, const void *buf,
                        size_t len)
{
    int fd = *(int *)opaque;
    const char *p = buf;
    size_t left = len;

    (void)a;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += n;
        left -= (size_t)n;
    }
    return (la_ssize_t)len;
}

static int put_member(struct archive *a, const char *name, uint64_t size)
{
    struct archive_entry *e = archive_entry_new();
    int r;

    if (!e) {
        return -ENOMEM;
    }
    archive_entry_set_pathname(e, name);
    archive_entry_set_size(e, (la_int64_t)size);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, time(NULL), 0);
    r = archive_write_header(a, e);
    archive_entry_free(e);
    return r == ARCHIVE_OK ? 0 : -EIO;
}

static int put_data(struct archive *a, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        la_ssize_t n = archive_write_data(a, p, len);
        if (n <= 0) {
            return -EIO;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Rewrite an OVA with a (new) certificate right after its manifest. */
static int sign_ova(const char *path, const char *key, const char *cert)
{
    char tmp[PATH_MAX], *buf = malloc(CHUNK), *mf = NULL, *text = NULL;
    struct archive *a = archive_write_new();
    ovfk_err err = { 0 };
    struct tar_member m;
    size_t mf_len = 0, text_len = 0;
    bool signed_it = false;
    tar_in *t = NULL;
    int fd = -1, r;

    r = ovfk_tmp_name(path, tmp, sizeof(tmp));
    if (r == 0 && (!buf || !a)) {
        r = -ENOMEM;
    }
    if (r == 0 && (fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                             0644)) < 0) {
        r = -errno;
    }
    if (r == 0 && (archive_write_set_format_gnutar(a) != ARCHIVE_OK ||
                   archive_write_open(a, &fd, NULL, fd_cb, NULL) !=
                       ARCHIVE_OK)) {
        r = -EIO;
    }
    if (r < 0) {
        ovfk_err_set(&err, r, "cannot create '%s': %s", tmp, ovfk_errtext(r));
        goto out;
    }
    r = tar_open(path, &t, &err);
    while (r == 0 && (r = tar_next(t, &m)) > 0) {
        bool is_mf = !signed_it && strlen(m.name) > 3 &&
                     !strcasecmp(m.name + strlen(m.name) - 3, ".mf");
        uint64_t left = m.size;
        r = 0;
        if (m.problem) {
            r = ovfk_err_set(&err, OVFK_ECORRUPT, "member '%s' %s", m.name,
                             m.problem);
            break;
        }
        if (strlen(m.name) > 5 &&
            !strcasecmp(m.name + strlen(m.name) - 5, ".cert")) {
            continue;   /* replaced by the new certificate */
        }
        if (is_mf && m.size > OVFK_OVA_MAX_MANIFEST) {
            r = ovfk_err_set(&err, OVFK_ECORRUPT, "manifest too large");
            break;
        }
        if (is_mf && !(mf = malloc(m.size + 1))) {
            r = ovfk_err_set(&err, -ENOMEM, "out of memory");
            break;
        }
        r = put_member(a, m.name, m.size);
        while (r == 0 && left > 0) {
            long n = tar_read(t, buf, CHUNK);
            if (n <= 0) {
                r = n < 0 ? (int)n : ovfk_err_set(&err, OVFK_ECORRUPT,
                                                  "'%s' is truncated", m.name);
                break;
            }
            if (is_mf) {
                memcpy(mf + mf_len, buf, (size_t)n);
                mf_len += (size_t)n;
            }
            r = put_data(a, buf, (size_t)n);
            left -= (uint64_t)n;
        }
        if (r == 0 && is_mf) {
            char cname[600];
            size_t l = strlen(m.name) - 3;
            snprintf(cname, sizeof(cname), "%.*s.cert", (int)l, m.name);
            r = pkg_cert_make(m.name, mf, mf_len, OVFK_OVA_DIGEST_SHA256, key,
                              cert, &text, &text_len, &err);
            if (r == 0) {
                r = put_member(a, cname, text_len);
            }
            if (r == 0) {
                r = put_data(a, text, text_len);
            }
            signed_it = true;
        }
        if (r < 0 && !err.code) {
            ovfk_err_set(&err, r, "cannot write '%s'", tmp);
        }
    }
    if (r == 0 && !signed_it) {
        r = ovfk_err_set(&err, -ENOENT, "'%s' has no manifest to sign", path);
    }
    if (r == 0 && archive_write_close(a) != ARCHIVE_OK) {
        r = ovfk_err_set(&err, -EIO, "cannot finish '%s'", tmp);
    }
    if (r == 0) {
        r = ovfk_tmp_commit(tmp, path, 1);
        if (r < 0) {
            ovfk_err_set(&err, r, "cannot replace '%s'", path);
        }
    }
out:
    tar_close(t);
    archive_write_free(a);
    if (fd >= 0) {
        close(fd);
    }
    if (r < 0) {
        unlink(tmp);
    }
    free(buf);
    free(mf);
    free(text);
    return r < 0 ? ovfk_err_publish(&err) : 0;
}

int ovfk_ova_sign(const char *path, const char *key_pem, const char *cert_pem)
{
    return ovfk_ova_is_archive(path) ? sign_ova(path, key_pem, cert_pem)
                                : sign_dir(path, key_pem, cert_pem);
}

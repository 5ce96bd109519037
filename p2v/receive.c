/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * p2v/receive.c - the conversion host's end of a capture stream
 * (ovfk_p2v_receive; format in p2v/internal.h).  Each disk becomes a
 * dynamic VHD written as its chunks arrive (a later pass rewrites a chunk
 * in place), every chunk checked against the SHA-256 the sender computed
 * and each disk against the sender's digest over all its chunks.  At the
 * end the OVF (hv's VM model mapping), the manifest and the sender's report
 * are written, and `convert --p2v` runs unless told not to.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "hv/internal.h"
#include "ovfkit/convert.h"
#include "ovfkit/vhd.h"
#include "p2v/internal.h"
#include "util/bytes.h"
#include "util/tmpfile.h"

struct rdisk {
    uint64_t size;
    uint32_t nchunks;
    char path[PATH_MAX];
    char href[300];
    ovfk_vhd *vhd;
    uint8_t *have;              /* chunk written (holds data or zeros) */
    uint8_t (*dig)[P2V_DIGLEN];
    bool digested;
};

struct recv {
    const struct ovfk_p2v_receive_opts *o;
    char name[OVFK_HV_NAME_MAX + 1];
    struct ovfk_hv_vm *vm;
    struct rdisk *disks;
    size_t n_disks;
    uint8_t *payload, *plain;
    char *report;
    bool dir_made;
    char **files;               /* written, removed on failure */
    size_t n_files;
    ovfk_err err;
};

static int read_full(struct recv *rv, void *buf, size_t len, bool *eof)
{
    uint8_t *p = buf;
    size_t got = 0;

    while (got < len) {
        ssize_t n = read(rv->o->fd, p + got, len - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return ovfk_err_set(&rv->err, -errno, "cannot read the capture "
                                "stream: %s", strerror(errno));
        }
        if (n == 0) {
            if (eof && got == 0) {
                *eof = true;
                return 0;
            }
            return ovfk_err_set(&rv->err, OVFK_ECORRUPT, "the capture stream "
                                "ended early (the sender is gone)");
        }
        got += (size_t)n;
    }
    return 0;
}

static int add_file(struct recv *rv, const char *path)
{
    char **v = realloc(rv->files, (rv->n_files + 1) * sizeof(*v));

    if (!v || !(v[rv->n_files] = strdup(path))) {
        if (v) {
            rv->files = v;
        }
        return ovfk_err_set(&rv->err, -ENOMEM, "out of memory");
    }
    rv->files = v;
    rv->n_files++;
    return 0;
}

static int make_dir(struct recv *rv)
{
    const char *dir = rv->o->dir;
    DIR *dh;
    struct dirent *e;

    if (mkdir(dir, 0755) == 0) {
        rv->dir_made = true;
        return 0;
    }
    if (errno != EEXIST || !(dh = opendir(dir))) {
        return ovfk_err_set(&rv->err, -errno, "cannot create '%s': %s", dir,
                            strerror(errno));
    }
    while ((e = readdir(dh))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            closedir(dh);
            return ovfk_err_set(&rv->err, -EEXIST, "cannot receive into "
                                "'%s': not empty", dir);
        }
    }
    closedir(dh);
    return 0;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= OVFK_HV_NAME_MAX && s[0] != '.' &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789_-.") == n;
}

static int on_hello(struct recv *rv, const char *text)
{
    json_object *o = json_tokener_parse(text), *v, *disks;
    const char *name;
    int r = 0;

    if (!o || !json_object_object_get_ex(o, "name", &v) ||
        !(name = json_object_get_string(v)) ||
        !json_object_object_get_ex(o, "disks", &disks) ||
        !json_object_is_type(disks, json_type_array) ||
        !json_object_object_get_ex(o, "machine", &v)) {
        json_object_put(o);
        return ovfk_err_set(&rv->err, OVFK_ECORRUPT, "bad HELLO record in "
                            "the capture stream");
    }
    if (!name_ok(name)) {
        json_object_put(o);
        return ovfk_err_set(&rv->err, OVFK_ECORRUPT, "bad machine name '%s' "
                            "in the capture stream", name);
    }
    snprintf(rv->name, sizeof(rv->name), "%s", name);
    r = ovfk_hv_vm_from_json(json_object_to_json_string(v), &rv->vm);
    if (r < 0) {
        r = ovfk_err_set(&rv->err, OVFK_ECORRUPT, "bad machine in the "
                         "capture stream: %s", ovfk_last_error());
    }
    rv->n_disks = r == 0 ? json_object_array_length(disks) : 0;
    if (r == 0 && (rv->n_disks == 0 || rv->n_disks > 64)) {
        r = ovfk_err_set(&rv->err, OVFK_ECORRUPT, "%zu disks in the capture "
                         "stream", rv->n_disks);
    }
    if (r == 0 && !(rv->disks = calloc(rv->n_disks, sizeof(*rv->disks)))) {
        r = ovfk_err_set(&rv->err, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; r == 0 && i < rv->n_disks; i++) {
        struct rdisk *d = &rv->disks[i];
        struct ovfk_vhd_create_opts co = { .type = OVFK_VHD_TYPE_DYNAMIC };
        json_object *s;
        if (!json_object_object_get_ex(json_object_array_get_idx(disks, i),
                                       "size", &s) ||
            json_object_get_int64(s) <= 0) {
            r = ovfk_err_set(&rv->err, OVFK_ECORRUPT, "bad disk size in the "
                             "capture stream");
            break;
        }
        d->size = (uint64_t)json_object_get_int64(s);
        d->nchunks = (uint32_t)((d->size + P2V_CHUNK - 1) / P2V_CHUNK);
        snprintf(d->href, sizeof(d->href), "%s-disk%zu.vhd", rv->name, i + 1);
        snprintf(d->path, sizeof(d->path), "%s/%s", rv->o->dir, d->href);
        co.size = d->size;
        d->have = calloc(d->nchunks, 1);
        d->dig = calloc(d->nchunks, P2V_DIGLEN);
        if (!d->have || !d->dig) {
            r = ovfk_err_set(&rv->err, -ENOMEM, "out of memory");
            break;
        }
        r = ovfk_vhd_create(d->path, &co, &d->vhd);
        if (r < 0) {
            r = ovfk_err_set(&rv->err, r, "%s", ovfk_last_error());
            break;
        }
        r = add_file(rv, d->path);
    }
    json_object_put(o);
    return r;
}

static int on_data(struct recv *rv, int flags, const uint8_t *p, size_t len)
{
    uint32_t disk, clen;
    uint64_t off;
    uint8_t dig[P2V_DIGLEN];
    const uint8_t *data = rv->plain;
    struct rdisk *d;
    size_t n = len - P2V_DATA_HDR;
    int r;

    if (len < P2V_DATA_HDR || !rv->disks) {
        return ovfk_err_set(&rv->err, OVFK_ECORRUPT, "bad DATA record");
    }
    disk = get_be32(p);
    off = get_be64(p + 4);
    clen = get_be32(p + 12);
    if (disk >= rv->n_disks || off % P2V_CHUNK || clen == 0 ||
        clen > P2V_CHUNK || off >= rv->disks[disk].size ||
        clen > rv->disks[disk].size - off) {
        return ovfk_err_set(&rv->err, OVFK_ECORRUPT, "bad DATA record "
                            "(disk %u, offset %llu, %u bytes)", disk,
                            (unsigned long long)off, clen);
    }
    d = &rv->disks[disk];
    if (flags == P2V_ZERO) {
        memset(rv->plain, 0, clen);
    } else if (flags == P2V_PLAIN) {
        if (n != clen) {
            return ovfk_err_set(&rv->err, OVFK_ECORRUPT, "bad DATA length");
        }
        data = p + P2V_DATA_HDR;
    } else if (flags == P2V_ZLIB) {
        uLongf out = clen;
        if (uncompress(rv->plain, &out, p + P2V_DATA_HDR, n) != Z_OK ||
            out != clen) {
            return ovfk_err_set(&rv->err, OVFK_ECORRUPT, "bad zlib data at "
                                "offset %llu of disk %u",
                                (unsigned long long)off, disk + 1);
        }
    } else if (flags == P2V_ZSTD) {
        size_t out = ZSTD_decompress(rv->plain, clen, p + P2V_DATA_HDR, n);
        if (ZSTD_isError(out) || out != clen) {
            return ovfk_err_set(&rv->err, OVFK_ECORRUPT, "bad zstd data at "
                                "offset %llu of disk %u",
                                (unsigned long long)off, disk + 1);
        }
    } else {
        return ovfk_err_set(&rv->err, OVFK_EUNSUPPORTED, "unknown DATA "
                            "encoding %d", flags);
    }
    p2v_sha256(data, clen, dig);
    if (memcmp(dig, p + 16, P2V_DIGLEN)) {
        return ovfk_err_set(&rv->err, OVFK_EMISMATCH, "the data at offset "
                            "%llu of disk %u does not match the sender's "
                            "digest", (unsigned long long)off, disk + 1);
    }
    uint32_t ch = (uint32_t)(off / P2V_CHUNK);
    /* zeros need no write where nothing was written: a hole reads as
     * zeros */
    if (flags != P2V_ZERO || d->have[ch]) {
        r = ovfk_vhd_pwrite(d->vhd, data, clen, off);
        if (r < 0) {
            return ovfk_err_set(&rv->err, r, "cannot write '%s': %s", d->path,
                                ovfk_vhd_error(d->vhd));
        }
    }
    d->have[ch] = 1;
    memcpy(d->dig[ch], dig, P2V_DIGLEN);
    return 0;
}

static int on_digest(struct recv *rv, const uint8_t *p, size_t len)
{
    uint8_t mine[P2V_DIGLEN], idx[8];
    unsigned int n = P2V_DIGLEN;
    EVP_MD_CTX *ctx;
    struct rdisk *d;
    uint32_t disk;

    if (len != 4 + P2V_DIGLEN || !rv->disks ||
        (disk = get_be32(p)) >= rv->n_disks) {
        return ovfk_err_set(&rv->err, OVFK_ECORRUPT, "bad DIGEST record");
    }
    d = &rv->disks[disk];
    if (!(ctx = EVP_MD_CTX_new()) ||
        !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(ctx);
        return ovfk_err_set(&rv->err, -ENOMEM, "out of memory");
    }
    for (uint32_t ch = 0; ch < d->nchunks; ch++) {
        if (d->have[ch]) {
            put_be64(idx, ch);
            EVP_DigestUpdate(ctx, idx, sizeof(idx));
            EVP_DigestUpdate(ctx, d->dig[ch], P2V_DIGLEN);
        }
    }
    EVP_DigestFinal_ex(ctx, mine, &n);
    EVP_MD_CTX_free(ctx);
    if (memcmp(mine, p + 4, P2V_DIGLEN)) {
        return ovfk_err_set(&rv->err, OVFK_EMISMATCH, "disk %u does not "
                            "match the sender's digest", disk + 1);
    }
    d->digested = true;
    return 0;
}

static int write_text(struct recv *rv, const char *name, const char *text,
                      size_t len)
{
    char path[PATH_MAX + 300];
    int r;

    snprintf(path, sizeof(path), "%s/%s", rv->o->dir, name);
    r = add_file(rv, path);
    if (r == 0 && (r = ovfk_write_file_atomic(path, text, len)) < 0) {
        r = ovfk_err_set(&rv->err, r, "cannot write '%s': %s", path,
                         ovfk_strerror(r));
    }
    return r;
}

static int sha256_file(const char *path, char hex[65])
{
    uint8_t buf[1 << 16], md[P2V_DIGLEN];
    unsigned int n = P2V_DIGLEN;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
    ssize_t got;

    if (fd < 0 || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        r = fd < 0 ? -errno : -ENOMEM;
    }
    while (r == 0 && (got = read(fd, buf, sizeof(buf))) != 0) {
        if (got < 0) {
            r = errno == EINTR ? 0 : -errno;
            continue;
        }
        EVP_DigestUpdate(ctx, buf, (size_t)got);
    }
    if (r == 0) {
        EVP_DigestFinal_ex(ctx, md, &n);
        for (unsigned i = 0; i < n; i++) {
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        }
    }
    EVP_MD_CTX_free(ctx);
    if (fd >= 0) {
        close(fd);
    }
    return r;
}

/* The descriptor, the manifest (descriptor first, then the disks in
 * References order, as ova pack writes it) and the report. */
static int finish(struct recv *rv)
{
    const char **hrefs = calloc(rv->n_disks, sizeof(*hrefs));
    uint64_t *sizes = calloc(rv->n_disks, sizeof(*sizes));
    char name[300], mf[8192], hex[65], path[PATH_MAX + 300];
    char *xml = NULL;
    size_t xml_len = 0, mlen = 0;
    ovfk_ovf_doc *doc = NULL;
    int r = 0;

    if (!hrefs || !sizes) {
        r = ovfk_err_set(&rv->err, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; r == 0 && i < rv->n_disks; i++) {
        struct rdisk *d = &rv->disks[i];
        struct ovfk_hv_disk *hd = i < rv->vm->n_disks ? &rv->vm->disks[i]
                                                 : ovfk_hv_vm_add_disk(rv->vm);
        struct stat st;
        if (!d->digested) {
            r = ovfk_err_set(&rv->err, OVFK_ECORRUPT, "the capture stream "
                             "has no digest for disk %zu", i + 1);
            break;
        }
        r = ovfk_vhd_flush(d->vhd);
        if (r < 0 || (r = ovfk_vhd_close(d->vhd)) < 0) {
            d->vhd = NULL;
            r = ovfk_err_set(&rv->err, r, "cannot write '%s'", d->path);
            break;
        }
        d->vhd = NULL;
        if (!hd || stat(d->path, &st) < 0) {
            r = ovfk_err_set(&rv->err, -ENOMEM, "out of memory");
            break;
        }
        char id[32];
        snprintf(id, sizeof(id), "vmdisk%zu", i + 1);
        free(hd->id);
        free(hd->path);
        free(hd->format);
        free(hd->bus);
        hd->id = strdup(id);
        hd->path = strdup(d->path);
        hd->format = strdup("vhd");
        /* the source's controller is not known; conversion picks a bus */
        hd->bus = strdup("sata");
        hd->capacity = d->size;
        hd->boot_order = i == 0;
        hrefs[i] = d->href;
        sizes[i] = (uint64_t)st.st_size;
    }
    if (r == 0 && (r = hv_vm_to_ovf(rv->vm, hrefs, sizes, 10, &doc)) == 0) {
        r = ovfk_ovf_emit(doc, 10, &xml, &xml_len);
    }
    if (r < 0 && !rv->err.code) {
        r = ovfk_err_set(&rv->err, r, "cannot describe the machine: %s",
                         ovfk_last_error());
    }
    snprintf(name, sizeof(name), "%s.ovf", rv->name);
    if (r == 0) {
        r = write_text(rv, name, xml, xml_len);
    }
    for (size_t i = 0; r == 0 && i <= rv->n_disks; i++) {
        const char *f = i == 0 ? name : rv->disks[i - 1].href;
        snprintf(path, sizeof(path), "%s/%s", rv->o->dir, f);
        if ((r = sha256_file(path, hex)) < 0) {
            r = ovfk_err_set(&rv->err, r, "cannot read '%s': %s", path,
                             ovfk_strerror(r));
            break;
        }
        mlen += (size_t)snprintf(mf + mlen, sizeof(mf) - mlen,
                                 "SHA256(%s)= %s\n", f, hex);
    }
    if (r == 0 && mlen >= sizeof(mf)) {
        r = ovfk_err_set(&rv->err, -E2BIG, "manifest too large");
    }
    if (r == 0) {
        snprintf(name, sizeof(name), "%s.mf", rv->name);
        r = write_text(rv, name, mf, mlen);
    }
    if (r == 0 && rv->report) {
        snprintf(name, sizeof(name), "%s.p2v.json", rv->name);
        r = write_text(rv, name, rv->report, strlen(rv->report));
    }
    free(xml);
    ovfk_ovf_free(doc);
    free(hrefs);
    free(sizes);
    return r;
}

static int convert(struct recv *rv)
{
    char ovf[PATH_MAX + 300], to[PATH_MAX + 64];
    const char *srcs[1] = { ovf };
    struct ovfk_convert_opts co = { .to = to, .mode = OVFK_CONVERT_P2V,
                                    .digest = OVFK_OVA_DIGEST_SHA256 };
    int r;

    snprintf(ovf, sizeof(ovf), "%s/%s.ovf", rv->o->dir, rv->name);
    snprintf(to, sizeof(to), "%s/converted", rv->o->dir);
    if (rv->o->log) {
        rv->o->log(rv->o->opaque, "converting (convert --p2v)");
    }
    r = ovfk_convert_vm(srcs, 1, &co, NULL);
    if (r < 0) {
        return ovfk_err_set(&rv->err, r, "convert --p2v failed (the capture "
                            "is kept in '%s'): %s", rv->o->dir,
                            ovfk_last_error());
    }
    return 0;
}

static int receive(struct recv *rv)
{
    uint8_t magic[8], h[P2V_REC_HDR];
    bool eof = false;
    int r = make_dir(rv);

    if (r == 0) {
        r = read_full(rv, magic, sizeof(magic), NULL);
    }
    if (r == 0 && memcmp(magic, P2V_MAGIC, 8)) {
        r = ovfk_err_set(&rv->err, OVFK_ECORRUPT, "not an ovfkit capture "
                         "stream");
    }
    while (r == 0) {
        r = read_full(rv, h, sizeof(h), &eof);
        if (r == 0 && eof) {
            r = ovfk_err_set(&rv->err, OVFK_ECORRUPT, "the capture stream "
                             "ended early (the sender is gone)");
        }
        if (r < 0) {
            break;
        }
        uint32_t len = get_be32(h + 4);
        bool is_json = h[0] == P2V_HELLO || h[0] == P2V_REPORT ||
                       h[0] == P2V_ABORT;
        if (len > (is_json ? P2V_MAX_JSON : P2V_MAX_PAYLOAD)) {
            r = ovfk_err_set(&rv->err, OVFK_ECORRUPT, "record of %u bytes in "
                             "the capture stream", len);
            break;
        }
        uint8_t *p = is_json ? malloc((size_t)len + 1) : rv->payload;
        if (!p) {
            r = ovfk_err_set(&rv->err, -ENOMEM, "out of memory");
            break;
        }
        r = read_full(rv, p, len, NULL);
        if (r == 0 && is_json) {
            p[len] = '\0';
        }
        if (r == 0) {
            switch (h[0]) {
            case P2V_HELLO:
                r = rv->disks ? ovfk_err_set(&rv->err, OVFK_ECORRUPT,
                                             "two HELLO records")
                              : on_hello(rv, (char *)p);
                break;
            case P2V_DATA:
                r = on_data(rv, h[1], p, len);
                break;
            case P2V_PASS:
                break;
            case P2V_DIGEST:
                r = on_digest(rv, p, len);
                break;
            case P2V_REPORT:
                free(rv->report);
                rv->report = (char *)p;
                p = NULL;
                break;
            case P2V_ABORT:
                r = ovfk_err_set(&rv->err, -ECANCELED, "the sender failed: "
                                 "%s", (char *)p);
                break;
            case P2V_END:
                r = rv->disks ? finish(rv)
                              : ovfk_err_set(&rv->err, OVFK_ECORRUPT,
                                             "no HELLO record");
                if (is_json) {
                    free(p);
                }
                if (r == 0 && !rv->o->no_convert) {
                    r = convert(rv);
                }
                return r;
            default:
                r = ovfk_err_set(&rv->err, OVFK_ECORRUPT, "unknown record "
                                 "type %d in the capture stream", h[0]);
            }
        }
        if (is_json) {
            free(p);
        }
    }
    return r;
}

int ovfk_p2v_receive(const struct ovfk_p2v_receive_opts *o)
{
    struct recv rv = { .o = o };
    int r;

    if (o->report) {
        *o->report = NULL;
    }
    rv.payload = malloc(P2V_MAX_PAYLOAD);
    rv.plain = malloc(P2V_CHUNK);
    if (!rv.payload || !rv.plain) {
        r = ovfk_err_set(&rv.err, -ENOMEM, "out of memory");
    } else {
        r = receive(&rv);
    }
    for (size_t i = 0; i < rv.n_disks && rv.disks; i++) {
        ovfk_vhd_close(rv.disks[i].vhd);
        free(rv.disks[i].have);
        free(rv.disks[i].dig);
    }
    if (r < 0) {
        /* a failed capture leaves nothing behind to be mistaken for one */
        for (size_t i = 0; i < rv.n_files; i++) {
            unlink(rv.files[i]);
        }
        if (rv.dir_made) {
            rmdir(o->dir);
        }
        ovfk_err_publish(&rv.err);
    } else if (o->report && rv.report) {
        *o->report = rv.report;
        rv.report = NULL;
    }
    for (size_t i = 0; i < rv.n_files; i++) {
        free(rv.files[i]);
    }
    free(rv.files);
    free(rv.disks);
    free(rv.report);
    ovfk_hv_vm_free(rv.vm);
    free(rv.payload);
    free(rv.plain);
    return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/ova_read.c - reading packages: the descriptor of an OVA or .ovf,
 * listing, extraction (never outside the target directory), and
 * verification of manifest and signature.
 *
 * Members may come in any order.  In the usual order (descriptor,
 * manifest, ...) one pass suffices: each member is hashed with the
 * algorithm the manifest names as it streams by.  Members that precede
 * the manifest are hashed with every algorithm we accept, so a manifest
 * at the end of the archive still needs no second pass.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ovf/pkg.h"
#include "util/io.h"
#include "util/tmpfile.h"

#define CHUNK (1u << 20)
#define MAX_SMALL_MEMBER (4u << 20)     /* .mf, .cert read into memory */

static bool ends_with(const char *s, const char *ext)
{
    size_t n = strlen(s), e = strlen(ext);

    return n > e && strcasecmp(s + n - e, ext) == 0;
}

bool ovfk_ova_is_archive(const char *path)
{
    char hdr[512];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    bool tar = false;

    if (ends_with(path, ".ova")) {
        if (fd >= 0) {
            close(fd);
        }
        return true;
    }
    if (fd < 0) {
        return false;
    }
    if (read(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr)) {
        tar = memcmp(hdr + 257, "ustar", 5) == 0;
    }
    close(fd);
    return tar;
}

int ovfk_ova_write_file(const char *path, const void *buf, size_t len)
{
    return ovfk_write_file_atomic(path, buf, len);
}

/* Read the current member whole (at most max bytes) into a new buffer. */
static int read_member(tar_in *t, uint64_t size, uint64_t max, char **out,
                       ovfk_err *err, const char *name)
{
    char *buf;
    uint64_t got = 0;

    if (size > max) {
        return ovfk_err_set(err, OVFK_ECORRUPT, "'%s' is %llu bytes, over "
                            "the %llu allowed", name,
                            (unsigned long long)size,
                            (unsigned long long)max);
    }
    buf = malloc(size + 1);
    if (!buf) {
        return ovfk_err_set(err, -ENOMEM, "out of memory");
    }
    while (got < size) {
        long n = tar_read(t, buf + got, size - got);
        if (n < 0) {
            free(buf);
            return (int)n;
        }
        if (n == 0) {
            break;
        }
        got += (uint64_t)n;
    }
    if (got != size) {
        free(buf);
        return ovfk_err_set(err, OVFK_ECORRUPT, "member '%s' is truncated",
                            name);
    }
    buf[size] = '\0';
    *out = buf;
    return 0;
}

int ovfk_ova_load_descriptor(const char *path, char **buf, size_t *len,
                        char **name)
{
    ovfk_err err = { 0 };
    struct tar_member m;
    tar_in *t;
    ovfk_io *io;
    uint64_t size;
    int r;

    *buf = NULL;
    *name = NULL;
    if (!ovfk_ova_is_archive(path)) {
        r = ovfk_io_open_file(path, OVFK_IO_RDONLY, &io);
        if (r < 0) {
            return r;
        }
        r = ovfk_io_size(io, &size);
        if (r == 0 && size > OVFK_OVF_MAX_DESCRIPTOR) {
            r = ovfk_err_set(&err, OVFK_ECORRUPT, "descriptor '%s' is %llu "
                             "bytes; ovfkit refuses descriptors over %u MiB",
                             path, (unsigned long long)size,
                             OVFK_OVF_MAX_DESCRIPTOR >> 20);
        } else if (r == 0 && !(*buf = malloc(size + 1))) {
            r = ovfk_err_set(&err, -ENOMEM, "out of memory");
        } else if (r == 0 && (r = ovfk_io_pread(io, *buf, size, 0)) < 0) {
            ovfk_err_set(&err, r, "cannot read '%s': %s", path,
                         ovfk_errtext(r));
        }
        ovfk_io_close(io);
        if (r < 0) {
            free(*buf);
            *buf = NULL;
            return ovfk_err_publish(&err);
        }
        (*buf)[size] = '\0';
        *len = size;
        *name = strdup(path);
        return 0;
    }
    r = tar_open(path, &t, &err);
    if (r < 0) {
        return ovfk_err_publish(&err);
    }
    while ((r = tar_next(t, &m)) > 0) {
        if (!ends_with(m.name, ".ovf")) {
            continue;
        }
        if (m.problem) {
            r = ovfk_err_set(&err, OVFK_ECORRUPT, "'%s': member '%s' %s",
                             path, m.name, m.problem);
            break;
        }
        r = read_member(t, m.size, OVFK_OVF_MAX_DESCRIPTOR, buf, &err, m.name);
        if (r == 0) {
            *len = m.size;
            *name = strdup(m.name);
            r = 1;
        }
        break;
    }
    tar_close(t);
    if (r == 0) {
        return ovfk_err_last(OVFK_ECORRUPT, "'%s' contains no OVF descriptor "
                             "(no .ovf member)", path);
    }
    return r < 0 ? ovfk_err_publish(&err) : 0;
}

int ovfk_ova_list(const char *path, ovfk_ova_list_fn fn, void *opaque)
{
    ovfk_err err = { 0 };
    struct tar_member m;
    tar_in *t;
    int r;

    r = tar_open(path, &t, &err);
    if (r < 0) {
        return ovfk_err_publish(&err);
    }
    while ((r = tar_next(t, &m)) > 0) {
        r = fn(opaque, m.name, m.size, m.problem);
        if (r != 0) {
            break;
        }
    }
    tar_close(t);
    return r < 0 ? ovfk_err_publish(&err) : 0;
}

/*
 * Hashing of members whose algorithm may not be known yet: up to three
 * running digests, one per accepted algorithm.
 */
struct multi_hash {
    pkg_hash h[3];
    bool on[3];
};

static int mh_init(struct multi_hash *mh, enum ovfk_ova_digest only)
{
    memset(mh, 0, sizeof(*mh));
    for (int i = 0; i < 3; i++) {
        enum ovfk_ova_digest d = (enum ovfk_ova_digest)(i + 1);
        if (only && only != d) {
            continue;
        }
        if (pkg_hash_init_bg(&mh->h[i], d) < 0) {
            return -ENOMEM;
        }
        mh->on[i] = true;
    }
    return 0;
}

static void mh_update(struct multi_hash *mh, const void *buf, size_t len)
{
    for (int i = 0; i < 3; i++) {
        if (mh->on[i]) {
            pkg_hash_update(&mh->h[i], buf, len);
        }
    }
}

struct member_rec {
    char *name;
    uint64_t size;
    char hex[3][129];           /* by algorithm - 1; "" when not computed */
    struct pkg_ends ends;       /* a VHD's footers, for its capacity */
};

static void mh_final(struct multi_hash *mh, struct member_rec *rec)
{
    for (int i = 0; i < 3; i++) {
        if (mh->on[i]) {
            pkg_hash_final(&mh->h[i], rec->hex[i]);
            pkg_hash_free(&mh->h[i]);
        }
    }
}

static const struct ovfk_ova_manifest_entry *
listed(const struct ovfk_ova_manifest *m, const char *name)
{
    for (size_t i = 0; m && i < m->n; i++) {
        if (strcmp(m->entries[i].name, name) == 0) {
            return &m->entries[i];
        }
    }
    return NULL;
}

/* What one pass over an OVA learned. */
struct scan {
    struct member_rec *recs;
    size_t n;
    char *mf, *cert, *desc;
    size_t mf_len, cert_len, desc_len;
    char *mf_name, *cert_name, *desc_name;
    struct ovfk_ova_manifest manifest;
    bool have_manifest;
    int extra_mf;               /* second manifests seen */
    ovfk_ovf_doc *doc;               /* the descriptor, parsed (unpack) */
};

static void scan_free(struct scan *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->recs[i].name);
    }
    free(s->recs);
    free(s->mf);
    free(s->cert);
    free(s->desc);
    free(s->mf_name);
    free(s->cert_name);
    free(s->desc_name);
    ovfk_ova_manifest_free(&s->manifest);
    ovfk_ovf_free(s->doc);
}

/*
 * Where extraction writes: a directory fd (or -1 to only hash).  Each
 * member is created with O_EXCL | O_NOFOLLOW relative to it, under a name
 * tar_name_problem() accepted: nothing can land outside.
 */
struct sinkdir {
    int dfd;
    ovfk_progress_fn progress;
    void *opaque;
    uint64_t done;
};

static int stream_member(tar_in *t, const struct tar_member *m,
                         struct multi_hash *mh, struct sinkdir *sd,
                         struct pkg_ends *ends, ovfk_err *err)
{
    char *buf = malloc(CHUNK);
    uint64_t got = 0, started = 0;
    int fd = -1, r = 0;

    if (!buf) {
        return ovfk_err_set(err, -ENOMEM, "out of memory");
    }
    if (sd && sd->dfd >= 0) {
        fd = openat(sd->dfd, m->name, O_WRONLY | O_CREAT | O_EXCL |
                    O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) {
            r = ovfk_err_set(err, -errno, "cannot create '%s': %s", m->name,
                             ovfk_errtext(-errno));
            goto out;
        }
    }
    for (;;) {
        long n = tar_read(t, buf, CHUNK);
        if (n < 0) {
            r = (int)n;
            goto out;
        }
        if (n == 0) {
            break;
        }
        mh_update(mh, buf, (size_t)n);
        pkg_ends_update(ends, buf, (size_t)n, got);
        if (fd >= 0) {
            /* the file is new: zero 64 KiB pieces (unwritten parts of a
             * disk's blocks) stay holes; the length is set at the end */
            r = ovfk_pwrite_sparse(fd, buf, (size_t)n, got);
            if (r < 0) {
                r = ovfk_err_set(err, r, "cannot write '%s': %s", m->name,
                                 ovfk_errtext(r));
                goto out;
            }
            /* the disk writes while the digests catch up */
            ovfk_writeback(fd, &started, got + (uint64_t)n);
        }
        got += (uint64_t)n;
        if (sd && sd->progress) {
            sd->done += (uint64_t)n;
            if (sd->progress(sd->opaque, sd->done, 0)) {
                r = ovfk_err_set(err, -ECANCELED, "canceled");
                goto out;
            }
        }
    }
    if (got != m->size) {
        r = ovfk_err_set(err, OVFK_ECORRUPT, "member '%s' is truncated (%llu "
                         "of %llu bytes)", m->name, (unsigned long long)got,
                         (unsigned long long)m->size);
    }
    if (r == 0 && fd >= 0 && ftruncate(fd, (off_t)m->size) < 0) {
        r = ovfk_err_set(err, -errno, "cannot write '%s': %s", m->name,
                         ovfk_errtext(-errno));
    }
    if (r == 0 && fd >= 0 && fsync(fd) < 0) {
        r = ovfk_err_set(err, -errno, "cannot sync '%s'", m->name);
    }
out:
    if (fd >= 0) {
        close(fd);
    }
    free(buf);
    return r;
}

static int add_rec(struct scan *s, const char *name, uint64_t size,
                   struct member_rec **out)
{
    struct member_rec *r = realloc(s->recs, (s->n + 1) * sizeof(*r));

    if (!r) {
        return -ENOMEM;
    }
    s->recs = r;
    memset(&r[s->n], 0, sizeof(r[s->n]));
    r[s->n].name = strdup(name);
    r[s->n].size = size;
    *out = &r[s->n++];
    return r[s->n - 1].name ? 0 : -ENOMEM;
}

/* Problems with members are reported (or, with strict, fatal). */
typedef void (*problem_fn)(void *opaque, const char *msg);

static void problemf(problem_fn fn, void *opaque, int *count, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

static void problemf(problem_fn fn, void *opaque, int *count,
                     const char *fmt, ...)
{
    char msg[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    (*count)++;
    if (fn) {
        fn(opaque, msg);
    }
}

/* Write a member already read into memory to the extraction directory. */
static int put_small(struct sinkdir *sd, const char *name, const char *buf,
                     size_t len, ovfk_err *err)
{
    int fd;
    bool ok;

    if (!sd || sd->dfd < 0) {
        return 0;
    }
    fd = openat(sd->dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                O_CLOEXEC, 0644);
    ok = fd >= 0 && write(fd, buf, len) == (ssize_t)len && fsync(fd) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok ? 0 : ovfk_err_set(err, -EIO, "cannot write '%s'", name);
}

/*
 * Members kept in memory as well: the first descriptor, manifest and
 * certificate.  Returns the slot for this member, or NULL.
 */
static char **small_slot(struct scan *s, const char *name, size_t **len,
                         char ***slot_name, uint64_t *max)
{
    if (ends_with(name, ".mf") && !s->mf) {
        *len = &s->mf_len;
        *slot_name = &s->mf_name;
        *max = OVFK_OVA_MAX_MANIFEST;
        return &s->mf;
    }
    if (ends_with(name, ".cert") && !s->cert) {
        *len = &s->cert_len;
        *slot_name = &s->cert_name;
        *max = MAX_SMALL_MEMBER;
        return &s->cert;
    }
    if (ends_with(name, ".ovf") && !s->desc) {
        *len = &s->desc_len;
        *slot_name = &s->desc_name;
        *max = OVFK_OVF_MAX_DESCRIPTOR;
        return &s->desc;
    }
    return NULL;
}

/* The File of the descriptor a member holds whole (not a chunk). */
static const struct ovfk_ovf_file *file_of_member(const ovfk_ovf_doc *d,
                                             const char *name)
{
    for (size_t i = 0; d && i < d->n_files; i++) {
        const char *h = d->files[i].href;
        while (h && h[0] == '.' && h[1] == '/') {
            h += 2;
        }
        if (h && !d->files[i].chunk_size && !strcmp(h, name)) {
            return &d->files[i];
        }
    }
    return NULL;
}

static void first_error(void *opaque, enum ovfk_ovf_severity sev,
                        const char *msg)
{
    ovfk_err *e = opaque;

    if (sev == OVFK_OVF_ERROR && !e->code) {
        ovfk_err_set(e, OVFK_ECORRUPT, "%s", msg);
    }
}

/*
 * Before anything of a package is extracted, its descriptor must be one
 * an import would deploy: it parses (no DTD, no entity loop, no capacity
 * that overflows) and has no error of ovfk_ovf_check (a capacity that cannot
 * be read, references that resolve nowhere, an href out of the package).
 */
static int check_descriptor(const char *path, struct scan *s, ovfk_err *err)
{
    struct ovfk_ovf_check_opts co = { .in_archive = true };
    ovfk_err first = { 0 };

    if (ovfk_ovf_parse_memory(s->desc, s->desc_len, s->desc_name, &s->doc) <
        0) {
        return ovfk_err_set(err, OVFK_ECORRUPT, "%s; refusing to extract "
                            "'%s'", ovfk_last_error(), path);
    }
    if (ovfk_ovf_check(s->doc, &co, first_error, &first) > 0) {
        return ovfk_err_set(err, OVFK_ECORRUPT, "'%s': %s; refusing to "
                            "extract", s->desc_name, first.msg);
    }
    return 0;
}

/* A member's size must be what the descriptor's References says. */
static int check_member_size(const struct scan *s, const char *name,
                             uint64_t size, ovfk_err *err)
{
    const struct ovfk_ovf_file *f = file_of_member(s->doc, name);

    if (f && f->has_size && f->size != size) {
        return ovfk_err_set(err, OVFK_ECORRUPT, "member '%s' has %llu bytes; "
                            "the descriptor's References says %llu; "
                            "refusing to extract", name,
                            (unsigned long long)size,
                            (unsigned long long)f->size);
    }
    return 0;
}

/*
 * One pass over an OVA: keep the descriptor, manifest and certificate in
 * memory, hash (and, with sd, extract) every member.  Unsafe members are
 * problems; with strict they stop the scan with an error.
 */
static int scan_ova(const char *path, struct scan *s, struct sinkdir *sd,
                    bool strict, problem_fn report, void *opaque, int *count,
                    ovfk_err *err)
{
    struct tar_member m;
    tar_in *t;
    int r;

    r = tar_open(path, &t, err);
    if (r < 0) {
        return r;
    }
    while ((r = tar_next(t, &m)) > 0) {
        const struct ovfk_ova_manifest_entry *e;
        struct member_rec *rec;
        struct multi_hash mh;
        char **slot, **slot_name;
        size_t *slot_len;
        uint64_t max;
        if (m.problem) {
            if (strict) {
                r = ovfk_err_set(err, OVFK_ECORRUPT, "'%s': member '%s' %s; "
                                 "refusing to extract", path, m.name,
                                 m.problem);
                break;
            }
            problemf(report, opaque, count, "member '%s' %s", m.name,
                     m.problem);
            continue;
        }
        if (ends_with(m.name, ".mf") && s->mf) {
            s->extra_mf++;
        }
        r = add_rec(s, m.name, m.size, &rec);
        if (r < 0) {
            ovfk_err_set(err, r, "out of memory");
            break;
        }
        e = s->have_manifest ? listed(&s->manifest, m.name) : NULL;
        r = mh_init(&mh, s->have_manifest
                             ? (e ? e->digest : OVFK_OVA_DIGEST_SHA256)
                             : 0);
        if (r < 0) {
            ovfk_err_set(err, r, "out of memory");
            break;
        }
        slot = small_slot(s, m.name, &slot_len, &slot_name, &max);
        if (strict && s->doc) {
            r = check_member_size(s, m.name, m.size, err);
        }
        if (r < 0) {
            mh_final(&mh, rec);
            break;
        }
        if (slot) {
            r = read_member(t, m.size, max, slot, err, m.name);
            if (r == 0) {
                *slot_len = m.size;
                *slot_name = strdup(m.name);
                mh_update(&mh, *slot, *slot_len);
                pkg_ends_update(&rec->ends, *slot, *slot_len, 0);
            }
            if (r == 0 && strict && slot == &s->desc) {
                r = check_descriptor(path, s, err);
            }
            if (r == 0) {
                r = put_small(sd, m.name, *slot, *slot_len, err);
            }
        } else {
            r = stream_member(t, &m, &mh, sd, &rec->ends, err);
        }
        mh_final(&mh, rec);
        if (r < 0) {
            break;
        }
        if (slot == &s->mf) {
            r = ovfk_ova_manifest_parse(s->mf, s->mf_len, &s->manifest, report,
                                   opaque);
            if (r < 0) {
                break;
            }
            *count += r;
            r = 0;
            s->have_manifest = true;
        }
    }
    tar_close(t);
    return r < 0 ? r : 0;
}

static const struct member_rec *find_rec(const struct scan *s,
                                         const char *name)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!strcmp(s->recs[i].name, name)) {
            return &s->recs[i];
        }
    }
    return NULL;
}

/* Compare the manifest with what the package holds. */
static void check_manifest(const struct scan *s, problem_fn report,
                           void *opaque, int *count)
{
    if (!s->have_manifest) {
        problemf(report, opaque, count, "the package has no manifest (.mf): "
                 "nothing to verify its files against");
        return;
    }
    if (s->extra_mf) {
        problemf(report, opaque, count, "the package holds more than one "
                 "manifest");
    }
    for (size_t i = 0; i < s->manifest.n; i++) {
        const struct ovfk_ova_manifest_entry *e = &s->manifest.entries[i];
        const struct member_rec *rec;
        size_t times = 0;
        bool first = true;
        for (size_t j = 0; j < s->manifest.n; j++) {
            if (!strcmp(s->manifest.entries[j].name, e->name)) {
                times++;
                first &= j >= i;
            }
        }
        if (!first) {
            continue;
        }
        if (times > 1) {
            problemf(report, opaque, count, "the manifest lists '%s' %zu "
                     "times", e->name, times);
        }
        if (s->mf_name && !strcmp(e->name, s->mf_name)) {
            problemf(report, opaque, count, "the manifest lists itself ('%s')",
                     e->name);
            continue;
        }
        if (s->cert_name && !strcmp(e->name, s->cert_name)) {
            problemf(report, opaque, count, "the manifest lists the "
                     "certificate ('%s'), which signs the manifest", e->name);
            continue;
        }
        rec = find_rec(s, e->name);
        if (!rec) {
            problemf(report, opaque, count, "'%s' is listed in the manifest "
                     "but missing from the package", e->name);
        } else if (strcmp(rec->hex[e->digest - 1], e->hex) != 0) {
            problemf(report, opaque, count, "'%s' does not match the "
                     "manifest: %s %s expected, %s found", e->name,
                     ovfk_ova_digest_name(e->digest), e->hex,
                     rec->hex[e->digest - 1]);
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        const char *n = s->recs[i].name;
        if ((s->mf_name && !strcmp(n, s->mf_name)) ||
            (s->cert_name && !strcmp(n, s->cert_name))) {
            continue;
        }
        if (!listed(&s->manifest, n)) {
            problemf(report, opaque, count, "'%s' is not listed in the "
                     "manifest", n);
        }
    }
}

struct verify_diag {
    problem_fn report;
    void *opaque;
    int *count;
};

/* ovfk_ovf_diag_fn -> verify's lines: errors counted, warnings said only */
static void verify_line(void *opaque, enum ovfk_ovf_severity sev,
                        const char *msg)
{
    struct verify_diag *v = opaque;

    if (sev == OVFK_OVF_ERROR) {
        problemf(v->report, v->opaque, v->count, "%s", msg);
    } else if (v->report) {
        char line[700];
        snprintf(line, sizeof(line), "warning: %s", msg);
        v->report(v->opaque, line);
    }
}

/* A file as the package holds it: its size, and a VHD's capacity. */
static void check_contents(const ovfk_ovf_doc *d, const struct ovfk_ovf_file *f,
                           const struct member_rec *rec,
                           struct verify_diag *v)
{
    if (f->has_size && !f->chunk_size && rec->size != f->size) {
        problemf(v->report, v->opaque, v->count, "'%s' (file '%s') has %llu "
                 "bytes; the descriptor's References says %llu", rec->name,
                 f->id ? f->id : "?", (unsigned long long)rec->size,
                 (unsigned long long)f->size);
    }
    for (size_t k = 0; k < d->n_disks; k++) {
        const struct ovfk_ovf_disk *disk = &d->disks[k];
        if (disk->file_ref && f->id && !strcmp(disk->file_ref, f->id) &&
            pkg_vhd_disk(disk, f)) {
            pkg_check_capacity(disk, rec->name, &rec->ends, verify_line, v);
        }
    }
}

/* Files the descriptor references must be in the package. */
static void check_references(const struct scan *s, problem_fn report,
                             void *opaque, int *count)
{
    struct verify_diag v = { report, opaque, count };
    ovfk_ovf_doc *d;
    char part[600];

    if (!s->desc) {
        problemf(report, opaque, count, "the package has no descriptor "
                 "(.ovf)");
        return;
    }
    if (ovfk_ovf_parse_memory(s->desc, s->desc_len, s->desc_name, &d) < 0) {
        problemf(report, opaque, count, "%s", ovfk_last_error());
        return;
    }
    for (size_t i = 0; i < d->n_files; i++) {
        const char *h = d->files[i].href;
        const struct member_rec *rec;
        while (h && h[0] == '.' && h[1] == '/') {
            h += 2;
        }
        if (!h || strstr(h, "://")) {
            continue;   /* remote files are not in the package */
        }
        snprintf(part, sizeof(part), "%s.000000000", h);
        rec = find_rec(s, h);
        if (!rec && !(d->files[i].chunk_size && find_rec(s, part))) {
            problemf(report, opaque, count, "'%s' (file '%s' of the "
                     "descriptor) is missing from the package", h,
                     d->files[i].id ? d->files[i].id : "?");
        } else if (rec) {
            check_contents(d, &d->files[i], rec, &v);
        }
    }
    ovfk_ovf_free(d);
}

/* The package beside a descriptor: read the files from its directory. */
static int scan_dir(const char *ovf, struct scan *s, problem_fn report,
                    void *opaque, int *count, ovfk_err *err)
{
    char dir[PATH_MAX], tmp[PATH_MAX], path[PATH_MAX], norm[512];
    char *base;
    struct stat st;
    ovfk_ovf_doc *d = NULL;
    int r;

    snprintf(tmp, sizeof(tmp), "%s", ovf);
    snprintf(dir, sizeof(dir), "%s", dirname(tmp));
    snprintf(tmp, sizeof(tmp), "%s", ovf);
    base = basename(tmp);
    r = ovfk_ova_load_descriptor(ovf, &s->desc, &s->desc_len, &s->desc_name);
    if (r < 0) {
        return ovfk_err_set(err, r, "%s", ovfk_last_error());
    }
    free(s->desc_name);
    s->desc_name = strdup(base);
    {
        size_t n = strlen(base);
        char mf[PATH_MAX];
        snprintf(mf, sizeof(mf), "%.*s.mf", (int)(n > 4 && ends_with(base,
                 ".ovf") ? n - 4 : n), base);
        s->mf_name = strdup(mf);
        snprintf(mf, sizeof(mf), "%.*s.cert", (int)(n > 4 && ends_with(base,
                 ".ovf") ? n - 4 : n), base);
        s->cert_name = strdup(mf);
    }
    snprintf(path, sizeof(path), "%s/%s", dir, s->mf_name);
    if (access(path, F_OK) == 0) {
        ovfk_io *io;
        uint64_t sz;
        if (ovfk_io_open_file(path, 0, &io) == 0) {
            if (ovfk_io_size(io, &sz) == 0 && sz <= OVFK_OVA_MAX_MANIFEST &&
                (s->mf = malloc(sz + 1)) &&
                ovfk_io_pread(io, s->mf, sz, 0) == 0) {
                s->mf_len = sz;
                r = ovfk_ova_manifest_parse(s->mf, sz, &s->manifest, report,
                                       opaque);
                if (r >= 0) {
                    *count += r;
                    s->have_manifest = true;
                }
            }
            ovfk_io_close(io);
        }
    }
    snprintf(path, sizeof(path), "%s/%s", dir, s->cert_name);
    if (access(path, F_OK) == 0) {
        ovfk_io *io;
        uint64_t sz;
        if (ovfk_io_open_file(path, 0, &io) == 0) {
            if (ovfk_io_size(io, &sz) == 0 && sz <= MAX_SMALL_MEMBER &&
                (s->cert = malloc(sz + 1)) &&
                ovfk_io_pread(io, s->cert, sz, 0) == 0) {
                s->cert_len = sz;
                s->cert[sz] = '\0';
            }
            ovfk_io_close(io);
        }
    } else {
        free(s->cert_name);
        s->cert_name = NULL;
    }
    /* the package: the descriptor and every file it references */
    r = ovfk_ovf_parse_memory(s->desc, s->desc_len, s->desc_name, &d);
    if (r < 0) {
        return ovfk_err_set(err, r, "%s", ovfk_last_error());
    }
    for (size_t i = 0; i <= d->n_files; i++) {
        const char *name = i == 0 ? s->desc_name : d->files[i - 1].href;
        const struct ovfk_ova_manifest_entry *e;
        struct member_rec *rec;
        if (!name || strstr(name, "://")) {
            continue;
        }
        if (tar_name_problem(name, norm, sizeof(norm))) {
            problemf(report, opaque, count, "file reference '%s' leaves the "
                     "package directory", name);
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, norm);
        if (stat(path, &st) != 0) {
            continue;   /* reported by check_references/manifest */
        }
        if (add_rec(s, norm, (uint64_t)st.st_size, &rec) < 0) {
            ovfk_ovf_free(d);
            return ovfk_err_set(err, -ENOMEM, "out of memory");
        }
        if (i > 0) {
            pkg_file_ends(path, &rec->ends);
        }
        e = listed(&s->manifest, norm);
        if (e) {
            pkg_hash_file(path, e->digest, rec->hex[e->digest - 1]);
        }
    }
    ovfk_ovf_free(d);
    return 0;
}

int ovfk_ova_verify(const char *path, const struct ovfk_ova_verify_opts *o,
               ovfk_ova_report_fn report, void *opaque)
{
    struct scan s = { 0 };
    ovfk_err err = { 0 };
    int count = 0, r;

    if (ovfk_ova_is_archive(path)) {
        r = scan_ova(path, &s, NULL, false, report, opaque, &count, &err);
    } else {
        r = scan_dir(path, &s, report, opaque, &count, &err);
    }
    if (r < 0) {
        scan_free(&s);
        return ovfk_err_publish(&err);
    }
    check_references(&s, report, opaque, &count);
    check_manifest(&s, report, opaque, &count);
    if (s.cert) {
        count += pkg_cert_verify(s.cert, s.cert_len, s.mf_name ? s.mf_name :
                                 "(no manifest)", s.mf ? s.mf : "",
                                 s.mf_len, o ? o->ca : NULL, report, opaque);
    } else if (o && o->require_signature) {
        problemf(report, opaque, &count, "the package is not signed (no "
                 ".cert) and a signature is required");
    }
    scan_free(&s);
    return count;
}

static void rm_created(int dfd, const struct scan *s)
{
    for (size_t i = 0; i < s->n; i++) {
        unlinkat(dfd, s->recs[i].name, 0);
    }
    if (s->mf_name) {
        unlinkat(dfd, s->mf_name, 0);
    }
}

static bool dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool empty = true;

    if (!d) {
        return false;
    }
    while ((e = readdir(d))) {
        empty &= !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    }
    closedir(d);
    return empty;
}

static void collect(void *opaque, const char *msg)
{
    ovfk_err *e = opaque;

    if (!e->code) {
        ovfk_err_set(e, OVFK_EMISMATCH, "%s", msg);
    }
}

/*
 * After the pass, what import would refuse: no descriptor, a file the
 * descriptor references that the package lacks, a member (one that came
 * before the descriptor) of another size than References says.
 */
static int check_unpacked(const char *path, const struct scan *s,
                          ovfk_err *err)
{
    char part[600];

    if (!s->desc || !s->doc) {
        return ovfk_err_set(err, OVFK_ECORRUPT, "'%s' contains no OVF "
                            "descriptor (no .ovf member); refusing to "
                            "extract", path);
    }
    for (size_t i = 0; i < s->n; i++) {
        int r = check_member_size(s, s->recs[i].name, s->recs[i].size, err);
        if (r < 0) {
            return r;
        }
    }
    for (size_t i = 0; i < s->doc->n_files; i++) {
        const struct ovfk_ovf_file *f = &s->doc->files[i];
        const char *h = f->href;
        while (h && h[0] == '.' && h[1] == '/') {
            h += 2;
        }
        if (!h || strstr(h, "://")) {
            continue;
        }
        snprintf(part, sizeof(part), "%s.000000000", h);
        if (!find_rec(s, h) && !(f->chunk_size && find_rec(s, part))) {
            return ovfk_err_set(err, OVFK_ECORRUPT, "'%s' (file '%s' of the "
                                "descriptor) is missing from '%s'; refusing "
                                "to extract", h, f->id ? f->id : "?", path);
        }
    }
    return 0;
}

int ovfk_ova_unpack(const char *path, const char *dir,
                    ovfk_progress_fn progress, void *opaque)
{
    struct sinkdir sd = { -1, progress, opaque, 0 };
    struct scan s = { 0 };
    ovfk_err err = { 0 }, first = { 0 };
    bool created = false;
    int count = 0, r;

    if (mkdir(dir, 0755) == 0) {
        created = true;
    } else if (errno != EEXIST || !dir_empty(dir)) {
        return ovfk_err_last(-EEXIST, "'%s' exists and is not an empty "
                             "directory", dir);
    }
    sd.dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sd.dfd < 0) {
        return ovfk_err_last(-errno, "cannot open '%s'", dir);
    }
    r = scan_ova(path, &s, &sd, true, NULL, NULL, &count, &err);
    if (r == 0) {
        r = check_unpacked(path, &s, &err);
    }
    if (r == 0 && s.have_manifest) {
        /* what the manifest lists must match; unlisted files are allowed */
        for (size_t i = 0; i < s.manifest.n; i++) {
            const struct ovfk_ova_manifest_entry *e = &s.manifest.entries[i];
            const struct member_rec *rec = find_rec(&s, e->name);
            if (rec && strcmp(rec->hex[e->digest - 1], e->hex) != 0) {
                collect(&first, "");
                r = ovfk_err_set(&err, OVFK_EMISMATCH, "'%s' does not match "
                                 "the manifest (%s): the package is damaged "
                                 "or was changed", e->name,
                                 ovfk_ova_digest_name(e->digest));
                break;
            }
        }
    }
    if (r < 0) {
        rm_created(sd.dfd, &s);
    }
    close(sd.dfd);
    if (r < 0 && created) {
        rmdir(dir);
    }
    scan_free(&s);
    return r < 0 ? ovfk_err_publish(&err) : 0;
}

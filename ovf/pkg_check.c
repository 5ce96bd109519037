/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/pkg_check.c - validation of a package as a consumer needs it before
 * deploying: the descriptor's own findings (validate.c), the DMTF schema
 * (errors only with --strict: most descriptors VMware and VirtualBox write
 * and deploy are not schema-valid), and what needs the package's files:
 * a referenced file missing from an OVA, a member whose size disagrees
 * with its File's ovf:size, and a VHD whose virtual size (its footer,
 * VHD spec "Hard Disk Footer Format") disagrees with the declared
 * capacity (DSP0243 9.1: ovf:capacity x ovf:capacityAllocationUnits).
 */
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
#include "vhd/internal.h"

#define CHUNK (1u << 20)

void pkg_ends_update(struct pkg_ends *e, const void *buf, size_t n,
                     uint64_t off)
{
    const uint8_t *b = buf;

    if (off < sizeof(e->head)) {
        size_t k = sizeof(e->head) - (size_t)off;
        memcpy(e->head + off, b, n < k ? n : k);
    }
    /* the last 512 bytes seen so far */
    if (n >= sizeof(e->tail)) {
        memcpy(e->tail, b + n - sizeof(e->tail), sizeof(e->tail));
    } else {
        memmove(e->tail, e->tail + n, sizeof(e->tail) - n);
        memcpy(e->tail + sizeof(e->tail) - n, b, n);
    }
    e->len = off + n;
}

int pkg_file_ends(const char *path, struct pkg_ends *e)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int r = 0;

    memset(e, 0, sizeof(*e));
    if (fd < 0) {
        return -errno;
    }
    if (fstat(fd, &st) < 0) {
        r = -errno;
    } else {
        size_t h = st.st_size < (off_t)sizeof(e->head) ? (size_t)st.st_size
                                                      : sizeof(e->head);
        e->len = (uint64_t)st.st_size;
        if (pread(fd, e->head, h, 0) != (ssize_t)h) {
            r = -EIO;
        } else if (st.st_size >= (off_t)sizeof(e->tail) &&
                   pread(fd, e->tail, sizeof(e->tail),
                         st.st_size - (off_t)sizeof(e->tail)) !=
                   (ssize_t)sizeof(e->tail)) {
            r = -EIO;
        }
    }
    close(fd);
    return r;
}

/* Is the file of disk k a VHD (by its format URI, else its name)? */
bool pkg_vhd_disk(const struct ovfk_ovf_disk *k, const struct ovfk_ovf_file *f)
{
    size_t n;

    if (!f || !f->href || f->chunk_size ||
        (f->compression && strcmp(f->compression, "identity") != 0)) {
        return false;   /* chunks and gzip: not read here */
    }
    /* the VHD format URIs in use: XenServer's and ovfkit's
     * ".../vhdspec.mspx", Microsoft's ".../bb676673.aspx" */
    if (k->format && ((strcasestr(k->format, "vhd") &&
                       !strcasestr(k->format, "vhdx")) ||
                      strstr(k->format, "bb676673"))) {
        return true;
    }
    if (k->format && (strcasestr(k->format, "vmdk") ||
                      strcasestr(k->format, "qcow") ||
                      strcasestr(k->format, "vhdx"))) {
        return false;
    }
    n = strlen(f->href);
    return n > 4 && !strcasecmp(f->href + n - 4, ".vhd");
}

/* The virtual size of a VHD from its footer (the trailing one, else the
 * copy at offset 0 that dynamic disks keep); false when it has neither. */
static bool vhd_virtual_size(const struct pkg_ends *e, uint64_t *size)
{
    const uint8_t *cand[2] = { e->tail, e->head };
    vhd_footer ft;
    bool chs;

    for (int i = 0; i < 2; i++) {
        if (e->len < VHD_SECTOR || !vhd_footer_cookie_ok(cand[i]) ||
            !vhd_footer_checksum_ok(cand[i])) {
            continue;
        }
        vhd_footer_decode(cand[i], &ft);
        *size = vhd_footer_size(&ft, &chs);
        return true;
    }
    return false;
}

static void quiet_diag(void *opaque, enum ovfk_ovf_severity sev,
                       const char *msg)
{
    (void)opaque;
    (void)sev;
    (void)msg;
}

int pkg_check_capacity(const struct ovfk_ovf_disk *k, const char *href,
                       const struct pkg_ends *e, ovfk_ovf_diag_fn fn,
                       void *opaque)
{
    char msg[600];
    uint64_t vsize;

    if (!fn) {
        fn = quiet_diag;
    }
    if (!vhd_virtual_size(e, &vsize)) {
        snprintf(msg, sizeof(msg), "disk '%s': '%s' is not a valid VHD (no "
                 "footer); `ovfkit vhd repair` may recover it", k->id, href);
        fn(opaque, OVFK_OVF_ERROR, msg);
        return 1;
    }
    if (!k->capacity_known || k->capacity == vsize) {
        return 0;
    }
    if (k->capacity < vsize) {
        /* a deployer sizes the disk by the capacity: the image does not
         * fit, or the guest loses its end */
        snprintf(msg, sizeof(msg), "disk '%s': capacity %llu bytes is "
                 "smaller than the virtual size of '%s' (%llu bytes)", k->id,
                 (unsigned long long)k->capacity, href,
                 (unsigned long long)vsize);
        fn(opaque, OVFK_OVF_ERROR, msg);
        return 1;
    }
    /* Larger is how a package asks for a disk to grow (ovftool does);
     * ovfkit's import keeps the VHD's size. */
    snprintf(msg, sizeof(msg), "disk '%s': capacity %llu bytes is larger "
             "than the virtual size of '%s' (%llu bytes); ovfkit imports it "
             "at the VHD's size", k->id, (unsigned long long)k->capacity,
             href, (unsigned long long)vsize);
    fn(opaque, OVFK_OVF_WARNING, msg);
    return 0;
}

struct vstate {
    ovfk_ovf_diag_fn fn;
    void *opaque;
    int errors;
};

static void say(struct vstate *v, enum ovfk_ovf_severity sev, const char *fmt,
                ...) __attribute__((format(printf, 3, 4)));

static void say(struct vstate *v, enum ovfk_ovf_severity sev, const char *fmt,
                ...)
{
    char msg[700];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    v->errors += sev == OVFK_OVF_ERROR;
    if (v->fn) {
        v->fn(v->opaque, sev, msg);
    }
}

static void count_and_pass(void *opaque, enum ovfk_ovf_severity sev,
                           const char *msg)
{
    struct vstate *v = opaque;

    v->errors += sev == OVFK_OVF_ERROR;
    if (v->fn) {
        v->fn(v->opaque, sev, msg);
    }
}

struct schema_sum {
    struct vstate *v;
    bool strict;
    int n;
    char first[512];
};

static void schema_line(void *opaque, const char *msg)
{
    struct schema_sum *s = opaque;

    if (s->strict) {
        say(s->v, OVFK_OVF_ERROR, "%s", msg);
    } else if (s->n == 0) {
        /* libxml2 goes on to list every element it would accept */
        char *cut;
        snprintf(s->first, sizeof(s->first), "%s", msg);
        if ((cut = strstr(s->first, " Expected is"))) {
            *cut = '\0';
        }
    }
    s->n++;
}

static void check_schema(const ovfk_ovf_doc *d, const char *buf, size_t len,
                         bool strict, struct vstate *v)
{
    struct schema_sum s = { v, strict, 0, "" };
    int version = d->version >= 20 ? 20 : 10;
    int r = ovfk_ovf_schema_check(buf, len, version, schema_line, &s);

    if (r < 0) {
        say(v, strict ? OVFK_OVF_ERROR : OVFK_OVF_WARNING,
            "schema not checked: %s", ovfk_last_error());
    } else if (r > 0 && !strict) {
        /* readers tolerate these: one line, not one per violation */
        say(v, OVFK_OVF_WARNING, "not valid under the DMTF OVF %s schema (%d "
            "violation%s; --strict lists them), the first: %s",
            version == 20 ? "2.0.1" : "1.0.0", r, r == 1 ? "" : "s",
            s.first);
    }
}

static const struct ovfk_ovf_disk *disk_of_file(const ovfk_ovf_doc *d,
                                                const char *id)
{
    for (size_t i = 0; id && i < d->n_disks; i++) {
        if (d->disks[i].file_ref && !strcmp(d->disks[i].file_ref, id)) {
            return &d->disks[i];
        }
    }
    return NULL;
}

static const char *plain_href(const char *h)
{
    while (h[0] == '.' && h[1] == '/') {
        h += 2;
    }
    return h;
}

/* An OVA's members: present, of the declared size, VHDs of their size. */
static int check_members(const char *path, const ovfk_ovf_doc *d,
                         struct vstate *v)
{
    uint64_t *got = calloc(d->n_files + 1, sizeof(*got));
    bool *seen = calloc(d->n_files + 1, sizeof(*seen));
    uint8_t *buf = malloc(CHUNK);
    ovfk_err err = { 0 };
    struct tar_member m;
    tar_in *t = NULL;
    int r;

    if (!got || !seen || !buf) {
        r = ovfk_err_set(&err, -ENOMEM, "out of memory");
        goto out;
    }
    r = tar_open(path, &t, &err);
    while (r == 0 && (r = tar_next(t, &m)) > 0) {
        r = 0;
        for (size_t i = 0; i < d->n_files; i++) {
            const struct ovfk_ovf_file *f = &d->files[i];
            const struct ovfk_ovf_disk *k = disk_of_file(d, f->id);
            const char *h = f->href ? plain_href(f->href) : NULL;
            size_t hl = h ? strlen(h) : 0;
            struct pkg_ends e = { 0 };
            if (!h || strncmp(m.name, h, hl) != 0) {
                continue;
            }
            if (m.name[hl] == '\0') {
                seen[i] = true;
                got[i] += m.size;
            } else if (f->chunk_size && m.name[hl] == '.' &&
                       strlen(m.name + hl) == 10) {
                seen[i] = true;     /* href.000000000, ... */
                got[i] += m.size;
                continue;
            } else {
                continue;
            }
            if (!k || !pkg_vhd_disk(k, f) || m.problem) {
                continue;
            }
            for (uint64_t off = 0;;) {
                long n = tar_read(t, buf, CHUNK);
                if (n <= 0) {
                    r = n < 0 ? (int)n : 0;
                    break;
                }
                pkg_ends_update(&e, buf, (size_t)n, off);
                off += (uint64_t)n;
            }
            if (r == 0) {
                v->errors += pkg_check_capacity(k, h, &e, v->fn, v->opaque);
            }
        }
    }
    if (r < 0) {
        goto out;
    }
    for (size_t i = 0; i < d->n_files; i++) {
        const struct ovfk_ovf_file *f = &d->files[i];
        if (!f->href || strstr(f->href, "://")) {
            continue;
        }
        if (!seen[i]) {
            say(v, OVFK_OVF_ERROR,
                "'%s' (file '%s') is missing from the package", f->href,
                f->id ? f->id : "?");
        } else if (f->has_size && got[i] != f->size) {
            say(v, OVFK_OVF_ERROR, "'%s' (file '%s') has %llu bytes in the "
                "package; References says %llu", f->href,
                f->id ? f->id : "?", (unsigned long long)got[i],
                (unsigned long long)f->size);
        }
    }
out:
    tar_close(t);
    free(got);
    free(seen);
    free(buf);
    return r < 0 ? ovfk_err_publish(&err) : 0;
}

/* A descriptor's files beside it: those present checked like members. */
static void check_beside(const char *ovf, const ovfk_ovf_doc *d,
                         struct vstate *v)
{
    char tmp[PATH_MAX], dir[PATH_MAX], path[PATH_MAX];
    struct stat st;

    char absent[300] = "";
    int n_absent = 0;

    snprintf(tmp, sizeof(tmp), "%s", ovf);
    snprintf(dir, sizeof(dir), "%s", dirname(tmp));
    for (size_t i = 0; i < d->n_files; i++) {
        const struct ovfk_ovf_file *f = &d->files[i];
        const struct ovfk_ovf_disk *k = disk_of_file(d, f->id);
        struct pkg_ends e;
        if (!f->href || strstr(f->href, "://") || f->href[0] == '/' ||
            strstr(f->href, "..") || f->chunk_size) {
            continue;   /* remote, reported by ovfk_ovf_check, or in pieces */
        }
        snprintf(path, sizeof(path), "%s/%s", dir, f->href);
        if (stat(path, &st) != 0) {
            size_t l = strlen(absent);
            if (n_absent++ < 3) {
                snprintf(absent + l, sizeof(absent) - l, "%s'%s'",
                         l ? ", " : "", f->href);
            }
            continue;
        }
        if (f->has_size && (uint64_t)st.st_size != f->size) {
            say(v, OVFK_OVF_ERROR,
                "'%s' (file '%s') has %llu bytes; References "
                "says %llu",
                f->href, f->id ? f->id : "?", (unsigned long long)st.st_size,
                (unsigned long long)f->size);
        }
        if (k && pkg_vhd_disk(k, f) && pkg_file_ends(path, &e) == 0) {
            v->errors += pkg_check_capacity(k, f->href, &e, v->fn,
                                            v->opaque);
        }
    }
    /* a descriptor is often checked before its disks exist: one line */
    if (n_absent) {
        say(v, OVFK_OVF_WARNING,
            "%d referenced file%s not beside the descriptor "
            "(%s%s): sizes and VHD capacities not checked",
            n_absent, n_absent == 1 ? " is" : "s are", absent,
            n_absent > 3 ? ", ..." : "");
    }
}

int ovfk_ova_validate(const char *path, const struct ovfk_ova_validate_opts *o,
                 ovfk_ovf_diag_fn fn, void *opaque)
{
    struct vstate v = { fn, opaque, 0 };
    struct ovfk_ovf_check_opts co = { .in_archive = ovfk_ova_is_archive(path) };
    ovfk_ovf_doc *d = NULL;
    char *buf = NULL, *name = NULL;
    size_t len;
    int r;

    r = ovfk_ova_load_descriptor(path, &buf, &len, &name);
    if (r == 0) {
        r = ovfk_ovf_parse_memory(buf, len, name, &d);
    }
    free(name);
    if (r < 0) {
        free(buf);
        return r;
    }
    for (size_t i = 0; i < d->n_warnings; i++) {
        say(&v, OVFK_OVF_WARNING, "%s", d->warnings[i]);
    }
    check_schema(d, buf, len, o && o->strict, &v);
    ovfk_ovf_check(d, &co, count_and_pass, &v);
    if (co.in_archive) {
        r = check_members(path, d, &v);
    } else {
        check_beside(path, d, &v);
    }
    ovfk_ovf_free(d);
    free(buf);
    return r < 0 ? r : v.errors;
}

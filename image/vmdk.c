/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert/vmdk.c - VMware VMDK as an input: a descriptor (its own text
 * file, or embedded in a sparse extent) lists extents, each FLAT (raw
 * bytes in a file, at an offset), SPARSE (hosted sparse: "KDMV" header,
 * grain directory and tables; streamOptimized when its grains are
 * deflated and its directory is at the end) or ZERO.  A descriptor with a
 * parentCID names a parent whose data shows where the child has none.
 *
 * Our own reader: Debian's libvmdk (20200926) cannot open COT's
 * streamOptimized sample.  Every field is bounded before use: grain and
 * table sizes, directory and table offsets (inside the file), compressed
 * grain lengths, descriptor size, extent names (relative, no "..": a
 * package must not make us read /etc/shadow into a VM's disk).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "image/input.h"
#include "ovfkit/image.h"
#include "util/bytes.h"
#include "util/err.h"
#include "util/io.h"

#define SECTOR 512u
#define SPARSE_MAGIC 0x564d444bu            /* "KDMV" little-endian */
#define GD_AT_END UINT64_C(0xffffffffffffffff)
#define FLAG_ZERO_GTE (1u << 2)             /* GTE 1 = a zeroed grain */
#define FLAG_COMPRESSED (1u << 16)
#define MAX_DESCRIPTOR (1u << 20)
#define MAX_EXTENTS 4096
#define MAX_GRAIN_SECTORS 2048u             /* 1 MiB grains at most */
#define MAX_GTES 65536u
#define MAX_DEPTH 32

enum ext_type { EXT_FLAT, EXT_SPARSE, EXT_ZERO };

struct extent {
    enum ext_type type;
    uint64_t start, sectors;    /* logical range, in sectors */
    ovfk_io *io;
    char *path;
    uint64_t file_size;
    uint64_t flat_offset;       /* FLAT: where the range starts, sectors */
    /* SPARSE */
    uint32_t flags;
    uint64_t grain;             /* sectors per grain */
    uint32_t gtes;              /* entries per grain table */
    uint64_t gd_offset;         /* sectors */
    uint32_t n_gts;
    uint32_t *gd;               /* grain directory */
    uint32_t **gt;              /* tables, loaded when first used */
    bool compressed;
};

struct vmdk {
    struct extent *ext;
    size_t n;
    uint64_t size;
    ovfk_source *parent;
    ovfk_err err;
    uint8_t *zin;               /* one compressed grain */
    size_t zin_len;
    uint8_t *grain;             /* the last grain inflated */
    const struct extent *grain_ext;
    uint64_t grain_no;
};

/* --- the sparse extent header ------------------------------------------ */

struct sparse_hdr {
    uint32_t magic, version, flags;
    uint64_t capacity, grain, desc_off, desc_size;
    uint32_t gtes;
    uint64_t rgd_off, gd_off, overhead;
    uint16_t compress;
};

static void parse_hdr(const uint8_t *b, struct sparse_hdr *h)
{
    h->magic = get_le32(b);
    h->version = get_le32(b + 4);
    h->flags = get_le32(b + 8);
    h->capacity = get_le64(b + 12);
    h->grain = get_le64(b + 20);
    h->desc_off = get_le64(b + 28);
    h->desc_size = get_le64(b + 36);
    h->gtes = get_le32(b + 44);
    h->rgd_off = get_le64(b + 48);
    h->gd_off = get_le64(b + 56);
    h->overhead = get_le64(b + 64);
    h->compress = (uint16_t)(b[77] | b[78] << 8);
}

static int read_hdr(ovfk_io *io, uint64_t off, struct sparse_hdr *h)
{
    uint8_t b[SECTOR];
    int r = ovfk_io_pread(io, b, sizeof(b), off);

    if (r == 0) {
        parse_hdr(b, h);
    }
    return r;
}

static int vmdk_probe(const char *path)
{
    uint8_t b[32];

    if (ovfk_read_head(path, b, 4) == 0 && get_le32(b) == SPARSE_MAGIC) {
        return 100;
    }
    if (ovfk_read_head(path, b, 21) == 0 &&
        !memcmp(b, "# Disk DescriptorFile", 21)) {
        return 100;
    }
    return 0;
}

/* --- the descriptor ------------------------------------------------------ */

struct desc {
    char *parent_hint;          /* parentFileNameHint, when a child */
    bool has_parent;
    struct { enum ext_type type; uint64_t sectors, offset; char *file; } *ext;
    size_t n;
};

static void desc_free(struct desc *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->ext[i].file);
    }
    free(d->ext);
    free(d->parent_hint);
}

/* key="value" or key=value: the value, unquoted, in out. */
static bool value_of(const char *line, const char *key, char *out, size_t len)
{
    size_t kl = strlen(key), n;
    const char *v;

    while (*line == ' ' || *line == '\t') {
        line++;
    }
    if (strncmp(line, key, kl)) {
        return false;
    }
    v = line + kl;
    while (*v == ' ' || *v == '\t') {
        v++;
    }
    if (*v++ != '=') {
        return false;
    }
    while (*v == ' ' || *v == '\t') {
        v++;
    }
    if (*v == '"') {
        v++;
    }
    n = strcspn(v, "\"\r\n");
    snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), v);
    return true;
}

/* RW 2097152 SPARSE "x.vmdk" [offset] */
static int parse_extent(ovfk_err *err, const char *line, struct desc *d)
{
    char access[16], type[16], file[1024] = "";
    unsigned long long sectors, offset = 0;
    const char *q;
    void *grown;
    int n = sscanf(line, " %15s %llu %15s", access, &sectors, type);

    if (n != 3) {
        return ovfk_err_set(err, OVFK_ECORRUPT, "bad extent line '%.80s'",
                            line);
    }
    if (d->n == MAX_EXTENTS) {
        return ovfk_err_set(err, -E2BIG, "more than %d extents", MAX_EXTENTS);
    }
    grown = realloc(d->ext, (d->n + 1) * sizeof(*d->ext));
    if (!grown) {
        return ovfk_err_set(err, -ENOMEM, "out of memory");
    }
    d->ext = grown;
    q = strchr(line, '"');
    if (q) {
        size_t l = strcspn(q + 1, "\"");
        if (q[1 + l] != '"' || l >= sizeof(file)) {
            return ovfk_err_set(err, OVFK_ECORRUPT, "bad extent file name in "
                                "'%.80s'", line);
        }
        memcpy(file, q + 1, l);
        file[l] = '\0';
        sscanf(q + 2 + l, " %llu", &offset);
    }
    if (!strcmp(type, "ZERO")) {
        d->ext[d->n].type = EXT_ZERO;
    } else if (!strcmp(type, "FLAT") || !strcmp(type, "VMFS")) {
        d->ext[d->n].type = EXT_FLAT;
    } else if (!strcmp(type, "SPARSE")) {
        d->ext[d->n].type = EXT_SPARSE;
    } else {
        return ovfk_err_set(err, OVFK_EUNSUPPORTED, "VMDK extents of type %s "
                            "are not supported (FLAT, SPARSE, ZERO are)", type);
    }
    if (d->ext[d->n].type != EXT_ZERO && !file[0]) {
        return ovfk_err_set(err, OVFK_ECORRUPT, "extent without a file: "
                            "'%.80s'", line);
    }
    if (file[0] == '/' || !strcmp(file, "..") || strstr(file, "../") ||
        strchr(file, '\\')) {
        return ovfk_err_set(err, -EPERM, "extent file '%s' is outside the "
                            "descriptor's directory; refused", file);
    }
    d->ext[d->n].sectors = sectors;
    d->ext[d->n].offset = offset;
    d->ext[d->n].file = file[0] ? strdup(file) : NULL;
    d->n++;
    return 0;
}

static int parse_desc(ovfk_err *err, char *text, struct desc *d)
{
    char val[1024];
    int r = 0;

    memset(d, 0, sizeof(*d));
    for (char *line = text, *next; r == 0 && line; line = next) {
        const char *p;
        next = strchr(line, '\n');
        if (next) {
            *next++ = '\0';
        }
        p = line + strspn(line, " \t");
        if (*p == '#' || *p == '\0' || *p == '\r') {
            continue;
        }
        if (!strncmp(p, "RW ", 3) || !strncmp(p, "RDONLY ", 7) ||
            !strncmp(p, "NOACCESS ", 9)) {
            r = parse_extent(err, p, d);
        } else if (value_of(p, "parentCID", val, sizeof(val))) {
            d->has_parent = strcasecmp(val, "ffffffff") != 0;
        } else if (value_of(p, "parentFileNameHint", val, sizeof(val))) {
            free(d->parent_hint);
            d->parent_hint = strdup(val);
        }
    }
    if (r == 0 && d->n == 0) {
        r = ovfk_err_set(err, OVFK_ECORRUPT, "the descriptor lists no extents");
    }
    return r;
}

/* --- opening ------------------------------------------------------------- */

static void vmdk_close(void *opaque)
{
    struct vmdk *v = opaque;

    for (size_t i = 0; i < v->n; i++) {
        struct extent *e = &v->ext[i];
        for (uint32_t t = 0; e->gt && t < e->n_gts; t++) {
            free(e->gt[t]);
        }
        free(e->gt);
        free(e->gd);
        free(e->path);
        ovfk_io_close(e->io);
    }
    free(v->ext);
    ovfk_source_free(v->parent);
    free(v->zin);
    free(v->grain);
    free(v);
}

/* The sparse extent's header (the footer's copy for streamOptimized),
 * checked; its grain directory loaded. */
static int open_sparse(struct vmdk *v, struct extent *e, uint64_t want)
{
    struct sparse_hdr h;
    uint64_t gt_cover, n_gts;
    uint8_t *raw;
    int r = read_hdr(e->io, 0, &h);

    if (r < 0) {
        return ovfk_err_set(&v->err, r, "cannot read '%s'", e->path);
    }
    if (h.magic != SPARSE_MAGIC) {
        return ovfk_err_set(&v->err, OVFK_ECORRUPT, "'%s' is not a sparse VMDK "
                            "extent", e->path);
    }
    if (h.gd_off == GD_AT_END) {
        /* streamOptimized: the real header is the footer, 1 KiB from the
         * end (footer marker, footer, end-of-stream marker) */
        if (e->file_size < 3 * SECTOR ||
            read_hdr(e->io, e->file_size - 2 * SECTOR, &h) < 0 ||
            h.magic != SPARSE_MAGIC || h.gd_off == GD_AT_END) {
            return ovfk_err_set(&v->err, OVFK_ECORRUPT, "'%s': the grain "
                                "directory is at the end, but there is no "
                                "valid footer (a truncated stream?)",
                                e->path);
        }
    }
    if (h.version < 1 || h.version > 3) {
        return ovfk_err_set(&v->err, OVFK_EUNSUPPORTED, "'%s': sparse VMDK "
                            "version %u is not supported", e->path, h.version);
    }
    if (!is_pow2_u64(h.grain) || h.grain < 1 || h.grain > MAX_GRAIN_SECTORS ||
        h.gtes < 1 || h.gtes > MAX_GTES) {
        return ovfk_err_set(&v->err, OVFK_ECORRUPT, "'%s': grain size %llu or "
                            "table size %u out of range", e->path,
                            (unsigned long long)h.grain, h.gtes);
    }
    if (h.capacity < want) {
        return ovfk_err_set(&v->err, OVFK_ECORRUPT, "'%s' holds %llu sectors; "
                            "the descriptor gives it %llu", e->path,
                            (unsigned long long)h.capacity,
                            (unsigned long long)want);
    }
    e->flags = h.flags;
    e->grain = h.grain;
    e->gtes = h.gtes;
    e->compressed = (h.flags & FLAG_COMPRESSED) != 0;
    if (e->compressed && h.compress != 1) {
        return ovfk_err_set(&v->err, OVFK_EUNSUPPORTED, "'%s': compression %u "
                            "is not supported (deflate is)", e->path,
                            h.compress);
    }
    gt_cover = (uint64_t)h.gtes * h.grain;
    n_gts = (want + gt_cover - 1) / gt_cover;
    if (n_gts == 0 || (uint64_t)n_gts * 4 > e->file_size ||
        h.gd_off > e->file_size / SECTOR ||
        h.gd_off * SECTOR + n_gts * 4 > e->file_size) {
        return ovfk_err_set(&v->err, OVFK_ECORRUPT, "'%s': the grain directory "
                            "(%llu tables at sector %llu) lies outside the "
                            "file", e->path, (unsigned long long)n_gts,
                            (unsigned long long)h.gd_off);
    }
    if (h.gd_off == 0) {
        /* sector 0 is the header: its bytes would be taken for tables */
        return ovfk_err_set(&v->err, OVFK_ECORRUPT, "'%s': the grain directory "
                            "overlaps the header (sector 0)", e->path);
    }
    e->gd_offset = h.gd_off;
    e->n_gts = (uint32_t)n_gts;
    raw = malloc(n_gts * 4);
    e->gd = calloc(n_gts, sizeof(*e->gd));
    e->gt = calloc(n_gts, sizeof(*e->gt));
    if (!raw || !e->gd || !e->gt) {
        free(raw);
        return ovfk_err_set(&v->err, -ENOMEM, "out of memory");
    }
    r = ovfk_io_pread(e->io, raw, n_gts * 4, h.gd_off * SECTOR);
    for (uint32_t i = 0; r == 0 && i < n_gts; i++) {
        e->gd[i] = get_le32(raw + 4 * i);
    }
    free(raw);
    if (r < 0) {
        return ovfk_err_set(&v->err, r, "cannot read the grain directory of "
                            "'%s'", e->path);
    }
    if (e->compressed && !v->grain) {
        v->zin_len = e->grain * SECTOR + e->grain * SECTOR / 2 + 64;
        v->zin = malloc(v->zin_len);
        v->grain = malloc(MAX_GRAIN_SECTORS * SECTOR);
        if (!v->zin || !v->grain) {
            return ovfk_err_set(&v->err, -ENOMEM, "out of memory");
        }
    }
    return 0;
}

static int open_extents(struct vmdk *v, const char *dir, const struct desc *d)
{
    uint64_t at = 0;

    v->ext = calloc(d->n, sizeof(*v->ext));
    if (!v->ext) {
        return ovfk_err_set(&v->err, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < d->n; i++) {
        struct extent *e = &v->ext[v->n++];
        char path[PATH_MAX];
        int r;
        e->type = d->ext[i].type;
        e->start = at;
        e->sectors = d->ext[i].sectors;
        if (add_overflow_u64(at, e->sectors, &at) ||
            at > (UINT64_MAX >> 10)) {
            return ovfk_err_set(&v->err, OVFK_ECORRUPT, "the extents add up to "
                                "more than any disk");
        }
        if (e->type == EXT_ZERO) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, d->ext[i].file);
        e->path = strdup(path);
        r = ovfk_io_open_file(path, OVFK_IO_RDONLY, &e->io);
        if (r == 0) {
            r = ovfk_io_size(e->io, &e->file_size);
        }
        if (r < 0) {
            return ovfk_err_set(&v->err, r, "cannot open the extent '%s': %s",
                                path, ovfk_errtext(r));
        }
        if (e->type == EXT_FLAT) {
            uint64_t end;
            e->flat_offset = d->ext[i].offset;
            if (add_overflow_u64(e->flat_offset, e->sectors, &end) ||
                mul_overflow_u64(end, SECTOR, &end) || end > e->file_size) {
                return ovfk_err_set(&v->err, OVFK_ECORRUPT, "the flat extent "
                                    "'%s' is shorter (%llu bytes) than the "
                                    "descriptor says", path,
                                    (unsigned long long)e->file_size);
            }
        } else {
            r = open_sparse(v, e, e->sectors);
            if (r < 0) {
                return r;
            }
        }
    }
    v->size = at * SECTOR;
    return 0;
}

/* The descriptor text of path: the file itself (0), embedded in a sparse
 * extent (2: monolithicSparse, streamOptimized), or made up for a sparse
 * extent that has none (1). */
static int read_descriptor(struct vmdk *v, const char *path, char **text)
{
    struct sparse_hdr h;
    uint64_t size, off = 0, len;
    ovfk_io *io;
    int inside = 0, r = ovfk_io_open_file(path, OVFK_IO_RDONLY, &io);

    *text = NULL;
    if (r == 0) {
        r = ovfk_io_size(io, &size);
    }
    if (r < 0) {
        ovfk_io_close(io);
        return ovfk_err_set(&v->err, r, "cannot open '%s': %s", path,
                            ovfk_errtext(r));
    }
    len = size;
    if (size >= SECTOR && read_hdr(io, 0, &h) == 0 &&
        h.magic == SPARSE_MAGIC) {
        if (h.desc_off == 0 || h.desc_size == 0) {
            /* a bare sparse extent: describe it as one */
            char buf[256];
            ovfk_io_close(io);
            snprintf(buf, sizeof(buf), "RW %llu SPARSE \"%s\"\n",
                     (unsigned long long)h.capacity, "?");
            *text = strdup(buf);
            return *text ? 1 : ovfk_err_set(&v->err, -ENOMEM,
                                            "out of memory");
        }
        off = h.desc_off * SECTOR;
        len = h.desc_size * SECTOR;
        inside = 2;
        if (h.desc_off > size / SECTOR || h.desc_size > size / SECTOR ||
            off + len > size) {
            ovfk_io_close(io);
            return ovfk_err_set(&v->err, OVFK_ECORRUPT, "'%s': the embedded "
                                "descriptor lies outside the file", path);
        }
    }
    if (len > MAX_DESCRIPTOR) {
        ovfk_io_close(io);
        return ovfk_err_set(&v->err, -EFBIG, "'%s': a descriptor of %llu "
                            "bytes is too large", path,
                            (unsigned long long)len);
    }
    *text = calloc(1, len + 1);
    r = *text ? ovfk_io_pread(io, *text, len, off) : -ENOMEM;
    ovfk_io_close(io);
    if (r < 0) {
        free(*text);
        *text = NULL;
        return ovfk_err_set(&v->err, r, "cannot read the descriptor of '%s'",
                            path);
    }
    return inside;
}

static int open_at_depth(const char *path, bool parent, ovfk_source **out);

/*
 * Descriptors being opened on this thread, this one included.  A
 * parameter would not do: a parent in another format (a qcow2 whose
 * backing file is this VMDK again) comes back through ovfk_open_source.
 */
static __thread int nesting;

static int vmdk_open_depth(const char *path, struct vmdk **out)
{
    struct vmdk *v = calloc(1, sizeof(*v));
    char dir[PATH_MAX], *text = NULL, base[PATH_MAX];
    struct desc d;
    int r;

    *out = NULL;
    if (!v) {
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    snprintf(dir, sizeof(dir), "%s", path);
    {
        char *part_ = dirname(dir);
        memmove(dir, part_, strlen(part_) + 1);  /* overlaps */
    }
    r = read_descriptor(v, path, &text);
    memset(&d, 0, sizeof(d));
    if (r >= 0) {
        bool inside = r > 0;
        r = parse_desc(&v->err, text, &d);
        if (r == 0 && inside && d.n == 1 && d.ext[0].type == EXT_SPARSE) {
            /* a descriptor inside a sparse extent (monolithicSparse,
             * streamOptimized) describes that file, whatever name it
             * had when it was written */
            snprintf(base, sizeof(base), "%s", path);
            free(d.ext[0].file);
            d.ext[0].file = strdup(basename(base));
        }
    }
    if (r == 0) {
        r = open_extents(v, dir, &d);
    }
    if (r == 0 && d.has_parent) {
        char ppath[PATH_MAX * 2];
        const char *hint = d.parent_hint;
        if (!hint || !hint[0] || hint[0] == '/' || strstr(hint, "..") ||
            strchr(hint, '\\')) {
            /* no name is corrupt; one elsewhere, we do not follow */
            r = ovfk_err_set(&v->err, hint && hint[0] ? OVFK_EUNSUPPORTED
                                                      : OVFK_ECORRUPT,
                             "'%s' is a snapshot delta "
                             "whose parent ('%s') is not a file beside it",
                             path, hint ? hint : "");
        } else if (nesting > MAX_DEPTH) {
            r = ovfk_err_set(&v->err, -ELOOP, "'%s': more than %d parents "
                             "(a loop?)", path, MAX_DEPTH);
        } else {
            snprintf(ppath, sizeof(ppath), "%s/%s", dir, hint);
            r = open_at_depth(ppath, true, &v->parent);
            if (r == -ELOOP) {
                /* one line, not one "the parent of" per level */
                ovfk_err_set(&v->err, r, "'%s': more than %d parents (a "
                             "loop?)", path, MAX_DEPTH);
            } else if (r < 0) {
                ovfk_err_set(&v->err, r, "the parent of '%s': %s", path,
                             ovfk_last_error());
            } else if (v->parent->size < v->size) {
                r = ovfk_err_set(&v->err, OVFK_ECORRUPT, "the parent '%s' is "
                                 "smaller than '%s'", ppath, path);
            }
        }
    }
    free(text);
    desc_free(&d);
    if (r < 0) {
        ovfk_err_last(r, "%s", v->err.msg);
        vmdk_close(v);
        return r;
    }
    *out = v;
    return 0;
}

/* --- reading ------------------------------------------------------------- */

/* The grain table entry of grain g of sparse extent e. */
static int gte(struct vmdk *v, struct extent *e, uint64_t g, uint32_t *out)
{
    uint64_t t = g / e->gtes;
    uint8_t *raw;
    int r;

    if (t >= e->n_gts) {
        return ovfk_err_set(&v->err, -EIO, "grain %llu beyond the directory",
                            (unsigned long long)g);
    }
    if (e->gd[t] == 0) {
        *out = 0;       /* no table: no grain allocated */
        return 0;
    }
    if (!e->gt[t]) {
        uint64_t off = (uint64_t)e->gd[t] * SECTOR;
        if (off + (uint64_t)e->gtes * 4 > e->file_size) {
            return ovfk_err_set(&v->err, OVFK_ECORRUPT, "'%s': grain table "
                                "%llu lies outside the file", e->path,
                                (unsigned long long)t);
        }
        raw = malloc((size_t)e->gtes * 4);
        e->gt[t] = calloc(e->gtes, sizeof(uint32_t));
        if (!raw || !e->gt[t]) {
            free(raw);
            return ovfk_err_set(&v->err, -ENOMEM, "out of memory");
        }
        r = ovfk_io_pread(e->io, raw, (size_t)e->gtes * 4, off);
        for (uint32_t i = 0; r == 0 && i < e->gtes; i++) {
            e->gt[t][i] = get_le32(raw + 4 * i);
        }
        free(raw);
        if (r < 0) {
            free(e->gt[t]);
            e->gt[t] = NULL;
            return ovfk_err_set(&v->err, r, "cannot read '%s'", e->path);
        }
    }
    *out = e->gt[t][g % e->gtes];
    return 0;
}

/* Inflate grain g (its entry is sector) into v->grain. */
static int inflate_grain(struct vmdk *v, struct extent *e, uint64_t g,
                         uint32_t sector)
{
    uint64_t off = (uint64_t)sector * SECTOR, avail;
    uLongf out_len = (uLongf)(e->grain * SECTOR);
    uint8_t hdr[12];
    uint32_t clen;
    int r, z;

    if (v->grain_ext == e && v->grain_no == g) {
        return 0;
    }
    if (off + sizeof(hdr) > e->file_size) {
        return ovfk_err_set(&v->err, OVFK_ECORRUPT, "'%s': grain %llu lies "
                            "outside the file", e->path, (unsigned long long)g);
    }
    r = ovfk_io_pread(e->io, hdr, sizeof(hdr), off);
    if (r < 0) {
        return ovfk_err_set(&v->err, r, "cannot read '%s'", e->path);
    }
    clen = get_le32(hdr + 8);
    avail = e->file_size - off - sizeof(hdr);
    if (clen != 0 && clen <= v->zin_len && clen > avail) {
        /* a length that fits a grain, cut by the end of the file */
        return ovfk_err_set(&v->err, OVFK_ECORRUPT, "'%s': compressed grain "
                            "%llu (%u bytes at %llu) runs past the end of the "
                            "file (a truncated stream?)", e->path,
                            (unsigned long long)g, clen,
                            (unsigned long long)off);
    }
    if (clen == 0 || clen > v->zin_len) {
        return ovfk_err_set(&v->err, OVFK_ECORRUPT, "'%s': compressed grain "
                            "%llu has a bad length (%u)", e->path,
                            (unsigned long long)g, clen);
    }
    r = ovfk_io_pread(e->io, v->zin, clen, off + sizeof(hdr));
    if (r < 0) {
        return ovfk_err_set(&v->err, r, "cannot read '%s'", e->path);
    }
    z = uncompress(v->grain, &out_len, v->zin, clen);
    if (z != Z_OK && z != Z_BUF_ERROR) {
        v->grain_ext = NULL;
        return ovfk_err_set(&v->err, OVFK_ECORRUPT, "'%s': grain %llu does not "
                            "inflate (zlib error %d)", e->path,
                            (unsigned long long)g, z);
    }
    if (z == Z_BUF_ERROR && out_len == e->grain * SECTOR) {
        v->grain_ext = NULL;
        return ovfk_err_set(&v->err, OVFK_ECORRUPT, "'%s': grain %llu inflates "
                            "to more than a grain", e->path,
                            (unsigned long long)g);
    }
    memset(v->grain + out_len, 0, e->grain * SECTOR - out_len);
    v->grain_ext = e;
    v->grain_no = g;
    return 0;
}

/* Where the data of [off, off+len) comes from, within one grain. */
static int read_sparse(struct vmdk *v, struct extent *e, uint8_t *buf,
                       size_t len, uint64_t off, uint64_t logical)
{
    uint64_t gbytes = e->grain * SECTOR;

    while (len) {
        uint64_t g = off / gbytes, in = off % gbytes;
        size_t n = (size_t)(gbytes - in < len ? gbytes - in : len);
        uint32_t s;
        int r = gte(v, e, g, &s);
        if (r < 0) {
            return r;
        }
        if (s == 0 && v->parent) {
            r = v->parent->ops->pread(v->parent->opaque, buf, n, logical);
            if (r < 0) {
                return ovfk_err_set(&v->err, r, "%s",
                                    v->parent->ops->error(v->parent->opaque));
            }
        } else if (s == 0 || (s == 1 && (e->flags & FLAG_ZERO_GTE))) {
            memset(buf, 0, n);
        } else if (e->compressed) {
            r = inflate_grain(v, e, g, s);
            if (r < 0) {
                return r;
            }
            memcpy(buf, v->grain + in, n);
        } else {
            uint64_t at = (uint64_t)s * SECTOR + in;
            if (at + n > e->file_size) {
                return ovfk_err_set(&v->err, OVFK_ECORRUPT, "'%s': grain %llu "
                                    "lies outside the file", e->path,
                                    (unsigned long long)g);
            }
            r = ovfk_io_pread(e->io, buf, n, at);
            if (r < 0) {
                return ovfk_err_set(&v->err, r, "cannot read '%s'", e->path);
            }
        }
        buf += n;
        off += n;
        logical += n;
        len -= n;
    }
    return 0;
}

static struct extent *find_extent(struct vmdk *v, uint64_t sector)
{
    size_t lo = 0, hi = v->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        struct extent *e = &v->ext[mid];
        if (sector < e->start) {
            hi = mid;
        } else if (sector >= e->start + e->sectors) {
            lo = mid + 1;
        } else {
            return e;
        }
    }
    return NULL;
}

static int vmdk_pread(void *opaque, void *vbuf, size_t len, uint64_t off)
{
    struct vmdk *v = opaque;
    uint8_t *buf = vbuf;

    while (len) {
        struct extent *e = find_extent(v, off / SECTOR);
        uint64_t in, end;
        size_t n;
        int r = 0;
        if (!e) {
            return ovfk_err_set(&v->err, -EIO, "offset %llu is beyond the "
                                "disk", (unsigned long long)off);
        }
        in = off - e->start * SECTOR;
        end = e->sectors * SECTOR;
        n = (size_t)(end - in < len ? end - in : len);
        if (e->type == EXT_ZERO) {
            memset(buf, 0, n);
        } else if (e->type == EXT_FLAT) {
            r = ovfk_io_pread(e->io, buf, n, e->flat_offset * SECTOR + in);
            if (r < 0) {
                ovfk_err_set(&v->err, r, "cannot read '%s'", e->path);
            }
        } else {
            r = read_sparse(v, e, buf, n, in, off);
        }
        if (r < 0) {
            return r;
        }
        buf += n;
        off += n;
        len -= n;
    }
    return 0;
}

static int vmdk_status(void *opaque, uint64_t off, uint64_t len,
                       uint64_t *pnum)
{
    struct vmdk *v = opaque;
    struct extent *e = find_extent(v, off / SECTOR);
    uint64_t in, gbytes, left;
    uint32_t s;
    int r;

    *pnum = len;
    if (!e) {
        return 1;
    }
    in = off - e->start * SECTOR;
    left = e->sectors * SECTOR - in;
    *pnum = left < len ? left : len;
    if (e->type == EXT_ZERO && !v->parent) {
        return 0;
    }
    if (e->type != EXT_SPARSE) {
        return 1;
    }
    gbytes = e->grain * SECTOR;
    if (*pnum > gbytes - in % gbytes) {
        *pnum = gbytes - in % gbytes;
    }
    r = gte(v, e, in / gbytes, &s);
    if (r < 0) {
        return r;
    }
    if (s == 0 && v->parent) {
        return 1;   /* the parent's data shows through: read it */
    }
    return s == 0 || (s == 1 && (e->flags & FLAG_ZERO_GTE)) ? 0 : 1;
}

static const char *vmdk_error(void *opaque)
{
    return ((struct vmdk *)opaque)->err.msg;
}

static const struct ovfk_source_ops vmdk_ops = {
    .pread = vmdk_pread,
    .status = vmdk_status,
    .error = vmdk_error,
    .close = vmdk_close,
};

/*
 * Open path as a VMDK or, for a parent (rare), in whatever format it is.
 * Only a parent is handed on: a file opened as the driver (by format, or
 * because its name claims VMDK) is ours to read or to refuse with the
 * reason; ovfk_open_source would hand it back to us, without end.
 */
static int open_at_depth(const char *path, bool parent, ovfk_source **out)
{
    ovfk_source *s;
    struct vmdk *v;
    int r;

    *out = NULL;
    if (parent && vmdk_probe(path) == 0) {
        return ovfk_open_source(path, NULL, out);
    }
    nesting++;
    r = vmdk_open_depth(path, &v);
    nesting--;
    if (r < 0) {
        return r;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        vmdk_close(v);
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    s->opaque = v;
    s->size = v->size;
    s->format = "vmdk";
    s->ops = &vmdk_ops;
    *out = s;
    return 0;
}

static int vmdk_open(const char *path, ovfk_source **out)
{
    return open_at_depth(path, false, out);
}

const struct input_driver input_vmdk = {
    .name = "vmdk",
    .probe = vmdk_probe,
    .open = vmdk_open,
};

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert/qcow2.c - QEMU's qcow2 (versions 2 and 3) as an input: the
 * active L1/L2 tables (internal snapshots are not exported, as qemu-img
 * convert does), compressed clusters (deflate or zstd, through zlib and
 * libzstd), zero clusters, backing files (read where a cluster is not
 * allocated) and external data files.
 *
 * Our own reader: Debian's libqcow (20201213) knows neither zstd nor
 * external data files.  Every field is bounded before use (QEMU's limits:
 * cluster size 512 B..2 MiB, an L1 table of at most 32 MiB, a backing
 * file name under 1 KiB); encrypted images and extended L2 entries are
 * refused with a message; a backing "file" that is a protocol or a JSON
 * specification (json:{...}) is refused rather than followed.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "image/input.h"
#include "ovfkit/image.h"
#include "util/bytes.h"
#include "util/err.h"
#include "util/io.h"

#define QCOW_MAGIC 0x514649fbu      /* "QFI\xfb" */
#define MAX_L1_BYTES (32u << 20)
#define MAX_BACKING_NAME 1023u
#define MAX_DEPTH 32
#define L2_CACHE 16
#define OFFSET_MASK UINT64_C(0x00fffffffffffe00)
#define L2_COMPRESSED (UINT64_C(1) << 62)
#define L2_ZERO UINT64_C(1)

#define INCOMPAT_DATA_FILE (UINT64_C(1) << 2)
#define INCOMPAT_COMPRESSION (UINT64_C(1) << 3)
#define INCOMPAT_EXTL2 (UINT64_C(1) << 4)
#define INCOMPAT_KNOWN (UINT64_C(0x1f))

#define EXT_END 0
#define EXT_BACKING_FORMAT 0xe2792acau
#define EXT_DATA_FILE 0x44415441u

struct l2slot {
    uint64_t offset;            /* of the table in the file; 0: empty */
    uint64_t *entries;
};

struct qcow2 {
    ovfk_io *io;                /* the image */
    ovfk_io *data;              /* where cluster data is (io or the file) */
    char path[PATH_MAX];
    uint64_t file_size, data_size;
    uint32_t cluster_bits;
    uint64_t cluster;           /* bytes */
    uint64_t l2_entries;
    uint64_t *l1;
    uint64_t l1_off;            /* where the L1 table is in the file */
    uint32_t l1_size;
    bool zstd;
    ovfk_source *backing;
    struct l2slot l2[L2_CACHE];
    unsigned next_slot;
    uint8_t *zin, *grain;       /* one compressed cluster, inflated */
    uint64_t grain_host;        /* which one is in grain (0: none) */
    ovfk_err err;
};

static int qcow2_probe(const char *path)
{
    uint8_t b[8];

    if (ovfk_read_head(path, b, sizeof(b)) == 0 && get_be32(b) == QCOW_MAGIC) {
        return 100;
    }
    return 0;
}

static void qcow2_close(void *opaque)
{
    struct qcow2 *q = opaque;

    for (int i = 0; i < L2_CACHE; i++) {
        free(q->l2[i].entries);
    }
    if (q->data != q->io) {
        ovfk_io_close(q->data);
    }
    ovfk_io_close(q->io);
    ovfk_source_free(q->backing);
    free(q->l1);
    free(q->zin);
    free(q->grain);
    free(q);
}

static const char *qcow2_error(void *opaque)
{
    return ((struct qcow2 *)opaque)->err.msg;
}

/* A file named by the image (backing or data file): beside it unless
 * absolute; protocols and JSON specifications are refused. */
static int name_to_path(struct qcow2 *q, const char *what, const char *name,
                        char *out, size_t len)
{
    char dir[PATH_MAX];
    const char *colon = strchr(name, ':'), *slash = strchr(name, '/');

    if (!name[0] || (colon && (!slash || colon < slash))) {
        return ovfk_err_set(&q->err, OVFK_EUNSUPPORTED, "'%s': the %s '%s' is "
                            "not a file (protocols and json: are not "
                            "followed)", q->path, what, name);
    }
    if (name[0] == '/') {
        snprintf(out, len, "%s", name);
    } else {
        snprintf(dir, sizeof(dir), "%s", q->path);
        snprintf(out, len, "%s/%s", dirname(dir), name);
    }
    return 0;
}

/* The L2 table at offset, through the cache. */
static int l2_table(struct qcow2 *q, uint64_t offset, uint64_t **out)
{
    struct l2slot *s;
    uint8_t *raw;
    int r;

    for (int i = 0; i < L2_CACHE; i++) {
        if (q->l2[i].offset == offset) {
            *out = q->l2[i].entries;
            return 0;
        }
    }
    if (offset & (q->cluster - 1) || offset + q->cluster > q->file_size) {
        return ovfk_err_set(&q->err, OVFK_ECORRUPT, "'%s': an L2 table at %llu "
                            "lies outside the file or off a cluster",
                            q->path, (unsigned long long)offset);
    }
    /* read as entries, the header or the L1 table points wherever its
     * bytes say: no writer puts an L2 table there (qemu's overlap rules) */
    if (offset < q->cluster ||
        (offset < q->l1_off + (uint64_t)q->l1_size * 8 &&
         q->l1_off < offset + q->cluster)) {
        return ovfk_err_set(&q->err, OVFK_ECORRUPT, "'%s': an L2 table at %llu "
                            "overlaps the header or the L1 table", q->path,
                            (unsigned long long)offset);
    }
    s = &q->l2[q->next_slot++ % L2_CACHE];
    if (!s->entries) {
        s->entries = malloc(q->cluster);
        if (!s->entries) {
            return ovfk_err_set(&q->err, -ENOMEM, "out of memory");
        }
    }
    s->offset = 0;
    raw = (uint8_t *)s->entries;
    r = ovfk_io_pread(q->io, raw, q->cluster, offset);
    if (r < 0) {
        return ovfk_err_set(&q->err, r, "cannot read '%s': %s", q->path,
                            ovfk_errtext(r));
    }
    for (uint64_t i = 0; i < q->l2_entries; i++) {
        s->entries[i] = get_be64(raw + 8 * i);
    }
    s->offset = offset;
    *out = s->entries;
    return 0;
}

/* The L2 entry of guest offset off (0 when no L2 table). */
static int l2_entry(struct qcow2 *q, uint64_t off, uint64_t *entry)
{
    uint64_t idx = off >> q->cluster_bits, l1i = idx / q->l2_entries;
    uint64_t *t = NULL, l2off;
    int r;

    *entry = 0;
    if (l1i >= q->l1_size) {
        return 0;
    }
    l2off = q->l1[l1i] & OFFSET_MASK;
    if (!l2off) {
        return 0;
    }
    r = l2_table(q, l2off, &t);
    if (r == 0) {
        *entry = t[idx % q->l2_entries];
    }
    return r;
}

static int inflate_cluster(struct qcow2 *q, uint64_t entry)
{
    uint32_t x = 62 - (q->cluster_bits - 8);
    uint64_t host = entry & ((UINT64_C(1) << x) - 1);
    uint64_t sectors = ((entry & ~L2_COMPRESSED & ~(UINT64_C(1) << 63)) >> x)
                       + 1;
    uint64_t clen = sectors * 512 - (host & 511);
    int r;

    if (q->grain_host == host + 1) {
        return 0;
    }
    if (host >= q->file_size) {
        return ovfk_err_set(&q->err, OVFK_ECORRUPT, "'%s': a compressed "
                            "cluster at %llu lies outside the file", q->path,
                            (unsigned long long)host);
    }
    if (clen > 2 * q->cluster) {
        return ovfk_err_set(&q->err, OVFK_ECORRUPT, "'%s': a compressed "
                            "cluster of %llu bytes is larger than possible",
                            q->path, (unsigned long long)clen);
    }
    if (host + clen > q->file_size) {
        clen = q->file_size - host;     /* the last one may end early */
    }
    r = ovfk_io_pread(q->io, q->zin, clen, host);
    if (r < 0) {
        return ovfk_err_set(&q->err, r, "cannot read '%s'", q->path);
    }
    q->grain_host = 0;
    if (q->zstd) {
        ZSTD_DCtx *z = ZSTD_createDCtx();
        ZSTD_inBuffer in = { q->zin, clen, 0 };
        ZSTD_outBuffer out = { q->grain, q->cluster, 0 };
        size_t ret = 1;
        while (z && out.pos < out.size && in.pos < in.size && ret != 0) {
            ret = ZSTD_decompressStream(z, &out, &in);
            if (ZSTD_isError(ret)) {
                break;
            }
        }
        ZSTD_freeDCtx(z);
        if (!z || ZSTD_isError(ret) || out.pos != q->cluster) {
            return ovfk_err_set(&q->err, OVFK_ECORRUPT, "'%s': a zstd cluster "
                                "at %llu does not decompress", q->path,
                                (unsigned long long)host);
        }
    } else {
        z_stream s;
        int zr;
        memset(&s, 0, sizeof(s));
        if (inflateInit2(&s, -12) != Z_OK) {
            return ovfk_err_set(&q->err, -ENOMEM, "out of memory");
        }
        s.next_in = q->zin;
        s.avail_in = (uInt)clen;
        s.next_out = q->grain;
        s.avail_out = (uInt)q->cluster;
        zr = inflate(&s, Z_FINISH);
        inflateEnd(&s);
        /* qemu accepts a stream that fills the cluster, ended or not */
        if ((zr != Z_STREAM_END && zr != Z_BUF_ERROR && zr != Z_OK) ||
            s.avail_out != 0) {
            return ovfk_err_set(&q->err, OVFK_ECORRUPT, "'%s': a deflated "
                                "cluster at %llu does not inflate", q->path,
                                (unsigned long long)host);
        }
    }
    q->grain_host = host + 1;
    return 0;
}

/* With an external data file, offset 0 is a cluster like any other: an
 * entry marked copied (bit 63) is allocated there (qemu's rule). */
static bool in_data_file(const struct qcow2 *q, uint64_t entry)
{
    return q->data != q->io && (entry & (UINT64_C(1) << 63));
}

static int qcow2_pread(void *opaque, void *vbuf, size_t len, uint64_t off)
{
    struct qcow2 *q = opaque;
    uint8_t *buf = vbuf;

    while (len) {
        uint64_t in = off & (q->cluster - 1), entry, host;
        size_t n = (size_t)(q->cluster - in < len ? q->cluster - in : len);
        int r = l2_entry(q, off, &entry);
        if (r < 0) {
            return r;
        }
        host = entry & OFFSET_MASK;
        if (entry & L2_COMPRESSED) {
            r = inflate_cluster(q, entry);
            if (r == 0) {
                memcpy(buf, q->grain + in, n);
            }
        } else if (entry & L2_ZERO) {
            memset(buf, 0, n);
        } else if (!host && !in_data_file(q, entry)) {
            if (q->backing && off < q->backing->size) {
                size_t bn = (size_t)(q->backing->size - off < n ?
                                     q->backing->size - off : n);
                r = q->backing->ops->pread(q->backing->opaque, buf, bn, off);
                if (r < 0) {
                    ovfk_err_set(&q->err, r, "%s",
                                 q->backing->ops->error(q->backing->opaque));
                }
                memset(buf + bn, 0, n - bn);
            } else {
                memset(buf, 0, n);
            }
        } else if (host & (q->cluster - 1)) {
            r = ovfk_err_set(&q->err, OVFK_ECORRUPT, "'%s': a data cluster at "
                             "%llu is not cluster-aligned", q->path,
                             (unsigned long long)host);
        } else {
            /* past the end of the file reads as zeros, as qemu reads it */
            uint64_t at = host + in;
            size_t have = at >= q->data_size ? 0 :
                          (size_t)(q->data_size - at < n ? q->data_size - at
                                                          : n);
            r = have ? ovfk_io_pread(q->data, buf, have, at) : 0;
            memset(buf + have, 0, n - have);
            if (r < 0) {
                ovfk_err_set(&q->err, r, "cannot read '%s'", q->path);
            }
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

static int qcow2_status(void *opaque, uint64_t off, uint64_t len,
                        uint64_t *pnum)
{
    struct qcow2 *q = opaque;
    uint64_t in = off & (q->cluster - 1), entry;
    int r = l2_entry(q, off, &entry);

    *pnum = q->cluster - in < len ? q->cluster - in : len;
    if (r < 0) {
        return r;
    }
    if (entry & L2_COMPRESSED) {
        return 1;
    }
    if (entry & L2_ZERO) {
        return 0;
    }
    if (!(entry & OFFSET_MASK) && !in_data_file(q, entry)) {
        if (q->backing && off < q->backing->size) {
            return 1;   /* the backing file's data shows through */
        }
        return 0;
    }
    return 1;
}

/* Header extensions: the backing file's format, the data file's name. */
static int read_extensions(struct qcow2 *q, uint64_t at, uint64_t end,
                           char *bfmt, size_t bflen, char *dfile,
                           size_t dflen)
{
    uint8_t h[8];

    while (at + 8 <= end) {
        uint32_t type, len;
        int r = ovfk_io_pread(q->io, h, 8, at);
        if (r < 0) {
            return ovfk_err_set(&q->err, r, "cannot read '%s'", q->path);
        }
        type = get_be32(h);
        len = get_be32(h + 4);
        if (type == EXT_END) {
            return 0;
        }
        if (len > end - at - 8) {
            return ovfk_err_set(&q->err, OVFK_ECORRUPT, "'%s': a header "
                                "extension runs past the first cluster",
                                q->path);
        }
        if (type == EXT_BACKING_FORMAT || type == EXT_DATA_FILE) {
            char *dst = type == EXT_BACKING_FORMAT ? bfmt : dfile;
            size_t cap = type == EXT_BACKING_FORMAT ? bflen : dflen;
            if (len >= cap) {
                return ovfk_err_set(&q->err, OVFK_ECORRUPT, "'%s': a file name "
                                    "of %u bytes in the header", q->path, len);
            }
            r = ovfk_io_pread(q->io, dst, len, at + 8);
            if (r < 0) {
                return ovfk_err_set(&q->err, r, "cannot read '%s'", q->path);
            }
            dst[len] = '\0';
        }
        at += 8 + align_up_u64(len, 8);
    }
    return 0;
}

static int open_depth(const char *path, ovfk_source **out);

/*
 * Images being opened on this thread, this one included.  A parameter
 * would not do: a backing file in another format (a VMDK whose parent is
 * this image again) comes back through ovfk_open_source, from depth 0.
 */
static __thread int nesting;

/* The fixed part of the header, as read. */
struct header {
    uint32_t version, hdr_len, bsize;
    uint64_t boff, size, l1_off, incompat;
};

/* Magic, version, encryption, version 3's features; cluster size. */
static int read_header(struct qcow2 *q, struct header *hd)
{
    uint8_t h[112] = { 0 };
    int r = ovfk_io_pread(q->io, h, q->file_size < 112 ? 72 : 112, 0);

    if (r < 0 || q->file_size < 72) {
        return ovfk_err_set(&q->err, r < 0 ? r : OVFK_ECORRUPT, "'%s' is too "
                            "short for a qcow2 header", q->path);
    }
    if (get_be32(h) != QCOW_MAGIC) {
        /* also when asked for by name: never guess at a header */
        return ovfk_err_set(&q->err, OVFK_ECORRUPT, "'%s' is not a qcow2 image "
                            "(no QFI\\xfb magic)", q->path);
    }
    hd->version = get_be32(h + 4);
    if (hd->version < 2 || hd->version > 3) {
        return ovfk_err_set(&q->err, OVFK_EUNSUPPORTED, "'%s': qcow version %u "
                            "is not supported (2 and 3 are)", q->path,
                            hd->version);
    }
    hd->boff = get_be64(h + 8);
    hd->bsize = get_be32(h + 16);
    q->cluster_bits = get_be32(h + 20);
    hd->size = get_be64(h + 24);
    if (get_be32(h + 32) != 0) {
        return ovfk_err_set(&q->err, OVFK_EUNSUPPORTED, "'%s' is encrypted; "
                            "decrypt it with qemu-img first", q->path);
    }
    q->l1_size = get_be32(h + 36);
    hd->l1_off = get_be64(h + 40);
    hd->incompat = 0;
    hd->hdr_len = 72;
    if (hd->version == 3) {
        /* the autoclear bits (h + 88) only say what a writer may drop */
        hd->incompat = get_be64(h + 72);
        hd->hdr_len = get_be32(h + 100);
        if (hd->hdr_len < 104 || hd->hdr_len > 4096) {
            return ovfk_err_set(&q->err, OVFK_ECORRUPT, "'%s': header length "
                                "%u", q->path, hd->hdr_len);
        }
        if (hd->incompat & ~INCOMPAT_KNOWN) {
            return ovfk_err_set(&q->err, OVFK_EUNSUPPORTED, "'%s' uses "
                                "features we do not know (0x%llx)", q->path,
                                (unsigned long long)hd->incompat);
        }
        if (hd->incompat & INCOMPAT_EXTL2) {
            return ovfk_err_set(&q->err, OVFK_EUNSUPPORTED, "'%s' has extended "
                                "L2 entries (subclusters), which are not "
                                "supported", q->path);
        }
        if (hd->incompat & INCOMPAT_COMPRESSION) {
            if (hd->hdr_len < 105 || h[104] > 1) {
                return ovfk_err_set(&q->err, OVFK_EUNSUPPORTED, "'%s': unknown "
                                    "compression type", q->path);
            }
            q->zstd = h[104] == 1;
        }
    }
    if (q->cluster_bits < 9 || q->cluster_bits > 21) {
        return ovfk_err_set(&q->err, OVFK_ECORRUPT, "'%s': cluster bits %u out "
                            "of range (9..21)", q->path, q->cluster_bits);
    }
    q->cluster = UINT64_C(1) << q->cluster_bits;
    q->l2_entries = q->cluster / 8;
    if (hd->size > (UINT64_C(1) << 55)) {
        return ovfk_err_set(&q->err, OVFK_ECORRUPT, "'%s': a virtual size of "
                            "%llu bytes is out of range", q->path,
                            (unsigned long long)hd->size);
    }
    return 0;
}

/* The L1 table: large enough for the size, inside the file, read. */
static int read_l1(struct qcow2 *q, uint64_t size, uint64_t l1_off)
{
    uint64_t need = (size + (q->cluster * q->l2_entries) - 1) /
                    (q->cluster * q->l2_entries);
    int r = 0;

    if (q->l1_size < need || (uint64_t)q->l1_size * 8 > MAX_L1_BYTES ||
        l1_off & (q->cluster - 1) ||
        l1_off + (uint64_t)q->l1_size * 8 > q->file_size) {
        return ovfk_err_set(&q->err, OVFK_ECORRUPT, "'%s': the L1 table (%u "
                            "entries at %llu) is too small, too large or "
                            "outside the file", q->path, q->l1_size,
                            (unsigned long long)l1_off);
    }
    if (q->l1_size && l1_off < q->cluster) {
        return ovfk_err_set(&q->err, OVFK_ECORRUPT, "'%s': the L1 table "
                            "overlaps the header (at %llu)", q->path,
                            (unsigned long long)l1_off);
    }
    q->l1_off = l1_off;
    q->l1 = calloc(q->l1_size + 1, 8);
    if (!q->l1) {
        return ovfk_err_set(&q->err, -ENOMEM, "out of memory");
    }
    if (q->l1_size) {
        uint8_t *raw = malloc((size_t)q->l1_size * 8);
        r = raw ? ovfk_io_pread(q->io, raw, (size_t)q->l1_size * 8, l1_off)
                : -ENOMEM;
        for (uint32_t i = 0; r == 0 && i < q->l1_size; i++) {
            q->l1[i] = get_be64(raw + 8 * i);
        }
        free(raw);
        if (r < 0) {
            return ovfk_err_set(&q->err, r, "cannot read the L1 table of "
                                "'%s'", q->path);
        }
    }
    return 0;
}

/* An external data file (version 3): where the clusters are. */
static int open_data_file(struct qcow2 *q, const char *dfile)
{
    char dpath[PATH_MAX + 1024];
    int r;

    if (!dfile[0]) {
        return ovfk_err_set(&q->err, OVFK_ECORRUPT, "'%s' keeps its data "
                            "in another file but does not name it", q->path);
    }
    r = name_to_path(q, "data file", dfile, dpath, sizeof(dpath));
    if (r == 0) {
        r = ovfk_io_open_file(dpath, OVFK_IO_RDONLY, &q->data);
    }
    if (r == 0) {
        r = ovfk_io_size(q->data, &q->data_size);
    }
    if (r < 0) {
        q->data = q->io;
        return ovfk_err_set(&q->err, r, "'%s': cannot open its data file "
                            "'%s': %s", q->path, dfile, q->err.msg[0] ?
                            q->err.msg : ovfk_errtext(r));
    }
    return 0;
}

/* The backing file, in the format the header names or else probed. */
static int open_backing(struct qcow2 *q, const struct header *hd,
                        const char *bfmt)
{
    char bname[MAX_BACKING_NAME + 1] = "";
    char bpath[PATH_MAX + 1024];
    int r;

    if (hd->bsize == 0 || hd->bsize > MAX_BACKING_NAME ||
        hd->boff > q->file_size || hd->boff + hd->bsize > q->file_size) {
        return ovfk_err_set(&q->err, OVFK_ECORRUPT, "'%s': the backing "
                            "file name (%u bytes at %llu) is out of range",
                            q->path, hd->bsize, (unsigned long long)hd->boff);
    }
    r = ovfk_io_pread(q->io, bname, hd->bsize, hd->boff);
    if (r < 0) {
        return ovfk_err_set(&q->err, r, "cannot read '%s'", q->path);
    }
    bname[hd->bsize] = '\0';
    if (nesting > MAX_DEPTH) {
        return ovfk_err_set(&q->err, -ELOOP, "'%s': more than %d backing "
                            "files", q->path, MAX_DEPTH);
    }
    r = name_to_path(q, "backing file", bname, bpath, sizeof(bpath));
    if (r < 0) {
        return r;
    }
    if (!strcmp(bfmt, "raw")) {
        r = ovfk_open_source(bpath, "raw", &q->backing);
    } else if (qcow2_probe(bpath) > 0) {
        r = open_depth(bpath, &q->backing);
    } else {
        r = ovfk_open_source(bpath, bfmt[0] ? bfmt : NULL, &q->backing);
    }
    if (r == -ELOOP) {
        /* one line, not one "its backing file:" per level */
        return ovfk_err_set(&q->err, r, "'%s': more than %d backing "
                            "files (a loop?)", q->path, MAX_DEPTH);
    }
    if (r < 0) {
        return ovfk_err_set(&q->err, r, "'%s': its backing file: %s",
                            q->path, ovfk_last_error());
    }
    return 0;
}

static int parse_header(struct qcow2 *q)
{
    struct header hd = { 0 };
    char bfmt[64] = "", dfile[1024] = "";
    uint64_t ext_end;
    int r = read_header(q, &hd);

    if (r == 0) {
        r = read_l1(q, hd.size, hd.l1_off);
    }
    if (r < 0) {
        return r;
    }
    /* extensions end where the backing file's name starts, or with the
     * first cluster */
    ext_end = hd.boff ? (hd.boff < q->cluster ? hd.boff : q->cluster)
                      : (q->cluster < q->file_size ? q->cluster
                                                   : q->file_size);
    r = read_extensions(q, hd.hdr_len, ext_end, bfmt, sizeof(bfmt), dfile,
                        sizeof(dfile));
    if (r < 0) {
        return r;
    }
    q->data = q->io;
    q->data_size = q->file_size;
    if (hd.incompat & INCOMPAT_DATA_FILE) {
        r = open_data_file(q, dfile);
    }
    if (r == 0 && hd.boff) {
        r = open_backing(q, &hd, bfmt);
    }
    if (r < 0) {
        return r;
    }
    q->zin = malloc(2 * q->cluster);
    q->grain = malloc(q->cluster);
    if (!q->zin || !q->grain) {
        return ovfk_err_set(&q->err, -ENOMEM, "out of memory");
    }
    return 0;
}

static const struct ovfk_source_ops qcow2_ops = {
    .pread = qcow2_pread,
    .status = qcow2_status,
    .error = qcow2_error,
    .close = qcow2_close,
};

static int open_depth(const char *path, ovfk_source **out)
{
    ovfk_source *s = calloc(1, sizeof(*s));
    struct qcow2 *q = calloc(1, sizeof(*q));
    uint8_t h[112];
    int r;

    *out = NULL;
    if (!s || !q) {
        free(s);
        free(q);
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    snprintf(q->path, sizeof(q->path), "%s", path);
    r = ovfk_io_open_file(path, OVFK_IO_RDONLY, &q->io);
    if (r == 0) {
        r = ovfk_io_size(q->io, &q->file_size);
    }
    if (r < 0) {
        ovfk_err_set(&q->err, r, "cannot open '%s': %s", path,
                     ovfk_errtext(r));
    } else {
        nesting++;
        r = parse_header(q);
        nesting--;
    }
    if (r == 0) {
        r = ovfk_io_pread(q->io, h, 72, 0);
        s->size = get_be64(h + 24);
    }
    if (r < 0) {
        ovfk_err_last(r, "%s", q->err.msg);
        qcow2_close(q);
        free(s);
        return r;
    }
    s->opaque = q;
    s->format = "qcow2";
    s->ops = &qcow2_ops;
    *out = s;
    return 0;
}

static int qcow2_open(const char *path, ovfk_source **out)
{
    return open_depth(path, out);
}

const struct input_driver input_qcow2 = {
    .name = "qcow2",
    .probe = qcow2_probe,
    .open = qcow2_open,
};

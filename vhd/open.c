/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/open.c - open a VHD file, validate every structure against the file
 * size before trusting it, and open its parent chain.
 *
 * Spec sections: "Hard Disk Footer Format", "Dynamic Disk Header Format",
 * "Block Allocation Table", "Splitting Hard Disk Images" (parent locators).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/bytes.h"
#include "vhd/internal.h"

static int corrupt(ovfk_err *err, const char *path, const char *what)
{
    return ovfk_err_set(err, OVFK_ECORRUPT, "'%s' is not a valid VHD: %s",
                        path, what);
}

static int read_footer(ovfk_vhd *h, ovfk_err *err)
{
    uint8_t buf[VHD_FOOTER_SIZE];
    uint8_t copy[VHD_FOOTER_SIZE];
    int r;

    if (h->file_size < VHD_FOOTER_SIZE) {
        return corrupt(err, h->path, "file too small for a footer");
    }
    h->footer_off = h->file_size - VHD_FOOTER_SIZE;
    r = ovfk_io_pread(h->io, buf, sizeof(buf), h->footer_off);
    if (r < 0) {
        return ovfk_err_set(err, r, "cannot read '%s': %s", h->path,
                            ovfk_errtext(r));
    }
    if (vhd_footer_cookie_ok(buf) && vhd_footer_checksum_ok(buf)) {
        vhd_footer_decode(buf, &h->ft);
        return 0;
    }
    /* A dynamic disk keeps a copy of the footer at offset 0. */
    if (ovfk_io_pread(h->io, copy, sizeof(copy), 0) == 0 &&
        vhd_footer_cookie_ok(copy) && vhd_footer_checksum_ok(copy)) {
        return ovfk_err_set(err, OVFK_ECORRUPT, "'%s': the trailing VHD "
                            "footer is %s but the copy at offset 0 is "
                            "intact; run 'ovfkit vhd repair %s'", h->path,
                            vhd_footer_cookie_ok(buf) ? "damaged" : "missing",
                            h->path);
    }
    if (vhd_footer_cookie_ok(buf)) {
        return corrupt(err, h->path, "footer checksum mismatch");
    }
    return corrupt(err, h->path, "no 'conectix' footer");
}

static int check_fixed(ovfk_vhd *h, ovfk_err *err)
{
    if (h->ft.current_size > h->footer_off) {
        return corrupt(err, h->path, "fixed disk is shorter than its size "
                       "(truncated?)");
    }
    return 0;
}

static int check_header(ovfk_vhd *h, ovfk_err *err)
{
    uint8_t buf[VHD_DYNHDR_SIZE];
    uint64_t need, bat_end;
    uint32_t bs;
    int r;

    if (h->ft.data_offset < VHD_FOOTER_SIZE ||
        h->ft.data_offset > h->footer_off ||
        h->footer_off - h->ft.data_offset < VHD_DYNHDR_SIZE) {
        return corrupt(err, h->path, "header offset outside the file");
    }
    r = ovfk_io_pread(h->io, buf, sizeof(buf), h->ft.data_offset);
    if (r < 0) {
        return ovfk_err_set(err, r, "cannot read '%s': %s", h->path,
                            ovfk_errtext(r));
    }
    if (memcmp(buf, "cxsparse", 8) != 0) {
        return corrupt(err, h->path, "no 'cxsparse' dynamic header");
    }
    if (!vhd_dynhdr_checksum_ok(buf)) {
        return corrupt(err, h->path, "dynamic header checksum mismatch");
    }
    vhd_dynhdr_decode(buf, &h->dh);
    bs = h->dh.block_size;
    if (bs < VHD_MIN_BLOCK_SIZE || bs > VHD_MAX_BLOCK_SIZE ||
        !is_pow2_u64(bs)) {
        return ovfk_err_set(err, OVFK_ECORRUPT, "'%s' is not a valid VHD: "
                            "block size %u is not a power of two between "
                            "512 bytes and 256 MiB", h->path, bs);
    }
    /* Bound the BAT by the file before allocating it (by division). */
    if (h->dh.table_offset < VHD_FOOTER_SIZE ||
        h->dh.table_offset > h->footer_off ||
        h->dh.max_entries > (h->footer_off - h->dh.table_offset) / 4 ||
        h->dh.max_entries > VHD_MAX_BAT_ENTRIES) {
        return corrupt(err, h->path, "block allocation table does not fit "
                       "in the file (max table entries or table offset)");
    }
    bat_end = h->dh.table_offset + (uint64_t)h->dh.max_entries * 4;
    if (h->dh.table_offset < h->ft.data_offset + VHD_DYNHDR_SIZE &&
        bat_end > h->ft.data_offset) {
        return corrupt(err, h->path, "block allocation table overlaps the "
                       "dynamic header");
    }
    if (mul_overflow_u64(h->dh.max_entries, bs, &need) ||
        need < h->ft.current_size) {
        return corrupt(err, h->path, "max table entries do not cover the "
                       "disk size");
    }
    h->bitmap_size = (uint32_t)align_up_u64(bs / VHD_SECTOR / 8 ?
                                            bs / VHD_SECTOR / 8 : 1,
                                            VHD_SECTOR);
    return 0;
}

/* Every allocated block must lie after the metadata and before the footer. */
static int check_bat(ovfk_vhd *h, ovfk_err *err)
{
    uint64_t meta = h->dh.table_offset + (uint64_t)h->dh.max_entries * 4;
    uint64_t hdr_end = h->ft.data_offset + VHD_DYNHDR_SIZE;
    uint64_t span = (uint64_t)h->bitmap_size + h->dh.block_size;

    if (hdr_end > meta) {
        meta = hdr_end;
    }
    for (uint32_t i = 0; i < h->dh.max_entries; i++) {
        uint64_t off;
        if (h->bat[i] == VHD_BAT_FREE) {
            continue;
        }
        off = vhd_block_offset(h, i);
        if (off < meta) {
            return ovfk_err_set(err, OVFK_ECORRUPT, "'%s' is not a valid "
                                "VHD: BAT entry %u points into the header "
                                "or BAT (offset %llu)", h->path, i,
                                (unsigned long long)off);
        }
        if (off > h->footer_off || h->footer_off - off < span) {
            return ovfk_err_set(err, OVFK_ECORRUPT, "'%s' is not a valid "
                                "VHD: BAT entry %u points past the end of "
                                "the file (offset %llu)", h->path, i,
                                (unsigned long long)off);
        }
    }
    return 0;
}

/*
 * Validate and load what the footer in h->ft describes (header, BAT),
 * bounded by h->footer_off; then compute the logical size.
 */
int vhd_load_structure(ovfk_vhd *h, ovfk_err *err)
{
    int r;

    switch (h->ft.type) {
    case OVFK_VHD_TYPE_FIXED:
        r = check_fixed(h, err);
        break;
    case OVFK_VHD_TYPE_DYNAMIC:
    case OVFK_VHD_TYPE_DIFF:
        r = check_header(h, err);
        if (r == 0) {
            r = vhd_bat_load(h);
            if (r < 0) {
                ovfk_err_set(err, r, "%s", h->err.msg);
            }
        }
        if (r == 0) {
            r = check_bat(h, err);
        }
        if (r == 0 && !h->bm && !(h->bm = malloc(h->bitmap_size))) {
            r = ovfk_err_set(err, -ENOMEM, "out of memory");
        }
        break;
    default:
        r = ovfk_err_set(err, OVFK_EUNSUPPORTED, "'%s': unsupported VHD "
                         "disk type %u", h->path, h->ft.type);
        break;
    }
    if (r < 0) {
        return r;
    }
    h->size = vhd_footer_size(&h->ft, &h->size_from_chs);
    if (h->ft.type != OVFK_VHD_TYPE_FIXED &&
        h->size > (uint64_t)h->dh.max_entries * h->dh.block_size) {
        return corrupt(err, h->path, "disk size exceeds the blocks of the "
                       "BAT");
    }
    return 0;
}

/* Open one file of a chain, without its parent. */
int vhd_open_one(const char *path, int flags, ovfk_vhd **out, ovfk_err *err)
{
    ovfk_vhd *h = calloc(1, sizeof(*h));
    int r;

    *out = NULL;
    if (!h || !(h->path = strdup(path))) {
        free(h);
        return ovfk_err_set(err, -ENOMEM, "out of memory");
    }
    h->flags = flags;
    r = ovfk_io_open_file(path, (flags & OVFK_VHD_OPEN_RDWR) ? OVFK_IO_RDWR
                                                         : OVFK_IO_RDONLY,
                          &h->io);
    if (r < 0) {
        ovfk_err_set(err, r, "%s", ovfk_last_error());
        goto fail;
    }
    r = ovfk_io_size(h->io, &h->file_size);
    if (r < 0) {
        ovfk_err_set(err, r, "cannot stat '%s': %s", path, ovfk_errtext(r));
        goto fail;
    }
    r = read_footer(h, err);
    if (r == 0) {
        r = vhd_load_structure(h, err);
    }
    if (r < 0) {
        goto fail;
    }
    *out = h;
    return 0;
fail:
    vhd_free_one(h);
    return r;
}

void vhd_free_one(ovfk_vhd *h)
{
    if (!h) {
        return;
    }
    if (h->merging) {
        h->merging->parent = NULL;  /* h itself, not the merging C's */
        vhd_free_one(h->merging);
    }
    ovfk_io_close(h->io);
    free(h->bat);
    free(h->bm);
    free(h->path);
    free(h);
}

static bool try_candidate(const char *path, char *found, size_t len)
{
    struct stat st;

    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        snprintf(found, len, "%s", path);
        return true;
    }
    return false;
}

/* dir + "/" + rel, without the "./" that relative locators start with. */
static void join(char out[PATH_MAX], const char *dir, const char *rel)
{
    while (rel[0] == '.' && rel[1] == '/') {
        rel += 2;
    }
    if (!strcmp(dir, ".")) {
        snprintf(out, PATH_MAX, "%s", rel);
    } else {
        snprintf(out, PATH_MAX, "%s/%s", dir, rel);
    }
}

/*
 * Candidate paths for h's parent, in the order we try them: relative
 * locators (W2ru), absolute ones (W2ku), vhd-util's MacX URLs, then the
 * parent's file name in the child's directory.
 */
static int parent_candidates(ovfk_vhd *h, char cands[][PATH_MAX], int max)
{
    static const char *const order[] = { "W2ru", "W2ku", "MacX" };
    char dir[PATH_MAX], tmp[PATH_MAX], loc[PATH_MAX];
    int n = 0;

    snprintf(tmp, sizeof(tmp), "%s", h->path);
    snprintf(dir, sizeof(dir), "%s", dirname(tmp));
    for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
        for (int i = 0; i < OVFK_VHD_MAX_LOCATORS && n < max; i++) {
            if (memcmp(h->dh.loc[i].code, order[o], 4) != 0 ||
                vhd_locator_read(h, i, loc, sizeof(loc)) < 0 || !loc[0]) {
                continue;
            }
            if (loc[0] == '/') {
                snprintf(cands[n++], PATH_MAX, "%s", loc);
            } else if (o == 0) {
                join(cands[n++], dir, loc);
            }
        }
    }
    if (n < max && vhd_parent_name(&h->dh, loc, sizeof(loc)) == 0 && loc[0]) {
        for (char *p = loc; *p; p++) {
            if (*p == '\\') {
                *p = '/';
            }
        }
        snprintf(tmp, sizeof(tmp), "%s", loc);
        join(cands[n++], dir, basename(tmp));
    }
    return n;
}

static int open_parent(ovfk_vhd *h, ovfk_vhd **out, ovfk_err *err)
{
    char cands[OVFK_VHD_MAX_LOCATORS + 1][PATH_MAX];
    char found[PATH_MAX], want[37], got[37];
    int n = parent_candidates(h, cands, OVFK_VHD_MAX_LOCATORS + 1);
    int mismatch = -1;
    ovfk_vhd *p;

    ovfk_vhd_uuid_str(h->dh.parent_uuid, want);
    for (int i = 0; i < n; i++) {
        if (!try_candidate(cands[i], found, sizeof(found))) {
            continue;
        }
        if (vhd_open_one(found, h->flags & ~OVFK_VHD_OPEN_RDWR, &p, err) < 0) {
            return ovfk_err_prefix(err, "cannot open the parent of '%s'",
                                   h->path);
        }
        if (memcmp(p->ft.uuid, h->dh.parent_uuid, 16) == 0) {
            *out = p;
            return 0;
        }
        ovfk_vhd_uuid_str(p->ft.uuid, got);
        vhd_free_one(p);
        if (mismatch < 0) {
            mismatch = i;
            ovfk_err_set(err, OVFK_EMISMATCH, "parent '%s' of '%s' has UUID "
                         "%s, but the child expects %s", found, h->path,
                         got, want);
        }
    }
    if (mismatch >= 0) {
        return err->code;
    }
    return ovfk_err_set(err, -ENOENT, "parent of '%s' not found (UUID %s, "
                        "first place tried: '%s')", h->path, want,
                        n > 0 ? cands[0] : "no locator");
}

/* What find_merges carries through vhd_journal_each: file x of the chain
 * and the file opened above it (NULL for the top). */
struct merge_look {
    ovfk_vhd *x, *above;
    ovfk_err *err;
};

/*
 * A journal concerns x: when it says C's data is being copied into x and
 * x is not read through C, read x through C (merge.c NOTES 6).
 */
static int look_at_merge(struct journal *j, void *opaque)
{
    struct merge_look *m = opaque;
    char abs[PATH_MAX];
    ovfk_vhd *x = m->x, *c;
    int r;

    if (strcmp(j->state, "copying") || !realpath(x->path, abs) ||
        strcmp(j->parent, abs) ||
        (m->above && !memcmp(m->above->ft.uuid, j->child_uuid, 16))) {
        return 0;
    }
    if ((x->flags & OVFK_VHD_OPEN_RDWR) || x->merging) {
        /* read-write: the merge's own handle of P (a public read-write
         * open completed the merge first); a second C: a sibling of the
         * first, which the merge refuses */
        return 0;
    }
    r = vhd_open_one(j->child, OVFK_VHD_OPEN_NO_PARENT, &c, m->err);
    if (r < 0) {
        return ovfk_err_prefix(m->err, "cannot read '%s' through the merge "
                               "in flight (journal '%s')", x->path, j->path);
    }
    if (c->ft.type != OVFK_VHD_TYPE_DIFF ||
        memcmp(c->ft.uuid, j->child_uuid, 16) ||
        memcmp(c->dh.parent_uuid, x->ft.uuid, 16)) {
        vhd_free_one(c);
        return ovfk_err_set(m->err, OVFK_EMISMATCH, "'%s' is not the child "
                            "the merge journal '%s' names (UUID differs)",
                            j->child, j->path);
    }
    c->parent = x;
    c->depth = x->depth;
    x->merging = c;
    return 0;
}

/* Read each file of the chain top through the merge in flight into it,
 * if there is one (merge.c NOTES 6).  Nothing is written. */
static int find_merges(ovfk_vhd *top, ovfk_err *err)
{
    char abs[PATH_MAX], jp[PATH_MAX];

    for (ovfk_vhd *x = top, *above = NULL; x; above = x, x = x->parent) {
        struct merge_look m = { .x = x, .above = above, .err = err };
        int r;
        if (!realpath(x->path, abs)) {
            continue;       /* opened, so there; a journal names it by
                             * its resolved path */
        }
        r = vhd_journal_each(abs, true, look_at_merge, &m, jp, err);
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

int vhd_open_chain(const char *path, int flags, ovfk_vhd **out)
{
    struct { dev_t dev; ino_t ino; } seen[OVFK_VHD_MAX_CHAIN];
    ovfk_err err = { 0 };
    ovfk_vhd *top = NULL, *cur;
    struct stat st;
    int depth = 0;
    int r;

    *out = NULL;
    r = vhd_open_one(path, flags, &top, &err);
    if (r < 0) {
        return ovfk_err_publish(&err);
    }
    cur = top;
    while (cur->ft.type == OVFK_VHD_TYPE_DIFF &&
           !(flags & OVFK_VHD_OPEN_NO_PARENT)) {
        ovfk_vhd *parent;
        if (fstat(ovfk_io_fd(cur->io), &st) == 0) {
            for (int i = 0; i < depth; i++) {
                if (seen[i].dev == st.st_dev && seen[i].ino == st.st_ino) {
                    r = ovfk_err_set(&err, OVFK_ECORRUPT, "parent chain of "
                                     "'%s' loops back to '%s'", path,
                                     cur->path);
                    goto fail;
                }
            }
            seen[depth].dev = st.st_dev;
            seen[depth].ino = st.st_ino;
        }
        if (++depth >= OVFK_VHD_MAX_CHAIN) {
            r = ovfk_err_set(&err, OVFK_ECORRUPT, "parent chain of '%s' is "
                             "deeper than %d files", path, OVFK_VHD_MAX_CHAIN);
            goto fail;
        }
        r = open_parent(cur, &parent, &err);
        if (r < 0) {
            goto fail;
        }
        parent->depth = depth;
        cur->parent = parent;
        cur = parent;
    }
    r = find_merges(top, &err);
    if (r < 0) {
        goto fail;
    }
    *out = top;
    return 0;
fail:
    ovfk_vhd_close(top);
    return ovfk_err_publish(&err);
}

int ovfk_vhd_close(ovfk_vhd *h)
{
    while (h) {
        ovfk_vhd *p = h->parent;
        vhd_free_one(h);
        h = p;
    }
    return 0;
}

const char *ovfk_vhd_error(const ovfk_vhd *h)
{
    return h->err.msg;
}

uint64_t ovfk_vhd_size(const ovfk_vhd *h)
{
    return h->size;
}

enum ovfk_vhd_type ovfk_vhd_type(const ovfk_vhd *h)
{
    return (enum ovfk_vhd_type)h->ft.type;
}

const char *ovfk_vhd_path(const ovfk_vhd *h)
{
    return h->path;
}

ovfk_vhd *ovfk_vhd_parent(const ovfk_vhd *h)
{
    return h->parent;
}

int ovfk_vhd_flush(ovfk_vhd *h)
{
    int r = ovfk_io_sync(h->io);

    if (r < 0) {
        return ovfk_err_set(&h->err, r, "cannot sync '%s': %s", h->path,
                            ovfk_errtext(r));
    }
    return 0;
}

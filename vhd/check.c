/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/check.c - `ovfkit vhd check`: validate a VHD file without changing
 * it, and report every finding with its severity.
 *
 * Checked (VHD spec v1.0): footer cookie and checksum; the footer copy at
 * offset 0 of dynamic and differencing disks; the dynamic header cookie,
 * checksum, block size and table bounds; every BAT entry inside the file
 * and clear of the header, BAT, locator data and the other blocks; parent
 * locator bounds; differencing bitmaps; leaked space; the parent link
 * (UUID, loops, missing files); a merge left unfinished in the chain
 * (merge.c's journal), reported as a "merge" finding and left alone:
 * the chain reads correctly meanwhile, and `vhd repair` (or the next
 * write) completes it.  Exit codes follow qemu-img check; an unfinished
 * merge counts as leaks do (3: the data is intact, repair finishes it).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "vhd/internal.h"

struct ctx {
    ovfk_vhd_report_fn report;
    void *opaque;
    int errors;
    int leaks;
    int merges;
    uint64_t leaked_bytes;
    char seen[4][PATH_MAX];     /* journals reported (most chains: one) */
};

static void say(struct ctx *c, const char *sev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct ctx *c, const char *sev, const char *fmt, ...)
{
    char msg[OVFK_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (strcmp(sev, "error") == 0) {
        c->errors++;
    } else if (strcmp(sev, "leak") == 0) {
        c->leaks++;
    } else if (strcmp(sev, "merge") == 0) {
        c->merges++;
    }
    if (c->report) {
        c->report(c->opaque, sev, msg);
    }
}

struct range {
    uint64_t start, end;
    const char *what;
    uint32_t index;
};

static int cmp_range(const void *a, const void *b)
{
    const struct range *x = a, *y = b;

    return x->start < y->start ? -1 : x->start > y->start;
}

static void check_copy(struct ctx *c, ovfk_vhd *h)
{
    uint8_t trailing[VHD_FOOTER_SIZE], copy[VHD_FOOTER_SIZE];

    if (ovfk_io_pread(h->io, copy, sizeof(copy), 0) < 0 ||
        ovfk_io_pread(h->io, trailing, sizeof(trailing), h->footer_off) < 0) {
        say(c, "error", "cannot read the footers");
        return;
    }
    if (!vhd_footer_cookie_ok(copy) || !vhd_footer_checksum_ok(copy)) {
        say(c, "error", "footer copy at offset 0 is damaged");
    } else if (memcmp(copy, trailing, sizeof(copy)) != 0) {
        say(c, "error", "footer copy at offset 0 differs from the trailing "
            "footer");
    }
}

/* Collect every referenced range, sort, and report overlaps and gaps. */
static void check_layout(struct ctx *c, ovfk_vhd *h)
{
    uint32_t n = 0, cap = h->dh.max_entries + OVFK_VHD_MAX_LOCATORS + 3;
    struct range *rg = calloc(cap, sizeof(*rg));
    uint64_t span = (uint64_t)h->bitmap_size + h->dh.block_size;
    uint64_t pos;

    /* A gap smaller than a block is alignment padding (Hyper-V reserves
     * 4 KiB for the BAT and aligns block data, as we do); a crashed
     * allocation always leaves at least a whole block. */
    if (!rg) {
        say(c, "error", "out of memory");
        return;
    }
    rg[n++] = (struct range){ 0, VHD_FOOTER_SIZE, "footer copy", 0 };
    rg[n++] = (struct range){ h->ft.data_offset,
                              h->ft.data_offset + VHD_DYNHDR_SIZE,
                              "dynamic header", 0 };
    rg[n++] = (struct range){ h->dh.table_offset, h->dh.table_offset +
                              (uint64_t)h->dh.max_entries * 4, "BAT", 0 };
    for (int i = 0; i < OVFK_VHD_MAX_LOCATORS; i++) {
        const vhd_loc_raw *l = &h->dh.loc[i];
        uint64_t bytes = vhd_locator_bytes(l);
        if (l->code[0] == 0 || l->length == 0) {
            continue;
        }
        if (bytes < l->length || l->offset > h->footer_off ||
            h->footer_off - l->offset < bytes) {
            say(c, "error", "parent locator %d lies outside the file or "
                "its data space is smaller than its length", i);
            continue;
        }
        rg[n++] = (struct range){ l->offset, l->offset + bytes, "locator",
                                  (uint32_t)i };
    }
    for (uint32_t i = 0; i < h->dh.max_entries; i++) {
        if (h->bat[i] != VHD_BAT_FREE) {
            uint64_t off = vhd_block_offset(h, i);
            rg[n++] = (struct range){ off, off + span, "block", i };
        }
    }
    qsort(rg, n, sizeof(*rg), cmp_range);
    pos = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0 && rg[i].start < rg[i - 1].end) {
            say(c, "error", "%s %u (offset %llu) overlaps %s %u",
                rg[i].what, rg[i].index, (unsigned long long)rg[i].start,
                rg[i - 1].what, rg[i - 1].index);
        }
        if (rg[i].start > pos && rg[i].start - pos >= span) {
            c->leaked_bytes += rg[i].start - pos;
        }
        if (rg[i].end > pos) {
            pos = rg[i].end;
        }
    }
    if (h->footer_off > pos && h->footer_off - pos >= span) {
        c->leaked_bytes += h->footer_off - pos;
    }
    if (c->leaked_bytes) {
        say(c, "leak", "%llu bytes of the file are not referenced by any "
            "block (an interrupted write; 'vhd repair' drops what is at "
            "the end)", (unsigned long long)c->leaked_bytes);
    }
    free(rg);
}

static void check_bitmaps(struct ctx *c, ovfk_vhd *h)
{
    uint32_t spb = h->dh.block_size / VHD_SECTOR;

    for (uint32_t b = 0; b < h->dh.max_entries; b++) {
        bool any = false, pad = false;
        if (h->bat[b] == VHD_BAT_FREE) {
            continue;
        }
        if (vhd_bitmap_load(h, b) < 0) {
            say(c, "error", "cannot read the bitmap of block %u", b);
            continue;
        }
        for (uint32_t s = 0; s < spb && !any; s++) {
            any = bm_test(h->bm, s);
        }
        for (uint32_t s = spb; s < h->bitmap_size * 8 && !pad; s++) {
            pad = bm_test(h->bm, s);
        }
        if (!any && h->ft.type == OVFK_VHD_TYPE_DIFF) {
            say(c, "leak", "block %u is allocated but its bitmap marks no "
                "sector", b);
        }
        if (pad) {
            say(c, "warning", "block %u has bits set in the bitmap padding",
                b);
        }
    }
}

static void check_parent(struct ctx *c, const char *path, int *failed)
{
    ovfk_vhd *full;
    int r = vhd_open_chain(path, 0, &full);

    if (r == -ENOENT) {
        say(c, "error", "%s", ovfk_last_error());
        *failed = 1;
        return;
    }
    if (r < 0) {
        say(c, "error", "%s", ovfk_last_error());
        return;
    }
    ovfk_vhd_close(full);
}

/* A journal concerns a file of the chain: name it, once. */
static int report_merge(struct journal *j, void *opaque)
{
    struct ctx *c = opaque;
    size_t n = sizeof(c->seen) / sizeof(c->seen[0]);

    for (size_t i = 0; i < n && c->seen[i][0]; i++) {
        if (!strcmp(c->seen[i], j->path)) {
            return 0;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!c->seen[i][0]) {
            snprintf(c->seen[i], sizeof(c->seen[i]), "%s", j->path);
            break;
        }
    }
    say(c, "merge", "the merge of '%s' into '%s' is unfinished (journal "
        "'%s', step %s): the chain reads correctly; 'ovfkit vhd repair "
        "%s' completes it", j->child, j->parent, j->path, j->state,
        j->parent);
    return 0;
}

/* Report the merges left unfinished in path's chain (merge.c's journal),
 * without touching them. */
static void check_merges(struct ctx *c, const char *path)
{
    char abs[PATH_MAX], jp[PATH_MAX];
    ovfk_err err = { 0 };
    ovfk_vhd *chain = NULL;

    /* the chain as far as it opens; path alone when it does not */
    if (vhd_open_chain(path, 0, &chain) < 0 &&
        vhd_open_chain(path, OVFK_VHD_OPEN_NO_PARENT, &chain) < 0) {
        chain = NULL;
    }
    for (ovfk_vhd *x = chain; x; x = x->parent) {
        if (realpath(x->path, abs) &&
            vhd_journal_each(abs, false, report_merge, c, jp, &err) < 0) {
            say(c, "error", "%s", err.msg);
            memset(&err, 0, sizeof(err));
        }
    }
    ovfk_vhd_close(chain);
}

enum ovfk_vhd_check_result
ovfk_vhd_check(const char *path, ovfk_vhd_report_fn report, void *opaque)
{
    struct ctx c = { .report = report, .opaque = opaque };
    ovfk_err err = { 0 };
    int parent_missing = 0;
    ovfk_vhd *h;
    int r;

    r = vhd_open_one(path, OVFK_VHD_OPEN_NO_PARENT, &h, &err);
    if (r == OVFK_EUNSUPPORTED) {
        say(&c, "error", "%s", err.msg);
        return OVFK_VHD_CHECK_UNSUPPORTED;
    }
    if (r == OVFK_ECORRUPT) {
        say(&c, "error", "%s", err.msg);
        return OVFK_VHD_CHECK_CORRUPT;
    }
    if (r < 0) {
        say(&c, "error", "%s", err.msg);
        return OVFK_VHD_CHECK_FAILED;
    }
    if ((h->ft.version >> 16) != 1) {
        say(&c, "warning", "footer version %#x is not 1.x", h->ft.version);
    }
    if (h->ft.type == OVFK_VHD_TYPE_FIXED) {
        if (h->ft.data_offset != VHD_DATA_OFFSET_FIXED) {
            say(&c, "warning", "fixed disk with data offset %llu (expected "
                "0xFFFFFFFFFFFFFFFF)", (unsigned long long)h->ft.data_offset);
        }
        if (h->footer_off > h->ft.current_size) {
            say(&c, "warning", "%llu bytes between the disk data and the "
                "footer", (unsigned long long)(h->footer_off -
                                               h->ft.current_size));
        }
    } else {
        check_copy(&c, h);
        check_layout(&c, h);
        check_bitmaps(&c, h);
        if (h->ft.type == OVFK_VHD_TYPE_DIFF) {
            check_parent(&c, path, &parent_missing);
        }
    }
    vhd_free_one(h);
    check_merges(&c, path);
    if (parent_missing && c.errors == 1) {
        return OVFK_VHD_CHECK_FAILED;
    }
    if (c.errors) {
        return OVFK_VHD_CHECK_CORRUPT;
    }
    return c.leaks || c.merges ? OVFK_VHD_CHECK_LEAKS : OVFK_VHD_CHECK_OK;
}

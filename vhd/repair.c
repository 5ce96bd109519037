/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/repair.c - `ovfkit vhd repair`: put the trailing footer back where
 * the structure says it belongs.
 *
 * NOTES (repair mutates the file):
 *   States handled: (a) trailing footer lost or damaged, copy at offset 0
 *   intact (dynamic/differencing); (b) garbage or leaked space after the
 *   last referenced block; (c) garbage after the footer of a fixed disk.
 *   Invariant: no byte the BAT or header references is changed.
 *   Write order: footer at the new end -> fsync -> truncate -> fsync.  A
 *   crash between the steps leaves either the old file or a file whose
 *   last 512 bytes are a valid footer followed by nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhd/internal.h"

#define FIXED_SCAN_MAX (64u << 20)   /* how far back to look for a footer */

static void say(ovfk_vhd_report_fn report, void *opaque, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(ovfk_vhd_report_fn report, void *opaque, const char *fmt, ...)
{
    char msg[OVFK_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (report) {
        report(opaque, "repair", msg);
    }
}

/* Write the footer of h at end, sync, cut the file after it, sync. */
static int place_footer(ovfk_vhd *h, uint64_t end)
{
    int r = vhd_write_footer_at(h, end);

    if (r == 0) {
        r = ovfk_io_sync(h->io);
    }
    if (r == 0) {
        r = ovfk_io_truncate(h->io, end + VHD_FOOTER_SIZE);
    }
    if (r == 0) {
        r = ovfk_io_sync(h->io);
    }
    if (r < 0 && !h->err.code) {
        ovfk_err_set(&h->err, r, "cannot repair '%s': %s", h->path,
                     ovfk_errtext(r));
    }
    return r;
}

/* Find the last valid footer of a fixed disk within FIXED_SCAN_MAX. */
static int find_fixed_footer(ovfk_vhd *h, uint64_t *at)
{
    uint8_t buf[VHD_FOOTER_SIZE];
    uint64_t limit = h->file_size > FIXED_SCAN_MAX ?
                     h->file_size - FIXED_SCAN_MAX : 0;
    uint64_t off = h->file_size / VHD_SECTOR * VHD_SECTOR;

    while (off >= VHD_SECTOR && off - VHD_SECTOR >= limit) {
        off -= VHD_SECTOR;
        if (ovfk_io_pread(h->io, buf, sizeof(buf), off) == 0 &&
            vhd_footer_cookie_ok(buf) && vhd_footer_checksum_ok(buf)) {
            vhd_footer_decode(buf, &h->ft);
            if (h->ft.type == OVFK_VHD_TYPE_FIXED &&
                h->ft.current_size == off) {
                *at = off;
                return 0;
            }
        }
    }
    return -ENOENT;
}

static int repair_open(const char *path, ovfk_vhd **out, ovfk_err *err)
{
    ovfk_vhd *h = calloc(1, sizeof(*h));
    int r;

    *out = NULL;
    if (!h || !(h->path = strdup(path))) {
        free(h);
        return ovfk_err_set(err, -ENOMEM, "out of memory");
    }
    h->flags = OVFK_VHD_OPEN_RDWR;
    r = ovfk_io_open_file(path, OVFK_IO_RDWR, &h->io);
    if (r == 0) {
        r = ovfk_io_size(h->io, &h->file_size);
    }
    if (r < 0) {
        ovfk_err_set(err, r, "%s", ovfk_last_error());
        vhd_free_one(h);
        return r;
    }
    *out = h;
    return 0;
}

/* The trailing footer of a dynamic disk is gone: use the copy at 0. */
static int from_copy(ovfk_vhd *h, ovfk_err *err, ovfk_vhd_report_fn report,
                     void *opaque)
{
    uint8_t copy[VHD_FOOTER_SIZE];
    uint64_t end;
    int r;

    if (ovfk_io_pread(h->io, copy, sizeof(copy), 0) < 0 ||
        !vhd_footer_cookie_ok(copy) || !vhd_footer_checksum_ok(copy)) {
        return ovfk_err_set(err, OVFK_ECORRUPT, "'%s' has no valid footer "
                            "at its end or at offset 0: cannot repair",
                            h->path);
    }
    vhd_footer_decode(copy, &h->ft);
    if (h->ft.type != OVFK_VHD_TYPE_DYNAMIC &&
        h->ft.type != OVFK_VHD_TYPE_DIFF) {
        return ovfk_err_set(err, OVFK_ECORRUPT, "'%s': the footer copy at "
                            "offset 0 is not of a dynamic disk", h->path);
    }
    /* Structures may reach anywhere in the file while we look. */
    h->footer_off = h->file_size;
    r = vhd_load_structure(h, err);
    if (r < 0) {
        return r;
    }
    end = vhd_used_end(h);
    r = place_footer(h, end);
    if (r < 0) {
        return ovfk_err_set(err, r, "%s", h->err.msg);
    }
    say(report, opaque, "restored the trailing footer from the copy at "
        "offset 0 (at offset %llu)", (unsigned long long)end);
    if (h->file_size > end + VHD_FOOTER_SIZE) {
        say(report, opaque, "dropped %llu bytes of trailing garbage",
            (unsigned long long)(h->file_size - end - VHD_FOOTER_SIZE));
    }
    return 0;
}

int ovfk_vhd_repair(const char *path, ovfk_vhd_report_fn report, void *opaque)
{
    ovfk_err err = { 0 };
    uint8_t buf[VHD_FOOTER_SIZE];
    ovfk_vhd *h = NULL, *check;
    uint64_t at;
    int r;

    r = ovfk_vhd_merge_recover(path);
    if (r < 0) {
        return r;
    }
    if (r > 0) {
        say(report, opaque, "completed an interrupted merge");
    }
    r = repair_open(path, &h, &err);
    if (r < 0) {
        return ovfk_err_publish(&err);
    }
    if (h->file_size < VHD_FOOTER_SIZE) {
        r = ovfk_err_set(&err, OVFK_ECORRUPT, "'%s' is too small to be a "
                         "VHD", path);
        goto out;
    }
    h->footer_off = h->file_size - VHD_FOOTER_SIZE;
    r = ovfk_io_pread(h->io, buf, sizeof(buf), h->footer_off);
    if (r == 0 && vhd_footer_cookie_ok(buf) && vhd_footer_checksum_ok(buf)) {
        vhd_footer_decode(buf, &h->ft);
        r = vhd_load_structure(h, &err);
        if (r == 0 && h->ft.type != OVFK_VHD_TYPE_FIXED) {
            at = vhd_used_end(h);
            if (h->footer_off > at) {
                r = place_footer(h, at);
                if (r == 0) {
                    say(report, opaque, "dropped %llu bytes of leaked space "
                        "after the last block",
                        (unsigned long long)(h->footer_off - at));
                } else {
                    ovfk_err_set(&err, r, "%s", h->err.msg);
                }
            }
        }
        goto out;
    }
    if (ovfk_io_pread(h->io, buf, sizeof(buf), 0) == 0 &&
        vhd_footer_cookie_ok(buf) && vhd_footer_checksum_ok(buf)) {
        r = from_copy(h, &err, report, opaque);
        goto out;
    }
    if (find_fixed_footer(h, &at) == 0) {
        r = place_footer(h, at);
        if (r == 0) {
            say(report, opaque, "dropped %llu bytes of trailing garbage "
                "after the footer", (unsigned long long)(h->file_size - at -
                                                         VHD_FOOTER_SIZE));
        } else {
            ovfk_err_set(&err, r, "%s", h->err.msg);
        }
        goto out;
    }
    r = ovfk_err_set(&err, OVFK_ECORRUPT, "'%s' has no valid VHD footer at "
                     "its end, at offset 0, or in its last %u MiB: cannot "
                     "repair", path, FIXED_SCAN_MAX >> 20);
out:
    vhd_free_one(h);
    if (r < 0) {
        return ovfk_err_publish(&err);
    }
    /* what we leave must open */
    r = ovfk_vhd_open(path, OVFK_VHD_OPEN_NO_PARENT, &check);
    if (r < 0) {
        return r;
    }
    ovfk_vhd_close(check);
    return 0;
}

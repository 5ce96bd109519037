/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/dynhdr.c - the 1024-byte dynamic disk header of dynamic and
 * differencing disks, its parent name and its eight parent locators.
 *
 * Implements "Dynamic Disk Header Format" of the VHD specification v1.0.
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

/* Locator data space we reserve for a new path, so a later re-point (a
 * merge moves a child onto its grandparent) usually fits in place. */
#define LOCATOR_RESERVE 4096u

void vhd_dynhdr_decode(const uint8_t *buf, vhd_dynhdr *dh)
{
    dh->data_offset = get_be64(buf + DH_DATA_OFFSET);
    dh->table_offset = get_be64(buf + DH_TABLE_OFFSET);
    dh->version = get_be32(buf + DH_VERSION);
    dh->max_entries = get_be32(buf + DH_MAX_ENTRIES);
    dh->block_size = get_be32(buf + DH_BLOCK_SIZE);
    dh->checksum = get_be32(buf + DH_CHECKSUM);
    memcpy(dh->parent_uuid, buf + DH_PARENT_UUID, 16);
    dh->parent_ts = get_be32(buf + DH_PARENT_TS);
    memcpy(dh->parent_name, buf + DH_PARENT_NAME, DH_PARENT_NAME_LEN);
    for (int i = 0; i < OVFK_VHD_MAX_LOCATORS; i++) {
        const uint8_t *p = buf + DH_LOCATORS + i * DH_LOCATOR_SIZE;
        memcpy(dh->loc[i].code, p, 4);
        dh->loc[i].space = get_be32(p + 4);
        dh->loc[i].length = get_be32(p + 8);
        dh->loc[i].offset = get_be64(p + 16);
    }
}

void vhd_dynhdr_encode(const vhd_dynhdr *dh, uint8_t *buf)
{
    memset(buf, 0, VHD_DYNHDR_SIZE);
    memcpy(buf + DH_COOKIE, "cxsparse", 8);
    put_be64(buf + DH_DATA_OFFSET, dh->data_offset);
    put_be64(buf + DH_TABLE_OFFSET, dh->table_offset);
    put_be32(buf + DH_VERSION, dh->version);
    put_be32(buf + DH_MAX_ENTRIES, dh->max_entries);
    put_be32(buf + DH_BLOCK_SIZE, dh->block_size);
    memcpy(buf + DH_PARENT_UUID, dh->parent_uuid, 16);
    put_be32(buf + DH_PARENT_TS, dh->parent_ts);
    memcpy(buf + DH_PARENT_NAME, dh->parent_name, DH_PARENT_NAME_LEN);
    for (int i = 0; i < OVFK_VHD_MAX_LOCATORS; i++) {
        uint8_t *p = buf + DH_LOCATORS + i * DH_LOCATOR_SIZE;
        memcpy(p, dh->loc[i].code, 4);
        put_be32(p + 4, dh->loc[i].space);
        put_be32(p + 8, dh->loc[i].length);
        put_be64(p + 16, dh->loc[i].offset);
    }
    put_be32(buf + DH_CHECKSUM, vhd_checksum(buf, VHD_DYNHDR_SIZE,
                                             DH_CHECKSUM));
}

bool vhd_dynhdr_checksum_ok(const uint8_t *buf)
{
    return vhd_checksum(buf, VHD_DYNHDR_SIZE, DH_CHECKSUM) ==
           get_be32(buf + DH_CHECKSUM);
}

/*
 * Bytes reserved for a locator.  The spec counts platform data space in
 * 512-byte sectors, but Windows writes bytes.  Like libvhd: a value under
 * 512 is sectors, a multiple of 512 is bytes, anything else is invalid (0).
 */
uint32_t vhd_locator_bytes(const vhd_loc_raw *l)
{
    if (l->space < 512) {
        return l->space * VHD_SECTOR;
    }
    if (l->space % 512 == 0) {
        return l->space;
    }
    return 0;
}

/*
 * Read locator i's path as UTF-8 (W2ru/W2ku: UTF-16LE; MacX: a file://
 * URL in UTF-8, written by vhd-util).  Returns 0, or an error for a
 * locator that is empty, out of bounds or undecodable.
 */
int vhd_locator_read(ovfk_vhd *h, int i, char *out, size_t outlen)
{
    const vhd_loc_raw *l = &h->dh.loc[i];
    uint64_t end;
    uint8_t *buf;
    int r;

    out[0] = '\0';
    if (l->length == 0 || l->length > VHD_MAX_LOCATOR_BYTES ||
        add_overflow_u64(l->offset, l->length, &end) || end > h->file_size) {
        return OVFK_ECORRUPT;
    }
    buf = malloc(l->length);
    if (!buf) {
        return -ENOMEM;
    }
    r = ovfk_io_pread(h->io, buf, l->length, l->offset);
    if (r == 0) {
        if (memcmp(l->code, "MacX", 4) == 0) {
            size_t n = l->length < outlen - 1 ? l->length : outlen - 1;
            size_t skip = 0;
            memcpy(out, buf, n);
            out[n] = '\0';
            if (strncmp(out, "file://", 7) == 0) {
                skip = 7;
            }
            memmove(out, out + skip, strlen(out + skip) + 1);
        } else {
            r = vhd_utf16_to_utf8(buf, l->length, false, out, outlen);
            for (char *p = out; *p; p++) {
                if (*p == '\\') {
                    *p = '/';
                }
            }
        }
    }
    free(buf);
    return r;
}

int vhd_parent_name(const vhd_dynhdr *dh, char *out, size_t outlen)
{
    return vhd_utf16_to_utf8(dh->parent_name, DH_PARENT_NAME_LEN, true, out,
                             outlen);
}

/* The path of target relative to directory dir (both absolute, from
 * realpath): "./p.vhd", "../../x/p.vhd". */
static int relative_path(const char *dir, const char *target, char *out,
                         size_t outlen)
{
    char d[PATH_MAX + 1];
    size_t i = 0, common = 0, used, climbs;
    int n;

    n = snprintf(d, sizeof(d), "%s%s", dir, strcmp(dir, "/") ? "/" : "");
    if (n < 0 || (size_t)n >= sizeof(d)) {
        return -ENAMETOOLONG;
    }
    for (i = 0; d[i] && d[i] == target[i]; i++) {
        if (d[i] == '/') {
            common = i + 1;
        }
    }
    climbs = 0;
    for (i = common; d[i]; i++) {
        climbs += d[i] == '/';
    }
    n = snprintf(out, outlen, "%s", climbs ? "" : "./");
    used = (size_t)n;
    while (climbs-- > 0) {
        n = snprintf(out + used, outlen - used, "../");
        if (n < 0 || (size_t)n >= outlen - used) {
            return -ENAMETOOLONG;
        }
        used += (size_t)n;
    }
    n = snprintf(out + used, outlen - used, "%s", target + common);
    if (n < 0 || (size_t)n >= outlen - used) {
        return -ENAMETOOLONG;
    }
    return 0;
}

/* Encode a POSIX path as a Windows locator: UTF-16LE, '\' separators. */
static int locator_blob(const char *path, uint8_t *buf, size_t buflen,
                        size_t *len)
{
    char tmp[PATH_MAX * 2];
    int n = snprintf(tmp, sizeof(tmp), "%s", path);

    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        return -ENAMETOOLONG;
    }
    for (char *p = tmp; *p; p++) {
        if (*p == '/') {
            *p = '\\';
        }
    }
    return vhd_utf8_to_utf16(tmp, false, buf, buflen, len);
}

static int put_locator(ovfk_vhd *h, int slot, const char *code,
                       const char *path, uint64_t *next)
{
    size_t bloblen = PATH_MAX * 4;
    uint8_t *blob = calloc(1, bloblen);
    vhd_loc_raw *l = &h->dh.loc[slot];
    uint8_t *pad = NULL;
    size_t len = 0;
    uint32_t room;
    int r;

    if (!blob) {
        return ovfk_err_set(&h->err, -ENOMEM, "out of memory");
    }
    r = locator_blob(path, blob, bloblen, &len);
    if (r < 0) {
        r = ovfk_err_set(&h->err, r, "parent path '%s' is too long", path);
        goto out;
    }
    room = memcmp(l->code, code, 4) == 0 ? vhd_locator_bytes(l) : 0;
    if (room < len || l->offset == 0) {
        /* no slot of that kind, or too small: reserve new space */
        room = (uint32_t)align_up_u64(len, VHD_SECTOR);
        if (room < LOCATOR_RESERVE) {
            room = LOCATOR_RESERVE;
        }
        l->offset = *next;
        *next += room;
    }
    memcpy(l->code, code, 4);
    l->space = room / VHD_SECTOR;   /* spec: in sectors */
    l->length = (uint32_t)len;
    pad = calloc(1, room);
    if (!pad) {
        r = ovfk_err_set(&h->err, -ENOMEM, "out of memory");
        goto out;
    }
    memcpy(pad, blob, len);
    r = ovfk_io_pwrite(h->io, pad, room, l->offset);
    if (r < 0) {
        ovfk_err_set(&h->err, r, "cannot write parent locator of '%s': %s",
                     h->path, ovfk_errtext(r));
    }
out:
    free(pad);
    free(blob);
    return r;
}

/*
 * Point differencing disk h at parent (opened, with its path): parent
 * UUID, the parent file's modification time (as vhd-util does), the
 * parent's file name (UTF-16BE), and two locators: W2ru (relative to h's
 * directory) and W2ku (absolute).  Locator data goes into existing slots
 * when they are large enough, else at *next (which is advanced).  The
 * header itself is not written: call vhd_write_header().
 */
int vhd_set_parent_fields(ovfk_vhd *h, ovfk_vhd *parent,
                          const char *parent_path, uint64_t unused,
                          uint64_t *next)
{
    char abs_parent[PATH_MAX], abs_child[PATH_MAX], rel[PATH_MAX * 2];
    char tmp[PATH_MAX];
    struct stat st;
    size_t w = 0;
    char *base;
    int r;

    (void)unused;
    if (!realpath(parent_path, abs_parent)) {
        return ovfk_err_set(&h->err, -errno, "cannot resolve '%s': %s",
                            parent_path, ovfk_errtext(-errno));
    }
    snprintf(tmp, sizeof(tmp), "%s", h->path);
    if (!realpath(dirname(tmp), abs_child)) {
        return ovfk_err_set(&h->err, -errno, "cannot resolve '%s': %s",
                            h->path, ovfk_errtext(-errno));
    }
    r = relative_path(abs_child, abs_parent, rel, sizeof(rel));
    if (r < 0) {
        return ovfk_err_set(&h->err, r, "parent path '%s' is too long",
                            abs_parent);
    }
    memcpy(h->dh.parent_uuid, parent->ft.uuid, 16);
    h->dh.parent_ts = 0;
    if (stat(abs_parent, &st) == 0 && st.st_mtime > VHD_EPOCH) {
        h->dh.parent_ts = (uint32_t)(st.st_mtime - VHD_EPOCH);
    }
    snprintf(tmp, sizeof(tmp), "%s", abs_parent);
    base = basename(tmp);
    memset(h->dh.parent_name, 0, DH_PARENT_NAME_LEN);
    r = vhd_utf8_to_utf16(base, true, h->dh.parent_name,
                          DH_PARENT_NAME_LEN - 2, &w);
    if (r < 0) {
        return ovfk_err_set(&h->err, r, "parent name '%s' is too long",
                            base);
    }
    /* Windows order: relative first, then absolute. */
    r = put_locator(h, 0, "W2ru", rel, next);
    if (r == 0) {
        r = put_locator(h, 1, "W2ku", abs_parent, next);
    }
    for (int i = 2; r == 0 && i < OVFK_VHD_MAX_LOCATORS; i++) {
        memset(&h->dh.loc[i], 0, sizeof(h->dh.loc[i]));
    }
    return r;
}

/* Write the dynamic header at its data offset (checksum recomputed). */
int vhd_write_header(ovfk_vhd *h)
{
    uint8_t buf[VHD_DYNHDR_SIZE];
    int r;

    vhd_dynhdr_encode(&h->dh, buf);
    r = ovfk_io_pwrite(h->io, buf, sizeof(buf), h->ft.data_offset);
    if (r < 0) {
        return ovfk_err_set(&h->err, r, "cannot write header of '%s': %s",
                            h->path, ovfk_errtext(r));
    }
    return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/children.c - what the merge, its recovery and its plan share about
 * a chain: opening the child to merge, finding its own children (the G
 * of merge.c's NOTES, which a merge re-points), reading ahead of a copy.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/bytes.h"
#include "util/tmpfile.h"
#include "vhd/internal.h"

int vhd_open_merge_child(const char *child, int flags, ovfk_vhd **chain)
{
    int r = vhd_open_chain(child, flags, chain);

    if (r < 0) {
        return r;
    }
    if (!ovfk_vhd_parent(*chain)) {
        ovfk_vhd_close(*chain);
        *chain = NULL;
        return ovfk_err_last(-EINVAL, "'%s' has no parent to merge into",
                             child);
    }
    return 0;
}

/*
 * Ask the kernel to start reading [off, off + len) of v's file, its data
 * extents only: advice over the holes would fill the page cache with
 * zeros.
 */
static void read_ahead(ovfk_vhd *v, uint64_t off, uint64_t len)
{
    int fd = ovfk_io_fd(v->io);
    off_t at = (off_t)off, end = (off_t)(off + len);

    while (at < end) {
        off_t d = lseek(fd, at, SEEK_DATA), h;
        if (d < 0 || d >= end) {
            return;
        }
        h = lseek(fd, d, SEEK_HOLE);
        if (h < 0 || h > end) {
            h = end;
        }
        posix_fadvise(fd, d, h - d, POSIX_FADV_WILLNEED);
        at = h;
    }
}

void vhd_read_ahead_blocks(ovfk_vhd *v, uint32_t b, uint32_t window,
                          uint64_t len, uint32_t *ahead)
{
    uint32_t a = *ahead > b ? *ahead : b + 1;
    bool dense = v->dh.block_size <= VHD_SMALL_BLOCK;
    int fd = ovfk_io_fd(v->io);
    uint64_t from = 0, to = 0;

    for (; a < v->dh.max_entries && a < b + window; a++) {
        uint64_t off;
        if (v->bat[a] == VHD_BAT_FREE) {
            continue;
        }
        off = vhd_block_offset(v, a);
        if (!dense) {
            read_ahead(v, off, len);
            continue;
        }
        /* small blocks: whole blocks, joined where they lie together
         * (the seeks that find data extents cost more than the small
         * holes they would skip, and the copy reads the data next) */
        if (to && off >= from && off <= to + VHD_DATA_ALIGN) {
            to = off + v->bitmap_size + v->dh.block_size;
            continue;
        }
        if (to) {
            posix_fadvise(fd, (off_t)from, (off_t)(to - from),
                          POSIX_FADV_WILLNEED);
        }
        from = off;
        to = off + v->bitmap_size + v->dh.block_size;
    }
    if (to) {
        posix_fadvise(fd, (off_t)from, (off_t)(to - from),
                      POSIX_FADV_WILLNEED);
    }
    *ahead = a;
}

void vhd_read_ahead_order(ovfk_vhd *v, const uint32_t *order, uint32_t n,
                          uint32_t i, uint32_t window, uint64_t len,
                          bool dense, uint32_t *ahead)
{
    uint32_t a = *ahead > i ? *ahead : i + 1;
    int fd = ovfk_io_fd(v->io);
    uint64_t from = 0, to = 0;

    for (; a < n && a < i + window; a++) {
        uint64_t off = vhd_block_offset(v, order[a]);
        if (!dense) {
            read_ahead(v, off, len);
            continue;
        }
        /* small blocks in file order lie a few KiB apart: one advice
         * for the lot, holes and all (they are small) */
        if (to && off <= to + VHD_DATA_ALIGN) {
            to = off + len;
            continue;
        }
        if (to) {
            posix_fadvise(fd, (off_t)from, (off_t)(to - from),
                          POSIX_FADV_WILLNEED);
        }
        from = off;
        to = off + len;
    }
    if (to) {
        posix_fadvise(fd, (off_t)from, (off_t)(to - from),
                      POSIX_FADV_WILLNEED);
    }
    *ahead = a;
}

int ovfk_vhd_find_children(const char *file, const char *dir, char ***paths,
                      size_t *n)
{
    ovfk_err err = { 0 };
    char path[PATH_MAX], self[PATH_MAX], real[PATH_MAX];
    uint8_t uuid[16];
    struct dirent *e;
    ovfk_vhd *h;
    DIR *d;
    int r = 0;

    *paths = NULL;
    *n = 0;
    if (vhd_open_one(file, OVFK_VHD_OPEN_NO_PARENT, &h, &err) < 0) {
        return ovfk_err_publish(&err);
    }
    memcpy(uuid, h->ft.uuid, 16);
    vhd_free_one(h);
    if (!realpath(file, self)) {
        self[0] = '\0';
    }
    d = opendir(dir);
    if (!d) {
        return ovfk_err_last(-errno, "cannot read '%s'", dir);
    }
    while (r == 0 && (e = readdir(d))) {
        char **np, *dup;
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (!realpath(path, real)) {
            r = errno == ENOMEM ? -ENOMEM : 0;
            continue;
        }
        if (!strcmp(real, self) || !ovfk_vhd_probe(path)) {
            continue;
        }
        /* a file that is no VHD is no child; one that looks like a VHD
         * but cannot be read (no memory, a damaged footer) may be one, and
         * a merge that left it out would remove its parent */
        r = vhd_open_one(path, OVFK_VHD_OPEN_NO_PARENT, &h, &err);
        if (r < 0) {
            char why[OVFK_ERR_MAX];
            snprintf(why, sizeof(why), "%s", err.msg);
            ovfk_err_set(&err, r, "cannot tell whether '%s' is a child of "
                         "'%s': %s", path, file, why);
            continue;
        }
        if (h->ft.type == OVFK_VHD_TYPE_DIFF &&
            !memcmp(h->dh.parent_uuid, uuid, 16)) {
            /* a child left out would not be re-pointed (merge.c NOTES 5) */
            np = m_realloc(*paths, (*n + 1) * sizeof(*np));
            if (np) {
                *paths = np;
            }
            if (!np || !(dup = m_strdup(path))) {
                r = -ENOMEM;
            } else {
                np[(*n)++] = dup;
            }
        }
        vhd_free_one(h);
    }
    closedir(d);
    if (r < 0) {
        for (size_t i = 0; i < *n; i++) {
            free((*paths)[i]);
        }
        free(*paths);
        *paths = NULL;
        *n = 0;
        if (r == -ENOMEM && !err.code) {
            ovfk_err_set(&err, r, "cannot list the children of '%s': out "
                         "of memory", file);
        }
        return ovfk_err_publish(&err);
    }
    return 0;
}

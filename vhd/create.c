/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/create.c - create fixed, dynamic and differencing VHD files.
 *
 * Layout written (spec v1.0, "Dynamic Disk Header Format"):
 *   fixed:    data (preallocated when the file system can) + footer
 *   dynamic:  footer copy @0, header @512, BAT @1536 (all 0xFF), footer
 *   diff:     as dynamic, plus W2ru and W2ku parent locators after the BAT
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/bytes.h"
#include "vhd/internal.h"

/*
 * A new differencing disk whose caller names no block size takes its
 * parent's.  Smaller blocks would suit a delta better: its scattered
 * writes then lie densely in its file (bench/merge.sh: a 212 MiB delta of
 * 64 KiB writes spans 3.4 GB of file in ~4,700 extents in 2 MiB blocks,
 * 228 MB in 64 KiB blocks, and its merge reads it in ~560 reads instead
 * of ~4,900).  But libvhdi up to at least 20210425 (Debian 12) misreads
 * a differencing disk whose blocks are smaller than 2 MiB when one read
 * spans several of them (it returns the parent's sectors for some the
 * child holds; single-block reads are right, tests/cli/0130), and the
 * deltas of snapshots and backup points are read by such tools.  So
 * small blocks are the caller's choice (`vhd snapshot --block-size 64K`),
 * not the default.
 */
static int check_opts(const struct ovfk_vhd_create_opts *o, uint64_t *size,
                      uint32_t *bs, ovfk_err *err)
{
    *bs = o->block_size ? o->block_size : OVFK_VHD_DEFAULT_BLOCK_SIZE;
    if (!is_pow2_u64(*bs) || *bs < VHD_MIN_CREATE_BLOCK ||
        *bs > VHD_MAX_BLOCK_SIZE) {
        return ovfk_err_set(err, -EINVAL, "block size %u is not a power of "
                            "two between 64 KiB and 256 MiB", *bs);
    }
    if (o->parent) {
        return 0;   /* the size comes from the parent */
    }
    if (o->size == 0) {
        return ovfk_err_set(err, -EINVAL, "disk size must be positive");
    }
    if (o->size > OVFK_VHD_MAX_SIZE) {
        return ovfk_err_set(err, -EFBIG, "size %llu bytes exceeds the VHD "
                            "maximum of 2040 GiB (use VHDX or split the disk)",
                            (unsigned long long)o->size);
    }
    *size = align_up_u64(o->size, o->round_to_mib ? 1u << 20 : VHD_SECTOR);
    if (*size > OVFK_VHD_MAX_SIZE) {
        return ovfk_err_set(err, -EFBIG, "size exceeds the VHD maximum of "
                            "2040 GiB after rounding");
    }
    return 0;
}

static int create_fixed(ovfk_vhd *h, uint64_t size)
{
    int fd = ovfk_io_fd(h->io);
    int r;

    /* Fixed disks are preallocated: that is why users choose them. */
    r = posix_fallocate(fd, 0, (off_t)size);
    if (r != 0 && r != EOPNOTSUPP && r != EINVAL) {
        return ovfk_err_set(&h->err, -r, "cannot allocate %llu bytes for "
                            "'%s': %s", (unsigned long long)size, h->path,
                            ovfk_errtext(-r));
    }
    return vhd_write_footer_at(h, size);
}

static int write_bat_and_footers(ovfk_vhd *h, uint64_t footer_off)
{
    size_t bat_bytes = (size_t)align_up_u64((uint64_t)h->dh.max_entries * 4,
                                            VHD_SECTOR);
    uint8_t *bat = malloc(bat_bytes);
    uint8_t ft[VHD_FOOTER_SIZE];
    int r;

    if (!bat) {
        return ovfk_err_set(&h->err, -ENOMEM, "out of memory");
    }
    memset(bat, 0xff, bat_bytes);
    r = ovfk_io_pwrite(h->io, bat, bat_bytes, h->dh.table_offset);
    free(bat);
    if (r < 0) {
        return ovfk_err_set(&h->err, r, "cannot write '%s': %s", h->path,
                            ovfk_errtext(r));
    }
    r = vhd_write_header(h);
    if (r < 0) {
        return r;
    }
    vhd_footer_encode(&h->ft, ft);
    r = ovfk_io_pwrite(h->io, ft, sizeof(ft), 0);
    if (r < 0) {
        return ovfk_err_set(&h->err, r, "cannot write '%s': %s", h->path,
                            ovfk_errtext(r));
    }
    return vhd_write_footer_at(h, footer_off);
}

static int create_sparse(ovfk_vhd *h, uint32_t bs, ovfk_vhd *parent,
                         const char *parent_path)
{
    uint64_t entries = (h->ft.current_size + bs - 1) / bs;
    uint64_t next;
    int r;

    memset(&h->dh, 0, sizeof(h->dh));
    h->dh.data_offset = VHD_DATA_OFFSET_FIXED;
    h->dh.table_offset = VHD_FOOTER_SIZE + VHD_DYNHDR_SIZE;
    h->dh.version = VHD_VERSION;
    h->dh.max_entries = (uint32_t)entries;
    h->dh.block_size = bs;
    next = h->dh.table_offset + align_up_u64(entries * 4, VHD_SECTOR);
    if (parent) {
        r = vhd_set_parent_fields(h, parent, parent_path, 0, &next);
        if (r < 0) {
            return r;
        }
    }
    return write_bat_and_footers(h, next);
}

int ovfk_vhd_create(const char *path, const struct ovfk_vhd_create_opts *o,
               ovfk_vhd **out)
{
    ovfk_err err = { 0 };
    ovfk_vhd *parent = NULL;
    ovfk_vhd h = { 0 };
    enum ovfk_vhd_type type = o->parent ? OVFK_VHD_TYPE_DIFF : o->type;
    uint64_t size = 0;
    uint32_t bs;
    int r;

    if (out) {
        *out = NULL;
    }
    r = check_opts(o, &size, &bs, &err);
    if (r < 0) {
        return ovfk_err_publish(&err);
    }
    if (type != OVFK_VHD_TYPE_FIXED && type != OVFK_VHD_TYPE_DYNAMIC &&
        type != OVFK_VHD_TYPE_DIFF) {
        return ovfk_err_last(-EINVAL, "unknown VHD type %d", (int)type);
    }
    if (o->parent) {
        /* a new child builds on the parent, a write: a merge left
         * unfinished in it completes first (merge.c's Completion), or a
         * reader that knows no journal would read the child mixed */
        r = ovfk_vhd_merge_recover(o->parent);
        if (r >= 0) {
            r = ovfk_vhd_open(o->parent, 0, &parent);
        }
        if (r < 0) {
            return ovfk_err_last(r, "cannot use '%s' as parent: %s",
                                 o->parent, ovfk_last_error());
        }
        size = parent->size;
        if (parent->ft.type != OVFK_VHD_TYPE_FIXED && !o->block_size) {
            bs = parent->dh.block_size;
        }
    }
    h.path = (char *)path;
    r = ovfk_io_open_file(path, OVFK_IO_RDWR | OVFK_IO_CREATE, &h.io);
    if (r < 0) {
        ovfk_vhd_close(parent);
        return r;
    }
    vhd_footer_init(&h.ft, type, size);
    if (o->uuid) {
        memcpy(h.ft.uuid, o->uuid, 16);
    }
    if (type == OVFK_VHD_TYPE_FIXED) {
        r = create_fixed(&h, size);
    } else {
        h.ft.data_offset = VHD_FOOTER_SIZE;
        r = create_sparse(&h, bs, parent, o->parent);
    }
    if (r == 0) {
        r = ovfk_io_close(h.io);
        h.io = NULL;
    }
    ovfk_vhd_close(parent);
    if (r < 0) {
        ovfk_io_close(h.io);
        unlink(path);
        return ovfk_err_last(r, "cannot create '%s': %s", path,
                             h.err.msg[0] ? h.err.msg : ovfk_errtext(r));
    }
    if (!out) {
        return 0;
    }
    r = ovfk_vhd_open(path, OVFK_VHD_OPEN_RDWR, out);
    if (r < 0) {
        unlink(path);
    }
    return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/bat.c - the Block Allocation Table and the sector bitmaps that
 * precede each block's data.
 *
 * Spec "Block Allocation Table and Data Blocks": big-endian sector offsets
 * of each block's bitmap, 0xFFFFFFFF for a block not allocated; the bitmap
 * has one bit per sector, most significant bit first, padded to 512 bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "vhd/internal.h"

uint32_t vhd_block_count(const ovfk_vhd *h)
{
    return h->dh.max_entries;
}

uint64_t vhd_block_offset(const ovfk_vhd *h, uint32_t block)
{
    return (uint64_t)h->bat[block] * VHD_SECTOR;
}

/* The end of the header, BAT and locator data (blocks come after). */
uint64_t vhd_metadata_end(const ovfk_vhd *h)
{
    uint64_t end = h->ft.data_offset + VHD_DYNHDR_SIZE;
    uint64_t bat_end = h->dh.table_offset +
                       align_up_u64((uint64_t)h->dh.max_entries * 4,
                                    VHD_SECTOR);

    if (bat_end > end) {
        end = bat_end;
    }
    for (int i = 0; i < OVFK_VHD_MAX_LOCATORS; i++) {
        const vhd_loc_raw *l = &h->dh.loc[i];
        uint64_t le = l->offset + vhd_locator_bytes(l);
        if (l->offset && le > end && le <= h->footer_off) {
            end = le;
        }
    }
    return end;
}

/* Where the next block (bitmap first) goes so its data is aligned. */
uint64_t vhd_next_block_pos(uint64_t end, uint32_t bitmap_size)
{
    return align_up_u64(end + bitmap_size, VHD_DATA_ALIGN) - bitmap_size;
}

/*
 * Load the BAT.  The caller has bounded max_entries by the file size, so
 * the allocation below is at most the file's size.
 */
int vhd_bat_load(ovfk_vhd *h)
{
    uint32_t n = h->dh.max_entries;
    uint8_t *raw;
    int r;

    h->bat = malloc((size_t)n * sizeof(uint32_t) + 1);
    raw = malloc((size_t)n * 4 + 1);
    if (!h->bat || !raw) {
        free(raw);
        return ovfk_err_set(&h->err, -ENOMEM, "out of memory for the BAT "
                            "of '%s'", h->path);
    }
    r = ovfk_io_pread(h->io, raw, (size_t)n * 4, h->dh.table_offset);
    if (r < 0) {
        free(raw);
        return ovfk_err_set(&h->err, r, "cannot read the BAT of '%s': %s",
                            h->path, ovfk_errtext(r));
    }
    for (uint32_t i = 0; i < n; i++) {
        h->bat[i] = get_be32(raw + (size_t)i * 4);
    }
    free(raw);
    return 0;
}

/* Set BAT entry block to sector and write that entry to the file. */
int vhd_bat_set(ovfk_vhd *h, uint32_t block, uint32_t sector)
{
    uint8_t be[4];
    int r;

    put_be32(be, sector);
    r = ovfk_io_pwrite(h->io, be, 4, h->dh.table_offset + (uint64_t)block * 4);
    if (r < 0) {
        return ovfk_err_set(&h->err, r, "cannot update the BAT of '%s': %s",
                            h->path, ovfk_errtext(r));
    }
    h->bat[block] = sector;
    return 0;
}

/* Load block's bitmap into the one-entry cache (block is allocated). */
int vhd_bitmap_load(ovfk_vhd *h, uint32_t block)
{
    int r;

    if (h->bm_valid && h->bm_block == block) {
        return 0;
    }
    h->bm_valid = false;
    r = ovfk_io_pread(h->io, h->bm, h->bitmap_size,
                      vhd_block_offset(h, block));
    if (r < 0) {
        return ovfk_err_set(&h->err, r, "cannot read the bitmap of block "
                            "%u of '%s': %s", block, h->path,
                            ovfk_errtext(r));
    }
    h->bm_block = block;
    h->bm_valid = true;
    return 0;
}

/* Write the cached bitmap back (the cache holds block). */
int vhd_bitmap_store(ovfk_vhd *h, uint32_t block)
{
    int r = ovfk_io_pwrite(h->io, h->bm, h->bitmap_size,
                           vhd_block_offset(h, block));

    if (r < 0) {
        h->bm_valid = false;
        return ovfk_err_set(&h->err, r, "cannot write the bitmap of block "
                            "%u of '%s': %s", block, h->path,
                            ovfk_errtext(r));
    }
    return 0;
}

/* Write the footer at off and make it the trailing footer. */
int vhd_write_footer_at(ovfk_vhd *h, uint64_t off)
{
    uint8_t buf[VHD_FOOTER_SIZE];
    int r;

    vhd_footer_encode(&h->ft, buf);
    r = ovfk_io_pwrite(h->io, buf, sizeof(buf), off);
    if (r < 0) {
        return ovfk_err_set(&h->err, r, "cannot write the footer of '%s': "
                            "%s", h->path, ovfk_errtext(r));
    }
    h->footer_off = off;
    if (off + VHD_FOOTER_SIZE > h->file_size) {
        h->file_size = off + VHD_FOOTER_SIZE;
    }
    return 0;
}

/* The end of everything the header and BAT reference (metadata, locator
 * data, blocks): where the trailing footer belongs. */
uint64_t vhd_used_end(const ovfk_vhd *h)
{
    uint64_t end = vhd_metadata_end(h);
    uint64_t span = (uint64_t)h->bitmap_size + h->dh.block_size;

    for (uint32_t i = 0; i < h->dh.max_entries; i++) {
        if (h->bat[i] != VHD_BAT_FREE &&
            vhd_block_offset(h, i) + span > end) {
            end = vhd_block_offset(h, i) + span;
        }
    }
    return end;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/info.c - describe an open VHD for `ovfkit vhd info`.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "vhd/internal.h"

/* Four bytes as text: NULs dropped, other non-printables as '?'. */
static void fourcc(const uint8_t in[4], char out[5])
{
    size_t j = 0;

    for (int i = 0; i < 4; i++) {
        if (in[i] == 0) {
            continue;
        }
        out[j++] = (in[i] >= 0x20 && in[i] < 0x7f) ? (char)in[i] : '?';
    }
    out[j] = '\0';
}

int ovfk_vhd_get_info(ovfk_vhd *h, struct ovfk_vhd_info *info)
{
    const vhd_footer *ft = &h->ft;
    struct stat st;

    memset(info, 0, sizeof(*info));
    info->type = (enum ovfk_vhd_type)ft->type;
    info->size = h->size;
    info->size_from_chs = h->size_from_chs;
    info->current_size = ft->current_size;
    info->original_size = ft->original_size;
    info->cylinders = ft->cylinders;
    info->heads = ft->heads;
    info->sectors = ft->sectors;
    info->chs_size = (uint64_t)ft->cylinders * ft->heads * ft->sectors *
                     VHD_SECTOR;
    fourcc(ft->creator_app, info->creator_app);
    info->creator_version = ft->creator_version;
    fourcc(ft->creator_os, info->creator_os);
    info->timestamp = ft->timestamp;
    memcpy(info->uuid, ft->uuid, 16);
    info->saved_state = ft->saved_state;
    info->features = ft->features;
    info->file_size = h->file_size;
    if (fstat(ovfk_io_fd(h->io), &st) == 0) {
        info->file_size = (uint64_t)st.st_size;
    }
    for (const ovfk_vhd *p = h->parent; p; p = p->parent) {
        info->chain_depth++;
    }
    if (ft->type == OVFK_VHD_TYPE_FIXED) {
        return 0;
    }
    info->block_size = h->dh.block_size;
    info->max_table_entries = h->dh.max_entries;
    info->table_offset = h->dh.table_offset;
    for (uint32_t i = 0; i < h->dh.max_entries; i++) {
        info->allocated_blocks += h->bat[i] != VHD_BAT_FREE;
    }
    if (ft->type != OVFK_VHD_TYPE_DIFF) {
        return 0;
    }
    memcpy(info->parent_uuid, h->dh.parent_uuid, 16);
    info->parent_timestamp = h->dh.parent_ts;
    vhd_parent_name(&h->dh, info->parent_name, sizeof(info->parent_name));
    for (int i = 0; i < OVFK_VHD_MAX_LOCATORS; i++) {
        struct ovfk_vhd_locator *l = &info->locators[info->n_locators];
        const vhd_loc_raw *raw = &h->dh.loc[i];
        if (raw->code[0] == 0 && raw->length == 0) {
            continue;
        }
        fourcc(raw->code, l->code);
        l->offset = raw->offset;
        l->space = vhd_locator_bytes(raw);
        l->length = raw->length;
        vhd_locator_read(h, i, l->path, sizeof(l->path));
        info->n_locators++;
    }
    return 0;
}

int ovfk_vhd_parent_path(const char *path, char *buf, size_t len)
{
    ovfk_vhd *h;
    int r = ovfk_vhd_open(path, 0, &h);

    if (r < 0) {
        return r;
    }
    r = 0;
    if (h->parent) {
        snprintf(buf, len, "%s", h->parent->path);
        r = 1;
    }
    ovfk_vhd_close(h);
    return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/footer.c - the 512-byte hard disk footer: decode, encode, checksum,
 * CHS geometry, and which size a reader should trust.
 *
 * Implements "Hard Disk Footer Format" and "CHS Calculation" of the
 * Virtual Hard Disk Image Format Specification v1.0 (October 2006).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util/bytes.h"
#include "vhd/internal.h"

/*
 * Spec "Checksum": the one's complement of the sum of all bytes of the
 * structure without the checksum field.
 */
uint32_t vhd_checksum(const uint8_t *buf, size_t len, size_t skip_off)
{
    uint32_t sum = 0;

    for (size_t i = 0; i < len; i++) {
        if (i >= skip_off && i < skip_off + 4) {
            continue;
        }
        sum += buf[i];
    }
    return ~sum;
}

bool vhd_footer_cookie_ok(const uint8_t *buf)
{
    return memcmp(buf + FT_COOKIE, "conectix", 8) == 0;
}

bool vhd_footer_checksum_ok(const uint8_t *buf)
{
    return vhd_checksum(buf, VHD_FOOTER_SIZE, FT_CHECKSUM) ==
           get_be32(buf + FT_CHECKSUM);
}

void vhd_footer_decode(const uint8_t *buf, vhd_footer *ft)
{
    ft->features = get_be32(buf + FT_FEATURES);
    ft->version = get_be32(buf + FT_VERSION);
    ft->data_offset = get_be64(buf + FT_DATA_OFFSET);
    ft->timestamp = get_be32(buf + FT_TIMESTAMP);
    memcpy(ft->creator_app, buf + FT_CREATOR_APP, 4);
    ft->creator_version = get_be32(buf + FT_CREATOR_VER);
    memcpy(ft->creator_os, buf + FT_CREATOR_OS, 4);
    ft->original_size = get_be64(buf + FT_ORIG_SIZE);
    ft->current_size = get_be64(buf + FT_CUR_SIZE);
    ft->cylinders = get_be16(buf + FT_CYLS);
    ft->heads = buf[FT_HEADS];
    ft->sectors = buf[FT_SECTORS];
    ft->type = get_be32(buf + FT_TYPE);
    ft->checksum = get_be32(buf + FT_CHECKSUM);
    memcpy(ft->uuid, buf + FT_UUID, 16);
    ft->saved_state = buf[FT_SAVED];
}

/* Encode ft into buf[512] and compute the checksum (ft->checksum unused). */
void vhd_footer_encode(const vhd_footer *ft, uint8_t *buf)
{
    memset(buf, 0, VHD_FOOTER_SIZE);
    memcpy(buf + FT_COOKIE, "conectix", 8);
    put_be32(buf + FT_FEATURES, ft->features);
    put_be32(buf + FT_VERSION, ft->version);
    put_be64(buf + FT_DATA_OFFSET, ft->data_offset);
    put_be32(buf + FT_TIMESTAMP, ft->timestamp);
    memcpy(buf + FT_CREATOR_APP, ft->creator_app, 4);
    put_be32(buf + FT_CREATOR_VER, ft->creator_version);
    memcpy(buf + FT_CREATOR_OS, ft->creator_os, 4);
    put_be64(buf + FT_ORIG_SIZE, ft->original_size);
    put_be64(buf + FT_CUR_SIZE, ft->current_size);
    put_be16(buf + FT_CYLS, ft->cylinders);
    buf[FT_HEADS] = ft->heads;
    buf[FT_SECTORS] = ft->sectors;
    put_be32(buf + FT_TYPE, ft->type);
    memcpy(buf + FT_UUID, ft->uuid, 16);
    buf[FT_SAVED] = ft->saved_state;
    put_be32(buf + FT_CHECKSUM, vhd_checksum(buf, VHD_FOOTER_SIZE,
                                             FT_CHECKSUM));
}

/* Spec appendix "CHS Calculation", verbatim in structure. */
void vhd_geometry(uint64_t size, uint16_t *cyl, uint8_t *heads, uint8_t *spt)
{
    uint64_t total = size / VHD_SECTOR;
    uint64_t cth;
    uint32_t h, s;

    if (total > 65535ull * 16 * 255) {
        total = 65535ull * 16 * 255;
    }
    if (total >= 65535ull * 16 * 63) {
        s = 255;
        h = 16;
        cth = total / s;
    } else {
        s = 17;
        cth = total / s;
        h = (uint32_t)((cth + 1023) / 1024);
        if (h < 4) {
            h = 4;
        }
        if (cth >= h * 1024ull || h > 16) {
            s = 31;
            h = 16;
            cth = total / s;
        }
        if (cth >= h * 1024ull) {
            s = 63;
            h = 16;
            cth = total / s;
        }
    }
    *cyl = (uint16_t)(cth / h);
    *heads = (uint8_t)h;
    *spt = (uint8_t)s;
}

/*
 * Which size to trust.  Producers disagree, and QEMU's block/vpc.c keeps
 * the table users have relied on for a decade; we follow it:
 *
 *   creator app   producer                      size from
 *   'vpc '        Microsoft Virtual PC          CHS geometry
 *   'qemu'        QEMU (old default)            CHS geometry
 *   'win '        Hyper-V, Windows disk mgmt    current_size
 *   'd2v '        Sysinternals Disk2vhd         current_size
 *   'tap\0'       XenServer blktap / vhd-util   current_size
 *   'CTXS'        Citrix XenConverter           current_size
 *   'qem2'        QEMU with force_size          current_size
 *   'wa\0\0'      Windows Azure                 current_size
 *   other         unknown                       CHS geometry (as QEMU)
 *
 * Quirks on top of the table, each as QEMU or for safety:
 * - a geometry at the CHS maximum (65535/16/255) cannot express the size,
 *   so current_size is used whatever the creator;
 * - a CHS product above current_size would read past the data area, so
 *   current_size is used (never seen from a real producer).
 */
uint64_t vhd_footer_size(const vhd_footer *ft, bool *from_chs)
{
    static const char *const size_apps[] = {
        "win ", "d2v ", "tap\0", "CTXS", "qem2", "wa\0\0",
    };
    uint64_t chs = (uint64_t)ft->cylinders * ft->heads * ft->sectors *
                   VHD_SECTOR;
    bool use_chs = true;

    for (size_t i = 0; i < sizeof(size_apps) / sizeof(size_apps[0]); i++) {
        if (memcmp(ft->creator_app, size_apps[i], 4) == 0) {
            use_chs = false;
        }
    }
    if (ft->cylinders == 65535 && ft->heads == 16 && ft->sectors == 255) {
        use_chs = false;
    }
    if (chs > ft->current_size || chs == 0) {
        use_chs = false;
    }
    *from_chs = use_chs;
    return use_chs ? chs : ft->current_size;
}

uint32_t vhd_now(void)
{
    time_t t = time(NULL);

    return t > VHD_EPOCH ? (uint32_t)(t - VHD_EPOCH) : 0;
}

void vhd_uuid_generate(uint8_t uuid[16])
{
    ovfk_uuid_generate(uuid);
}

void ovfk_vhd_uuid_str(const uint8_t u[16], char buf[37])
{
    ovfk_uuid_str(u, buf);
}

/*
 * A footer for a new disk.  We write the creator app 'win ' (and Hyper-V's
 * version 10.0 and host 'Wi2k'): the exact current_size is only honoured by
 * every reader (QEMU, Hyper-V, Azure, VirtualBox) for a creator in the
 * current_size column above; a creator of our own would make QEMU read the
 * smaller CHS size and cut off the end of the disk.
 */
void vhd_footer_init(vhd_footer *ft, enum ovfk_vhd_type type, uint64_t size)
{
    memset(ft, 0, sizeof(*ft));
    ft->features = VHD_FEATURES_RESERVED;
    ft->version = VHD_VERSION;
    ft->data_offset = type == OVFK_VHD_TYPE_FIXED ? VHD_DATA_OFFSET_FIXED
                                             : VHD_FOOTER_SIZE;
    ft->timestamp = vhd_now();
    memcpy(ft->creator_app, "win ", 4);
    ft->creator_version = 0x000a0000;
    memcpy(ft->creator_os, "Wi2k", 4);
    ft->original_size = size;
    ft->current_size = size;
    vhd_geometry(size, &ft->cylinders, &ft->heads, &ft->sectors);
    ft->type = (uint32_t)type;
    vhd_uuid_generate(ft->uuid);
}

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" -> 16 bytes; -EINVAL otherwise. */
int vhd_uuid_parse(const char *text, uint8_t uuid[16])
{
    return ovfk_uuid_parse(text, uuid);
}

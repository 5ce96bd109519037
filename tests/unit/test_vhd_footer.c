/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests: VHD footer and dynamic header encode/decode, checksum, CHS
 * geometry and the creator-app size table, against real producers' bytes
 * (libvhdi's sample structures, Hyper-V geometry).
 */
#include "tests/unit/harness.h"
#include "util/bytes.h"
#include "vhd/internal.h"

static int read_blob(const char *rel, uint8_t *buf, size_t len)
{
    FILE *f = fopen(t_data(rel), "rb");
    size_t n;

    if (!f) {
        return -1;
    }
    n = fread(buf, 1, len, f);
    fclose(f);
    return n == len ? 0 : -1;
}

static void geometry_matches_real_producers(void)
{
    uint16_t c;
    uint8_t h, s;

    /* Hyper-V, 10 MiB (dissect fixed.vhd / dynamic.vhd) */
    vhd_geometry(10485760, &c, &h, &s);
    CHECK_EQ(c, 301);
    CHECK_EQ(h, 4);
    CHECK_EQ(s, 17);
    /* Virtual PC, 512 MiB (libvhdi file_footer.1) */
    vhd_geometry(536870912, &c, &h, &s);
    CHECK_EQ(c, 1040);
    CHECK_EQ(h, 16);
    CHECK_EQ(s, 63);
    /* beyond 127 GiB the geometry saturates at 65535/16/255 */
    vhd_geometry(200ull << 30, &c, &h, &s);
    CHECK_EQ(c, 65535);
    CHECK_EQ(h, 16);
    CHECK_EQ(s, 255);
}

static void footer_sample_round_trips(void)
{
    uint8_t raw[512], again[512];
    vhd_footer ft;
    bool chs;

    CHECK(read_blob("structs/libvhdi__file_footer.1", raw, sizeof(raw)) == 0);
    CHECK(vhd_footer_cookie_ok(raw));
    CHECK(vhd_footer_checksum_ok(raw));
    vhd_footer_decode(raw, &ft);
    CHECK_EQ(ft.type, OVFK_VHD_TYPE_DIFF);
    CHECK(memcmp(ft.creator_app, "vpc ", 4) == 0);
    CHECK_EQ(ft.current_size, 536870912);
    CHECK_EQ(ft.cylinders, 1040);
    /* 'vpc ' sizes come from CHS: 1040 * 16 * 63 * 512 */
    CHECK_EQ(vhd_footer_size(&ft, &chs), 1040ull * 16 * 63 * 512);
    CHECK(chs);
    vhd_footer_encode(&ft, again);
    CHECK(memcmp(raw, again, sizeof(raw)) == 0);
}

static void footer_checksum_detects_a_flipped_bit(void)
{
    uint8_t raw[512];

    CHECK(read_blob("structs/libvhdi__file_footer.1", raw, sizeof(raw)) == 0);
    raw[FT_CUR_SIZE + 7] ^= 1;
    CHECK(!vhd_footer_checksum_ok(raw));
}

static void dynhdr_sample_round_trips(void)
{
    uint8_t raw[1024], again[1024];
    vhd_dynhdr dh;
    char name[256];

    CHECK(read_blob("structs/libvhdi__dynamic_disk_header.1", raw,
                    sizeof(raw)) == 0);
    CHECK(vhd_dynhdr_checksum_ok(raw));
    vhd_dynhdr_decode(raw, &dh);
    CHECK_EQ(dh.block_size, 2u << 20);
    CHECK_EQ(dh.table_offset, 0x600);
    CHECK_EQ(dh.version, VHD_VERSION);
    CHECK_OK(vhd_parent_name(&dh, name, sizeof(name)), "parent name");
    CHECK(strncmp(name, "dynamic", 7) == 0);
    vhd_dynhdr_encode(&dh, again);
    CHECK(memcmp(raw, again, sizeof(raw)) == 0);
}

static void size_table_follows_creator(void)
{
    vhd_footer ft;
    bool chs;

    vhd_footer_init(&ft, OVFK_VHD_TYPE_DYNAMIC, 10485760);
    /* ours are written as 'win ': exact current_size */
    CHECK_EQ(vhd_footer_size(&ft, &chs), 10485760);
    CHECK(!chs);
    memcpy(ft.creator_app, "qemu", 4);
    CHECK_EQ(vhd_footer_size(&ft, &chs), 301ull * 4 * 17 * 512);
    CHECK(chs);
    memcpy(ft.creator_app, "tap\0", 4);
    CHECK_EQ(vhd_footer_size(&ft, &chs), 10485760);
    memcpy(ft.creator_app, "wa\0\0", 4);
    CHECK_EQ(vhd_footer_size(&ft, &chs), 10485760);
    /* unknown creator: CHS, as QEMU does */
    memcpy(ft.creator_app, "xyz ", 4);
    CHECK_EQ(vhd_footer_size(&ft, &chs), 301ull * 4 * 17 * 512);
    /* a maximal geometry cannot express the size: current_size wins */
    ft.cylinders = 65535;
    ft.heads = 16;
    ft.sectors = 255;
    ft.current_size = 300ull << 30;
    CHECK_EQ(vhd_footer_size(&ft, &chs), 300ull << 30);
    /* a CHS product above current_size is not trusted */
    memcpy(ft.creator_app, "vpc ", 4);
    ft.cylinders = 2000;
    ft.heads = 16;
    ft.sectors = 63;
    ft.current_size = 1 << 20;
    CHECK_EQ(vhd_footer_size(&ft, &chs), 1 << 20);
}

static void parse_size_units(void)
{
    uint64_t v;

    CHECK(ovfk_parse_size("4G", &v) == 0 && v == 4ull << 30);
    CHECK(ovfk_parse_size("512M", &v) == 0 && v == 512ull << 20);
    CHECK(ovfk_parse_size("10k", &v) == 0 && v == 10240);
    CHECK(ovfk_parse_size("2TiB", &v) == 0 && v == 2ull << 40);
    CHECK(ovfk_parse_size("1536", &v) == 0 && v == 1536);
    CHECK(ovfk_parse_size("", &v) == -EINVAL);
    CHECK(ovfk_parse_size("-1", &v) == -EINVAL);
    CHECK(ovfk_parse_size("5X", &v) == -EINVAL);
    CHECK(ovfk_parse_size("99999999999999999999", &v) == -ERANGE);
    CHECK(ovfk_parse_size("99999999999T", &v) == -ERANGE);
}

static void uuid_is_version_4(void)
{
    uint8_t a[16], b[16];
    char s[37];

    vhd_uuid_generate(a);
    vhd_uuid_generate(b);
    CHECK(memcmp(a, b, 16) != 0);
    CHECK_EQ(a[6] >> 4, 4);
    CHECK_EQ(a[8] >> 6, 2);
    ovfk_vhd_uuid_str(a, s);
    CHECK_EQ(strlen(s), 36);
    CHECK(s[8] == '-' && s[14] == '4');
}

TEST_MAIN(T(geometry_matches_real_producers), T(footer_sample_round_trips),
          T(footer_checksum_detects_a_flipped_bit),
          T(dynhdr_sample_round_trips), T(size_table_follows_creator),
          T(parse_size_units), T(uuid_is_version_4))

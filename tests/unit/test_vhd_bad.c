/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests: hostile and damaged VHD files.  Each must be refused with a
 * clear message (and no crash under ASan/UBSan): truncation, checksums,
 * BAT entries outside the file or inside the metadata, impossible block
 * sizes, overflowing table sizes, parent loops, missing parents, parent
 * UUID mismatches, unknown disk types.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "ovfkit/vhd.h"
#include "tests/unit/harness.h"
#include "util/bytes.h"
#include "vhd/internal.h"

#define MIB (1u << 20)

static int rw_at(const char *path, void *buf, size_t len, off_t off, int wr)
{
    int fd = open(path, O_RDWR);
    ssize_t n;

    if (fd < 0) {
        return -1;
    }
    n = wr ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

static off_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* A dynamic disk with a few blocks of data. */
static int make_disk(const char *path)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_DYNAMIC,
                                      .size = 16 * MIB };
    uint8_t data[4096];
    ovfk_vhd *h;

    memset(data, 0x5a, sizeof(data));
    if (ovfk_vhd_create(path, &o, &h) < 0) {
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        if (ovfk_vhd_pwrite(h, data, sizeof(data), (uint64_t)i * 4 * MIB) < 0) {
            ovfk_vhd_close(h);
            return -1;
        }
    }
    ovfk_vhd_close(h);
    return 0;
}

/* Rewrite the dynamic header through fn, with a valid checksum. */
static int patch_header(const char *path, void (*fn)(vhd_dynhdr *))
{
    uint8_t raw[VHD_DYNHDR_SIZE];
    vhd_dynhdr dh;

    if (rw_at(path, raw, sizeof(raw), 512, 0) < 0) {
        return -1;
    }
    vhd_dynhdr_decode(raw, &dh);
    fn(&dh);
    vhd_dynhdr_encode(&dh, raw);
    return rw_at(path, raw, sizeof(raw), 512, 1);
}

/* Rewrite both footers through fn, with valid checksums. */
static int patch_footer(const char *path, void (*fn)(vhd_footer *))
{
    uint8_t raw[VHD_FOOTER_SIZE];
    off_t end = file_size(path) - 512;
    vhd_footer ft;

    if (rw_at(path, raw, sizeof(raw), end, 0) < 0) {
        return -1;
    }
    vhd_footer_decode(raw, &ft);
    fn(&ft);
    vhd_footer_encode(&ft, raw);
    if (rw_at(path, raw, sizeof(raw), end, 1) < 0) {
        return -1;
    }
    return rw_at(path, raw, sizeof(raw), 0, 1);
}

static int set_bat(const char *path, uint32_t index, uint32_t value)
{
    uint8_t be[4];

    put_be32(be, value);
    return rw_at(path, be, 4, 1536 + 4 * index, 1);
}

static void expect_corrupt(const char *path, const char *substr)
{
    ovfk_vhd *h = NULL;
    int r = ovfk_vhd_open(path, 0, &h);

    if (r != OVFK_ECORRUPT || !strstr(ovfk_last_error(), substr)) {
        t_fail("expect_corrupt", __LINE__, "open = %d, message '%s', "
               "want '%s'", r, ovfk_last_error(), substr);
    }
    ovfk_vhd_close(h);
}

static void truncated_file(void)
{
    CHECK(make_disk("t.vhd") == 0);
    CHECK(truncate("t.vhd", 300) == 0);
    expect_corrupt("t.vhd", "too small");
    CHECK(make_disk("u.vhd") == 0);
    CHECK(truncate("u.vhd", file_size("u.vhd") - 1000) == 0);
    expect_corrupt("u.vhd", "footer");
    CHECK_EQ(ovfk_vhd_check("u.vhd", NULL, NULL), OVFK_VHD_CHECK_CORRUPT);
    CHECK(ovfk_vhd_probe("not-there.vhd") == 0);
}

static void bad_footer_checksum(void)
{
    uint8_t b = 0;
    off_t end;

    CHECK(make_disk("f.vhd") == 0);
    end = file_size("f.vhd") - 512;
    CHECK(rw_at("f.vhd", &b, 1, end + FT_CUR_SIZE + 3, 0) == 0);
    b ^= 0x10;
    CHECK(rw_at("f.vhd", &b, 1, end + FT_CUR_SIZE + 3, 1) == 0);
    /* the copy at offset 0 is intact: the message says how to repair */
    expect_corrupt("f.vhd", "vhd repair");
    CHECK(rw_at("f.vhd", &b, 1, FT_CUR_SIZE + 3, 1) == 0);
    expect_corrupt("f.vhd", "checksum");
}

static void bad_header_checksum(void)
{
    uint8_t b;

    CHECK(make_disk("h.vhd") == 0);
    CHECK(rw_at("h.vhd", &b, 1, 512 + DH_BLOCK_SIZE, 0) == 0);
    b ^= 1;
    CHECK(rw_at("h.vhd", &b, 1, 512 + DH_BLOCK_SIZE, 1) == 0);
    expect_corrupt("h.vhd", "header checksum");
    CHECK_EQ(ovfk_vhd_check("h.vhd", NULL, NULL), OVFK_VHD_CHECK_CORRUPT);
}

static void bat_entry_past_end(void)
{
    CHECK(make_disk("b.vhd") == 0);
    CHECK(set_bat("b.vhd", 2, (uint32_t)(file_size("b.vhd") / 512)) == 0);
    expect_corrupt("b.vhd", "past the end");
    CHECK(set_bat("b.vhd", 2, 0xfffffffe) == 0);
    expect_corrupt("b.vhd", "past the end");
}

static void bat_entry_inside_header(void)
{
    CHECK(make_disk("i.vhd") == 0);
    CHECK(set_bat("i.vhd", 0, 1) == 0);
    expect_corrupt("i.vhd", "into the header");
    CHECK(set_bat("i.vhd", 0, 3) == 0);     /* inside the BAT itself */
    expect_corrupt("i.vhd", "into the header");
}

static void overlapping_blocks_are_reported_by_check(void)
{
    uint8_t be[4];

    CHECK(make_disk("o.vhd") == 0);
    CHECK(rw_at("o.vhd", be, 4, 1536, 0) == 0);
    /* block 2 now points at block 0's data */
    CHECK(rw_at("o.vhd", be, 4, 1536 + 4 * 2, 1) == 0);
    CHECK_EQ(ovfk_vhd_check("o.vhd", NULL, NULL), OVFK_VHD_CHECK_CORRUPT);
}

static void bs_zero(vhd_dynhdr *dh) { dh->block_size = 0; }
static void bs_odd(vhd_dynhdr *dh) { dh->block_size = 3 << 20; }
static void bs_huge(vhd_dynhdr *dh) { dh->block_size = 1u << 31; }
static void entries_huge(vhd_dynhdr *dh) { dh->max_entries = 0xffffffff; }
static void entries_few(vhd_dynhdr *dh) { dh->max_entries = 2; }
static void table_far(vhd_dynhdr *dh) { dh->table_offset = ~0ull - 100; }

static void impossible_block_sizes(void)
{
    CHECK(make_disk("z.vhd") == 0);
    CHECK(patch_header("z.vhd", bs_zero) == 0);
    expect_corrupt("z.vhd", "power of two");
    CHECK(patch_header("z.vhd", bs_odd) == 0);
    expect_corrupt("z.vhd", "power of two");
    CHECK(patch_header("z.vhd", bs_huge) == 0);
    expect_corrupt("z.vhd", "power of two");
}

static void overflowing_table(void)
{
    CHECK(make_disk("m.vhd") == 0);
    CHECK(patch_header("m.vhd", entries_huge) == 0);
    expect_corrupt("m.vhd", "does not fit");
    CHECK(make_disk("n.vhd") == 0);
    CHECK(patch_header("n.vhd", entries_few) == 0);
    expect_corrupt("n.vhd", "do not cover");
    CHECK(make_disk("p.vhd") == 0);
    CHECK(patch_header("p.vhd", table_far) == 0);
    expect_corrupt("p.vhd", "does not fit");
}

static void size_huge(vhd_footer *ft) { ft->current_size = ~0ull - 511; }
static void type_five(vhd_footer *ft) { ft->type = 5; }

static void impossible_sizes_and_types(void)
{
    ovfk_vhd *h;

    CHECK(make_disk("s.vhd") == 0);
    CHECK(patch_footer("s.vhd", size_huge) == 0);
    expect_corrupt("s.vhd", "");
    CHECK(make_disk("y.vhd") == 0);
    CHECK(patch_footer("y.vhd", type_five) == 0);
    CHECK_ERR(ovfk_vhd_open("y.vhd", 0, &h), OVFK_EUNSUPPORTED,
              ovfk_last_error(), "disk type 5");
    CHECK_EQ(ovfk_vhd_check("y.vhd", NULL, NULL), OVFK_VHD_CHECK_UNSUPPORTED);
}

static void missing_parent(void)
{
    struct ovfk_vhd_create_opts o = { .parent = "p.vhd" };
    ovfk_vhd *h;

    CHECK(make_disk("p.vhd") == 0);
    CHECK_OK(ovfk_vhd_create("c.vhd", &o, NULL), ovfk_last_error());
    CHECK(unlink("p.vhd") == 0);
    CHECK_ERR(ovfk_vhd_open("c.vhd", 0, &h), -ENOENT, ovfk_last_error(),
              "parent of 'c.vhd' not found");
    CHECK_EQ(ovfk_vhd_check("c.vhd", NULL, NULL), OVFK_VHD_CHECK_FAILED);
    /* the child alone still opens for inspection */
    CHECK_OK(ovfk_vhd_open("c.vhd", OVFK_VHD_OPEN_NO_PARENT, &h),
             ovfk_last_error());
    ovfk_vhd_close(h);
}

static void parent_uuid_mismatch(void)
{
    struct ovfk_vhd_create_opts o = { .parent = "p.vhd" };
    ovfk_vhd *h;

    CHECK(make_disk("p.vhd") == 0);
    CHECK_OK(ovfk_vhd_create("c.vhd", &o, NULL), ovfk_last_error());
    /* another disk takes the parent's place */
    CHECK(unlink("p.vhd") == 0);
    CHECK(make_disk("p.vhd") == 0);
    CHECK_ERR(ovfk_vhd_open("c.vhd", 0, &h), OVFK_EMISMATCH, ovfk_last_error(),
              "but the child expects");
    CHECK_EQ(ovfk_vhd_check("c.vhd", NULL, NULL), OVFK_VHD_CHECK_CORRUPT);
}

static void parent_found_by_name_when_moved(void)
{
    struct ovfk_vhd_create_opts o = { .parent = "sub/deep/p.vhd" };
    ovfk_vhd *h;

    CHECK(mkdir("sub", 0755) == 0 && mkdir("sub/deep", 0755) == 0);
    CHECK(make_disk("sub/deep/p.vhd") == 0);
    CHECK_OK(ovfk_vhd_create("sub/c.vhd", &o, NULL), ovfk_last_error());
    /* both locators go stale; the parent's name in the child's dir works */
    CHECK(rename("sub/deep/p.vhd", "sub/p.vhd") == 0);
    CHECK_OK(ovfk_vhd_open("sub/c.vhd", 0, &h), ovfk_last_error());
    CHECK_MSG(strcmp(ovfk_vhd_path(ovfk_vhd_parent(h)), "sub/p.vhd") == 0, "%s",
              ovfk_vhd_path(ovfk_vhd_parent(h)));
    ovfk_vhd_close(h);
    /* the relative locator wins when the pair moves together */
    CHECK(rename("sub", "moved") == 0);
    CHECK(rename("moved/p.vhd", "moved/deep/p.vhd") == 0);
    CHECK_OK(ovfk_vhd_open("moved/c.vhd", 0, &h), ovfk_last_error());
    CHECK_MSG(strcmp(ovfk_vhd_path(ovfk_vhd_parent(h)), "moved/deep/p.vhd") ==
                  0,
              "%s", ovfk_vhd_path(ovfk_vhd_parent(h)));
    ovfk_vhd_close(h);
}

static void parent_chain_loop(void)
{
    struct ovfk_vhd_create_opts o = { 0 };
    ovfk_vhd *a, *b;
    uint64_t next;

    CHECK(make_disk("x.vhd") == 0);
    o.parent = "x.vhd";
    CHECK_OK(ovfk_vhd_create("a.vhd", &o, NULL), ovfk_last_error());
    o.parent = "a.vhd";
    CHECK_OK(ovfk_vhd_create("b.vhd", &o, NULL), ovfk_last_error());
    /* point a at b: b -> a -> b -> ... */
    CHECK_OK(ovfk_vhd_open("a.vhd",
                           OVFK_VHD_OPEN_RDWR | OVFK_VHD_OPEN_NO_PARENT, &a),
             ovfk_last_error());
    CHECK_OK(ovfk_vhd_open("b.vhd", OVFK_VHD_OPEN_NO_PARENT, &b),
             ovfk_last_error());
    next = a->footer_off;
    CHECK_OK(vhd_set_parent_fields(a, b, "b.vhd", 0, &next), ovfk_vhd_error(a));
    CHECK_OK(vhd_write_header(a), ovfk_vhd_error(a));
    CHECK_OK(vhd_write_footer_at(a, next), ovfk_vhd_error(a));
    ovfk_vhd_close(a);
    ovfk_vhd_close(b);
    CHECK_ERR(ovfk_vhd_open("b.vhd", 0, &b), OVFK_ECORRUPT, ovfk_last_error(),
              "loops back");
    CHECK_EQ(ovfk_vhd_check("b.vhd", NULL, NULL), OVFK_VHD_CHECK_CORRUPT);
}

static void not_a_vhd(void)
{
    FILE *f = fopen("n.vhd", "wb");
    ovfk_vhd *h;

    CHECK(f);
    for (int i = 0; i < 4096; i++) {
        fputc(i & 0xff, f);
    }
    fclose(f);
    CHECK_ERR(ovfk_vhd_open("n.vhd", 0, &h), OVFK_ECORRUPT, ovfk_last_error(),
              "no 'conectix' footer");
    CHECK_ERR(ovfk_vhd_open("nothing.vhd", 0, &h), -ENOENT, ovfk_last_error(),
              "cannot open 'nothing.vhd'");
    CHECK_ERR(ovfk_vhd_repair("n.vhd", NULL, NULL), OVFK_ECORRUPT,
              ovfk_last_error(), "cannot repair");
}

TEST_MAIN(T(truncated_file), T(bad_footer_checksum), T(bad_header_checksum),
          T(bat_entry_past_end), T(bat_entry_inside_header),
          T(overlapping_blocks_are_reported_by_check),
          T(impossible_block_sizes), T(overflowing_table),
          T(impossible_sizes_and_types), T(missing_parent),
          T(parent_uuid_mismatch), T(parent_found_by_name_when_moved),
          T(parent_chain_loop), T(not_a_vhd))

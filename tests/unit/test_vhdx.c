/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_vhdx.c - the VHDX input (convert/vhdx.c, over libvhdi)
 * against qemu-img: dynamic and fixed images qemu-img writes read byte for
 * byte as `qemu-img convert -O raw` reads them; a damaged signature,
 * header, region table or BAT is refused with a message that names the
 * file; a differencing disk's parent is looked for beside it and must be
 * the one it names (Hyper-V samples from ../shared/testdata when there).
 */
#include "tests/unit/harness.h"
#include "tests/unit/images.h"

/* VHDX 1.0 layout (MS-VHDX 2.2): the header section's fixed offsets. */
#define X_HEADER1 0x10000
#define X_HEADER2 0x20000
#define X_REGION1 0x30000
#define X_REGION2 0x40000

#define SAME(img, step) \
    CHECK_MSG(t_same_as_qemu(img, "vhdx", step) == 0, "%s", t_why)

#define REFUSED(img, fmt, code, msg) \
    do { \
        int r_ = t_open_read(img, fmt); \
        CHECK_ERR(r_, code, t_why, msg); \
    } while (0)

static int qio(const char *img, const char *cmd)
{
    return t_sh("qemu-io -f vhdx '%s' -c '%s' > /dev/null", img, cmd);
}

/* A dynamic VHDX of 1 MiB blocks with data in its first block. */
static int dynamic_image(const char *name)
{
    int r = t_sh("qemu-img create -q -f vhdx -o block_size=1M,log_size=1M "
                 "%s 4M", name);
    return r ? r : qio(name, "write -P 0x41 1000 5000");
}

static void t_dynamic(void)
{
    NEED_QEMU();
    CHECK(dynamic_image("a.vhdx") == 0);
    CHECK(qio("a.vhdx", "write -P 0x42 2M 1M") == 0);
    CHECK(qio("a.vhdx", "write -P 0x43 4193792 512") == 0);
    SAME("a.vhdx", 100000);
    CHECK(strcmp(ovfk_probe_format("a.vhdx"), "vhdx") == 0);
}

static void t_fixed(void)
{
    NEED_QEMU();
    CHECK(t_sh("qemu-img create -q -f raw r 3M && qemu-io -f raw r -c "
               "'write -P 0x51 1M 4096' > /dev/null") == 0);
    CHECK(t_sh("qemu-img convert -O vhdx -o subformat=fixed,log_size=1M r "
               "a.vhdx") == 0);
    SAME("a.vhdx", 65536);
}

static void t_bad_signature(void)
{
    NEED_QEMU();
    CHECK(dynamic_image("a.vhdx") == 0);
    CHECK(t_patch("a.vhdx", 0, "vhdxfilf", 8) == 0);
    REFUSED("a.vhdx", "vhdx", -EINVAL, "'a.vhdx' is not a VHDX image (no "
            "'vhdxfile' signature)");
    /* its name claims VHDX: probing hands it to the VHDX reader too */
    CHECK(strcmp(ovfk_probe_format("a.vhdx"), "vhdx") == 0);
    REFUSED("a.vhdx", NULL, -EINVAL, "'a.vhdx' is not a VHDX image");
}

/* Both headers damaged: no current header to go by. */
static void t_bad_headers(void)
{
    NEED_QEMU();
    CHECK(dynamic_image("a.vhdx") == 0);
    CHECK(t_patch("a.vhdx", X_HEADER1, "HEAD", 4) == 0);
    CHECK(t_patch("a.vhdx", X_HEADER2 + 8, "\x77", 1) == 0);
    REFUSED("a.vhdx", NULL, -EINVAL, "cannot open the VHDX 'a.vhdx': unable "
            "to read image header (libvhdi_image_header_read_data: "
            "unsupported signature)");
}

static void t_bad_region_table(void)
{
    NEED_QEMU();
    CHECK(dynamic_image("a.vhdx") == 0);
    /* libvhdi reads the first copy only, as qemu does */
    CHECK(t_patch("a.vhdx", X_REGION1, "RegI", 4) == 0);
    REFUSED("a.vhdx", NULL, -EINVAL, "cannot open the VHDX 'a.vhdx': unable "
            "to read region table (libvhdi_region_table_header_read_data: "
            "unsupported signature)");
}

/* A region table whose checksum is wrong in both copies. */
static void t_region_table_checksum(void)
{
    NEED_QEMU();
    CHECK(dynamic_image("a.vhdx") == 0);
    CHECK(t_patch("a.vhdx", X_REGION1 + 4, "\0\0\0\0", 4) == 0);
    CHECK(t_patch("a.vhdx", X_REGION2 + 4, "\0\0\0\0", 4) == 0);
    REFUSED("a.vhdx", NULL, -EINVAL, "cannot open the VHDX 'a.vhdx': unable "
            "to read region table (libvhdi_region_table_read_file_io_handle: "
            "mismatch in checksum");
}

/* A metadata item far outside its region and the file (fuzz_vhdx found
 * a nearer one, regress-libvhdi-leak-metadata-item-offset). */
static void t_metadata_item_outside(void)
{
    NEED_QEMU();
    CHECK(dynamic_image("a.vhdx") == 0);
    /* qemu-img puts the metadata region at 3 MiB: a 32-byte table
     * header, then entries of item id (16), offset (4), length (4) */
    CHECK(t_patch("a.vhdx", 0x300000, "metadata", 8) == 0);
    CHECK(t_patch("a.vhdx", 0x300000 + 32 + 16, "\0\0\xf0\x7f", 4) == 0);
    REFUSED("a.vhdx", NULL, -EINVAL, "cannot open the VHDX 'a.vhdx': unable "
            "to read metadata values (libvhdi_metadata_values_read_item_file_"
            "io_handle: unable to read metadata item data at offset: "
            "2149580800");
}

/* The data block lies past the end of a truncated file. */
static void t_block_past_eof(void)
{
    NEED_QEMU();
    CHECK(dynamic_image("a.vhdx") == 0);
    CHECK(truncate("a.vhdx", 4u << 20) == 0);
    REFUSED("a.vhdx", NULL, -EIO, "cannot read at offset 0 of 'a.vhdx': "
            "libvhdi_internal_file_read_buffer_from_file_io_handle: unable to "
            "read sector data at offset: 8388608");
}

static void t_truncated_file(void)
{
    NEED_QEMU();
    CHECK(dynamic_image("a.vhdx") == 0);
    CHECK(truncate("a.vhdx", 0x28000) == 0);
    REFUSED("a.vhdx", NULL, -EINVAL, "cannot open the VHDX 'a.vhdx': unable "
            "to read region table (libvhdi_region_table_read_file_io_handle: "
            "unable to read region table data at offset: 196608");
}

/* A Hyper-V differencing disk whose parent (recorded with a Windows
 * path) is not beside it. */
static int unpack_shared(const char *name, const char *to)
{
    const char *top = getenv("OVFK_SRCDIR");

    return t_sh("zcat '%s/../shared/testdata/images/%s' > '%s' "
                "2> /dev/null", top ? top : ".", name, to);
}

static void t_parent_missing(void)
{
    if (unpack_shared("vhdx__dissect_differencing.avhdx.gz", "d.avhdx")) {
        SKIP("needs ../shared/testdata (a Hyper-V differencing VHDX)");
    }
    REFUSED("d.avhdx", NULL, -ENOENT, "the parent of 'd.avhdx' is missing: "
            "'./Generation 1_49C4BAF3-4B25-4406-8C4B-D39E65C32385.avhdx' "
            "(recorded as 'C:\\Users\\Public\\Documents\\Hyper-V");
}

static void t_parent_wrong(void)
{
    if (unpack_shared("vhdx__dissect_differencing.avhdx.gz", "d.avhdx") ||
        unpack_shared("vhdx__dissect_dynamic.vhdx.gz", "Generation 1_"
                      "49C4BAF3-4B25-4406-8C4B-D39E65C32385.avhdx")) {
        SKIP("needs ../shared/testdata (Hyper-V VHDX samples)");
    }
    REFUSED("d.avhdx", NULL, -EINVAL, "is not the parent of 'd.avhdx' "
            "(identifiers differ)");
}

TEST_MAIN(T(t_dynamic), T(t_fixed), T(t_bad_signature), T(t_bad_headers),
          T(t_bad_region_table), T(t_region_table_checksum),
          T(t_metadata_item_outside), T(t_block_past_eof),
          T(t_truncated_file), T(t_parent_missing), T(t_parent_wrong))

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_qcow2.c - the qcow2 reader (convert/qcow2.c) against
 * qemu-img: images qemu-img and qemu-io write here (versions 2 and 3,
 * small and large clusters, zero and compressed clusters, zstd, backing
 * chains, an external data file) read byte for byte as `qemu-img convert
 * -O raw` reads them; hostile headers and tables, patched into such
 * images, are refused with their own message.
 */
#include "tests/unit/harness.h"
#include "tests/unit/images.h"

/* Header fields (QEMU docs/interop/qcow2.txt, big-endian). */
#define H_VERSION 4
#define H_BACKING_OFF 8
#define H_CLUSTER_BITS 20
#define H_SIZE 24
#define H_CRYPT 32
#define H_L1_SIZE 36
#define H_L1_OFF 40
#define H_INCOMPAT 72

static uint64_t be64_at(const char *path, uint64_t off)
{
    uint8_t b[8] = { 0 };
    int fd = open(path, O_RDONLY);
    uint64_t v = 0;

    if (fd >= 0) {
        if (pread(fd, b, 8, (off_t)off) != 8) {
            memset(b, 0, sizeof(b));
        }
        close(fd);
    }
    for (int i = 0; i < 8; i++) {
        v = v << 8 | b[i];
    }
    return v;
}

#define QIO(img, cmd) \
    CHECK_MSG(t_sh("qemu-io -f qcow2 '%s' -c '%s' > /dev/null", img, cmd) \
              == 0, "qemu-io %s: %s", img, cmd)

#define SAME(img, step) \
    CHECK_MSG(t_same_as_qemu(img, "qcow2", step) == 0, "%s", t_why)

/* Expect the open (or a read) of img to fail with code and msg. */
#define REFUSED(img, fmt, code, msg) \
    do { \
        int r_ = t_open_read(img, fmt); \
        CHECK_ERR(r_, code, t_why, msg); \
    } while (0)

static void t_v3_large_clusters(void)
{
    NEED_QEMU();
    CHECK(t_sh("qemu-img create -q -f qcow2 a.qcow2 4M") == 0);
    QIO("a.qcow2", "write -P 0x11 0 3000");
    QIO("a.qcow2", "write -P 0x22 1048593 5000");
    QIO("a.qcow2", "write -P 0x33 2M 128k");
    QIO("a.qcow2", "write -z 2M 64k");
    QIO("a.qcow2", "write -P 0x44 4193792 512");
    SAME("a.qcow2", 3000);
    CHECK(strcmp(ovfk_probe_format("a.qcow2"), "qcow2") == 0);
}

static void t_v3_small_clusters(void)
{
    NEED_QEMU();
    CHECK(t_sh("qemu-img create -q -f qcow2 -o cluster_size=512 a.qcow2 "
               "200k") == 0);
    for (int i = 0; i < 40; i++) {
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "write -P %d %d 700", i + 1, i * 5000);
        QIO("a.qcow2", cmd);
    }
    QIO("a.qcow2", "write -z 1024 512");
    SAME("a.qcow2", 777);
}

static void t_v2(void)
{
    NEED_QEMU();
    CHECK(t_sh("qemu-img create -q -f qcow2 -o compat=0.10 a.qcow2 1M") == 0);
    QIO("a.qcow2", "write -P 0x5a 65000 70000");
    CHECK_EQ(be64_at("a.qcow2", H_VERSION) >> 32, 2);
    SAME("a.qcow2", 65536);
}

static void t_compressed_deflate(void)
{
    NEED_QEMU();
    CHECK(t_sh("qemu-img create -q -f raw r 300k && qemu-io -f raw r "
               "-c 'write -P 0x61 0 100k' -c 'write -P 0x62 200k 4k' "
               "> /dev/null") == 0);
    CHECK(t_sh("qemu-img convert -c -O qcow2 -o cluster_size=4096 r "
               "a.qcow2") == 0);
    SAME("a.qcow2", 5000);
    CHECK(t_sh("qemu-img convert -c -O qcow2 r b.qcow2") == 0);
    SAME("b.qcow2", 70000);
}

static void t_compressed_zstd(void)
{
    NEED_QEMU();
    CHECK(t_sh("qemu-img create -q -f raw r 300k && qemu-io -f raw r "
               "-c 'write -P 0x63 4096 100k' > /dev/null") == 0);
    CHECK(t_sh("qemu-img convert -c -O qcow2 -o compression_type=zstd,"
               "cluster_size=8192 r a.qcow2") == 0);
    SAME("a.qcow2", 3333);
}

static void t_backing_chain(void)
{
    NEED_QEMU();
    CHECK(t_sh("qemu-img create -q -f qcow2 -o cluster_size=4096 base.qcow2 "
               "1M") == 0);
    QIO("base.qcow2", "write -P 0x01 0 1M");
    CHECK(t_sh("qemu-img create -q -f qcow2 -o cluster_size=4096 -b "
               "base.qcow2 -F qcow2 mid.qcow2 1M") == 0);
    QIO("mid.qcow2", "write -P 0x02 100k 10k");
    /* the top is larger than its backing file: zeros past its end */
    CHECK(t_sh("qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 "
               "top.qcow2 2M") == 0);
    QIO("top.qcow2", "write -P 0x03 0 4k");
    QIO("top.qcow2", "write -z 500k 64k");
    QIO("top.qcow2", "write -P 0x04 1500k 1k");
    SAME("top.qcow2", 10000);
    /* a raw backing file */
    CHECK(t_sh("qemu-img create -q -f raw base.raw 64k && qemu-io -f raw "
               "base.raw -c 'write -P 0x07 0 64k' > /dev/null") == 0);
    CHECK(t_sh("qemu-img create -q -f qcow2 -b base.raw -F raw over.qcow2 "
               "64k") == 0);
    QIO("over.qcow2", "write -P 0x08 1k 1k");
    SAME("over.qcow2", 4096);
}

static void t_external_data_file(void)
{
    NEED_QEMU();
    CHECK(t_sh("qemu-img create -q -f qcow2 -o data_file=d.raw a.qcow2 "
               "1M") == 0);
    QIO("a.qcow2", "write -P 0x71 0 64k");
    QIO("a.qcow2", "write -P 0x72 512k 1k");
    SAME("a.qcow2", 20000);
}

/* --- hostile images ------------------------------------------------------ */

/* A small valid image with data in its first cluster. */
static int small_image(const char *name, const char *opts)
{
    return t_sh("qemu-img create -q -f qcow2 -o cluster_size=4096%s%s %s "
                "64k && qemu-io -f qcow2 %s -c 'write -P 0x55 0 4k' "
                "> /dev/null", opts ? "," : "", opts ? opts : "", name,
                name);
}

static void t_bad_magic(void)
{
    NEED_QEMU();
    CHECK(small_image("a.qcow2", NULL) == 0);
    CHECK(t_patch("a.qcow2", 0, "QFJ\xfb", 4) == 0);
    /* asked for by name (or by its file name), a file without the magic
     * is not taken as one; under another name it is raw */
    REFUSED("a.qcow2", "qcow2", OVFK_ECORRUPT, "is not a qcow2 image");
    CHECK(strcmp(ovfk_probe_format("a.qcow2"), "qcow2") == 0);
    REFUSED("a.qcow2", NULL, OVFK_ECORRUPT, "is not a qcow2 image");
    CHECK(rename("a.qcow2", "a.img") == 0);
    CHECK(strcmp(ovfk_probe_format("a.img"), "raw") == 0);
}

static void t_short_header(void)
{
    CHECK(t_write_file("a.qcow2", "QFI\xfb\0\0\0\3", 8) == 0);
    REFUSED("a.qcow2", "qcow2", OVFK_ECORRUPT, "is too short for a qcow2 "
            "header");
}

static void t_bad_version(void)
{
    NEED_QEMU();
    CHECK(small_image("a.qcow2", NULL) == 0);
    CHECK(t_patch_be32("a.qcow2", H_VERSION, 4) == 0);
    REFUSED("a.qcow2", NULL, OVFK_EUNSUPPORTED, "qcow version 4 is not "
            "supported");
}

static void t_huge_cluster_bits(void)
{
    NEED_QEMU();
    CHECK(small_image("a.qcow2", NULL) == 0);
    CHECK(t_patch_be32("a.qcow2", H_CLUSTER_BITS, 63) == 0);
    REFUSED("a.qcow2", NULL, OVFK_ECORRUPT, "cluster bits 63 out of range");
    CHECK(t_patch_be32("a.qcow2", H_CLUSTER_BITS, 8) == 0);
    REFUSED("a.qcow2", NULL, OVFK_ECORRUPT, "cluster bits 8 out of range");
}

static void t_huge_virtual_size(void)
{
    NEED_QEMU();
    CHECK(small_image("a.qcow2", NULL) == 0);
    CHECK(t_patch_be64("a.qcow2", H_SIZE, UINT64_C(1) << 60) == 0);
    REFUSED("a.qcow2", NULL, OVFK_ECORRUPT, "is out of range");
}

static void t_l1_beyond_file(void)
{
    NEED_QEMU();
    CHECK(small_image("a.qcow2", NULL) == 0);
    CHECK(t_patch_be64("a.qcow2", H_L1_OFF, 1u << 20) == 0);
    REFUSED("a.qcow2", NULL, OVFK_ECORRUPT, "outside the file");
    /* an L1 table too large to be real */
    CHECK(small_image("b.qcow2", NULL) == 0);
    CHECK(t_patch_be32("b.qcow2", H_L1_SIZE, 0x7fffffff) == 0);
    REFUSED("b.qcow2", NULL, OVFK_ECORRUPT, "is too small, too large or "
            "outside");
}

static void t_l1_overlaps_header(void)
{
    NEED_QEMU();
    CHECK(small_image("a.qcow2", NULL) == 0);
    CHECK(t_patch_be64("a.qcow2", H_L1_OFF, 0) == 0);
    REFUSED("a.qcow2", NULL, OVFK_ECORRUPT, "the L1 table overlaps the header");
}

static void t_l2_overlaps_l1(void)
{
    uint64_t l1;

    NEED_QEMU();
    CHECK(small_image("a.qcow2", NULL) == 0);
    l1 = be64_at("a.qcow2", H_L1_OFF);
    CHECK(l1 != 0);
    /* the first L2 table is the L1 table itself */
    CHECK(t_patch_be64("a.qcow2", l1, l1 | UINT64_C(1) << 63) == 0);
    REFUSED("a.qcow2", NULL, OVFK_ECORRUPT, "overlaps the header or the L1 "
            "table");
}

static void t_l2_past_eof(void)
{
    uint64_t l1, l2;

    NEED_QEMU();
    CHECK(small_image("a.qcow2", NULL) == 0);
    l1 = be64_at("a.qcow2", H_L1_OFF);
    l2 = be64_at("a.qcow2", l1) & UINT64_C(0x00fffffffffffe00);
    CHECK(l2 != 0);
    CHECK(truncate("a.qcow2", (off_t)l2) == 0);
    REFUSED("a.qcow2", NULL, OVFK_ECORRUPT, "lies outside the file");
}

static void t_backing_loop(void)
{
    NEED_QEMU();
    CHECK(small_image("a.qcow2", NULL) == 0);
    CHECK(small_image("b.qcow2", NULL) == 0);
    CHECK(t_sh("qemu-img rebase -u -f qcow2 -b b.qcow2 -F qcow2 a.qcow2 && "
               "qemu-img rebase -u -f qcow2 -b a.qcow2 -F qcow2 b.qcow2")
          == 0);
    REFUSED("a.qcow2", NULL, -ELOOP, "more than 32 backing files (a loop?)");
    /* an image that is its own backing file */
    CHECK(t_sh("qemu-img rebase -u -f qcow2 -b a.qcow2 -F qcow2 a.qcow2")
          == 0);
    REFUSED("a.qcow2", NULL, -ELOOP, "more than 32 backing files (a loop?)");
}

/* qcow2 -> VMDK -> the same qcow2: each reader comes back through
 * ovfk_open_source, so a depth counted per call never grows (this ran
 * out of stack) */
static void t_backing_loop_across_formats(void)
{
    static const char desc[] =
        "# Disk DescriptorFile\nversion=1\nCID=12345678\n"
        "parentCID=87654321\nparentFileNameHint=\"a.qcow2\"\n"
        "createType=\"monolithicFlat\"\nRW 128 FLAT \"b-flat\" 0\n";

    NEED_QEMU();
    CHECK(small_image("a.qcow2", NULL) == 0);
    CHECK(t_write_file("b.vmdk", desc, sizeof(desc) - 1) == 0);
    CHECK(t_sh("qemu-img create -q -f raw b-flat 64k") == 0);
    CHECK(t_sh("qemu-img rebase -u -f qcow2 -b b.vmdk -F vmdk a.qcow2")
          == 0);
    REFUSED("a.qcow2", NULL, -ELOOP, "(a loop?)");
    REFUSED("b.vmdk", NULL, -ELOOP, "(a loop?)");
}

static void t_backing_missing(void)
{
    NEED_QEMU();
    CHECK(small_image("a.qcow2", NULL) == 0);
    CHECK(t_sh("qemu-img rebase -u -f qcow2 -b gone.qcow2 -F qcow2 a.qcow2")
          == 0);
    REFUSED("a.qcow2", NULL, -ENOENT, "its backing file: cannot open");
}

static void t_backing_protocol(void)
{
    NEED_QEMU();
    CHECK(small_image("a.qcow2", NULL) == 0);
    CHECK(t_sh("qemu-img rebase -u -f qcow2 -b 'nbd://localhost/x' -F raw "
               "a.qcow2") == 0);
    REFUSED("a.qcow2", NULL, OVFK_EUNSUPPORTED, "is not a file (protocols and "
            "json: are not followed)");
    CHECK(t_sh("qemu-img rebase -u -f qcow2 -b 'json:{\"file\":{}}' "
               "-F raw a.qcow2") == 0);
    REFUSED("a.qcow2", NULL, OVFK_EUNSUPPORTED, "is not a file");
}

static void t_encrypted(void)
{
    NEED_QEMU();
    CHECK(small_image("a.qcow2", NULL) == 0);
    CHECK(t_patch_be32("a.qcow2", H_CRYPT, 2) == 0);
    REFUSED("a.qcow2", NULL, OVFK_EUNSUPPORTED, "is encrypted");
}

static void t_unknown_features(void)
{
    NEED_QEMU();
    CHECK(small_image("a.qcow2", NULL) == 0);
    CHECK(t_patch_be64("a.qcow2", H_INCOMPAT, 1u << 9) == 0);
    REFUSED("a.qcow2", NULL, OVFK_EUNSUPPORTED, "uses features we do not know");
}

static void t_extended_l2(void)
{
    NEED_QEMU();
    CHECK(small_image("a.qcow2", "extended_l2=on,cluster_size=16384") == 0);
    REFUSED("a.qcow2", NULL, OVFK_EUNSUPPORTED, "extended L2 entries");
}

static void t_data_file_missing(void)
{
    NEED_QEMU();
    CHECK(small_image("a.qcow2", "data_file=d.raw") == 0);
    CHECK(unlink("d.raw") == 0);
    REFUSED("a.qcow2", NULL, -ENOENT, "cannot open its data file 'd.raw'");
}

static void t_bad_compressed_cluster(void)
{
    uint64_t l1, l2, entry, host;
    uint8_t junk[64];

    NEED_QEMU();
    CHECK(t_sh("qemu-img create -q -f raw r 4k && qemu-io -f raw r -c "
               "'write -P 0x61 0 4k' > /dev/null && qemu-img convert -c -O "
               "qcow2 -o cluster_size=4096 r a.qcow2") == 0);
    l1 = be64_at("a.qcow2", H_L1_OFF);
    l2 = be64_at("a.qcow2", l1) & UINT64_C(0x00fffffffffffe00);
    entry = be64_at("a.qcow2", l2);
    CHECK(entry & UINT64_C(1) << 62);
    /* 4 KiB clusters: the host offset is the low 62 - (12 - 8) bits */
    host = entry & ((UINT64_C(1) << 58) - 1);
    memset(junk, 0xff, sizeof(junk));
    CHECK(t_patch("a.qcow2", host, junk, sizeof(junk)) == 0);
    REFUSED("a.qcow2", NULL, OVFK_ECORRUPT, "does not inflate");
}

TEST_MAIN(T(t_v3_large_clusters), T(t_v3_small_clusters), T(t_v2),
          T(t_compressed_deflate), T(t_compressed_zstd), T(t_backing_chain),
          T(t_external_data_file), T(t_bad_magic), T(t_short_header),
          T(t_bad_version), T(t_huge_cluster_bits), T(t_huge_virtual_size),
          T(t_l1_beyond_file), T(t_l1_overlaps_header), T(t_l2_overlaps_l1),
          T(t_l2_past_eof), T(t_backing_loop), T(t_backing_loop_across_formats),
          T(t_backing_missing),
          T(t_backing_protocol), T(t_encrypted), T(t_unknown_features),
          T(t_extended_l2), T(t_data_file_missing),
          T(t_bad_compressed_cluster))

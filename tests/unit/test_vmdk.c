/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_vmdk.c - the VMDK reader (convert/vmdk.c) against
 * qemu-img: monolithicSparse, streamOptimized, monolithicFlat, a
 * descriptor of FLAT, ZERO and SPARSE extents, and a snapshot child read
 * byte for byte as `qemu-img convert -O raw` reads them; hostile
 * descriptors, headers and tables are refused with their own message.
 */
#include "tests/unit/harness.h"
#include "tests/unit/images.h"

/* SparseExtentHeader fields (VMware's VMDK specification 5.0, LE). */
#define S_GRAIN 20
#define S_DESC_OFF 28
#define S_GTES 44
#define S_GD_OFF 56

static uint64_t le_at(const char *path, uint64_t off, int bytes)
{
    uint8_t b[8] = { 0 };
    int fd = open(path, O_RDONLY);
    uint64_t v = 0;

    if (fd >= 0) {
        if (pread(fd, b, (size_t)bytes, (off_t)off) != bytes) {
            memset(b, 0, sizeof(b));
        }
        close(fd);
    }
    for (int i = bytes - 1; i >= 0; i--) {
        v = v << 8 | b[i];
    }
    return v;
}

#define QIO(img, cmd) \
    CHECK_MSG(t_sh("qemu-io -f vmdk '%s' -c '%s' > /dev/null", img, cmd) \
              == 0, "qemu-io %s: %s", img, cmd)

#define SAME(img, step) \
    CHECK_MSG(t_same_as_qemu(img, "vmdk", step) == 0, "%s", t_why)

#define REFUSED(img, code, msg) \
    do { \
        int r_ = t_open_read(img, NULL); \
        CHECK_ERR(r_, code, t_why, msg); \
    } while (0)

#define DESC_HEAD "# Disk DescriptorFile\nversion=1\nCID=12345678\n"

static int put_desc(const char *path, const char *text)
{
    return t_write_file(path, text, strlen(text));
}

/* A raw image with data in a few places, for conversions. */
static int raw_with_data(const char *path, const char *size)
{
    return t_sh("qemu-img create -q -f raw %s %s && qemu-io -f raw %s "
                "-c 'write -P 0x31 0 3000' -c 'write -P 0x32 70000 70000' "
                "-c 'write -P 0x33 300k 512' > /dev/null", path, size, path);
}

static void t_monolithic_sparse(void)
{
    NEED_QEMU();
    CHECK(t_sh("qemu-img create -q -f vmdk -o subformat=monolithicSparse "
               "a.vmdk 4M") == 0);
    QIO("a.vmdk", "write -P 0x11 0 3000");
    QIO("a.vmdk", "write -P 0x22 1048593 100000");
    QIO("a.vmdk", "write -P 0x44 4193792 512");
    SAME("a.vmdk", 3000);
    CHECK(strcmp(ovfk_probe_format("a.vmdk"), "vmdk") == 0);
}

static void t_stream_optimized(void)
{
    NEED_QEMU();
    CHECK(raw_with_data("r", "1M") == 0);
    CHECK(t_sh("qemu-img convert -O vmdk -o subformat=streamOptimized r "
               "a.vmdk") == 0);
    SAME("a.vmdk", 5000);
}

static void t_monolithic_flat(void)
{
    NEED_QEMU();
    CHECK(t_sh("qemu-img create -q -f vmdk -o subformat=monolithicFlat "
               "a.vmdk 1M") == 0);
    QIO("a.vmdk", "write -P 0x55 4000 9000");
    SAME("a.vmdk", 4096);
}

/* FLAT at an offset and a hosted SPARSE extent in one descriptor */
static void t_mixed_extents(void)
{
    NEED_QEMU();
    CHECK(raw_with_data("f.raw", "400k") == 0);
    CHECK(t_sh("qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse"
               " s.vmdk 1M && qemu-io -f vmdk s.vmdk -c 'write -P 0x66 "
               "60k 10k' > /dev/null") == 0);
    /* s.vmdk is a descriptor; its extent is s-s001.vmdk */
    CHECK(put_desc("a.vmdk", DESC_HEAD "parentCID=ffffffff\n"
                   "createType=\"twoGbMaxExtentSparse\"\n"
                   "RW 500 FLAT \"f.raw\" 10\n"
                   "RW 2048 SPARSE \"s-s001.vmdk\"\n") == 0);
    SAME("a.vmdk", 1000);
}

/* ZERO extents take their place in the disk (qemu skips them, so it
 * cannot be the oracle here: the bytes are checked by hand) */
static void t_zero_extent(void)
{
    uint8_t flat[2048], got[3 * 1024];
    ovfk_source *s;
    uint64_t pnum;

    t_fill(flat, sizeof(flat), 7);
    CHECK(t_write_file("f.raw", flat, sizeof(flat)) == 0);
    CHECK(put_desc("a.vmdk", DESC_HEAD "RW 2 FLAT \"f.raw\" 0\n"
                   "RW 2 ZERO\nRW 2 FLAT \"f.raw\" 2\n") == 0);
    CHECK_OK(ovfk_open_source("a.vmdk", NULL, &s), ovfk_last_error());
    CHECK_EQ(s->size, sizeof(got));
    CHECK_OK(s->pread(s->opaque, got, sizeof(got), 0), s->error(s->opaque));
    CHECK(memcmp(got, flat, 1024) == 0);
    for (int i = 1024; i < 2048; i++) {
        CHECK(got[i] == 0);
    }
    CHECK(memcmp(got + 2048, flat + 1024, 1024) == 0);
    CHECK_EQ(s->status(s->opaque, 1024, 2048, &pnum), 0);
    CHECK_EQ(pnum, 1024);
    CHECK_EQ(s->status(s->opaque, 0, 3072, &pnum), 1);
    ovfk_source_free(s);
}

static void t_snapshot_child(void)
{
    NEED_QEMU();
    CHECK(t_sh("qemu-img create -q -f vmdk base.vmdk 2M") == 0);
    QIO("base.vmdk", "write -P 0x01 0 2M");
    CHECK(t_sh("qemu-img create -q -f vmdk -b base.vmdk -F vmdk child.vmdk "
               "2M") == 0);
    QIO("child.vmdk", "write -P 0x02 100k 64k");
    QIO("child.vmdk", "write -P 0x03 1M 1k");
    SAME("child.vmdk", 10000);
}

/* --- hostile ------------------------------------------------------------- */

static void t_extent_outside_dir(void)
{
    CHECK(mkdir("d", 0755) == 0);
    CHECK(put_desc("d/a.vmdk", DESC_HEAD "RW 8 FLAT \"../x.raw\" 0\n") == 0);
    CHECK(t_write_file("x.raw", "secret", 6) == 0);
    REFUSED("d/a.vmdk", -EPERM, "is outside the descriptor's directory");
    CHECK(put_desc("d/b.vmdk", DESC_HEAD "RW 8 FLAT \"/etc/passwd\" 0\n")
          == 0);
    REFUSED("d/b.vmdk", -EPERM, "'/etc/passwd' is outside the descriptor's "
            "directory");
    CHECK(put_desc("d/c.vmdk", DESC_HEAD "RW 8 FLAT \"a\\\\..\\\\x\" 0\n")
          == 0);
    REFUSED("d/c.vmdk", -EPERM, "is outside the descriptor's directory");
}

static void t_extent_missing(void)
{
    CHECK(put_desc("a.vmdk", DESC_HEAD "RW 8 FLAT \"gone.raw\" 0\n") == 0);
    REFUSED("a.vmdk", -ENOENT, "cannot open the extent");
}

static void t_flat_extent_short(void)
{
    CHECK(t_write_file("f.raw", "0123456789", 10) == 0);
    CHECK(put_desc("a.vmdk", DESC_HEAD "RW 8 FLAT \"f.raw\" 0\n") == 0);
    REFUSED("a.vmdk", -EINVAL, "is shorter (10 bytes) than the descriptor "
            "says");
}

/* offset + sectors wrapped around 2^64 and passed the length check */
static void t_flat_offset_wraps(void)
{
    uint8_t b[4096] = { 0 };

    CHECK(t_write_file("f.raw", b, sizeof(b)) == 0);
    CHECK(put_desc("a.vmdk", DESC_HEAD "RW 1 FLAT \"f.raw\" "
                   "18446744073709551615\n") == 0);
    REFUSED("a.vmdk", -EINVAL, "is shorter (4096 bytes) than the "
            "descriptor says");
}

static void t_unsupported_extent(void)
{
    CHECK(put_desc("a.vmdk", DESC_HEAD "RW 8 VMFSSPARSE \"x\"\n") == 0);
    REFUSED("a.vmdk", -ENOTSUP, "VMDK extents of type VMFSSPARSE are not "
            "supported");
}

static void t_no_extents(void)
{
    CHECK(put_desc("a.vmdk", DESC_HEAD "parentCID=ffffffff\n") == 0);
    REFUSED("a.vmdk", -EINVAL, "the descriptor lists no extents");
}

static void t_descriptor_too_large(void)
{
    FILE *f = fopen("a.vmdk", "w");

    CHECK(f);
    fputs(DESC_HEAD, f);
    for (int i = 0; i < 70000; i++) {
        fputs("# padding comment\n", f);
    }
    CHECK(fclose(f) == 0);
    REFUSED("a.vmdk", -EFBIG, "is too large");
}

/* A monolithicSparse image with data in its first grain. */
static int sparse_image(const char *name)
{
    return t_sh("qemu-img create -q -f vmdk %s 1M && qemu-io -f vmdk %s "
                "-c 'write -P 0x77 0 4k' > /dev/null", name, name);
}

static void t_grain_table_past_eof(void)
{
    uint64_t gd;

    NEED_QEMU();
    CHECK(sparse_image("a.vmdk") == 0);
    gd = le_at("a.vmdk", S_GD_OFF, 8);
    CHECK(gd != 0);
    CHECK(t_patch_le32("a.vmdk", gd * 512, 0x00ffffff) == 0);
    REFUSED("a.vmdk", -EINVAL, "grain table 0 lies outside the file");
}

static void t_grain_dir_outside(void)
{
    NEED_QEMU();
    CHECK(sparse_image("a.vmdk") == 0);
    CHECK(t_patch_le64("a.vmdk", S_GD_OFF, UINT64_C(1) << 40) == 0);
    REFUSED("a.vmdk", -EINVAL, "the grain directory (1 tables at sector "
            "1099511627776) lies outside the file");
}

static void t_grain_dir_on_header(void)
{
    NEED_QEMU();
    CHECK(sparse_image("a.vmdk") == 0);
    CHECK(t_patch_le64("a.vmdk", S_GD_OFF, 0) == 0);
    REFUSED("a.vmdk", -EINVAL, "the grain directory overlaps the header");
}

static void t_grain_past_eof(void)
{
    uint64_t gd, gt;

    NEED_QEMU();
    CHECK(sparse_image("a.vmdk") == 0);
    gd = le_at("a.vmdk", S_GD_OFF, 8);
    gt = le_at("a.vmdk", gd * 512, 4);
    CHECK(gt != 0);
    CHECK(t_patch_le32("a.vmdk", gt * 512, 0x0fffffff) == 0);
    REFUSED("a.vmdk", -EINVAL, "grain 0 lies outside the file");
}

static void t_bad_grain_size(void)
{
    NEED_QEMU();
    CHECK(sparse_image("a.vmdk") == 0);
    CHECK(t_patch_le64("a.vmdk", S_GRAIN, 3) == 0);
    REFUSED("a.vmdk", -EINVAL, "grain size 3 or table size 512 out of range");
    CHECK(t_patch_le64("a.vmdk", S_GRAIN, 128) == 0);
    CHECK(t_patch_le32("a.vmdk", S_GTES, 0) == 0);
    REFUSED("a.vmdk", -EINVAL, "grain size 128 or table size 0 out of range");
}

static void t_sparse_bad_magic(void)
{
    NEED_QEMU();
    CHECK(sparse_image("s.vmdk") == 0);
    CHECK(t_patch("s.vmdk", 0, "XDMV", 4) == 0);
    CHECK(put_desc("a.vmdk", DESC_HEAD "RW 2048 SPARSE \"s.vmdk\"\n") == 0);
    REFUSED("a.vmdk", -EINVAL, "is not a sparse VMDK extent");
}

static void t_embedded_descriptor_outside(void)
{
    NEED_QEMU();
    CHECK(sparse_image("a.vmdk") == 0);
    CHECK(t_patch_le64("a.vmdk", S_DESC_OFF, UINT64_C(1) << 50) == 0);
    REFUSED("a.vmdk", -EINVAL, "the embedded descriptor lies outside the "
            "file");
}

/*
 * The layout VMware writes: the header says the grain directory is at
 * the end (GD_AT_END), and the footer (a copy of the header with the real
 * offset) follows the grains between a footer marker and an end-of-stream
 * marker.  qemu-img writes its directory up front and no footer: add them.
 */
static int vmware_stream(const char *name)
{
    uint8_t tail[3 * 512] = { 0 };
    uint8_t *b;
    size_t len = 0;
    int r = raw_with_data("r", "1M");

    if (r == 0) {
        r = t_sh("qemu-img convert -O vmdk -o subformat=streamOptimized r "
                 "%s", name);
    }
    b = r == 0 ? t_slurp(name, &len) : NULL;
    if (!b || len < 512) {
        free(b);
        return -1;
    }
    tail[0] = 1;                    /* footer marker: 1 sector, type 3 */
    tail[12] = 3;
    memcpy(tail + 512, b, 512);     /* the footer: the header as it is */
    r = t_patch(name, len, tail, sizeof(tail));
    free(b);
    return r ? r : t_patch_le64(name, S_GD_OFF, UINT64_MAX);
}

static void t_stream_footer(void)
{
    NEED_QEMU();
    CHECK(vmware_stream("a.vmdk") == 0);
    SAME("a.vmdk", 5000);
}

static void t_stream_truncated(void)
{
    size_t len = 0;
    uint8_t *b;

    NEED_QEMU();
    CHECK(vmware_stream("a.vmdk") == 0);
    b = t_slurp("a.vmdk", &len);
    CHECK(b && len > 2048);
    free(b);
    CHECK(truncate("a.vmdk", (off_t)(len - 1024)) == 0);
    REFUSED("a.vmdk", -EINVAL, "there is no valid footer (a truncated "
            "stream?)");
}

/* qemu-img's layout (directory up front, no footer) cut in a grain */
static void t_stream_cut(void)
{
    NEED_QEMU();
    CHECK(raw_with_data("r", "1M") == 0);
    CHECK(t_sh("qemu-img convert -O vmdk -o subformat=streamOptimized r "
               "a.vmdk") == 0);
    CHECK(le_at("a.vmdk", 65544, 4) > 20);
    CHECK(truncate("a.vmdk", 65536 + 12 + 10) == 0);
    REFUSED("a.vmdk", -EINVAL, "bytes at 65536) runs past the end of the "
            "file (a truncated stream?)");
}

static void t_stream_bad_grain(void)
{
    uint8_t junk[32];

    NEED_QEMU();
    CHECK(raw_with_data("r", "1M") == 0);
    CHECK(t_sh("qemu-img convert -O vmdk -o subformat=streamOptimized r "
               "a.vmdk") == 0);
    /* qemu writes the first grain right after the 64 KiB overhead: a
     * grain marker (LBA, then the compressed size), then deflate data */
    CHECK(le_at("a.vmdk", 65536, 8) == 0);
    CHECK(le_at("a.vmdk", 65544, 4) > 0);
    memset(junk, 0x5a, sizeof(junk));
    CHECK(t_patch("a.vmdk", 65548, junk, sizeof(junk)) == 0);
    REFUSED("a.vmdk", -EINVAL, "grain 0 does not inflate");
    CHECK(t_patch_le32("a.vmdk", 65544, 0x7fffffff) == 0);
    REFUSED("a.vmdk", -EINVAL, "compressed grain 0 has a bad length");
}

static void t_parent_loop(void)
{
    CHECK(t_write_file("f.raw", "", 0) == 0);
    CHECK(truncate("f.raw", 4096) == 0);
    CHECK(put_desc("a.vmdk", DESC_HEAD "parentCID=11111111\n"
                   "parentFileNameHint=\"b.vmdk\"\n"
                   "RW 8 FLAT \"f.raw\" 0\n") == 0);
    CHECK(put_desc("b.vmdk", DESC_HEAD "parentCID=11111111\n"
                   "parentFileNameHint=\"a.vmdk\"\n"
                   "RW 8 FLAT \"f.raw\" 0\n") == 0);
    REFUSED("a.vmdk", -ELOOP, "'a.vmdk': more than 32 parents (a loop?)");
}

/*
 * A parent whose name says VMDK but whose content does not: handed to
 * "whatever reads it", it came straight back here by its name and
 * recursed until the stack ran out (found by fuzz_vmdk).
 */
static void t_parent_not_vmdk(void)
{
    CHECK(t_write_file("f.raw", "", 0) == 0);
    CHECK(truncate("f.raw", 4096) == 0);
    CHECK(t_write_file("p.vmdk", "hello\n", 6) == 0);
    CHECK(put_desc("a.vmdk", DESC_HEAD "parentCID=11111111\n"
                   "parentFileNameHint=\"p.vmdk\"\n"
                   "RW 8 FLAT \"f.raw\" 0\n") == 0);
    REFUSED("a.vmdk", -EINVAL, "the parent of 'a.vmdk': './p.vmdk': the "
            "descriptor lists no extents");
    /* a descriptor without its first line, naming itself as parent */
    CHECK(put_desc("b.vmdk", "# not the usual first line\n"
                   "parentCID=11111111\nparentFileNameHint=\"b.vmdk\"\n"
                   "RW 8 FLAT \"f.raw\" 0\n") == 0);
    REFUSED("b.vmdk", -ELOOP, "more than 32 parents (a loop?)");
}

static void t_parent_outside(void)
{
    CHECK(t_write_file("f.raw", "", 0) == 0);
    CHECK(truncate("f.raw", 4096) == 0);
    CHECK(put_desc("a.vmdk", DESC_HEAD "parentCID=11111111\n"
                   "parentFileNameHint=\"../b.vmdk\"\n"
                   "RW 8 FLAT \"f.raw\" 0\n") == 0);
    REFUSED("a.vmdk", -EINVAL, "whose parent ('../b.vmdk') is not a file "
            "beside it");
}

static void t_parent_smaller(void)
{
    CHECK(t_write_file("f.raw", "", 0) == 0);
    CHECK(truncate("f.raw", 4096) == 0);
    CHECK(put_desc("p.vmdk", DESC_HEAD "RW 4 FLAT \"f.raw\" 0\n") == 0);
    CHECK(put_desc("a.vmdk", DESC_HEAD "parentCID=11111111\n"
                   "parentFileNameHint=\"p.vmdk\"\n"
                   "RW 8 FLAT \"f.raw\" 0\n") == 0);
    REFUSED("a.vmdk", -EINVAL, "is smaller than 'a.vmdk'");
}

TEST_MAIN(T(t_monolithic_sparse), T(t_stream_optimized),
          T(t_monolithic_flat), T(t_mixed_extents), T(t_zero_extent),
          T(t_snapshot_child), T(t_extent_outside_dir), T(t_extent_missing),
          T(t_flat_extent_short), T(t_flat_offset_wraps),
          T(t_unsupported_extent), T(t_no_extents),
          T(t_descriptor_too_large), T(t_grain_table_past_eof),
          T(t_grain_dir_outside), T(t_grain_dir_on_header),
          T(t_grain_past_eof), T(t_bad_grain_size), T(t_sparse_bad_magic),
          T(t_embedded_descriptor_outside), T(t_stream_footer),
          T(t_stream_truncated), T(t_stream_cut), T(t_stream_bad_grain),
          T(t_parent_loop), T(t_parent_not_vmdk), T(t_parent_outside),
          T(t_parent_smaller))

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_p2v_receive.c - the receiver of a p2v capture stream
 * (p2v/receive.c), fed streams made by the sender's own writer
 * (p2v/wire.c): the files it writes, and its refusals of streams that are
 * corrupt, cut short, aborted or disagree with their digests, after which
 * nothing of the capture is left.
 */
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ovfkit/hv.h"
#include "ovfkit/p2v.h"
#include "ovfkit/vhd.h"
#include "p2v/internal.h"
#include "tests/unit/harness.h"
#include "util/bytes.h"

#define SIZE (1u << 20)

enum bad {
    GOOD, BAD_CHUNK, BAD_DISK, NO_END, BAD_MAGIC, OUT_OF_RANGE, ABORT,
};

static uint8_t chunk_a[P2V_CHUNK], zeros[P2V_CHUNK];

/* stream.bin: one 1 MiB disk, chunk 0 'A'..., chunk 1 zeros, chunk 15 'B' */
static int make_stream(enum bad bad, enum ovfk_p2v_compress z)
{
    int fd = open("stream.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    struct ovfk_hv_vm *vm = ovfk_hv_vm_new();
    struct p2v_wire *w = NULL;
    uint8_t dig[3][P2V_DIGLEN], last[P2V_CHUNK], rec[4 + P2V_DIGLEN];
    const uint32_t idx[3] = { 0, 1, 15 };
    ovfk_err err = { 0 };
    char hello[4096], *mj;
    int r;

    memset(chunk_a, 'A', sizeof(chunk_a));
    memset(last, 'B', sizeof(last));
    vm->name = strdup("t");
    mj = ovfk_hv_vm_to_json(vm, false);
    ovfk_hv_vm_free(vm);
    snprintf(hello, sizeof(hello), "{\"name\":\"t\",\"machine\":%s,"
             "\"disks\":[{\"size\":%u}]}", mj, SIZE);
    free(mj);
    if (bad == BAD_MAGIC && write(fd, "NOTP2V!!", 8) != 8) {
        return -EIO;
    }
    r = p2v_wire_new(fd, z, &w, &err);
    p2v_sha256(chunk_a, P2V_CHUNK, dig[0]);
    p2v_sha256(zeros, P2V_CHUNK, dig[1]);
    p2v_sha256(last, P2V_CHUNK, dig[2]);
    if (r == 0) {
        r = p2v_wire_rec(w, P2V_HELLO, hello, strlen(hello), &err);
    }
    if (r == 0) {
        uint8_t d0[P2V_DIGLEN];
        memcpy(d0, dig[0], sizeof(d0));
        d0[0] ^= bad == BAD_CHUNK;
        r = p2v_wire_data(w, 0, 0, chunk_a, P2V_CHUNK, d0, &err);
    }
    if (r == 0) {
        r = p2v_wire_data(w, 0, P2V_CHUNK, zeros, P2V_CHUNK, dig[1], &err);
    }
    if (r == 0) {
        r = p2v_wire_data(w, 0, bad == OUT_OF_RANGE ? SIZE : 15 * P2V_CHUNK,
                          last, P2V_CHUNK, dig[2], &err);
    }
    if (r == 0 && bad == ABORT) {
        r = p2v_wire_rec(w, P2V_ABORT, "boom", 4, &err);
    }
    if (r == 0) {
        /* the sender's disk digest: (index, chunk digest) of each chunk */
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned int n = P2V_DIGLEN;
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        for (int i = 0; i < 3; i++) {
            uint8_t be[8];
            put_be64(be, idx[i]);
            EVP_DigestUpdate(ctx, be, 8);
            EVP_DigestUpdate(ctx, dig[i], P2V_DIGLEN);
        }
        put_be32(rec, 0);
        EVP_DigestFinal_ex(ctx, rec + 4, &n);
        EVP_MD_CTX_free(ctx);
        rec[4] ^= bad == BAD_DISK;
        r = p2v_wire_rec(w, P2V_DIGEST, rec, sizeof(rec), &err);
    }
    if (r == 0) {
        r = p2v_wire_rec(w, P2V_REPORT, "{\"x\":1}", 7, &err);
    }
    if (r == 0 && bad != NO_END) {
        r = p2v_wire_rec(w, P2V_END, NULL, 0, &err);
    }
    p2v_wire_free(w);
    close(fd);
    return r;
}

static int receive(const char *dir)
{
    int fd = open("stream.bin", O_RDONLY);
    struct ovfk_p2v_receive_opts o = { .dir = dir, .fd = fd,
                                       .no_convert = true };
    int r = ovfk_p2v_receive(&o);

    close(fd);
    return r;
}

static bool exists(const char *p)
{
    return access(p, F_OK) == 0;
}

static void check_disk(void)
{
    ovfk_vhd *h = NULL;
    uint8_t buf[P2V_CHUNK];

    CHECK_OK(ovfk_vhd_open("out/t-disk1.vhd", 0, &h), ovfk_last_error());
    CHECK_EQ(ovfk_vhd_size(h), SIZE);
    CHECK_OK(ovfk_vhd_pread(h, buf, sizeof(buf), 0), ovfk_vhd_error(h));
    CHECK(memcmp(buf, chunk_a, sizeof(buf)) == 0);
    CHECK_OK(ovfk_vhd_pread(h, buf, sizeof(buf), P2V_CHUNK),
             ovfk_vhd_error(h));
    CHECK(p2v_is_zero(buf, sizeof(buf)));
    CHECK_OK(ovfk_vhd_pread(h, buf, sizeof(buf), 15 * P2V_CHUNK),
             ovfk_vhd_error(h));
    CHECK(buf[0] == 'B' && buf[P2V_CHUNK - 1] == 'B');
    ovfk_vhd_close(h);
}

static void regular(void)
{
    CHECK_OK(make_stream(GOOD, OVFK_P2V_COMPRESS_NONE), "stream");
    CHECK_OK(receive("out"), ovfk_last_error());
    CHECK(exists("out/t.ovf") && exists("out/t.mf") &&
          exists("out/t.p2v.json"));
    CHECK(!exists("out/converted"));
    check_disk();
}

static void zlib_and_zstd(void)
{
    CHECK_OK(make_stream(GOOD, OVFK_P2V_COMPRESS_ZLIB), "stream");
    CHECK_OK(receive("out"), ovfk_last_error());
    check_disk();
    CHECK_OK(system("rm -rf out"), "rm");
    CHECK_OK(make_stream(GOOD, OVFK_P2V_COMPRESS_ZSTD), "stream");
    CHECK_OK(receive("out"), ovfk_last_error());
    check_disk();
}

#define REFUSED(bad, code, msg) \
    do { \
        CHECK_OK(make_stream(bad, OVFK_P2V_COMPRESS_NONE), "stream"); \
        CHECK_ERR(receive("out"), code, ovfk_last_error(), msg); \
        CHECK_MSG(!exists("out"), "%s left out/ behind", msg); \
    } while (0)

static void chunk_mismatch(void)
{
    REFUSED(BAD_CHUNK, OVFK_EMISMATCH, "the data at offset 0 of disk 1 "
            "does not match the sender's digest");
}

static void disk_mismatch(void)
{
    REFUSED(BAD_DISK, OVFK_EMISMATCH, "disk 1 does not match the sender's "
            "digest");
}

static void cut_short(void)
{
    REFUSED(NO_END, OVFK_ECORRUPT, "the capture stream ended early");
}

static void not_a_stream(void)
{
    REFUSED(BAD_MAGIC, OVFK_ECORRUPT, "not an ovfkit capture stream");
}

static void out_of_range(void)
{
    REFUSED(OUT_OF_RANGE, OVFK_ECORRUPT, "bad DATA record (disk 0, offset "
            "1048576");
}

static void aborted(void)
{
    REFUSED(ABORT, -ECANCELED, "the sender failed: boom");
}

static void not_empty(void)
{
    CHECK_OK(make_stream(GOOD, OVFK_P2V_COMPRESS_NONE), "stream");
    CHECK_OK(mkdir("out", 0755), "mkdir");
    CHECK_OK(close(open("out/keep", O_WRONLY | O_CREAT, 0644)), "create");
    CHECK_ERR(receive("out"), -EEXIST, ovfk_last_error(),
              "cannot receive into 'out': not empty");
    CHECK(exists("out/keep"));
}

TEST_MAIN(T(regular), T(zlib_and_zstd), T(chunk_mismatch), T(disk_mismatch),
          T(cut_short), T(not_a_stream), T(out_of_range), T(aborted),
          T(not_empty))

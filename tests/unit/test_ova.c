/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests: manifest parsing (every spelling producers use), member name
 * checks, gzip decompression bounded against bombs, and the package
 * writer's refusal to produce a package that lies about sizes, the
 * capture of a streamed member's ends, and where an href may point.
 */
#include <sys/stat.h>
#include <zlib.h>

#include "ovf/pkg.h"
#include "ovfkit/ova.h"
#include "tests/unit/harness.h"

static void manifest_spellings(void)
{
    static const char text[] =
        "SHA1(a.ovf)= 0123456789abcdef0123456789abcdef01234567\n"
        "SHA256(b "
        "c.vhd)="
        "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\r\n"
        "SHA-256(x)= "
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
        "SHA2-256(y)= "
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
        "SHA512(z)= "
        "00000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000000000000000000\n"
        "\n"
        "MD5(old)= 0123456789abcdef0123456789abcdef\n"
        "SHA1(short)= 0123\n";
    struct ovfk_ova_manifest m;
    int bad = ovfk_ova_manifest_parse(text, sizeof(text) - 1, &m, NULL, NULL);

    CHECK_EQ(bad, 2);      /* MD5 and the short digest */
    CHECK_EQ(m.n, 5);
    CHECK(!strcmp(m.entries[1].name, "b c.vhd"));
    CHECK_EQ(m.entries[1].digest, OVFK_OVA_DIGEST_SHA256);
    CHECK(!strcmp(m.entries[1].hex, "0123456789abcdef0123456789abcdef"
                  "0123456789abcdef0123456789abcdef"));
    CHECK_EQ(m.entries[2].digest, OVFK_OVA_DIGEST_SHA256);
    CHECK_EQ(m.entries[3].digest, OVFK_OVA_DIGEST_SHA256);
    CHECK_EQ(m.entries[4].digest, OVFK_OVA_DIGEST_SHA512);
    ovfk_ova_manifest_free(&m);
}

static void member_names(void)
{
    char n[512];

    CHECK(tar_name_problem("disk.vhd", n, sizeof(n)) == NULL);
    CHECK(tar_name_problem("./disk.vhd", n, sizeof(n)) == NULL &&
          !strcmp(n, "disk.vhd"));
    CHECK(tar_name_problem("../x", n, sizeof(n)) != NULL);
    CHECK(tar_name_problem("..", n, sizeof(n)) != NULL);
    CHECK(tar_name_problem("/etc/passwd", n, sizeof(n)) != NULL);
    CHECK(tar_name_problem("a/../../x", n, sizeof(n)) != NULL);
    CHECK(tar_name_problem("sub/x", n, sizeof(n)) != NULL);
    CHECK(tar_name_problem("a\\b", n, sizeof(n)) != NULL);
    CHECK(tar_name_problem("a\nb", n, sizeof(n)) != NULL);
    CHECK(tar_name_problem("", n, sizeof(n)) != NULL);
    CHECK(tar_name_problem(NULL, n, sizeof(n)) != NULL);
}

/* A gzip file of `len` zero bytes (a bomb: 1000x smaller than its data). */
static int write_gz_zeros(const char *path, size_t len)
{
    gzFile g = gzopen(path, "wb9");
    static char zeros[1 << 16];
    size_t done = 0;

    if (!g) {
        return -1;
    }
    while (done < len) {
        size_t n = len - done < sizeof(zeros) ? len - done : sizeof(zeros);
        if (gzwrite(g, zeros, (unsigned)n) != (int)n) {
            gzclose(g);
            return -1;
        }
        done += n;
    }
    return gzclose(g) == Z_OK ? 0 : -1;
}

static void gzip_bomb_is_bounded(void)
{
    ovfk_err err = { 0 };
    struct stat st;

    CHECK(write_gz_zeros("bomb.gz", 64u << 20) == 0);
    CHECK(stat("bomb.gz", &st) == 0 && st.st_size < (1 << 20));
    CHECK_ERR(gz_decompress_file("bomb.gz", "bomb.out", 1u << 20, &err),
              OVFK_ECORRUPT, err.msg, "decompression bomb");
    CHECK(access("bomb.out", F_OK) != 0);
    ovfk_err_clear(&err);
    CHECK_OK(gz_decompress_file("bomb.gz", "ok.out", 64u << 20, &err),
             err.msg);
    CHECK(stat("ok.out", &st) == 0 && st.st_size == (64 << 20));
}

static void gzip_truncated_is_refused(void)
{
    ovfk_err err = { 0 };

    CHECK(write_gz_zeros("t.gz", 1u << 20) == 0);
    CHECK(truncate("t.gz", 100) == 0);
    CHECK_ERR(gz_decompress_file("t.gz", "t.out", 2u << 20, &err),
              OVFK_ECORRUPT, err.msg, "truncated");
    CHECK(access("t.out", F_OK) != 0);
}

static void writer_refuses_wrong_sizes(void)
{
    struct ovfk_ova_pack_opts o = { 0 };
    ovfk_ova_writer *w;
    ovfk_sink sink;

    CHECK_OK(ovfk_ova_writer_new("p.ova", false, &o, &w), ovfk_last_error());
    CHECK_OK(ovfk_ova_writer_plan(w, "a.bin", 10), ovfk_ova_writer_error(w));
    CHECK_OK(ovfk_ova_writer_descriptor(w, "p.ovf", "<x/>", 4),
             ovfk_ova_writer_error(w));
    CHECK_OK(ovfk_ova_writer_next(w, "a.bin", &sink), ovfk_ova_writer_error(w));
    CHECK_OK(sink.write(sink.opaque, "12345", 5), ovfk_ova_writer_error(w));
    CHECK_ERR(ovfk_ova_writer_finish(w), -EIO, ovfk_ova_writer_error(w),
              "not the 10");
    ovfk_ova_writer_free(w);
    CHECK(access("p.ova", F_OK) != 0);
    CHECK(system("ls -A | grep -q part") != 0);
    CHECK_OK(ovfk_ova_writer_new("q.ova", false, &o, &w), ovfk_last_error());
    CHECK_ERR(ovfk_ova_writer_plan(w, "../evil", 1), -EINVAL,
              ovfk_ova_writer_error(w), "cannot be a package file name");
    ovfk_ova_writer_free(w);
}

/*
 * The worker-thread digest gives exactly the FIPS 180-2 test vectors
 * (SHA-256 and SHA-1 of one million 'a'), whatever the sizes of the
 * updates: small ones hashed inline, large ones by the worker, mixed.
 */
static void background_hash_matches_vectors(void)
{
    static const size_t pieces[] = { 1, 70000, 3, 200000, 65535, 65536,
                                     100, 400000 };
    static const struct {
        enum ovfk_ova_digest d;
        const char *hex;
    } vec[] = {
        { OVFK_OVA_DIGEST_SHA256, "cdc76e5c9914fb9281a1c7e284d73e67"
                             "f1809a48a497200e046d39ccc7112cd0" },
        { OVFK_OVA_DIGEST_SHA1, "34aa973cd4c4daa4f61eeb2bdbad27316534016f" },
    };
    const size_t total = 1000000;
    char *a = malloc(total), hex[129];

    CHECK(a != NULL);
    if (!a) {
        return;
    }
    memset(a, 'a', total);
    for (size_t v = 0; v < sizeof(vec) / sizeof(vec[0]); v++) {
        pkg_hash h;
        size_t off = 0, i = 0;
        CHECK_EQ(pkg_hash_init_bg(&h, vec[v].d), 0);
        CHECK(h.bg != NULL);        /* a worker really runs */
        while (off < total) {
            size_t n = pieces[i++ % (sizeof(pieces) / sizeof(pieces[0]))];
            n = n < total - off ? n : total - off;
            CHECK_EQ(pkg_hash_update(&h, a + off, n), 0);
            off += n;
        }
        CHECK_EQ(pkg_hash_final(&h, hex), 0);
        pkg_hash_free(&h);
        CHECK_MSG(!strcmp(hex, vec[v].hex), "digest %s, expected %s", hex,
                  vec[v].hex);
    }
    free(a);
}

/* The first and last 512 bytes of a stream, whatever its chunking (a VHD
 * member's footer copy and footer, as they stream by). */
static void stream_ends_any_chunking(void)
{
    static const size_t chunks[] = { 1, 7, 511, 512, 513, 1000, 4096 };
    uint8_t data[5000];

    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 7 + i / 256);
    }
    for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        struct pkg_ends e;
        memset(&e, 0, sizeof(e));
        for (size_t off = 0; off < sizeof(data); off += chunks[c]) {
            size_t n = sizeof(data) - off < chunks[c] ? sizeof(data) - off
                                                      : chunks[c];
            pkg_ends_update(&e, data + off, n, off);
        }
        CHECK_MSG(!memcmp(e.head, data, 512), "head, chunks of %zu",
                  chunks[c]);
        CHECK_MSG(!memcmp(e.tail, data + sizeof(data) - 512, 512),
                  "tail, chunks of %zu", chunks[c]);
        CHECK_EQ(e.len, sizeof(data));
    }
}

struct diags {
    int errors, warnings;
    char last_error[600];
};

static void collect_diag(void *opaque, enum ovfk_ovf_severity sev,
                         const char *msg)
{
    struct diags *d = opaque;

    if (sev == OVFK_OVF_ERROR) {
        d->errors++;
        snprintf(d->last_error, sizeof(d->last_error), "%s", msg);
    } else {
        d->warnings++;
    }
}

/* An href out of the package: a warning beside the descriptor, an error
 * in an OVA; the return value counts errors only. */
static void check_severity_by_place(void)
{
    static const char xml[] =
        "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\">"
        "<References><File ovf:id=\"f\" ovf:href=\"../d.vmdk\"/>"
        "</References><DiskSection><Info>d</Info><Disk ovf:diskId=\"d\" "
        "ovf:fileRef=\"f\" ovf:capacity=\"1\" "
        "ovf:capacityAllocationUnits=\"byte * 2^20\"/></DiskSection>"
        "<VirtualSystem ovf:id=\"v\"><Info>v</Info></VirtualSystem>"
        "</Envelope>";
    struct ovfk_ovf_check_opts beside = { .in_archive = false };
    struct ovfk_ovf_check_opts in_ova = { .in_archive = true };
    struct diags a = { 0 }, b = { 0 };
    ovfk_ovf_doc *d;

    CHECK_OK(ovfk_ovf_parse_memory(xml, sizeof(xml) - 1, "t.ovf", &d),
             ovfk_last_error());
    CHECK_EQ(ovfk_ovf_check(d, &beside, collect_diag, &a), 0);
    CHECK_EQ(a.errors, 0);
    CHECK_EQ(a.warnings, 1);
    CHECK_EQ(ovfk_ovf_check(d, &in_ova, collect_diag, &b), 1);
    CHECK_EQ(b.errors, 1);
    CHECK(strstr(b.last_error, "href '../d.vmdk' leaves the package"));
    CHECK_EQ(ovfk_ovf_semantic_check(d, NULL, NULL), 0);
    ovfk_ovf_free(d);
}

TEST_MAIN(T(manifest_spellings), T(member_names), T(gzip_bomb_is_bounded),
          T(gzip_truncated_is_refused), T(writer_refuses_wrong_sizes),
          T(background_hash_matches_vectors), T(stream_ends_any_chunking),
          T(check_severity_by_place))

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests: reading and writing fixed, dynamic and differencing VHDs
 * against an in-memory reference of the logical disk; allocation rules;
 * streaming; conversion; repair.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "ovfkit/vhd.h"
#include "tests/unit/harness.h"
#include "vhd/internal.h"

#define MIB (1u << 20)

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Read all of h and compare with ref. */
static int same_as(ovfk_vhd *h, const uint8_t *ref, size_t len)
{
    uint8_t *buf = malloc(len);
    int r;

    if (!buf || ovfk_vhd_size(h) != len || ovfk_vhd_pread(h, buf, len, 0) < 0) {
        free(buf);
        return 0;
    }
    r = memcmp(buf, ref, len) == 0;
    free(buf);
    return r;
}

/* Random writes of random lengths, mirrored into ref. */
static int scribble(ovfk_vhd *h, uint8_t *ref, size_t size, uint64_t seed,
                    int count, size_t maxlen)
{
    uint64_t s = seed | 1;

    for (int i = 0; i < count; i++) {
        size_t len = 1 + rnd(&s) % maxlen;
        uint64_t off = rnd(&s) % (size - len);
        t_fill(ref + off, len, rnd(&s));
        if (ovfk_vhd_pwrite(h, ref + off, len, off) < 0) {
            return -1;
        }
    }
    return 0;
}

static void dynamic_random_io(void)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_DYNAMIC,
                                      .size = 64 * MIB };
    uint8_t *ref = calloc(1, 64 * MIB);
    ovfk_vhd *h;

    CHECK(ref);
    CHECK_OK(ovfk_vhd_create("d.vhd", &o, &h), ovfk_last_error());
    CHECK(same_as(h, ref, 64 * MIB));
    CHECK_OK(scribble(h, ref, 64 * MIB, 7, 200, 3 * MIB), ovfk_vhd_error(h));
    CHECK(same_as(h, ref, 64 * MIB));
    ovfk_vhd_close(h);
    CHECK_OK(ovfk_vhd_open("d.vhd", 0, &h), ovfk_last_error());
    CHECK(same_as(h, ref, 64 * MIB));
    ovfk_vhd_close(h);
    CHECK_EQ(ovfk_vhd_check("d.vhd", NULL, NULL), OVFK_VHD_CHECK_OK);
    free(ref);
}

static void fixed_random_io(void)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_FIXED,
                                      .size = 8 * MIB };
    uint8_t *ref = calloc(1, 8 * MIB);
    ovfk_vhd *h;

    CHECK(ref);
    CHECK_OK(ovfk_vhd_create("f.vhd", &o, &h), ovfk_last_error());
    CHECK_OK(scribble(h, ref, 8 * MIB, 3, 50, MIB), ovfk_vhd_error(h));
    ovfk_vhd_close(h);
    CHECK_OK(ovfk_vhd_open("f.vhd", 0, &h), ovfk_last_error());
    CHECK(same_as(h, ref, 8 * MIB));
    ovfk_vhd_close(h);
    free(ref);
}

static void zero_write_allocates_nothing(void)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_DYNAMIC,
                                      .size = 16 * MIB };
    uint8_t *zeros = calloc(1, 2 * MIB);
    struct ovfk_vhd_info in;
    struct stat st0, st1;
    ovfk_vhd *h;

    CHECK(zeros);
    CHECK_OK(ovfk_vhd_create("z.vhd", &o, &h), ovfk_last_error());
    CHECK(stat("z.vhd", &st0) == 0);
    CHECK_OK(ovfk_vhd_pwrite(h, zeros, 2 * MIB, 4 * MIB), ovfk_vhd_error(h));
    CHECK_OK(ovfk_vhd_pwrite(h, zeros, 100, 9 * MIB + 7), ovfk_vhd_error(h));
    ovfk_vhd_get_info(h, &in);
    CHECK_EQ(in.allocated_blocks, 0);
    CHECK(stat("z.vhd", &st1) == 0);
    CHECK_EQ(st0.st_size, st1.st_size);
    /* one non-zero byte allocates exactly one block, at the end */
    zeros[5] = 1;
    CHECK_OK(ovfk_vhd_pwrite(h, zeros, 10, 4 * MIB), ovfk_vhd_error(h));
    ovfk_vhd_get_info(h, &in);
    CHECK_EQ(in.allocated_blocks, 1);
    CHECK(stat("z.vhd", &st1) == 0);
    CHECK(st1.st_size > st0.st_size);
    ovfk_vhd_close(h);
    free(zeros);
}

static void diff_chain_three_deep(void)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_DYNAMIC,
                                      .size = 32 * MIB };
    static const char *names[] = { "base.vhd", "d1.vhd", "d2.vhd", "d3.vhd" };
    uint8_t *ref[4];
    ovfk_vhd *h;

    for (int i = 0; i < 4; i++) {
        ref[i] = calloc(1, 32 * MIB);
        CHECK(ref[i]);
        if (i > 0) {
            memcpy(ref[i], ref[i - 1], 32 * MIB);
            o.parent = names[i - 1];
        }
        CHECK_OK(ovfk_vhd_create(names[i], &o, &h), ovfk_last_error());
        CHECK(same_as(h, ref[i], 32 * MIB));
        /* small unaligned writes exercise the partial-grain path */
        CHECK_OK(scribble(h, ref[i], 32 * MIB, 11 + i, 60, i ? 9000 : MIB),
                 ovfk_vhd_error(h));
        CHECK(same_as(h, ref[i], 32 * MIB));
        ovfk_vhd_close(h);
    }
    for (int i = 0; i < 4; i++) {
        CHECK_OK(ovfk_vhd_open(names[i], 0, &h), ovfk_last_error());
        CHECK_MSG(same_as(h, ref[i], 32 * MIB), "level %d differs", i);
        ovfk_vhd_close(h);
        CHECK_EQ(ovfk_vhd_check(names[i], NULL, NULL), OVFK_VHD_CHECK_OK);
        free(ref[i]);
    }
}

static void block_status_names_the_layer(void)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_DYNAMIC,
                                      .size = 8 * MIB };
    uint8_t data[4096];
    uint64_t pnum;
    ovfk_vhd *h;
    int depth;

    memset(data, 0xab, sizeof(data));
    CHECK_OK(ovfk_vhd_create("b.vhd", &o, &h), ovfk_last_error());
    CHECK_OK(ovfk_vhd_pwrite(h, data, sizeof(data), 0), ovfk_vhd_error(h));
    ovfk_vhd_close(h);
    o.parent = "b.vhd";
    CHECK_OK(ovfk_vhd_create("c.vhd", &o, &h), ovfk_last_error());
    CHECK_OK(ovfk_vhd_pwrite(h, data, sizeof(data), 8192), ovfk_vhd_error(h));
    /* a dynamic parent's allocated block is data where its file holds
     * data, and zeros it holds where the file has a hole (the 4 KiB the
     * parent wrote are all its new block's file has) */
    CHECK_EQ(ovfk_vhd_block_status(h, 0, 8 * MIB, &pnum, &depth), 1);
    CHECK_EQ(depth, 1);
    CHECK_EQ(pnum, 4096);
    CHECK_EQ(ovfk_vhd_block_status(h, 4096, 8 * MIB - 4096, &pnum, &depth), 0);
    CHECK_EQ(depth, 1);
    CHECK_EQ(pnum, 4096);
    CHECK_EQ(ovfk_vhd_block_status(h, 8192, 8 * MIB - 8192, &pnum, &depth), 1);
    CHECK_EQ(depth, 0);
    CHECK_EQ(pnum, 4096);
    CHECK_EQ(ovfk_vhd_block_status(h, 12288, 8 * MIB - 12288, &pnum, &depth),
             0);
    CHECK_EQ(depth, 1);
    CHECK_EQ(pnum, 2 * MIB - 12288);
    CHECK_EQ(ovfk_vhd_block_status(h, 2 * MIB, 6 * MIB, &pnum, &depth), 0);
    CHECK_EQ(depth, -1);
    CHECK_EQ(pnum, 6 * MIB);
    ovfk_vhd_close(h);
}

struct filesink {
    FILE *f;
    uint64_t n;
};

static int sink_write(void *opaque, const void *buf, size_t len)
{
    struct filesink *s = opaque;

    s->n += len;
    return fwrite(buf, 1, len, s->f) == len ? 0 : -EIO;
}

static void stream_writes_what_it_planned(void)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_DYNAMIC,
                                      .size = 20 * MIB };
    uint8_t *ref = calloc(1, 20 * MIB);
    struct filesink fs = { 0 };
    ovfk_sink sink = { &fs, sink_write };
    ovfk_source *src;
    ovfk_vhd_stream *st;
    ovfk_vhd *h, *out;

    CHECK(ref);
    CHECK_OK(ovfk_vhd_create("s.vhd", &o, &h), ovfk_last_error());
    CHECK_OK(scribble(h, ref, 20 * MIB, 5, 8, 300000), ovfk_vhd_error(h));
    CHECK_OK(ovfk_vhd_source(h, &src), "source");
    for (int type = OVFK_VHD_OUT_FIXED; type <= OVFK_VHD_OUT_DYNAMIC; type++) {
        const char *name = type == OVFK_VHD_OUT_FIXED ? "f.vhd" : "o.vhd";
        CHECK_OK(ovfk_vhd_stream_new(src, type, 0, &st), ovfk_last_error());
        fs.f = fopen(name, "wb");
        fs.n = 0;
        CHECK(fs.f);
        CHECK_OK(ovfk_vhd_stream_write(st, &sink, NULL, NULL),
                 ovfk_vhd_stream_error(st));
        fclose(fs.f);
        CHECK_EQ(fs.n, ovfk_vhd_stream_size(st));
        ovfk_vhd_stream_free(st);
        CHECK_OK(ovfk_vhd_open(name, 0, &out), ovfk_last_error());
        CHECK(same_as(out, ref, 20 * MIB));
        ovfk_vhd_close(out);
        CHECK_EQ(ovfk_vhd_check(name, NULL, NULL), OVFK_VHD_CHECK_OK);
    }
    ovfk_source_free(src);
    ovfk_vhd_close(h);
    free(ref);
}

static int cancel_at_half(void *opaque, uint64_t done, uint64_t total)
{
    (void)opaque;
    return done * 2 >= total;
}

static void convert_cancel_leaves_nothing(void)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_DYNAMIC,
                                      .size = 16 * MIB };
    struct ovfk_vhd_convert_opts co = { .type = OVFK_VHD_OUT_DYNAMIC,
                                   .progress = cancel_at_half };
    uint8_t *ref = calloc(1, 16 * MIB);
    ovfk_source *src;
    ovfk_vhd *h;

    CHECK(ref);
    CHECK_OK(ovfk_vhd_create("a.vhd", &o, &h), ovfk_last_error());
    CHECK_OK(scribble(h, ref, 16 * MIB, 9, 40, MIB), ovfk_vhd_error(h));
    CHECK_OK(ovfk_vhd_source(h, &src), "source");
    CHECK_ERR(ovfk_vhd_convert(src, "b.vhd", &co), -ECANCELED,
              ovfk_last_error(), "canceled");
    CHECK(access("b.vhd", F_OK) != 0);
    /* and no temporary is left beside it */
    CHECK(system("ls -A | grep -q part") != 0);
    co.progress = NULL;
    CHECK_OK(ovfk_vhd_convert(src, "b.vhd", &co), ovfk_last_error());
    CHECK_ERR(ovfk_vhd_convert(src, "b.vhd", &co), -EEXIST, ovfk_last_error(),
              "already exists");
    ovfk_source_free(src);
    ovfk_vhd_close(h);
    CHECK_OK(ovfk_vhd_open("b.vhd", 0, &h), ovfk_last_error());
    CHECK(same_as(h, ref, 16 * MIB));
    ovfk_vhd_close(h);
    free(ref);
}

static void convert_backing_writes_only_differences(void)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_DYNAMIC,
                                      .size = 16 * MIB };
    struct ovfk_vhd_convert_opts co = { .type = OVFK_VHD_OUT_DYNAMIC,
                                   .backing = "base.vhd" };
    uint8_t *ref = calloc(1, 16 * MIB);
    uint8_t patch[4096];
    struct ovfk_vhd_info in;
    ovfk_source *src;
    ovfk_vhd *base, *h;

    CHECK(ref);
    CHECK_OK(ovfk_vhd_create("base.vhd", &o, &base), ovfk_last_error());
    CHECK_OK(scribble(base, ref, 16 * MIB, 21, 30, MIB), ovfk_vhd_error(base));
    ovfk_vhd_close(base);
    /* the new image: base plus one changed grain in block 5 */
    t_fill(patch, sizeof(patch), 99);
    memcpy(ref + 5 * 2 * MIB + 8192, patch, sizeof(patch));
    CHECK_OK(ovfk_vhd_create("new.vhd", &o, &h), ovfk_last_error());
    CHECK_OK(ovfk_vhd_pwrite(h, ref, 16 * MIB, 0), ovfk_vhd_error(h));
    CHECK_OK(ovfk_vhd_source(h, &src), "source");
    CHECK_OK(ovfk_vhd_convert(src, "child.vhd", &co), ovfk_last_error());
    ovfk_source_free(src);
    ovfk_vhd_close(h);
    CHECK_OK(ovfk_vhd_open("child.vhd", 0, &h), ovfk_last_error());
    ovfk_vhd_get_info(h, &in);
    CHECK_EQ(in.type, OVFK_VHD_TYPE_DIFF);
    CHECK_EQ(in.allocated_blocks, 1);
    CHECK(same_as(h, ref, 16 * MIB));
    ovfk_vhd_close(h);
    free(ref);
}

static void repair_restores_lost_footer(void)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_DYNAMIC,
                                      .size = 8 * MIB };
    uint8_t *ref = calloc(1, 8 * MIB);
    struct stat st;
    ovfk_vhd *h;

    CHECK(ref);
    CHECK_OK(ovfk_vhd_create("r.vhd", &o, &h), ovfk_last_error());
    CHECK_OK(scribble(h, ref, 8 * MIB, 17, 20, MIB), ovfk_vhd_error(h));
    ovfk_vhd_close(h);
    CHECK(stat("r.vhd", &st) == 0);
    CHECK(truncate("r.vhd", st.st_size - 512) == 0);
    CHECK_ERR(ovfk_vhd_open("r.vhd", 0, &h), OVFK_ECORRUPT, ovfk_last_error(),
              "vhd repair");
    CHECK_EQ(ovfk_vhd_check("r.vhd", NULL, NULL), OVFK_VHD_CHECK_CORRUPT);
    CHECK_OK(ovfk_vhd_repair("r.vhd", NULL, NULL), ovfk_last_error());
    CHECK_OK(ovfk_vhd_open("r.vhd", 0, &h), ovfk_last_error());
    CHECK(same_as(h, ref, 8 * MIB));
    ovfk_vhd_close(h);
    CHECK_EQ(ovfk_vhd_check("r.vhd", NULL, NULL), OVFK_VHD_CHECK_OK);
    free(ref);
}

static void repair_drops_garbage_after_fixed_footer(void)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_FIXED,
                                      .size = 4 * MIB };
    char junk[3000];
    FILE *f;
    ovfk_vhd *h;

    CHECK_OK(ovfk_vhd_create("g.vhd", &o, NULL), ovfk_last_error());
    memset(junk, 'j', sizeof(junk));
    f = fopen("g.vhd", "ab");
    CHECK(f && fwrite(junk, 1, sizeof(junk), f) == sizeof(junk));
    fclose(f);
    CHECK_ERR(ovfk_vhd_open("g.vhd", 0, &h), OVFK_ECORRUPT, ovfk_last_error(),
              "footer");
    CHECK_OK(ovfk_vhd_repair("g.vhd", NULL, NULL), ovfk_last_error());
    CHECK_OK(ovfk_vhd_open("g.vhd", 0, &h), ovfk_last_error());
    CHECK_EQ(ovfk_vhd_size(h), 4 * MIB);
    ovfk_vhd_close(h);
}

static void leaked_block_is_reported_and_dropped(void)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_DYNAMIC,
                                      .size = 8 * MIB };
    uint8_t data[512];
    ovfk_vhd *h;

    memset(data, 1, sizeof(data));
    CHECK_OK(ovfk_vhd_create("l.vhd", &o, &h), ovfk_last_error());
    CHECK_OK(ovfk_vhd_pwrite(h, data, sizeof(data), 0), ovfk_vhd_error(h));
    /* what a crash after "footer at the new end" leaves: the footer moved
     * one block further, nothing references the space before it */
    CHECK_OK(vhd_write_footer_at(h, h->footer_off + 512 + 2 * MIB),
             ovfk_vhd_error(h));
    ovfk_vhd_close(h);
    CHECK_EQ(ovfk_vhd_check("l.vhd", NULL, NULL), OVFK_VHD_CHECK_LEAKS);
    CHECK_OK(ovfk_vhd_repair("l.vhd", NULL, NULL), ovfk_last_error());
    CHECK_EQ(ovfk_vhd_check("l.vhd", NULL, NULL), OVFK_VHD_CHECK_OK);
}

static void failed_allocation_leaves_old_content(void)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_DYNAMIC,
                                      .size = 8 * MIB };
    uint8_t *ref = calloc(1, 8 * MIB);
    uint8_t data[4096];
    ovfk_vhd *h;

    CHECK(ref);
    CHECK_OK(ovfk_vhd_create("e.vhd", &o, &h), ovfk_last_error());
    CHECK_OK(scribble(h, ref, 2 * MIB, 4, 10, 4096), ovfk_vhd_error(h));
    t_fill(data, sizeof(data), 1);
    /* the second write of the allocation (the bitmap) fails */
    setenv("OVFKIT_FAULT", "write:2:28", 1);
    CHECK_ERR(ovfk_vhd_pwrite(h, data, sizeof(data), 6 * MIB), -ENOSPC,
              ovfk_vhd_error(h), "");
    unsetenv("OVFKIT_FAULT");
    ovfk_vhd_close(h);
    CHECK_EQ(ovfk_vhd_check("e.vhd", NULL, NULL), OVFK_VHD_CHECK_OK);
    CHECK_OK(ovfk_vhd_open("e.vhd", 0, &h), ovfk_last_error());
    CHECK(same_as(h, ref, 8 * MIB));
    ovfk_vhd_close(h);
    free(ref);
}

static void create_limits_and_rounding(void)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_FIXED };
    ovfk_vhd *h;

    o.size = 2041ull << 30;
    CHECK_ERR(ovfk_vhd_create("big.vhd", &o, NULL), -EFBIG, ovfk_last_error(),
              "2040 GiB");
    CHECK(access("big.vhd", F_OK) != 0);
    o.type = OVFK_VHD_TYPE_DYNAMIC;
    o.size = 1000;
    o.block_size = 3 << 20;
    CHECK_ERR(ovfk_vhd_create("bs.vhd", &o, NULL), -EINVAL, ovfk_last_error(),
              "power of two");
    o.block_size = 0;
    CHECK_OK(ovfk_vhd_create("odd.vhd", &o, &h), ovfk_last_error());
    CHECK_EQ(ovfk_vhd_size(h), 1024);
    ovfk_vhd_close(h);
    o.type = OVFK_VHD_TYPE_FIXED;
    o.size = 10 * MIB + 3;
    o.round_to_mib = true;
    CHECK_OK(ovfk_vhd_create("azure.vhd", &o, &h), ovfk_last_error());
    CHECK_EQ(ovfk_vhd_size(h), 11 * MIB);
    ovfk_vhd_close(h);
}

TEST_MAIN(T(dynamic_random_io), T(fixed_random_io),
          T(zero_write_allocates_nothing), T(diff_chain_three_deep),
          T(block_status_names_the_layer), T(stream_writes_what_it_planned),
          T(convert_cancel_leaves_nothing),
          T(convert_backing_writes_only_differences),
          T(repair_restores_lost_footer),
          T(repair_drops_garbage_after_fixed_footer),
          T(leaked_block_is_reported_and_dropped),
          T(failed_allocation_leaves_old_content),
          T(create_limits_and_rounding))

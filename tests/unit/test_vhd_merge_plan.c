/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests: the merge's space plan (vhd/merge_plan.c) against the space
 * the merge really takes, read from the file system (st_blocks of the
 * parent before and after): the plan must cover it, and must not ask for
 * a new block's whole length when a few of its pieces are written.
 */
#include <sys/stat.h>

#include "ovfkit/vhd.h"
#include "tests/unit/harness.h"

#define KIB (1u << 10)
#define MIB (1u << 20)

static uint64_t allocated(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

/* Write n bytes of a pattern (never zero) at off of an open VHD. */
static int put(ovfk_vhd *h, uint64_t off, size_t n, uint64_t seed)
{
    uint8_t *buf = malloc(n);
    int r;

    if (!buf) {
        return -1;
    }
    t_fill(buf, n, seed);
    for (size_t i = 0; i < n; i += 512) {
        buf[i] |= 1;
    }
    r = ovfk_vhd_pwrite(h, buf, n, off);
    free(buf);
    return r;
}

/* Make parent + child, let fill write the child, then plan and merge:
 * the space the parent took must be within the plan; returns the plan. */
static int plan_and_merge(enum ovfk_vhd_type ptype,
                          int (*parent_fill)(ovfk_vhd *),
                          int (*child_fill)(ovfk_vhd *),
                          struct ovfk_vhd_merge_plan *plan, uint64_t *used)
{
    struct ovfk_vhd_create_opts o = { .type = ptype, .size = 16 * MIB };
    ovfk_vhd *h;
    uint64_t before;

    if (ovfk_vhd_create("p.vhd", &o, &h) < 0 || parent_fill(h) < 0 ||
        ovfk_vhd_flush(h) < 0) {
        return -1;
    }
    ovfk_vhd_close(h);
    o.type = OVFK_VHD_TYPE_DIFF;
    o.parent = "p.vhd";
    if (ovfk_vhd_create("c.vhd", &o, &h) < 0 || child_fill(h) < 0 ||
        ovfk_vhd_flush(h) < 0) {
        return -1;
    }
    ovfk_vhd_close(h);
    if (ovfk_vhd_merge_plan("c.vhd", plan) < 0) {
        return -1;
    }
    before = allocated("p.vhd");
    if (ovfk_vhd_merge("c.vhd", NULL, 0, 0, NULL, NULL) < 0) {
        return -1;
    }
    *used = allocated("p.vhd") - before;
    return 0;
}

/* block 0 whole but for a zero 64 KiB piece (our writer leaves a hole) */
static int parent_with_hole(ovfk_vhd *h)
{
    uint8_t *buf = calloc(1, 2 * MIB);
    int r;

    if (!buf) {
        return -1;
    }
    t_fill(buf, 2 * MIB, 7);
    memset(buf + 64 * KIB, 0, 64 * KIB);
    r = ovfk_vhd_pwrite(h, buf, 2 * MIB, 0);
    free(buf);
    return r;
}

static int child_into_hole(ovfk_vhd *h)
{
    return put(h, 64 * KIB, 64 * KIB, 11);
}

static void plan_counts_holes_the_merge_fills(void)
{
    struct ovfk_vhd_merge_plan plan;
    uint64_t used;

    CHECK_OK(plan_and_merge(OVFK_VHD_TYPE_DYNAMIC, parent_with_hole,
                            child_into_hole, &plan, &used),
             ovfk_last_error());
    /* the hole really took space: otherwise this case proves nothing */
    CHECK_MSG(used >= 64 * KIB, "the merge used %llu bytes",
              (unsigned long long)used);
    CHECK_MSG(plan.bytes_needed >= used, "plan %llu < used %llu",
              (unsigned long long)plan.bytes_needed,
              (unsigned long long)used);
}

static int parent_block0(ovfk_vhd *h)
{
    return put(h, 0, 2 * MIB, 3);
}

/* three 64 KiB pieces in blocks 3 and 5, which the parent lacks */
static int child_new_blocks(ovfk_vhd *h)
{
    if (put(h, 6 * MIB + 256 * KIB, 64 * KIB, 5) < 0 ||
        put(h, 6 * MIB + 1536 * KIB, 64 * KIB, 6) < 0) {
        return -1;
    }
    return put(h, 10 * MIB, 64 * KIB, 8);
}

static void plan_counts_new_blocks_by_their_data(void)
{
    struct ovfk_vhd_merge_plan plan;
    uint64_t used;

    CHECK_OK(plan_and_merge(OVFK_VHD_TYPE_DYNAMIC, parent_block0,
                            child_new_blocks, &plan, &used),
             ovfk_last_error());
    CHECK_MSG(used >= 3 * 64 * KIB, "the merge used %llu bytes",
              (unsigned long long)used);
    CHECK_MSG(plan.bytes_needed >= used, "plan %llu < used %llu",
              (unsigned long long)plan.bytes_needed,
              (unsigned long long)used);
    /* two new blocks' lengths would be over 4 MiB */
    CHECK_MSG(plan.bytes_needed < 1 * MIB, "plan %llu for 192 KiB of data",
              (unsigned long long)plan.bytes_needed);
}

static int parent_nothing(ovfk_vhd *h)
{
    (void)h;
    return 0;
}

/* a fixed parent never written is all holes (ovfk_vhd_create leaves them) */
static void plan_counts_holes_of_a_fixed_parent(void)
{
    struct ovfk_vhd_merge_plan plan;
    uint64_t used;

    CHECK_OK(plan_and_merge(OVFK_VHD_TYPE_FIXED, parent_nothing,
                            child_new_blocks, &plan, &used),
             ovfk_last_error());
    if (used == 0) {
        SKIP("this file system allocates fixed VHDs whole");
    }
    CHECK_MSG(plan.bytes_needed >= used, "plan %llu < used %llu",
              (unsigned long long)plan.bytes_needed,
              (unsigned long long)used);
    CHECK_MSG(plan.bytes_needed < 1 * MIB, "plan %llu for 192 KiB of data",
              (unsigned long long)plan.bytes_needed);
}

/* error cases: nothing to merge into, a parent that is gone */
static void plan_refuses_without_a_parent(void)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_DYNAMIC,
                                      .size = 4 * MIB };
    struct ovfk_vhd_merge_plan plan;
    ovfk_vhd *h;

    CHECK_OK(ovfk_vhd_create("p.vhd", &o, &h), ovfk_last_error());
    ovfk_vhd_close(h);
    CHECK(ovfk_vhd_merge_plan("p.vhd", &plan) < 0);
    CHECK_MSG(strstr(ovfk_last_error(), "no parent"), "message: %s",
              ovfk_last_error());
    o.type = OVFK_VHD_TYPE_DIFF;
    o.parent = "p.vhd";
    CHECK_OK(ovfk_vhd_create("c.vhd", &o, &h), ovfk_last_error());
    CHECK_OK(put(h, 0, 64 * KIB, 1), ovfk_vhd_error(h));
    ovfk_vhd_close(h);
    CHECK(unlink("p.vhd") == 0);
    CHECK(ovfk_vhd_merge_plan("c.vhd", &plan) < 0);
    CHECK_MSG(strstr(ovfk_last_error(), "p.vhd"), "message: %s",
              ovfk_last_error());
}

TEST_MAIN(T(plan_counts_holes_the_merge_fills),
          T(plan_counts_new_blocks_by_their_data),
          T(plan_counts_holes_of_a_fixed_parent),
          T(plan_refuses_without_a_parent))

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/internal.h - on-disk layout constants, decoded host structures and
 * the handle, shared by the files of vhd/ only.
 *
 * Layout (VHD spec v1.0):
 *   fixed:          [data: current_size bytes][footer: 512]
 *   dynamic/diff:   [footer copy: 512][dynamic header: 1024][BAT]
 *                   [parent locator data][block: bitmap + data]...[footer]
 */
#ifndef OVFK_VHD_INTERNAL_H
#define OVFK_VHD_INTERNAL_H

#include <stdbool.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ovfkit/vhd.h"
#include "util/err.h"
#include "util/io.h"

#define VHD_SECTOR 512u
#define VHD_FOOTER_SIZE 512u
#define VHD_DYNHDR_SIZE 1024u
#define VHD_BAT_FREE 0xFFFFFFFFu
#define VHD_DATA_OFFSET_FIXED 0xFFFFFFFFFFFFFFFFull
#define VHD_VERSION 0x00010000u
#define VHD_FEATURES_RESERVED 0x00000002u   /* spec: always set */
#define VHD_EPOCH 946684800                 /* 2000-01-01T00:00:00Z */

/* Sanity limits on fields read from files (libarchive style). */
#define VHD_MIN_BLOCK_SIZE 512u
#define VHD_MAX_BLOCK_SIZE (256u << 20)
#define VHD_MIN_CREATE_BLOCK (64u << 10)   /* dense deltas, create.c */
#define VHD_MAX_BAT_ENTRIES (64u << 20)     /* 256 MiB of BAT */
#define VHD_MAX_LOCATOR_BYTES (64u << 10)   /* a path, in UTF-16 */

/*
 * Differencing disks are written in units of 8 sectors (4 KiB), one whole
 * bitmap byte, as Hyper-V does.  libvhdi up to at least 20220 (Debian 12's
 * 20210425) computes `byte >> (7 - bit)` without masking, so it misreads
 * every sector after the first set bit of a partially set bitmap byte.
 */
#define VHD_DIFF_GRAIN 4096u

/* Blocks up to this size are "small" (dense deltas, create.c): a merge reads
 * them whole, bitmap and data at once, and reads ahead without looking
 * for their holes (recover.c, children.c). */
#define VHD_SMALL_BLOCK (256u << 10)

/* Data of new blocks starts on this boundary (file systems, O_DIRECT). */
#define VHD_DATA_ALIGN 4096u

/* Footer field offsets (spec "Hard Disk Footer Format"). */
enum {
    FT_COOKIE = 0,
    FT_FEATURES = 8,
    FT_VERSION = 12,
    FT_DATA_OFFSET = 16,
    FT_TIMESTAMP = 24,
    FT_CREATOR_APP = 28,
    FT_CREATOR_VER = 32,
    FT_CREATOR_OS = 36,
    FT_ORIG_SIZE = 40,
    FT_CUR_SIZE = 48,
    FT_CYLS = 56,
    FT_HEADS = 58,
    FT_SECTORS = 59,
    FT_TYPE = 60,
    FT_CHECKSUM = 64,
    FT_UUID = 68,
    FT_SAVED = 84,
};

/* Dynamic header field offsets (spec "Dynamic Disk Header Format"). */
enum {
    DH_COOKIE = 0,
    DH_DATA_OFFSET = 8,
    DH_TABLE_OFFSET = 16,
    DH_VERSION = 24,
    DH_MAX_ENTRIES = 28,
    DH_BLOCK_SIZE = 32,
    DH_CHECKSUM = 36,
    DH_PARENT_UUID = 40,
    DH_PARENT_TS = 56,
    DH_PARENT_NAME = 64,
    DH_PARENT_NAME_LEN = 512,
    DH_LOCATORS = 576,
    DH_LOCATOR_SIZE = 24,
};

typedef struct vhd_footer {
    uint32_t features;
    uint32_t version;
    uint64_t data_offset;
    uint32_t timestamp;
    uint8_t creator_app[4];
    uint32_t creator_version;
    uint8_t creator_os[4];
    uint64_t original_size;
    uint64_t current_size;
    uint16_t cylinders;
    uint8_t heads;
    uint8_t sectors;
    uint32_t type;
    uint32_t checksum;
    uint8_t uuid[16];
    uint8_t saved_state;
} vhd_footer;

typedef struct vhd_loc_raw {
    uint8_t code[4];
    uint32_t space;             /* as stored (sectors, or bytes: quirk) */
    uint32_t length;
    uint64_t offset;
} vhd_loc_raw;

typedef struct vhd_dynhdr {
    uint64_t data_offset;
    uint64_t table_offset;
    uint32_t version;
    uint32_t max_entries;
    uint32_t block_size;
    uint32_t checksum;
    uint8_t parent_uuid[16];
    uint32_t parent_ts;
    uint8_t parent_name[DH_PARENT_NAME_LEN];   /* UTF-16BE, as stored */
    vhd_loc_raw loc[OVFK_VHD_MAX_LOCATORS];
} vhd_dynhdr;

struct ovfk_vhd {
    ovfk_io *io;
    char *path;
    int flags;
    vhd_footer ft;
    vhd_dynhdr dh;
    uint64_t size;              /* logical size */
    bool size_from_chs;
    uint64_t file_size;
    uint64_t footer_off;        /* trailing footer; new blocks go here */
    uint32_t *bat;              /* host order, dh.max_entries entries */
    uint32_t bitmap_size;       /* bytes before each block's data */
    ovfk_vhd *parent;
    int depth;                  /* 0 for the top file */
    /* one-block bitmap cache (differencing reads and writes) */
    uint32_t bm_block;
    bool bm_valid;
    uint8_t *bm;
    ovfk_err err;
    /* read-only: C of an unfinished merge into this file (journal state
     * "copying", merge.c NOTES 6), opened alone with this file as its
     * parent (not owned through it): reads of this file go through C */
    ovfk_vhd *merging;
    bool in_merging;            /* a read through merging is under way */
};

/* footer.c */
uint32_t vhd_checksum(const uint8_t *buf, size_t len, size_t skip_off);
void vhd_footer_decode(const uint8_t *buf, vhd_footer *ft);
void vhd_footer_encode(const vhd_footer *ft, uint8_t *buf);
bool vhd_footer_cookie_ok(const uint8_t *buf);
bool vhd_footer_checksum_ok(const uint8_t *buf);
void vhd_geometry(uint64_t size, uint16_t *cyl, uint8_t *heads,
                  uint8_t *spt);
uint64_t vhd_footer_size(const vhd_footer *ft, bool *from_chs);
uint32_t vhd_now(void);
void vhd_uuid_generate(uint8_t uuid[16]);
int vhd_uuid_parse(const char *text, uint8_t uuid[16]);
void vhd_footer_init(vhd_footer *ft, enum ovfk_vhd_type type, uint64_t size);

/* dynhdr.c */
void vhd_dynhdr_decode(const uint8_t *buf, vhd_dynhdr *dh);
void vhd_dynhdr_encode(const vhd_dynhdr *dh, uint8_t *buf);
bool vhd_dynhdr_checksum_ok(const uint8_t *buf);
uint32_t vhd_locator_bytes(const vhd_loc_raw *l);
int vhd_locator_read(ovfk_vhd *h, int i, char *out, size_t outlen);
int vhd_parent_name(const vhd_dynhdr *dh, char *out, size_t outlen);
int vhd_set_parent_fields(ovfk_vhd *child, ovfk_vhd *parent,
                          const char *parent_path, uint64_t loc_off,
                          uint64_t *loc_end);
int vhd_write_header(ovfk_vhd *h);

/* bat.c */
int vhd_bat_load(ovfk_vhd *h);
int vhd_bat_set(ovfk_vhd *h, uint32_t block, uint32_t sector);
int vhd_bitmap_load(ovfk_vhd *h, uint32_t block);
int vhd_bitmap_store(ovfk_vhd *h, uint32_t block);
uint64_t vhd_block_offset(const ovfk_vhd *h, uint32_t block);
uint32_t vhd_block_count(const ovfk_vhd *h);
uint64_t vhd_metadata_end(const ovfk_vhd *h);
uint64_t vhd_used_end(const ovfk_vhd *h);
uint64_t vhd_next_block_pos(uint64_t end, uint32_t bitmap_size);
int vhd_write_footer_at(ovfk_vhd *h, uint64_t off);

static inline bool bm_test(const uint8_t *bm, uint32_t bit)
{
    return (bm[bit >> 3] >> (7 - (bit & 7))) & 1;
}

static inline void bm_set(uint8_t *bm, uint32_t bit)
{
    bm[bit >> 3] |= (uint8_t)(0x80 >> (bit & 7));
}

/* journal.c: the merge code's allocations, which the test hook
 * OVFKIT_FAIL_ALLOC_AT=N (merge.c's NOTES) can make fail */
bool vhd_merge_alloc_fails(void);
static inline void *m_calloc(size_t n, size_t size)
{
    return vhd_merge_alloc_fails() ? NULL : calloc(n, size);
}
static inline void *m_realloc(void *p, size_t n)
{
    return vhd_merge_alloc_fails() ? NULL : realloc(p, n);
}
static inline char *m_strdup(const char *s)
{
    return vhd_merge_alloc_fails() ? NULL : strdup(s);
}
/* journal.c: the merge journal (merge.c's NOTES) */
struct child_hdr {
    char *path;
    uint8_t old[VHD_DYNHDR_SIZE];
};
struct journal {
    char path[PATH_MAX];        /* the journal file */
    char state[16];             /* "copying" or "repointing" */
    char child[PATH_MAX], parent[PATH_MAX];
    uint8_t child_uuid[16], parent_uuid[16];
    struct child_hdr *kids;
    size_t n_kids;
    bool keep_child; /* OVFK_VHD_MERGE_KEEP_CHILD: the caller removes C */
};
void vhd_journal_free(struct journal *j);
void vhd_journal_name(const char *child, char *out, size_t len);
int vhd_merge_nomem(ovfk_err *err, const char *what, const char *path);
int vhd_journal_render(const struct journal *j, const char *state,
                       char **out, ovfk_err *err);
int vhd_journal_write(struct journal *j, const char *state, const char *text,
                      ovfk_err *err);
int vhd_journal_read(const char *path, struct journal *j, ovfk_err *err);
/* Does the journal concern abs (as C, P or a G)? */
bool vhd_journal_concerns(const struct journal *j, const char *abs);
/* Call fn on each journal beside abs (a resolved path) that concerns it,
 * until fn returns non-zero; a journal that cannot be read ends the walk
 * with its error, or is skipped when skip_bad (but for -ENOMEM).  jp
 * receives the last journal's path (for messages).  Returns fn's last
 * result, 0, or a negative errno with the message in err. */
typedef int (*vhd_journal_fn)(struct journal *j, void *opaque);
int vhd_journal_each(const char *abs, bool skip_bad, vhd_journal_fn fn,
                     void *opaque, char jp[PATH_MAX], ovfk_err *err);
/* children.c: while block b of v is worked on, ask the kernel to read the
 * first len bytes (bitmap first) of v's allocated blocks up to b + window
 * - 1, their data extents only; *ahead (0 at the start) is how far that
 * has gone, so each block is asked for once */
void vhd_read_ahead_blocks(ovfk_vhd *v, uint32_t b, uint32_t window,
                          uint64_t len, uint32_t *ahead);
/* children.c: the same for the copy in file order: while order[i] is
 * worked on, order[i + 1 .. i + window - 1]; dense (small blocks read
 * whole): advise whole runs of adjacent blocks, holes and all */
void vhd_read_ahead_order(ovfk_vhd *v, const uint32_t *order, uint32_t n,
                          uint32_t i, uint32_t window, uint64_t len,
                          bool dense, uint32_t *ahead);
/* children.c: open child's chain (vhd_open_chain flags) for a merge: 0, or
 * a negative errno with the message in ovfk_last_error() and *chain NULL
 * when it cannot open or has no parent.  The caller closes *chain. */
int vhd_open_merge_child(const char *child, int flags, ovfk_vhd **chain);
/* merge_plan.c: an upper bound of ovfk_vhd_merge_plan's bytes_needed from the
 * BATs alone (no bitmap read, no question about the parent's holes) */
int vhd_merge_bound(const char *child, uint64_t *bytes);
/* recover.c: carry the merge j describes from its state to its end (fresh:
 * a new merge, in state "copying", whose journal is written first) */
int vhd_merge_run(struct journal *j, bool fresh, ovfk_progress_fn progress,
                  void *opaque, ovfk_err *err);
/* open.c */
/* ovfk_vhd_open without recovery: never writes (a read-only open reads an
 * unfinished merge through its journal, merge.c NOTES 6) */
int vhd_open_chain(const char *path, int flags, ovfk_vhd **out);
int vhd_open_one(const char *path, int flags, ovfk_vhd **out, ovfk_err *err);
int vhd_load_structure(ovfk_vhd *h, ovfk_err *err);
void vhd_free_one(ovfk_vhd *h);

/* rw.c */
int vhd_alloc_block(ovfk_vhd *h, uint32_t block, const uint8_t *data,
                    uint32_t in_off, uint32_t len);

/* util */
int vhd_utf16_to_utf8(const uint8_t *in, size_t inlen, bool big_endian,
                      char *out, size_t outlen);
int vhd_utf8_to_utf16(const char *in, bool big_endian, uint8_t *out,
                      size_t outlen, size_t *written);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovfkit/vhd.h - Microsoft Virtual Hard Disk files (VHD Image Format
 * Specification v1.0, 2006): fixed, dynamic and differencing disks.
 *
 * A ovfk_vhd is an open VHD file and, for a differencing disk, the read-only
 * chain of its parents.  Reads see the logical disk (falling through to the
 * parents where the child has no data); writes go to the top file only.
 *
 * Errors: 0 or a negative errno / OVFK_E* code; the message is on the
 * handle (ovfk_vhd_error), or in ovfk_last_error() for functions that did not
 * return a handle.
 */
#ifndef OVFKIT_VHD_H
#define OVFKIT_VHD_H

#include <stdbool.h>
#include <stdint.h>

#include "ovfkit/common.h"
#include "ovfkit/source.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ovfk_vhd ovfk_vhd;

enum ovfk_vhd_type {
    OVFK_VHD_TYPE_FIXED = 2,
    OVFK_VHD_TYPE_DYNAMIC = 3,
    OVFK_VHD_TYPE_DIFF = 4,
};

#define OVFK_VHD_DEFAULT_BLOCK_SIZE (2u << 20)
#define OVFK_VHD_MAX_SIZE (2040ull << 30)     /* spec section 3.1: 2040 GiB */
#define OVFK_VHD_MAX_CHAIN 256 /* parents followed before refusing */

enum {
    OVFK_VHD_OPEN_RDWR = 1 << 0,
    OVFK_VHD_OPEN_NO_PARENT = 1 << 1,    /* do not open the parent chain */
};

struct ovfk_vhd_create_opts {
    enum ovfk_vhd_type type; /* OVFK_VHD_TYPE_FIXED or OVFK_VHD_TYPE_DYNAMIC;
                                   DIFF when parent is set */
    uint64_t size;              /* bytes; rounded up to 512 */
    uint32_t block_size;        /* power of two, 64 KiB..256 MiB; 0: 2 MiB,
                                   or a differencing disk's parent's */
    bool round_to_mib;          /* round the size up to a whole MiB (Azure) */
    const char *parent;         /* differencing: the parent's path */
    const uint8_t *uuid;        /* 16 bytes, or NULL for a random UUID */
};

/*
 * Create a VHD at path (which must not exist) and return it opened
 * read-write in *out (pass NULL to close it at once).  On failure nothing
 * is left at path; the message is in ovfk_last_error().
 */
int ovfk_vhd_create(const char *path, const struct ovfk_vhd_create_opts *opts,
               ovfk_vhd **out);

/*
 * Open path (and, unless OVFK_VHD_OPEN_NO_PARENT, its parent chain, read-only).
 * A parent is found through its relative locator, then its absolute one,
 * then its name in the child's directory; a parent whose UUID differs from
 * the child's record, a loop, or a chain deeper than OVFK_VHD_MAX_CHAIN is
 * refused.  A read-only open never writes: a file an interrupted merge is
 * copying into reads through the merge's journal as the merge will leave
 * it (merge.c's NOTES 6).  OVFK_VHD_OPEN_RDWR is a write: an interrupted merge
 * that involves path is completed first (ovfk_vhd_merge_recover), and the open
 * fails when it cannot be.  On failure *out is NULL and the message is in
 * ovfk_last_error().
 */
int ovfk_vhd_open(const char *path, int flags, ovfk_vhd **out);

/* Close the file and its parents (no fsync: call ovfk_vhd_flush first when the
 * data must be durable).  NULL is accepted.  Returns 0. */
int ovfk_vhd_close(ovfk_vhd *h);

/* The last error's message; valid until the next call on h. */
const char *ovfk_vhd_error(const ovfk_vhd *h);

/* The logical size in bytes (per the creator-app table, see footer.c). */
uint64_t ovfk_vhd_size(const ovfk_vhd *h);
enum ovfk_vhd_type ovfk_vhd_type(const ovfk_vhd *h);
const char *ovfk_vhd_path(const ovfk_vhd *h);

/* The parent handle (owned by h; valid while h is open), or NULL. */
ovfk_vhd *ovfk_vhd_parent(const ovfk_vhd *h);

/* Read len bytes at off of the logical disk; off + len <= ovfk_vhd_size(). */
int ovfk_vhd_pread(ovfk_vhd *h, void *buf, size_t len, uint64_t off);

/*
 * Write to the top file of the chain.  A dynamic disk allocates blocks at
 * the end of the file and moves the footer; an all-zero write to an
 * unallocated block of a dynamic disk allocates nothing.  On failure the
 * file still reads as before the call or with part of the write applied,
 * and its structure is valid (or repairable by ovfk_vhd_repair).
 */
int ovfk_vhd_pwrite(ovfk_vhd *h, const void *buf, size_t len, uint64_t off);

/* fsync the top file. */
int ovfk_vhd_flush(ovfk_vhd *h);

/*
 * Allocation status of [off, off + len) across the chain: stores in *pnum
 * how many bytes from off share the status, in *depth which file holds
 * them (0 = h, 1 = its parent, ...; -1 = nowhere, reads as zeros), and
 * returns 1 for data, 0 for zeros, negative on error.  A hole in the file
 * under a file's own data (allocated, but never written) is zeros held by
 * that file: 0 with its depth.
 */
int ovfk_vhd_block_status(ovfk_vhd *h, uint64_t off, uint64_t len,
                          uint64_t *pnum, int *depth);

/* A source reading h (h stays owned by the caller and must outlive it). */
int ovfk_vhd_source(ovfk_vhd *h, ovfk_source **out);

#define OVFK_VHD_MAX_LOCATORS 8

struct ovfk_vhd_locator {
    char code[5];               /* "W2ru", "W2ku", "MacX", ... */
    uint64_t offset;            /* platform data offset */
    uint32_t space;             /* bytes reserved */
    uint32_t length;            /* bytes used */
    char path[1024];            /* decoded (UTF-8), may be truncated */
};

struct ovfk_vhd_info {
    enum ovfk_vhd_type type;
    uint64_t size;              /* logical size we use */
    uint64_t current_size;
    uint64_t original_size;
    uint64_t chs_size;          /* cylinders * heads * sectors * 512 */
    bool size_from_chs;         /* size follows CHS (creator 'vpc '...) */
    uint16_t cylinders;
    uint8_t heads;
    uint8_t sectors;
    char creator_app[5];        /* printable, NULs as "\0" removed */
    uint32_t creator_version;
    char creator_os[5];
    uint32_t timestamp;         /* seconds since 2000-01-01 UTC */
    uint8_t uuid[16];
    uint8_t saved_state;
    uint32_t features;
    uint64_t file_size;
    /* dynamic and differencing */
    uint32_t block_size;
    uint32_t max_table_entries;
    uint32_t allocated_blocks;
    uint64_t table_offset;
    /* differencing */
    uint8_t parent_uuid[16];
    uint32_t parent_timestamp;
    char parent_name[1024];     /* UTF-8 */
    int n_locators;
    struct ovfk_vhd_locator locators[OVFK_VHD_MAX_LOCATORS];
    int chain_depth;            /* 0 for a disk without parent */
};

/* Fill *info for the top file of h. */
int ovfk_vhd_get_info(ovfk_vhd *h, struct ovfk_vhd_info *info);

/* "2a7f...": 36 characters plus NUL into buf[37]. */
void ovfk_vhd_uuid_str(const uint8_t uuid[16], char buf[37]);

/* Exit codes of vhd check, as qemu-img check. */
enum ovfk_vhd_check_result {
    OVFK_VHD_CHECK_OK = 0,
    OVFK_VHD_CHECK_FAILED = 1,       /* could not check */
    OVFK_VHD_CHECK_CORRUPT = 2,
    OVFK_VHD_CHECK_LEAKS = 3,        /* leaks or an unfinished merge only: the
                                   data is intact, ovfk_vhd_repair finishes */
    OVFK_VHD_CHECK_UNSUPPORTED = 63,
};

/* Check path (and its parent link) without modifying it.  One line per
 * finding: OVFK_SEV_ERROR, OVFK_SEV_LEAK, OVFK_SEV_MERGE (a merge left
 * unfinished in the chain, which ovfk_vhd_check leaves alone) or
 * OVFK_SEV_WARNING. */
enum ovfk_vhd_check_result
ovfk_vhd_check(const char *path, ovfk_report_fn report, void *opaque);

/*
 * Repair path: finish or roll back an interrupted merge, restore a lost or
 * damaged trailing footer from the copy at offset 0, and drop trailing
 * garbage and leaked space after the last block.  Each action is reported
 * (OVFK_SEV_REPAIR).
 * Returns 0 (also when nothing needed doing) or negative (message in
 * ovfk_last_error()); on failure the file is as it was or repaired.
 */
int ovfk_vhd_repair(const char *path, ovfk_report_fn report, void *opaque);

enum ovfk_vhd_out_type {
    OVFK_VHD_OUT_RAW = 1,
    OVFK_VHD_OUT_FIXED,
    OVFK_VHD_OUT_DYNAMIC,
};

struct ovfk_vhd_convert_opts {
    enum ovfk_vhd_out_type type;     /* default OVFK_VHD_OUT_DYNAMIC */
    uint32_t block_size;        /* 0: 2 MiB */
    bool round_to_mib;          /* fixed only */
    const char *backing;        /* -B: write only what differs from it */
    ovfk_progress_fn progress;
    void *opaque;
};

/*
 * Write src into a new file at dst (which must not exist): a raw image, a
 * fixed VHD or a dynamic VHD (zero blocks left unallocated, zero runs left
 * as holes); with backing, a differencing child of backing holding only
 * the sectors where src differs from it.  The data is written to a
 * temporary file beside dst and renamed at the end: on failure or cancel
 * nothing is left at dst.  Message in ovfk_last_error().
 */
int ovfk_vhd_convert(ovfk_source *src, const char *dst,
                const struct ovfk_vhd_convert_opts *opts);

/*
 * Sequential writer for sinks that cannot seek (an OVA member): plan a
 * dynamic (or fixed) VHD of src from its allocation status only, learn its
 * exact byte size, then stream it.  Blocks src reports as data are written
 * even when they hold zeros, so the size is known before the data is read.
 */
typedef struct ovfk_vhd_stream ovfk_vhd_stream;

int ovfk_vhd_stream_new(ovfk_source *src, enum ovfk_vhd_out_type type,
                   uint32_t block_size, ovfk_vhd_stream **out);
uint64_t ovfk_vhd_stream_size(const ovfk_vhd_stream *s);
int ovfk_vhd_stream_write(ovfk_vhd_stream *s, const ovfk_sink *sink,
                     ovfk_progress_fn progress, void *opaque);
const char *ovfk_vhd_stream_error(const ovfk_vhd_stream *s);
void ovfk_vhd_stream_free(ovfk_vhd_stream *s);

/*
 * Compare the logical contents of two sources.  Returns 0 when equal, 1
 * when they differ (*diff_off holds the first differing byte; sizes that
 * differ count as a difference at the shorter size unless the longer tail
 * is zero), negative on error.
 */
int ovfk_vhd_compare(ovfk_source *a, ovfk_source *b, uint64_t *diff_off,
                ovfk_progress_fn progress, void *opaque);

/*
 * Merging a differencing disk into its parent (deleting a snapshot).
 *
 * The plan says how many bytes the parent's file system must have free for
 * our in-place merge: parent blocks the child's data lands in that the
 * parent has not allocated (for a fixed parent, holes of its file), plus
 * the journal.  It is computed from metadata only.
 */
struct ovfk_vhd_merge_plan {
    uint64_t bytes_needed;      /* extra space the merge uses at most */
    uint64_t child_bytes;       /* the child's allocated data (VMware's
                                   rule: deleting it needs this much) */
    uint32_t child_blocks;      /* blocks to copy */
    uint64_t parent_capacity;
    char parent[4096];          /* the parent's path */
};

int ovfk_vhd_merge_plan(const char *child, struct ovfk_vhd_merge_plan *plan);
/* The same for merging child's data into target, a file further down its
 * chain (deleting several snapshots merges every delta into the base). */
int ovfk_vhd_merge_plan_into(const char *child, const char *target,
                        struct ovfk_vhd_merge_plan *plan);

/*
 * Merge child into its parent, re-point the child's own children (paths in
 * children[]) at the parent, and delete the child.  Crash-safe: a journal
 * beside the child records the step; every state on the way reads the
 * same logical data for the child and everything above it, and the next
 * write (ovfk_vhd_merge_recover, ovfk_vhd_repair, an OVFK_VHD_OPEN_RDWR
 * open, a merge or a snapshot operation) on any file involved completes the merge; reading
 * never does.  The parent's old contents (the deleted snapshot's state)
 * are given up from the first write: a merge only goes forward.  See
 * merge.c's NOTES.
 *
 * OVFK_VHD_MERGE_KEEP_CHILD leaves the child in place, still a valid child of
 * the parent reading the same data (it then duplicates what the parent
 * holds): a caller that names the child in its own records switches them
 * to the parent first, then removes the child itself.
 */
enum {
    OVFK_VHD_MERGE_KEEP_CHILD = 1 << 0,
};
int ovfk_vhd_merge(const char *child, const char *const *children, size_t n,
              unsigned flags, ovfk_progress_fn progress, void *opaque);

/*
 * The differencing disks in dir whose parent is file (by UUID): its
 * children, which a merge must re-point.  *paths is malloc'ed (free each
 * and the array).  Returns 0, or a negative errno with *paths NULL and *n
 * 0: never a shorter list, so a file there that looks like a VHD but
 * cannot be read (damaged, or no memory) is an error.
 */
int ovfk_vhd_find_children(const char *file, const char *dir, char ***paths,
                      size_t *n);

/* The resolved path of path's parent in buf: 1, or 0 when it has none. */
int ovfk_vhd_parent_path(const char *path, char *buf, size_t len);

/* Complete an interrupted merge that involves path (as the child, the
 * parent or one of the child's children), if there is one: the explicit
 * step a writer takes before writing (reads never complete one).  Returns
 * 1 when one was completed, 0 when there was none, or a negative errno. */
int ovfk_vhd_merge_recover(const char *path);

/* Probe: 100 when path ends in a VHD footer, or has one at offset 0. */
int ovfk_vhd_probe(const char *path);

#ifdef __cplusplus
}
#endif
#endif

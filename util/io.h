/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/io.h - the one positional I/O interface every on-disk format uses
 * (SQLite's VFS, libbfio).  Back ends: a file or block device, and a memory
 * buffer.  The memory back end is tested on its own (test_io); no parser
 * takes one today: the readers of vhd/ and convert/ open paths (a parent,
 * a backing file or an extent is named relative to the image), so they
 * and their fuzz targets work on files.
 *
 * All functions return 0 or a negative errno.  A short read is
 * OVFK_ECORRUPT ("unexpected end of file"): every caller reads structures
 * it has already bounded against the size, so a short read means the file
 * shrank or lied.
 *
 * Fault injection (tests only): OVFKIT_FAULT="write:N[:errno]" makes the
 * N-th pwrite in this process through any file back end fail with errno
 * (default ENOSPC); "sync:N[:errno]" does the same for sync.
 */
#ifndef OVFK_UTIL_IO_H
#define OVFK_UTIL_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ovfk_io ovfk_io;

enum {
    OVFK_IO_RDONLY = 0,
    OVFK_IO_RDWR = 1 << 0,
    OVFK_IO_CREATE = 1 << 1,    /* create; fail if it exists (O_EXCL) */
    OVFK_IO_TRUNC = 1 << 2,     /* create or truncate */
};

/* Open a file or block device.  On failure *out is NULL and the message
 * is in ovfk_last_error(). */
int ovfk_io_open_file(const char *path, int flags, ovfk_io **out);

/* A memory back end over a copy of buf; it grows on writes up to max
 * bytes (ENOSPC beyond).  max 0 means "len, read-only in size". */
int ovfk_io_open_mem(const void *buf, size_t len, size_t max, ovfk_io **out);

/* Bytes of a memory back end (valid until the next write or close). */
const uint8_t *ovfk_io_mem_data(ovfk_io *io, size_t *len);

int ovfk_io_pread(ovfk_io *io, void *buf, size_t len, uint64_t off);
int ovfk_io_pwrite(ovfk_io *io, const void *buf, size_t len, uint64_t off);

/*
 * Sparse writes into a file the caller created: only the non-zero 64 KiB
 * pieces of buf (aligned to file offsets) are written; the zero ones stay
 * holes, which read as zeros, and the caller sets the final length.
 */
int ovfk_io_pwrite_sparse(ovfk_io *io, const void *buf, size_t len,
                          uint64_t off);
int ovfk_pwrite_sparse(int fd, const void *buf, size_t len, uint64_t off);
/* All of buf to a plain descriptor at off (EINTR retried). */
int ovfk_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
/*
 * A long sequential write to fd has reached end: once 32 MiB or more lie
 * past *started, start writing them to disk without waiting, and move
 * *started to end.  The fsync that ends the write then finds little left
 * to do: the disk works while the caller still computes (a digest on the
 * other core, say).  Best effort: errors are left for that fsync.
 */
void ovfk_writeback(int fd, uint64_t *started, uint64_t end);
int ovfk_io_size(ovfk_io *io, uint64_t *size);
int ovfk_io_truncate(ovfk_io *io, uint64_t size);
int ovfk_io_sync(ovfk_io *io);

/*
 * Where data lives (SEEK_DATA/SEEK_HOLE): the first data at or after off,
 * and the end of that data run.  *start == size means no more data.
 * Back ends without hole information report everything as data.
 */
int ovfk_io_data_extent(ovfk_io *io, uint64_t off, uint64_t *start,
                        uint64_t *end);

/* The file descriptor of a file back end, or -1. */
int ovfk_io_fd(ovfk_io *io);

/* Close (NULL is accepted).  Returns the first deferred error, if any. */
int ovfk_io_close(ovfk_io *io);

/* Read the first len bytes of path (format probes): 0, or negative errno
 * (-ENODATA when the file is shorter). */
int ovfk_read_head(const char *path, void *buf, size_t len);

/* Check the OVFKIT_FAULT schedule; returns a negative errno to inject. */
int ovfk_fault_check(const char *op);

/*
 * Numbered crash points (libvhd's TEST_FAIL_AT): when OVFKIT_CRASH_AT=N,
 * reaching point N kills the process with SIGKILL, as a power cut would.
 */
void ovfk_crash_point(int n);

#endif

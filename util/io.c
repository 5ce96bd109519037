/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/io.c - file and memory back ends of the positional I/O interface.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/bytes.h"
#include "util/err.h"
#include "util/io.h"

struct ovfk_io {
    int fd;              /* -1 for memory */
    uint8_t *mem;
    size_t mem_len;
    size_t mem_cap;
    size_t mem_max;
    bool is_block;
};

static int fault_counter(const char *op, long *count)
{
    const char *spec = getenv("OVFKIT_FAULT");
    size_t oplen = strlen(op);
    char *end;
    long n;
    int err = ENOSPC;

    if (!spec || strncmp(spec, op, oplen) != 0 || spec[oplen] != ':') {
        return 0;
    }
    n = strtol(spec + oplen + 1, &end, 10);
    if (*end == ':') {
        err = (int)strtol(end + 1, NULL, 10);
    }
    if (++*count == n) {
        return -err;
    }
    return 0;
}

int ovfk_fault_check(const char *op)
{
    static long writes, syncs;

    if (strcmp(op, "write") == 0) {
        return fault_counter(op, &writes);
    }
    return fault_counter(op, &syncs);
}

void ovfk_crash_point(int n)
{
    const char *spec = getenv("OVFKIT_CRASH_AT");

    if (spec && atoi(spec) == n) {
        kill(getpid(), SIGKILL);
    }
}

int ovfk_io_open_file(const char *path, int flags, ovfk_io **out)
{
    int oflags = O_CLOEXEC;
    struct stat st;
    ovfk_io *io;
    int fd;

    *out = NULL;
    oflags |= (flags & OVFK_IO_RDWR) ? O_RDWR : O_RDONLY;
    if (flags & OVFK_IO_CREATE) {
        oflags |= O_CREAT | O_EXCL;
    }
    if (flags & OVFK_IO_TRUNC) {
        oflags |= O_CREAT | O_TRUNC;
    }
    fd = open(path, oflags, 0644);
    if (fd < 0) {
        int e = -errno;
        return ovfk_err_last(e, "cannot open '%s': %s", path,
                             ovfk_errtext(e));
    }
    if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
        close(fd);
        return ovfk_err_last(-EISDIR, "cannot open '%s': is a directory",
                             path);
    }
    io = calloc(1, sizeof(*io));
    if (!io) {
        close(fd);
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    io->fd = fd;
    io->is_block = S_ISBLK(st.st_mode);
    *out = io;
    return 0;
}

int ovfk_io_open_mem(const void *buf, size_t len, size_t max, ovfk_io **out)
{
    ovfk_io *io = calloc(1, sizeof(*io));

    *out = NULL;
    if (!io) {
        return -ENOMEM;
    }
    io->fd = -1;
    io->mem_max = max ? max : len;
    io->mem_cap = len ? len : 1;
    io->mem = malloc(io->mem_cap);
    if (!io->mem) {
        free(io);
        return -ENOMEM;
    }
    if (len) {
        memcpy(io->mem, buf, len);
    }
    io->mem_len = len;
    *out = io;
    return 0;
}

const uint8_t *ovfk_io_mem_data(ovfk_io *io, size_t *len)
{
    *len = io->mem_len;
    return io->mem;
}

static int mem_reserve(ovfk_io *io, size_t need)
{
    size_t cap = io->mem_cap;
    uint8_t *p;

    if (need > io->mem_max) {
        return -ENOSPC;
    }
    if (need <= cap) {
        return 0;
    }
    while (cap < need) {
        cap = cap * 2 > io->mem_max ? io->mem_max : cap * 2;
    }
    p = realloc(io->mem, cap);
    if (!p) {
        return -ENOMEM;
    }
    io->mem = p;
    io->mem_cap = cap;
    return 0;
}

int ovfk_io_pread(ovfk_io *io, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;

    if (io->fd < 0) {
        if (off > io->mem_len || len > io->mem_len - off) {
            return OVFK_ECORRUPT;
        }
        memcpy(buf, io->mem + off, len);
        return 0;
    }
    while (len > 0) {
        ssize_t n = pread(io->fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            return OVFK_ECORRUPT;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

int ovfk_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* How much a long write piles up before its write-back is started. */
#define WRITEBACK_CHUNK (32u << 20)

void ovfk_writeback(int fd, uint64_t *started, uint64_t end)
{
    if (fd < 0 || end < *started || end - *started < WRITEBACK_CHUNK) {
        return;
    }
    (void)sync_file_range(fd, (off64_t)*started, (off64_t)(end - *started),
                          SYNC_FILE_RANGE_WRITE);
    *started = end;
}

/* The zero pieces of a sparse write are 64 KiB, aligned to file offsets. */
#define SPARSE_PIECE (64u << 10)

int ovfk_pwrite_sparse(int fd, const void *buf, size_t len, uint64_t off)
{
    size_t pos = 0, start, end;
    int r = 0;

    while (r == 0 && ovfk_next_data_run(buf, len, off, SPARSE_PIECE, &pos,
                                        &start, &end)) {
        r = ovfk_pwrite_all(fd, (const uint8_t *)buf + start, end - start,
                            off + start);
    }
    return r;
}

int ovfk_io_pwrite_sparse(ovfk_io *io, const void *buf, size_t len,
                          uint64_t off)
{
    size_t pos = 0, start, end;
    int r = 0;

    while (r == 0 && ovfk_next_data_run(buf, len, off, SPARSE_PIECE, &pos,
                                        &start, &end)) {
        r = ovfk_io_pwrite(io, (const uint8_t *)buf + start, end - start,
                           off + start);
    }
    return r;
}

int ovfk_io_pwrite(ovfk_io *io, const void *buf, size_t len, uint64_t off)
{
    int r;

    if (io->fd < 0) {
        if (off > SIZE_MAX - len) {
            return -EFBIG;
        }
        r = mem_reserve(io, (size_t)off + len);
        if (r < 0) {
            return r;
        }
        if (off > io->mem_len) {
            memset(io->mem + io->mem_len, 0, (size_t)off - io->mem_len);
        }
        memcpy(io->mem + off, buf, len);
        if (off + len > io->mem_len) {
            io->mem_len = (size_t)off + len;
        }
        return 0;
    }
    r = ovfk_fault_check("write");
    if (r < 0) {
        return r;
    }
    return ovfk_pwrite_all(io->fd, buf, len, off);
}

int ovfk_io_size(ovfk_io *io, uint64_t *size)
{
    struct stat st;
    off_t end;

    if (io->fd < 0) {
        *size = io->mem_len;
        return 0;
    }
    if (io->is_block) {
        end = lseek(io->fd, 0, SEEK_END);
        if (end < 0) {
            return -errno;
        }
        *size = (uint64_t)end;
        return 0;
    }
    if (fstat(io->fd, &st) < 0) {
        return -errno;
    }
    *size = (uint64_t)st.st_size;
    return 0;
}

int ovfk_io_truncate(ovfk_io *io, uint64_t size)
{
    int r;

    if (io->fd < 0) {
        if (size > io->mem_len) {
            r = mem_reserve(io, (size_t)size);
            if (r < 0) {
                return r;
            }
            memset(io->mem + io->mem_len, 0, (size_t)size - io->mem_len);
        }
        io->mem_len = (size_t)size;
        return 0;
    }
    if (io->is_block) {
        return -EINVAL;
    }
    if (ftruncate(io->fd, (off_t)size) < 0) {
        return -errno;
    }
    return 0;
}

int ovfk_io_sync(ovfk_io *io)
{
    int r;

    if (io->fd < 0) {
        return 0;
    }
    r = ovfk_fault_check("sync");
    if (r < 0) {
        return r;
    }
    if (fdatasync(io->fd) < 0) {
        return -errno;
    }
    return 0;
}

int ovfk_io_data_extent(ovfk_io *io, uint64_t off, uint64_t *start,
                        uint64_t *end)
{
    uint64_t size;
    off_t d, h;
    int r;

    r = ovfk_io_size(io, &size);
    if (r < 0) {
        return r;
    }
    if (off >= size) {
        *start = *end = size;
        return 0;
    }
    if (io->fd < 0 || io->is_block) {
        *start = off;
        *end = size;
        return 0;
    }
    d = lseek(io->fd, (off_t)off, SEEK_DATA);
    if (d < 0) {
        if (errno == ENXIO) {
            *start = *end = size;
            return 0;
        }
        /* file system without SEEK_DATA: all data */
        *start = off;
        *end = size;
        return 0;
    }
    h = lseek(io->fd, d, SEEK_HOLE);
    *start = (uint64_t)d;
    *end = h < 0 ? size : (uint64_t)h;
    return 0;
}

int ovfk_io_fd(ovfk_io *io)
{
    return io ? io->fd : -1;
}

int ovfk_io_close(ovfk_io *io)
{
    int r = 0;

    if (!io) {
        return 0;
    }
    if (io->fd >= 0 && close(io->fd) < 0) {
        r = -errno;
    }
    free(io->mem);
    free(io);
    return r;
}

int ovfk_read_head(const char *path, void *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        return -errno;
    }
    n = pread(fd, buf, len, 0);
    close(fd);
    if (n < 0) {
        return -errno;
    }
    return (size_t)n == len ? 0 : -ENODATA;
}

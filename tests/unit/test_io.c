/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_io.c - util/io: the positional I/O interface over its
 * two back ends (a file, a memory buffer): reads, writes, size, truncate,
 * sync, short reads (OVFK_ECORRUPT), out-of-range offsets, open flags and
 * their errors, injected faults, where data lies in a sparse file, and
 * sparse writes that leave the zero pieces as holes (st_blocks says so).
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "tests/unit/harness.h"
#include "util/io.h"

#define KIB 1024u
#define PIECE (64 * KIB)

static void t_file_read_write(void)
{
    uint8_t a[10000], b[10000];
    ovfk_io *io;
    uint64_t size;

    t_fill(a, sizeof(a), 1);
    CHECK_OK(ovfk_io_open_file("f", OVFK_IO_RDWR | OVFK_IO_CREATE, &io),
             ovfk_last_error());
    CHECK(ovfk_io_fd(io) >= 0);
    CHECK_OK(ovfk_io_pwrite(io, a, sizeof(a), 3), "pwrite");
    CHECK_OK(ovfk_io_pwrite(io, a, 100, 20000), "pwrite past the end");
    CHECK_OK(ovfk_io_size(io, &size), "size");
    CHECK_EQ(size, 20100);
    CHECK_OK(ovfk_io_pread(io, b, sizeof(b), 3), "pread");
    CHECK(memcmp(a, b, sizeof(b)) == 0);
    /* the gap reads as zeros */
    CHECK_OK(ovfk_io_pread(io, b, 1000, 19000), "pread gap");
    for (int i = 0; i < 1000; i++) {
        CHECK(b[i] == 0);
    }
    CHECK_OK(ovfk_io_sync(io), "sync");
    CHECK_OK(ovfk_io_truncate(io, 50), "truncate");
    CHECK_OK(ovfk_io_size(io, &size), "size");
    CHECK_EQ(size, 50);
    CHECK_OK(ovfk_io_truncate(io, 5000), "truncate up");
    CHECK_OK(ovfk_io_pread(io, b, 4950, 50), "pread grown");
    for (int i = 0; i < 4950; i++) {
        CHECK(b[i] == 0);
    }
    CHECK_EQ(ovfk_io_close(io), 0);
    CHECK_EQ(ovfk_io_close(NULL), 0);
    CHECK_EQ(ovfk_io_fd(NULL), -1);
}

static void t_file_short_read(void)
{
    uint8_t b[64];
    ovfk_io *io;

    CHECK(system("printf 0123456789 > f") == 0);
    CHECK_OK(ovfk_io_open_file("f", OVFK_IO_RDONLY, &io), ovfk_last_error());
    CHECK_OK(ovfk_io_pread(io, b, 10, 0), "whole");
    CHECK(memcmp(b, "0123456789", 10) == 0);
    /* straddling the end, at the end, far beyond it */
    CHECK_EQ(ovfk_io_pread(io, b, 11, 0), OVFK_ECORRUPT);
    CHECK_EQ(ovfk_io_pread(io, b, 1, 10), OVFK_ECORRUPT);
    CHECK_EQ(ovfk_io_pread(io, b, 1, UINT64_C(1) << 40), OVFK_ECORRUPT);
    /* an offset off_t cannot hold */
    CHECK_EQ(ovfk_io_pread(io, b, 1, UINT64_MAX - 5), -EINVAL);
    CHECK_EQ(ovfk_io_pread(io, b, 0, 10), 0);
    /* read-only: writing is refused by the system */
    CHECK_EQ(ovfk_io_pwrite(io, b, 1, 0), -EBADF);
    ovfk_io_close(io);
}

static void t_file_open_errors(void)
{
    ovfk_io *io = (ovfk_io *)1;

    CHECK_ERR(ovfk_io_open_file("missing", OVFK_IO_RDONLY, &io), -ENOENT,
              ovfk_last_error(), "cannot open 'missing'");
    CHECK(io == NULL);
    CHECK(system("printf x > f") == 0);
    CHECK_ERR(ovfk_io_open_file("f", OVFK_IO_RDWR | OVFK_IO_CREATE, &io),
              -EEXIST, ovfk_last_error(), "cannot open 'f'");
    CHECK(mkdir("d", 0755) == 0);
    CHECK_ERR(ovfk_io_open_file("d", OVFK_IO_RDONLY, &io), -EISDIR,
              ovfk_last_error(), "cannot open 'd': is a directory");
    CHECK_ERR(ovfk_io_open_file("d", OVFK_IO_RDWR, &io), -EISDIR,
              ovfk_last_error(), "cannot open 'd'");
    CHECK_ERR(ovfk_io_open_file("nodir/f", OVFK_IO_RDWR | OVFK_IO_CREATE,
                                &io), -ENOENT, ovfk_last_error(),
              "cannot open 'nodir/f'");
}

static void t_file_trunc_flag(void)
{
    ovfk_io *io;
    uint64_t size = 1;

    CHECK(system("printf 0123456789 > f") == 0);
    CHECK_OK(ovfk_io_open_file("f", OVFK_IO_RDWR | OVFK_IO_TRUNC, &io),
             ovfk_last_error());
    CHECK_OK(ovfk_io_size(io, &size), "size");
    CHECK_EQ(size, 0);
    ovfk_io_close(io);
    CHECK_OK(ovfk_io_open_file("g", OVFK_IO_RDWR | OVFK_IO_TRUNC, &io),
             ovfk_last_error());
    ovfk_io_close(io);
    CHECK(access("g", F_OK) == 0);
}

/* OVFKIT_FAULT makes the N-th write (or sync) fail with the errno given */
static void t_fault_injection(void)
{
    ovfk_io *io;
    int r1, r2, r3, s1;

    CHECK_OK(ovfk_io_open_file("f", OVFK_IO_RDWR | OVFK_IO_CREATE, &io),
             ovfk_last_error());
    setenv("OVFKIT_FAULT", "write:2:5", 1);
    r1 = ovfk_io_pwrite(io, "a", 1, 0);
    r2 = ovfk_io_pwrite(io, "b", 1, 1);
    r3 = ovfk_io_pwrite(io, "c", 1, 2);
    setenv("OVFKIT_FAULT", "sync:1", 1);
    s1 = ovfk_io_sync(io);
    unsetenv("OVFKIT_FAULT");
    ovfk_io_close(io);
    CHECK_EQ(r1, 0);
    CHECK_EQ(r2, -EIO);
    CHECK_EQ(r3, 0);
    CHECK_EQ(s1, -ENOSPC);
}

/* Where data lies: SEEK_DATA/SEEK_HOLE on a sparse file. */
static void t_file_data_extent(void)
{
    uint8_t a[4096];
    uint64_t start, end;
    ovfk_io *io;

    t_fill(a, sizeof(a), 2);
    CHECK_OK(ovfk_io_open_file("f", OVFK_IO_RDWR | OVFK_IO_CREATE, &io),
             ovfk_last_error());
    CHECK_OK(ovfk_io_pwrite(io, a, sizeof(a), 0), "pwrite");
    CHECK_OK(ovfk_io_pwrite(io, a, sizeof(a), 1024 * KIB), "pwrite");
    CHECK_OK(ovfk_io_truncate(io, 2048 * KIB), "truncate");
    CHECK_OK(ovfk_io_data_extent(io, 0, &start, &end), "extent");
    CHECK_EQ(start, 0);
    if (end == 2048 * KIB) {
        ovfk_io_close(io);
        SKIP("the file system of /tmp reports no holes");
    }
    CHECK(end >= 4096 && end < 1024 * KIB);
    CHECK_OK(ovfk_io_data_extent(io, 8 * KIB, &start, &end), "extent");
    CHECK_EQ(start, 1024 * KIB);
    CHECK(end >= 1028 * KIB && end <= 2048 * KIB);
    CHECK_OK(ovfk_io_data_extent(io, 1100 * KIB, &start, &end), "extent");
    CHECK_EQ(start, 2048 * KIB);
    CHECK_EQ(end, 2048 * KIB);
    CHECK_OK(ovfk_io_data_extent(io, 5000 * KIB, &start, &end), "extent");
    CHECK_EQ(start, 2048 * KIB);
    ovfk_io_close(io);
}

/* A 1 MiB buffer whose data is in pieces 0 and 10 (and one byte of 15). */
static uint8_t *sparse_buffer(size_t *len)
{
    uint8_t *b = calloc(1, 1024 * KIB);

    if (b) {
        t_fill(b, 5000, 3);
        t_fill(b + 10 * PIECE + 100, PIECE - 100, 4);
        b[15 * PIECE + 7] = 0x7f;
    }
    *len = 1024 * KIB;
    return b;
}

static int check_sparse_file(const char *path, const uint8_t *want,
                             size_t len)
{
    uint8_t *got = malloc(len);
    struct stat st;
    int fd = open(path, O_RDONLY), ok;

    ok = got && fd >= 0 && fstat(fd, &st) == 0 &&
         pread(fd, got, len, 0) == (ssize_t)len && !memcmp(got, want, len) &&
         (uint64_t)st.st_size == len;
    if (ok) {
        /* three 64 KiB pieces written (plus file system slack): the other
         * thirteen are holes */
        ok = (uint64_t)st.st_blocks * 512 <= 4 * PIECE ? 1 : 2;
    }
    if (fd >= 0) {
        close(fd);
    }
    free(got);
    return ok;
}

static void t_sparse_write_io(void)
{
    size_t len;
    uint8_t *b = sparse_buffer(&len);
    ovfk_io *io;
    int ok;

    CHECK(b);
    CHECK_OK(ovfk_io_open_file("f", OVFK_IO_RDWR | OVFK_IO_CREATE, &io),
             ovfk_last_error());
    CHECK_OK(ovfk_io_pwrite_sparse(io, b, len, 0), "sparse write");
    /* the caller sets the length: the trailing zeros were not written */
    CHECK_OK(ovfk_io_truncate(io, len), "truncate");
    ovfk_io_close(io);
    ok = check_sparse_file("f", b, len);
    free(b);
    CHECK_MSG(ok != 0, "the file does not read back as written");
    CHECK_MSG(ok == 1, "zero pieces were written: no holes");
}

static void t_sparse_write_fd(void)
{
    size_t len;
    uint8_t *b = sparse_buffer(&len);
    int fd = open("f", O_RDWR | O_CREAT | O_EXCL, 0644), ok;

    CHECK(b && fd >= 0);
    CHECK_EQ(ovfk_pwrite_sparse(fd, b, len, 0), 0);
    CHECK(ftruncate(fd, (off_t)len) == 0);
    close(fd);
    ok = check_sparse_file("f", b, len);
    free(b);
    CHECK_MSG(ok != 0, "the file does not read back as written");
    CHECK_MSG(ok == 1, "zero pieces were written: no holes");
}

/* Pieces are aligned to file offsets, not to the buffer. */
static void t_sparse_write_unaligned(void)
{
    uint8_t *b = calloc(1, 3 * PIECE), *got = malloc(3 * PIECE + 1000);
    int fd = open("f", O_RDWR | O_CREAT | O_EXCL, 0644);
    uint64_t start, end;
    ovfk_io *io;

    CHECK(b && got && fd >= 0);
    b[0] = 1;                   /* file offset 1000: piece 0 */
    b[2 * PIECE] = 2;           /* file offset 2 * 64 KiB + 1000: piece 2 */
    CHECK_EQ(ovfk_pwrite_sparse(fd, b, 3 * PIECE, 1000), 0);
    CHECK(ftruncate(fd, 3 * PIECE + 1000) == 0);
    CHECK(pread(fd, got, 3 * PIECE, 1000) == 3 * PIECE);
    CHECK(memcmp(got, b, 3 * PIECE) == 0);
    close(fd);
    CHECK_OK(ovfk_io_open_file("f", OVFK_IO_RDONLY, &io), ovfk_last_error());
    CHECK_OK(ovfk_io_data_extent(io, PIECE, &start, &end), "extent");
    ovfk_io_close(io);
    free(b);
    free(got);
    /* piece 1 (64..128 KiB) was all zeros: a hole, unless the file
     * system reports none */
    CHECK(start == 2 * PIECE || (start == PIECE && end == 3 * PIECE + 1000));
}

static void t_pwrite_all(void)
{
    uint8_t a[3000], b[3000];
    int fd = open("f", O_RDWR | O_CREAT | O_EXCL, 0644);

    CHECK(fd >= 0);
    t_fill(a, sizeof(a), 5);
    CHECK_EQ(ovfk_pwrite_all(fd, a, sizeof(a), 77), 0);
    CHECK(pread(fd, b, sizeof(b), 77) == (ssize_t)sizeof(b));
    CHECK(memcmp(a, b, sizeof(a)) == 0);
    close(fd);
    CHECK_EQ(ovfk_pwrite_all(-1, a, 1, 0), -EBADF);
}

static void t_read_head(void)
{
    char b[8];

    CHECK(system("printf 0123 > f") == 0);
    CHECK_EQ(ovfk_read_head("f", b, 4), 0);
    CHECK(memcmp(b, "0123", 4) == 0);
    CHECK_EQ(ovfk_read_head("f", b, 8), -ENODATA);
    CHECK_EQ(ovfk_read_head("missing", b, 4), -ENOENT);
}

/* --- the memory back end ------------------------------------------------- */

static void t_mem_read_write(void)
{
    uint8_t a[100], b[1000], first;
    const uint8_t *data;
    ovfk_io *io;
    uint64_t size, start, end;
    size_t len;

    t_fill(a, sizeof(a), 6);
    CHECK_OK(ovfk_io_open_mem(a, sizeof(a), 1000, &io), "open");
    CHECK_EQ(ovfk_io_fd(io), -1);
    CHECK_OK(ovfk_io_pread(io, b, 100, 0), "pread");
    CHECK(memcmp(a, b, 100) == 0);
    /* a copy: the caller's buffer is not the back end's */
    first = a[0];
    a[0] = (uint8_t)(first + 1);
    CHECK_OK(ovfk_io_pread(io, b, 1, 0), "pread");
    CHECK(b[0] == first);
    /* short and out-of-range reads */
    CHECK_EQ(ovfk_io_pread(io, b, 101, 0), OVFK_ECORRUPT);
    CHECK_EQ(ovfk_io_pread(io, b, 1, 100), OVFK_ECORRUPT);
    CHECK_EQ(ovfk_io_pread(io, b, 1, UINT64_MAX), OVFK_ECORRUPT);
    CHECK_EQ(ovfk_io_pread(io, b, 0, 100), 0);
    /* a write past the end grows it, the gap zero */
    CHECK_OK(ovfk_io_pwrite(io, "xyz", 3, 500), "pwrite");
    CHECK_OK(ovfk_io_size(io, &size), "size");
    CHECK_EQ(size, 503);
    data = ovfk_io_mem_data(io, &len);
    CHECK_EQ(len, 503);
    CHECK(memcmp(data + 500, "xyz", 3) == 0);
    for (int i = 100; i < 500; i++) {
        CHECK(data[i] == 0);
    }
    /* beyond the ceiling */
    CHECK_EQ(ovfk_io_pwrite(io, "x", 1, 1000), -ENOSPC);
    CHECK_EQ(ovfk_io_pwrite(io, "x", 2, 999), -ENOSPC);
    CHECK_EQ(ovfk_io_pwrite(io, "x", 1, UINT64_MAX), -EFBIG);
    CHECK_OK(ovfk_io_pwrite(io, "x", 1, 999), "pwrite at the ceiling");
    CHECK_EQ(ovfk_io_truncate(io, 1001), -ENOSPC);
    CHECK_OK(ovfk_io_truncate(io, 10), "truncate");
    CHECK_OK(ovfk_io_truncate(io, 800), "truncate up");
    CHECK_OK(ovfk_io_pread(io, b, 790, 10), "pread");
    for (int i = 0; i < 790; i++) {
        CHECK(b[i] == 0);
    }
    CHECK_OK(ovfk_io_sync(io), "sync");
    CHECK_OK(ovfk_io_data_extent(io, 5, &start, &end), "extent");
    CHECK_EQ(start, 5);
    CHECK_EQ(end, 800);
    CHECK_OK(ovfk_io_data_extent(io, 800, &start, &end), "extent");
    CHECK_EQ(start, 800);
    CHECK_EQ(end, 800);
    CHECK_EQ(ovfk_io_close(io), 0);
}

/* max 0: the size is fixed; writes inside it are fine */
static void t_mem_fixed_size(void)
{
    ovfk_io *io;
    uint8_t b[4];

    CHECK_OK(ovfk_io_open_mem("abcd", 4, 0, &io), "open");
    CHECK_OK(ovfk_io_pwrite(io, "XY", 2, 1), "pwrite");
    CHECK_OK(ovfk_io_pread(io, b, 4, 0), "pread");
    CHECK(memcmp(b, "aXYd", 4) == 0);
    CHECK_EQ(ovfk_io_pwrite(io, "Z", 1, 4), -ENOSPC);
    CHECK_EQ(ovfk_io_truncate(io, 5), -ENOSPC);
    ovfk_io_close(io);
}

static void t_mem_empty(void)
{
    ovfk_io *io;
    uint64_t size = 1;
    uint8_t b[1];

    CHECK_OK(ovfk_io_open_mem(NULL, 0, 0, &io), "open");
    CHECK_OK(ovfk_io_size(io, &size), "size");
    CHECK_EQ(size, 0);
    CHECK_EQ(ovfk_io_pread(io, b, 0, 0), 0);
    CHECK_EQ(ovfk_io_pread(io, b, 1, 0), OVFK_ECORRUPT);
    CHECK_EQ(ovfk_io_pwrite(io, b, 1, 0), -ENOSPC);
    ovfk_io_close(io);
}

/* Sparse writes through a memory back end: the data lands where it
 * belongs, the zero pieces in between read as zeros. */
static void t_mem_sparse_write(void)
{
    size_t len, got_len;
    uint8_t *b = sparse_buffer(&len);
    const uint8_t *data;
    ovfk_io *io;

    CHECK(b);
    CHECK_OK(ovfk_io_open_mem(NULL, 0, 2 * len, &io), "open");
    CHECK_OK(ovfk_io_pwrite_sparse(io, b, len, 0), "sparse write");
    data = ovfk_io_mem_data(io, &got_len);
    /* the last data piece is 15: nothing after it was written */
    CHECK_EQ(got_len, 16 * PIECE);
    CHECK(memcmp(data, b, got_len) == 0);
    CHECK_OK(ovfk_io_truncate(io, len), "truncate");
    data = ovfk_io_mem_data(io, &got_len);
    CHECK(got_len == len && memcmp(data, b, len) == 0);
    ovfk_io_close(io);
    free(b);
}

TEST_MAIN(T(t_file_read_write), T(t_file_short_read), T(t_file_open_errors),
          T(t_file_trunc_flag), T(t_fault_injection), T(t_file_data_extent),
          T(t_sparse_write_io), T(t_sparse_write_fd),
          T(t_sparse_write_unaligned), T(t_pwrite_all), T(t_read_head),
          T(t_mem_read_write), T(t_mem_fixed_size), T(t_mem_empty),
          T(t_mem_sparse_write))

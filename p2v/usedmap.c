/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * p2v/usedmap.c - which chunks of a disk to send.  The file systems say
 * which of their blocks are in use: e2fsprogs' libext2fs reads an ext2/3/4
 * block bitmap, and partclone's domain map (`partclone.FS -D`, a ddrescue
 * map whose "+" lines are the used areas) covers the others it knows
 * (XFS, Btrfs, NTFS, FAT, ...).  Swap is sent as a hole but for its first
 * chunk (the signature and UUID that fstab names).  Everything else - the
 * partition table, gaps, file systems neither tool reads - is sent in full.
 *
 * On a mounted file system the map moves while it is read; the capture
 * re-reads it while the file systems are frozen (synced), when the disk
 * and the map agree.
 */
#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "p2v/internal.h"

extern char **environ;

static void mark(struct p2v_disk *d, uint64_t a, uint64_t b)
{
    if (b > d->size) {
        b = d->size;
    }
    if (a >= b) {
        return;
    }
    for (uint64_t c = a / P2V_CHUNK; c <= (b - 1) / P2V_CHUNK; c++) {
        d->used[c] = 1;
    }
}

static pthread_once_t et_once = PTHREAD_ONCE_INIT;

static void et_init(void)
{
    initialize_ext2_error_table();
}

static int ext_map(struct p2v_disk *d, struct p2v_part *pt, ovfk_err *err)
{
    ext2_filsys fs = NULL;
    int once = pthread_once(&et_once, et_init);
    /* Buffered, not O_DIRECT: a mounted ext4's bitmaps live in the
     * device's buffer cache, newer than their home blocks on the disk until
     * the journal is checkpointed.  A live file system's bitmap and its
     * checksum in the group descriptor change at different times:
     * checksums are ignored, the frozen pass re-reads a synced map. */
    errcode_t e = ext2fs_open(pt->path, EXT2_FLAG_64BITS |
                              EXT2_FLAG_IGNORE_CSUM_ERRORS, 0, 0,
                              unix_io_manager, &fs);
    blk64_t n, b, s, z;
    uint64_t bs;

    (void)once;
    if (e == 0) {
        e = ext2fs_read_block_bitmap(fs);
    }
    if (e != 0) {
        if (fs) {
            ext2fs_close_free(&fs);
        }
        return ovfk_err_set(err, -EIO, "cannot read the block bitmap of "
                            "'%s': %s", pt->path, error_message(e));
    }
    bs = fs->blocksize;
    n = ext2fs_blocks_count(fs->super);
    b = fs->super->s_first_data_block;
    pt->used_bytes = b * bs;
    mark(d, pt->start, pt->start + b * bs);
    while (b < n &&
           ext2fs_find_first_set_block_bitmap2(fs->block_map, b, n - 1,
                                               &s) == 0) {
        if (ext2fs_find_first_zero_block_bitmap2(fs->block_map, s, n - 1,
                                                 &z) != 0) {
            z = n;
        }
        mark(d, pt->start + s * bs, pt->start + z * bs);
        pt->used_bytes += (z - s) * bs;
        b = z;
    }
    /* past the file system's last block: not its, so sent in full */
    if (n * bs < pt->size) {
        mark(d, pt->start + n * bs, pt->start + pt->size);
        pt->used_bytes += pt->size - n * bs;
    }
    ext2fs_close_free(&fs);
    pt->method = "libext2fs";
    return 0;
}

/* libblkid's name of a file system -> the partclone program that maps it
 * (Debian's partclone 0.3: ext2/3/4 go through libext2fs instead) */
static const struct {
    const char *fstype, *prog;
} partclone_progs[] = {
    { "vfat", "/usr/sbin/partclone.vfat" },
    { "exfat", "/usr/sbin/partclone.exfat" },
    { "ntfs", "/usr/sbin/partclone.ntfs" },
    { "xfs", "/usr/sbin/partclone.xfs" },
    { "btrfs", "/usr/sbin/partclone.btrfs" },
    { "f2fs", "/usr/sbin/partclone.f2fs" },
    { "hfsplus", "/usr/sbin/partclone.hfsplus" },
    { "minix", "/usr/sbin/partclone.minix" },
};

/* Run `partclone.FS -D -s DEV -O MAP`; 1 when it made the map, 0 when no
 * partclone knows FS, negative on failure. */
static int run_partclone(struct p2v_part *pt, const char *map, ovfk_err *err)
{
    const char *prog = NULL;
    char *argv[] = { NULL, "-D", "-s", pt->path, "-O", (char *)map,
                     "-L", "/dev/null", NULL };
    posix_spawn_file_actions_t fa;
    int st = 0, r;
    pid_t pid;

    for (size_t i = 0; i < sizeof(partclone_progs) /
                           sizeof(partclone_progs[0]); i++) {
        if (!strcmp(pt->fstype, partclone_progs[i].fstype)) {
            prog = partclone_progs[i].prog;
        }
    }
    if (!prog || access(prog, X_OK) < 0) {
        return 0;
    }
    argv[0] = (char *)prog;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    r = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0) {
        return ovfk_err_set(err, -r, "cannot run '%s': %s", prog,
                            strerror(r));
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        return ovfk_err_set(err, -EIO, "'%s -D' failed on '%s'", prog,
                            pt->path);
    }
    return 1;
}

/* The "+" lines of a ddrescue map: "0x00000000  0x00325000  +". */
static int read_domain(struct p2v_disk *d, struct p2v_part *pt,
                       const char *map, ovfk_err *err)
{
    FILE *f = fopen(map, "re");
    char line[256];
    int areas = 0;

    if (!f) {
        return ovfk_err_set(err, -errno, "cannot read partclone's map of "
                            "'%s': %s", pt->path, strerror(errno));
    }
    pt->used_bytes = 0;
    while (fgets(line, sizeof(line), f)) {
        uint64_t pos, size;
        char status;
        if (line[0] == '#' ||
            sscanf(line, "%" SCNx64 " %" SCNx64 " %c", &pos, &size,
                   &status) != 3) {
            continue;
        }
        areas++;
        if (status == '+' && pos < pt->size) {
            size = size > pt->size - pos ? pt->size - pos : size;
            mark(d, pt->start + pos, pt->start + pos + size);
            pt->used_bytes += size;
        }
    }
    fclose(f);
    if (areas == 0) {
        return ovfk_err_set(err, OVFK_ECORRUPT, "partclone's map of '%s' "
                            "has no areas", pt->path);
    }
    pt->method = "partclone";
    return 0;
}

/* 1 when partclone mapped pt, 0 when none knows its file system */
static int partclone_map(struct p2v_disk *d, struct p2v_part *pt,
                         ovfk_err *err)
{
    /* in memory, not in /tmp: the frozen pass maps again, and /tmp may be
     * on a file system it froze */
    int fd = memfd_create("ovfkit-p2v-map", 0), r;
    char map[64];

    if (fd < 0) {
        return ovfk_err_set(err, -errno, "cannot create a memory file: %s",
                            strerror(errno));
    }
    snprintf(map, sizeof(map), "/dev/fd/%d", fd);
    r = run_partclone(pt, map, err);
    if (r > 0 && (r = read_domain(d, pt, map, err)) == 0) {
        r = 1;
    }
    close(fd);
    return r;
}

static bool is_ext(const char *t)
{
    return !strcmp(t, "ext2") || !strcmp(t, "ext3") || !strcmp(t, "ext4");
}

int p2v_used_map(struct p2v_disk *d, ovfk_err *err)
{
    uint64_t pos = 0;
    int r = 0;

    memset(d->used, 0, d->nchunks);
    d->used_bytes = 0;
    for (size_t i = 0; r == 0 && i < d->n_parts; i++) {
        struct p2v_part *pt = &d->parts[i];
        if (pt->start > pos) {
            /* partition table, gaps: what they hold is unknown */
            mark(d, pos, pt->start);
            d->used_bytes += pt->start - pos;
        }
        if (pt->start + pt->size > pos) {
            pos = pt->start + pt->size;
        }
        if (is_ext(pt->fstype)) {
            r = ext_map(d, pt, err);
        } else if (!strcmp(pt->fstype, "swap")) {
            mark(d, pt->start, pt->start + 4096);
            pt->used_bytes = 4096;
            pt->method = "swap (hole)";
        } else if (pt->fstype[0] && (r = partclone_map(d, pt, err)) > 0) {
            r = 0;
        } else if (r == 0) {
            mark(d, pt->start, pt->start + pt->size);
            pt->used_bytes = pt->size;
            pt->method = "full (unknown content)";
        }
        d->used_bytes += pt->used_bytes;
    }
    if (r == 0 && pos < d->size) {
        mark(d, pos, d->size);
        d->used_bytes += d->size - pos;
    }
    return r;
}

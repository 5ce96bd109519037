/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/tmpfile.c - temporary files renamed into place (see tmpfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "util/tmpfile.h"

int ovfk_tmp_name(const char *path, char *out, size_t outlen)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    char d[PATH_MAX], b[PATH_MAX], rnd[7];
    unsigned char raw[6];
    int n;

    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        return -EIO;
    }
    for (int i = 0; i < 6; i++) {
        rnd[i] = chars[raw[i] % (sizeof(chars) - 1)];
    }
    rnd[6] = '\0';
    snprintf(d, sizeof(d), "%s", path);
    snprintf(b, sizeof(b), "%s", path);
    n = snprintf(out, outlen, "%s/.%s.part-%s", dirname(d), basename(b), rnd);
    return (n < 0 || (size_t)n >= outlen) ? -ENAMETOOLONG : 0;
}

static int sync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    int r = 0;

    if (fd < 0) {
        return -errno;
    }
    if (fsync(fd) < 0) {
        r = -errno;
    }
    close(fd);
    return r;
}

int ovfk_tmp_commit(const char *tmp, const char *path, int replace)
{
    char d[PATH_MAX];
    int r;

    r = sync_path(tmp, O_RDONLY);
    if (r < 0) {
        return r;
    }
    if (replace) {
        r = rename(tmp, path);
    } else {
        r = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE);
        if (r < 0 && (errno == EINVAL || errno == ENOSYS)) {
            /* file systems without RENAME_NOREPLACE: link refuses too */
            r = link(tmp, path);
            if (r == 0) {
                unlink(tmp);
            }
        }
    }
    if (r < 0) {
        return -errno;
    }
    snprintf(d, sizeof(d), "%s", path);
    sync_path(dirname(d), O_RDONLY | O_DIRECTORY);
    return 0;
}

int ovfk_write_file_atomic(const char *path, const void *buf, size_t len)
{
    char tmp[PATH_MAX];
    const char *p = buf;
    int fd, r;

    r = ovfk_tmp_name(path, tmp, sizeof(tmp));
    if (r < 0) {
        return r;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -errno;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            r = -errno;
            close(fd);
            unlink(tmp);
            return r;
        }
        p += n;
        len -= (size_t)n;
    }
    if (close(fd) < 0) {
        r = -errno;
        unlink(tmp);
        return r;
    }
    r = ovfk_tmp_commit(tmp, path, 1);
    if (r < 0) {
        unlink(tmp);
    }
    return r;
}

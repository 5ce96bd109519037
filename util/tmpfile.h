/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/tmpfile.h - write-to-temporary-then-rename (git's lockfile): a file
 * appears under its final name only when it is complete.
 */
#ifndef OVFK_UTIL_TMPFILE_H
#define OVFK_UTIL_TMPFILE_H

#include <stddef.h>

/*
 * A fresh temporary name beside path: "<dir>/.<base>.part-XXXXXX" (the
 * name says it is incomplete).  Returns 0 or -ENAMETOOLONG.
 */
int ovfk_tmp_name(const char *path, char *out, size_t outlen);

/*
 * fsync tmp, then rename it to path without replacing an existing file
 * (unless replace), then fsync the directory.  0 or negative errno; on
 * failure tmp is left for the caller to remove.
 */
int ovfk_tmp_commit(const char *tmp, const char *path, int replace);

/* Write len bytes to path atomically (temporary + fsync + rename). */
int ovfk_write_file_atomic(const char *path, const void *buf, size_t len);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/tar.c - read OVA members through libarchive, deciding for each one
 * whether it may be extracted.  An OVA holds plain files at its top level
 * (DSP0243 5.3); everything else is how archives escape their directory.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ovf/pkg.h"

struct tar_in {
    struct archive *a;
    char *path;
    ovfk_err *err;
    char norm[512];
    char **seen;
    size_t nseen;
};

const char *tar_name_problem(const char *raw, char *norm, size_t len)
{
    const char *p = raw;

    if (!raw) {
        snprintf(norm, len, "%s", "");
        return "has no name";
    }
    while (p[0] == '.' && p[1] == '/') {
        p += 2;     /* "./name", as `tar cf x.ova .` writes */
        while (*p == '/') {
            p++;
        }
    }
    snprintf(norm, len, "%s", p);
    if (strlen(p) >= len) {
        return "has a name that is too long";
    }
    if (raw[0] == '/') {
        return "has an absolute name";
    }
    if (strcmp(p, "..") == 0 || strncmp(p, "../", 3) == 0 ||
        strstr(p, "/../") || (strlen(p) >= 3 && !strcmp(p + strlen(p) - 3,
                                                        "/.."))) {
        return "has a name with '..'";
    }
    if (strchr(p, '/') || strchr(p, '\\')) {
        return "is in a subdirectory (OVA members are top-level files)";
    }
    for (const char *c = p; *c; c++) {
        if ((unsigned char)*c < 0x20) {
            return "has control characters in its name";
        }
    }
    if (!*p || strcmp(p, ".") == 0) {
        return "has an empty name";
    }
    return NULL;
}

int tar_open(const char *path, tar_in **out, ovfk_err *err)
{
    tar_in *t = calloc(1, sizeof(*t));

    *out = NULL;
    if (!t || !(t->path = strdup(path)) || !(t->a = archive_read_new())) {
        if (t) {
            free(t->path);
        }
        free(t);
        return ovfk_err_set(err, -ENOMEM, "out of memory");
    }
    t->err = err;
    archive_read_support_format_tar(t->a);
    if (archive_read_open_filename(t->a, path, 1 << 16) != ARCHIVE_OK) {
        const char *why = archive_error_string(t->a);
        int r = why && strstr(why, "Unrecognized") ?
                ovfk_err_set(err, OVFK_ECORRUPT, "'%s' is not a tar archive "
                             "(an OVA must be one)", path) :
                ovfk_err_set(err, -EIO, "cannot read '%s': %s", path,
                             why ? why : "error");
        tar_close(t);
        return r;
    }
    *out = t;
    return 0;
}

static bool seen_before(tar_in *t, const char *name)
{
    char **slot;

    for (size_t i = 0; i < t->nseen; i++) {
        if (strcmp(t->seen[i], name) == 0) {
            return true;
        }
    }
    slot = realloc(t->seen, (t->nseen + 1) * sizeof(*slot));
    if (slot) {
        t->seen = slot;
        if ((t->seen[t->nseen] = strdup(name))) {
            t->nseen++;
        }
    }
    return false;
}

int tar_next(tar_in *t, struct tar_member *m)
{
    struct archive_entry *e;
    int r;

    for (;;) {
        r = archive_read_next_header(t->a, &e);
        if (r == ARCHIVE_EOF) {
            return 0;
        }
        if (r < ARCHIVE_WARN) {
            const char *why = archive_error_string(t->a);
            if (t->nseen == 0 && why && strstr(why, "Unrecognized")) {
                return ovfk_err_set(t->err, OVFK_ECORRUPT, "'%s' is not a tar "
                                    "archive (an OVA must be one)", t->path);
            }
            return ovfk_err_set(t->err, OVFK_ECORRUPT, "'%s': damaged or "
                                "truncated archive: %s", t->path,
                                why ? why : "read error");
        }
        if (t->nseen >= OVFK_OVA_MAX_MEMBERS) {
            return ovfk_err_set(t->err, OVFK_ECORRUPT, "'%s' has more than "
                                "%u members", t->path, OVFK_OVA_MAX_MEMBERS);
        }
        m->problem = tar_name_problem(archive_entry_pathname(e), t->norm,
                                      sizeof(t->norm));
        m->name = t->norm;
        m->size = archive_entry_size(e) < 0 ? 0
                                              : (uint64_t)archive_entry_size(e);
        if (archive_entry_filetype(e) == AE_IFDIR &&
            (!t->norm[0] || !strcmp(t->norm, ".") || !strcmp(t->norm, "./"))) {
            continue;   /* the "./" entry of `tar cf x.ova .` */
        }
        if (archive_entry_hardlink(e)) {
            m->problem = "is a hard link";
        } else if (archive_entry_filetype(e) == AE_IFLNK) {
            m->problem = "is a symbolic link";
        } else if (archive_entry_filetype(e) == AE_IFDIR) {
            m->problem = "is a directory";
        } else if (archive_entry_filetype(e) != AE_IFREG) {
            m->problem = "is a device or special file";
        }
        if (seen_before(t, t->norm) && !m->problem) {
            m->problem = "appears twice in the archive";
        }
        return 1;
    }
}

long tar_read(tar_in *t, void *buf, size_t len)
{
    la_ssize_t n = archive_read_data(t->a, buf, len);

    if (n < 0) {
        return ovfk_err_set(t->err, OVFK_ECORRUPT, "'%s': damaged or "
                            "truncated archive: %s", t->path,
                            archive_error_string(t->a));
    }
    return (long)n;
}

void tar_close(tar_in *t)
{
    if (!t) {
        return;
    }
    archive_read_free(t->a);
    for (size_t i = 0; i < t->nseen; i++) {
        free(t->seen[i]);
    }
    free(t->seen);
    free(t->path);
    free(t);
}

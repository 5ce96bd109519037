/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backup/files.c - file-level restore: list a guest directory of a point,
 * copy files out of it.  The point's disks are opened read-only through
 * sysprep's libguestfs handle (its VHD chains served by our nbdkit plugin
 * read-only: the repository is never written), inspected, and the first
 * operating system found is mounted read-only (DESIGN.md rule 13: guest
 * file systems only through libguestfs).
 *
 * Extraction never writes outside the target directory, whatever the
 * guest holds: the target must be new or empty; every local name is one
 * path component of the guest's ("." and ".." refused, '/' cannot occur);
 * only directories and regular files are made (symbolic links and
 * devices are reported and skipped, never followed); each file is opened
 * O_CREAT|O_EXCL|O_NOFOLLOW by us and handed to libguestfs as /dev/fd/N.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/internal.h"
#include "sysprep/internal.h"

#define MAX_DEPTH 64

struct guest {
    ovfk_backup_repo *r;
    ovfk_sysprep *s;
    struct bk_point *pts;
    size_t n;
};

static void guest_close(struct guest *g)
{
    ovfk_sysprep_close(g->s);
    bk_points_free(g->pts, g->n);
}

static int gerr(struct guest *g, const char *what)
{
    const char *e = guestfs_last_error(g->s->g);

    return bk_err(g->r, -EIO, "%s: %s", what, e ? e : "libguestfs error");
}

/* Open point key of vm, mount its first OS read-only. */
static int guest_open(ovfk_backup_repo *r, const char *vm, const char *key,
                      struct guest *g)
{
    const char **disks;
    struct bk_point *p;
    int e;

    memset(g, 0, sizeof(*g));
    g->r = r;
    e = bk_open_point(r, vm, key, &g->pts, &g->n, &p);
    if (e < 0) {
        return e;
    }
    disks = calloc(p->n_disks + 1, sizeof(*disks));
    if (!disks) {
        guest_close(g);
        return bk_err(r, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < p->n_disks; i++) {
        disks[i] = p->vm->disks[i].path;
    }
    e = ovfk_sysprep_open(disks, p->n_disks, true, &g->s);
    free(disks);
    if (e < 0) {
        bk_err(r, e, "%s", ovfk_last_error());
    } else if (ovfk_sysprep_os_count(g->s) == 0) {
        e = bk_err(r, -ENOENT, "point '%s' of VM '%s': libguestfs finds no "
                   "operating system on its disks", p->pub.id,
                   p->pub.vm_name);
    } else if ((e = sp_mount(g->s, 0)) < 0) {
        bk_err(r, e, "%s", ovfk_sysprep_error(g->s));
    }
    if (e < 0) {
        guest_close(g);
    }
    return e;
}

/* The guest's own spelling of path (Windows file systems ignore case). */
static char *guest_path(struct guest *g, const char *path)
{
    char *real;

    if (!path || path[0] != '/') {
        bk_err(g->r, -EINVAL, "guest path '%s' is not absolute",
               path ? path : "");
        return NULL;
    }
    real = guestfs_case_sensitive_path(g->s->g, path);
    return real ? real : strdup(path);
}

static char type_of(int64_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG:
        return 'f';
    case S_IFDIR:
        return 'd';
    case S_IFLNK:
        return 'l';
    default:
        return 'o';
    }
}

static int one_entry(struct guest *g, const char *dir, const char *name,
                     ovfk_backup_entry_fn fn, void *opaque)
{
    char path[PATH_MAX * 2];
    struct ovfk_backup_entry ent = { .name = name };
    struct guestfs_statns *st;
    char *target = NULL;
    int e;

    snprintf(path, sizeof(path), "%s%s%s", dir,
             dir[strlen(dir) - 1] == '/' ? "" : "/", name);
    st = guestfs_lstatns(g->s->g, path);
    if (!st) {
        return gerr(g, path);
    }
    ent.type = type_of(st->st_mode);
    ent.mode = (uint32_t)(st->st_mode & 07777);
    ent.size = st->st_size > 0 ? (uint64_t)st->st_size : 0;
    ent.mtime = st->st_mtime_sec;
    guestfs_free_statns(st);
    if (ent.type == 'l') {
        target = guestfs_readlink(g->s->g, path);
        ent.target = target;
    }
    e = fn(opaque, &ent);
    free(target);
    return e;
}

int ovfk_backup_files(ovfk_backup_repo *r, const char *vm,
                      const char *point, const char *path,
                      ovfk_backup_entry_fn fn, void *opaque)
{
    struct guest g;
    char *real = NULL, **names = NULL;
    int e;

    ovfk_err_clear(&r->err);
    e = guest_open(r, vm, point, &g);
    if (e < 0) {
        return e;
    }
    real = guest_path(&g, path ? path : "/");
    if (!real) {
        e = r->err.code;
    } else if (guestfs_is_dir(g.s->g, real) > 0) {
        names = guestfs_ls(g.s->g, real);
        e = names ? 0 : gerr(&g, real);
        for (size_t i = 0; e == 0 && names[i]; i++) {
            e = one_entry(&g, real, names[i], fn, opaque);
        }
    } else if (guestfs_exists(g.s->g, real) > 0 ||
               guestfs_is_symlink(g.s->g, real) > 0) {
        char *slash = strrchr(real, '/');
        *slash = '\0';
        e = one_entry(&g, real[0] ? real : "/", slash + 1, fn, opaque);
    } else {
        e = bk_err(r, -ENOENT, "'%s' does not exist in the guest at point "
                   "'%s'", path, point);
    }
    for (size_t i = 0; names && names[i]; i++) {
        free(names[i]);
    }
    free(names);
    free(real);
    guest_close(&g);
    return e;
}

/* Extraction */

struct xjob {
    struct guest *g;
    ovfk_backup_note_fn note;
    void *opaque;
    uint64_t files;
};

static void xnote(struct xjob *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void xnote(struct xjob *x, const char *fmt, ...)
{
    char msg[OVFK_ERR_MAX];
    va_list ap;

    if (!x->note) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    x->note(x->opaque, msg);
}

/* A name the guest gives that may become one local path component. */
static bool safe_name(const char *n)
{
    return n[0] && strcmp(n, ".") && strcmp(n, "..") && !strchr(n, '/');
}

static int copy_file(struct xjob *x, const char *src, const char *dst)
{
    char fdpath[32];
    int fd, e = 0;

    fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0644);
    if (fd < 0) {
        return bk_err(x->g->r, -errno, "cannot create '%s': %s", dst,
                      ovfk_errtext(-errno));
    }
    snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", fd);
    if (guestfs_download(x->g->s->g, src, fdpath) < 0) {
        e = gerr(x->g, src);
    } else if (fsync(fd) < 0) {
        e = bk_err(x->g->r, -errno, "cannot write '%s': %s", dst,
                   ovfk_errtext(-errno));
    }
    close(fd);
    if (e < 0) {
        unlink(dst);
    } else {
        x->files++;
    }
    return e;
}

/* Copy guest path src (lstat'ed) to local dst, recursing into
 * directories. */
static int extract(struct xjob *x, const char *src, const char *dst,
                   int depth)
{
    struct guestfs_statns *st = guestfs_lstatns(x->g->s->g, src);
    char **names;
    char t;
    int e = 0;

    if (!st) {
        return gerr(x->g, src);
    }
    t = type_of(st->st_mode);
    guestfs_free_statns(st);
    if (t == 'f') {
        return copy_file(x, src, dst);
    }
    if (t != 'd') {
        xnote(x, "'%s' is %s: skipped", src, t == 'l' ? "a symbolic link"
                                                      : "not a regular file");
        return 0;
    }
    if (depth > MAX_DEPTH) {
        return bk_err(x->g->r, -ELOOP, "'%s' is nested deeper than %d "
                      "directories", src, MAX_DEPTH);
    }
    if (mkdir(dst, 0755) < 0) {
        return bk_err(x->g->r, -errno, "cannot create '%s': %s", dst,
                      ovfk_errtext(-errno));
    }
    names = guestfs_ls(x->g->s->g, src);
    if (!names) {
        return gerr(x->g, src);
    }
    for (size_t i = 0; names[i]; i++) {
        char s[PATH_MAX * 2], d[PATH_MAX * 2];
        if (e == 0 && !safe_name(names[i])) {
            xnote(x, "'%s/%s' has a name no local file may have: skipped",
                  src, names[i]);
        } else if (e == 0) {
            snprintf(s, sizeof(s), "%s%s%s", src,
                     src[strlen(src) - 1] == '/' ? "" : "/", names[i]);
            snprintf(d, sizeof(d), "%s/%s", dst, names[i]);
            e = extract(x, s, d, depth + 1);
        }
        free(names[i]);
    }
    free(names);
    return e;
}

/* dir must be new or empty: nothing there can redirect our writes. */
static int target_dir(ovfk_backup_repo *r, const char *to)
{
    struct dirent *de;
    bool empty = true;
    DIR *d;

    if (mkdir(to, 0755) == 0) {
        return 0;
    }
    if (errno != EEXIST) {
        return bk_err(r, -errno, "cannot create '%s': %s", to,
                      ovfk_errtext(-errno));
    }
    d = opendir(to);
    if (!d) {
        return bk_err(r, -errno, "cannot open '%s': %s", to,
                      ovfk_errtext(-errno));
    }
    while ((de = readdir(d))) {
        empty &= !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
    }
    closedir(d);
    return empty ? 0 : bk_err(r, -EEXIST, "'%s' is not empty: extraction "
                              "needs a new or empty directory", to);
}

int ovfk_backup_extract(ovfk_backup_repo *r, const char *vm,
                        const char *point, const char *const *paths,
                        size_t n, const char *to, ovfk_backup_note_fn note,
                        void *opaque, uint64_t *files)
{
    struct xjob x = { .note = note, .opaque = opaque };
    struct guest g;
    int e;

    ovfk_err_clear(&r->err);
    if (files) {
        *files = 0;
    }
    /* what can be refused before the appliance starts */
    for (size_t i = 0; i < n; i++) {
        const char *base = strrchr(paths[i], '/');
        if (paths[i][0] != '/') {
            return bk_err(r, -EINVAL, "guest path '%s' is not absolute",
                          paths[i]);
        }
        if (base[1] && !safe_name(base + 1)) {
            return bk_err(r, -EINVAL, "guest path '%s' does not name a "
                          "file", paths[i]);
        }
    }
    e = target_dir(r, to);
    if (e < 0) {
        return e;
    }
    e = guest_open(r, vm, point, &g);
    if (e < 0) {
        return e;
    }
    x.g = &g;
    for (size_t i = 0; e == 0 && i < n; i++) {
        char dst[PATH_MAX * 2], *real = guest_path(&g, paths[i]);
        const char *base;
        if (!real) {
            e = r->err.code;
            break;
        }
        base = strrchr(real, '/') + 1;
        if (!base[0]) {
            base = "root";          /* "/" itself */
        }
        if (!safe_name(base)) {
            e = bk_err(r, -EINVAL, "guest path '%s' does not name a file",
                       paths[i]);
        } else if (guestfs_exists(g.s->g, real) <= 0 &&
                   guestfs_is_symlink(g.s->g, real) <= 0) {
            e = bk_err(r, -ENOENT, "'%s' does not exist in the guest at "
                       "point '%s'", paths[i], point);
        } else {
            snprintf(dst, sizeof(dst), "%s/%s", to, base);
            e = extract(&x, real, dst, 0);
        }
        free(real);
    }
    if (files) {
        *files = x.files;
    }
    guest_close(&g);
    return e;
}

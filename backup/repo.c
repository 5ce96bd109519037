/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backup/repo.c - the repository: its handle, point records (point.json,
 * written atomically), listing, locks and the clock (ovfkit/backup.h
 * describes the layout).
 */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/internal.h"
#include "hv/internal.h"
#include "util/fs.h"
#include "util/tmpfile.h"

int bk_err(ovfk_backup_repo *r, int code, const char *fmt, ...)
{
    char msg[OVFK_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return ovfk_err_set(&r->err, code, "%s", msg);
}

int64_t bk_now(void)
{
    const char *s = getenv("OVFKIT_NOW");
    char *end;
    long long v;

    if (s && *s) {
        errno = 0;
        v = strtoll(s, &end, 10);
        if (!errno && !*end && v > 0) {
            return v;
        }
    }
    return (int64_t)time(NULL);
}

void bk_time_id(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y%m%dT%H%M%SZ", &tm);
}

void bk_time_iso(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];

    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
                return -errno;
            }
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
        return -errno;
    }
    return 0;
}

int ovfk_backup_repo_open(const char *dir, ovfk_backup_repo **out)
{
    char def[PATH_MAX], abs[PATH_MAX];
    ovfk_backup_repo *r;
    int e;

    *out = NULL;
    if (!dir) {
        const char *x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
        if (x && *x) {
            snprintf(def, sizeof(def), "%s/ovfkit/backups", x);
        } else if (home && *home) {
            snprintf(def, sizeof(def), "%s/.local/share/ovfkit/backups",
                     home);
        } else {
            return ovfk_err_last(-ENOENT, "no repository: set "
                                 "XDG_DATA_HOME or HOME, or give --repo");
        }
        dir = def;
    }
    e = mkdir_p(dir);
    if (e < 0) {
        return ovfk_err_last(e, "cannot create repository '%s': %s", dir,
                             ovfk_errtext(e));
    }
    if (!realpath(dir, abs)) {
        e = -errno;
        return ovfk_err_last(e, "cannot open repository '%s': %s", dir,
                             ovfk_errtext(e));
    }
    r = calloc(1, sizeof(*r));
    if (!r) {
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    snprintf(r->path, sizeof(r->path), "%s", abs);
    *out = r;
    return 0;
}

void ovfk_backup_repo_close(ovfk_backup_repo *r)
{
    free(r);
}

const char *ovfk_backup_error(const ovfk_backup_repo *r)
{
    return r->err.msg;
}

const char *ovfk_backup_repo_path(const ovfk_backup_repo *r)
{
    return r->path;
}

int bk_vm_dir(ovfk_backup_repo *r, const char *uuid, bool create, char *buf,
              size_t len)
{
    snprintf(buf, len, "%s/%s", r->path, uuid);
    if (create && mkdir(buf, 0755) < 0 && errno != EEXIST) {
        return bk_err(r, -errno, "cannot create '%s': %s", buf,
                      ovfk_errtext(-errno));
    }
    return 0;
}

int bk_lock(ovfk_backup_repo *r, const char *uuid, int wait,
            ovfk_lock **out)
{
    char path[PATH_MAX + 16], what[80];
    int e;

    *out = NULL;
    e = bk_vm_dir(r, uuid, true, path, sizeof(path) - 8);
    if (e < 0) {
        return e;
    }
    strncat(path, "/.lock", sizeof(path) - strlen(path) - 1);
    snprintf(what, sizeof(what), "the backups of VM %s", uuid);
    e = ovfk_lock_take(path, what, wait, out);
    /* -EAGAIN: held elsewhere (the CLI's exit 75) */
    return e < 0 ? bk_err(r, e, "%s", ovfk_last_error()) : 0;
}

void bk_unlock(ovfk_lock *l)
{
    ovfk_lock_release(l);
}

/* point.json */

static char *jstr(json_object *o, const char *k)
{
    json_object *v;

    if (!json_object_object_get_ex(o, k, &v) ||
        json_object_is_type(v, json_type_null)) {
        return NULL;
    }
    return strdup(json_object_get_string(v));
}

static int64_t jint(json_object *o, const char *k)
{
    json_object *v;

    return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v)
                                              : 0;
}

/* The strings of a public point record (its owner frees the array). */
static void pub_clear(struct ovfk_backup_point *q)
{
    free(q->id);
    free(q->vm_name);
    free(q->kind);
    free(q->parent);
    free(q->created);
    free(q->dir);
    free(q->package);
    free(q->damaged);
    free(q->driver);
}

void bk_point_clear(struct bk_point *p)
{
    pub_clear(&p->pub);
    free(p->dirname);
    ovfk_hv_vm_free(p->vm);
    for (size_t i = 0; i < p->n_disks; i++) {
        free(p->disks[i].id);
        free(p->disks[i].file);
    }
    free(p->disks);
    free(p->anchor);
    memset(p, 0, sizeof(*p));
}

static char *read_small(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    size_t n;

    if (!f) {
        return NULL;
    }
    buf = calloc(1, 4097);
    n = buf ? fread(buf, 1, 4096, f) : 0;
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
    }
    return buf;
}

int bk_point_read(ovfk_backup_repo *r, const char *dir, struct bk_point *p)
{
    char path[PATH_MAX + 64], *vmj = NULL;
    json_object *o, *v, *disks;
    struct ovfk_backup_point *q = &p->pub;
    const char *slash;
    int e = 0;

    memset(p, 0, sizeof(*p));
    snprintf(path, sizeof(path), "%s/%s", dir, BK_POINT_FILE);
    if (access(path, F_OK) != 0) {
        return -ENOENT;
    }
    o = json_object_from_file(path);
    if (!o) {
        return bk_err(r, OVFK_ECORRUPT, "'%s' is not a point record", path);
    }
    q->id = jstr(o, "id");
    q->vm_name = jstr(o, "vm_name");
    v = NULL;
    json_object_object_get_ex(o, "vm_uuid", &v);
    snprintf(q->vm_uuid, sizeof(q->vm_uuid), "%s",
             v ? json_object_get_string(v) : "");
    q->kind = jstr(o, "kind");
    q->parent = jstr(o, "parent");
    q->created = jstr(o, "created");
    q->time = jint(o, "time");
    q->driver = jstr(o, "driver");
    p->anchor = jstr(o, "anchor");
    q->dir = strdup(dir);
    slash = strrchr(dir, '/');
    p->dirname = strdup(slash ? slash + 1 : dir);
    if (json_object_object_get_ex(o, "package", &v)) {
        snprintf(path, sizeof(path), "%s/%s", dir, json_object_get_string(v));
        q->package = strdup(path);
    }
    if (json_object_object_get_ex(o, "vm", &v)) {
        vmj = strdup(json_object_to_json_string(v));
        if (!vmj || ovfk_hv_vm_from_json(vmj, &p->vm) < 0) {
            e = bk_err(r, OVFK_ECORRUPT, "'%s/%s': the VM cannot be read: "
                       "%s", dir, BK_POINT_FILE, ovfk_last_error());
        }
        free(vmj);
    }
    if (e == 0 && json_object_object_get_ex(o, "disks", &disks)) {
        size_t nd = json_object_array_length(disks);
        p->disks = calloc(nd + 1, sizeof(*p->disks));
        for (size_t k = 0; p->disks && k < nd; k++) {
            json_object *d = json_object_array_get_idx(disks, k);
            p->disks[k].id = jstr(d, "id");
            p->disks[k].file = jstr(d, "file");
            p->disks[k].capacity = (uint64_t)jint(d, "capacity");
            p->n_disks++;
            q->logical += p->disks[k].capacity;
        }
    }
    json_object_put(o);
    if (e == 0 && (!q->id || !q->kind || !p->vm || !q->package ||
                   !p->disks || p->n_disks != p->vm->n_disks)) {
        e = bk_err(r, OVFK_ECORRUPT, "'%s/%s' lacks fields of a point "
                   "record", dir, BK_POINT_FILE);
    }
    for (size_t k = 0; e == 0 && k < p->n_disks; k++) {
        if (!p->disks[k].file || strchr(p->disks[k].file, '/')) {
            e = bk_err(r, OVFK_ECORRUPT, "'%s/%s': a disk file is not a "
                       "plain name", dir, BK_POINT_FILE);
            break;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, p->disks[k].file);
        free(p->vm->disks[k].path);
        p->vm->disks[k].path = strdup(path);
    }
    if (e == 0) {
        snprintf(path, sizeof(path), "%s/%s", dir, BK_DAMAGED_FILE);
        q->damaged = read_small(path);
        q->stored = bk_dir_bytes(dir);
    }
    if (e < 0) {
        bk_point_clear(p);
    }
    return e;
}

int bk_point_write(ovfk_backup_repo *r, const char *dir,
                   const struct bk_point *p)
{
    const struct ovfk_backup_point *q = &p->pub;
    json_object *o = json_object_new_object(), *disks;
    struct ovfk_hv_vm *vm = ovfk_hv_vm_copy(p->vm);
    char path[PATH_MAX + 64], *vmj;
    const char *text, *slash;
    int e;

    if (!vm) {
        json_object_put(o);
        return bk_err(r, -ENOMEM, "out of memory");
    }
    /* the record names its files relative to its directory */
    for (size_t k = 0; k < vm->n_disks && k < p->n_disks; k++) {
        free(vm->disks[k].path);
        vm->disks[k].path = strdup(p->disks[k].file);
    }
    json_object_object_add(o, "format", json_object_new_int(1));
    json_object_object_add(o, "id", json_object_new_string(q->id));
    json_object_object_add(o, "vm_name", json_object_new_string(q->vm_name));
    json_object_object_add(o, "vm_uuid", json_object_new_string(q->vm_uuid));
    json_object_object_add(o, "kind", json_object_new_string(q->kind));
    json_object_object_add(o, "parent", q->parent ?
                           json_object_new_string(q->parent) : NULL);
    json_object_object_add(o, "created", json_object_new_string(q->created));
    json_object_object_add(o, "time", json_object_new_int64(q->time));
    json_object_object_add(o, "driver", json_object_new_string(
                               q->driver ? q->driver : "dir"));
    json_object_object_add(o, "anchor", p->anchor ?
                           json_object_new_string(p->anchor) : NULL);
    slash = strrchr(q->package, '/');
    json_object_object_add(o, "package", json_object_new_string(
                               slash ? slash + 1 : q->package));
    vmj = ovfk_hv_vm_to_json(vm, false);
    json_object_object_add(o, "vm", vmj ? json_tokener_parse(vmj) : NULL);
    free(vmj);
    disks = json_object_new_array();
    for (size_t k = 0; k < p->n_disks; k++) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "id", json_object_new_string(
                                   p->disks[k].id));
        json_object_object_add(d, "file", json_object_new_string(
                                   p->disks[k].file));
        json_object_object_add(d, "capacity", json_object_new_int64(
                                   (int64_t)p->disks[k].capacity));
        json_object_array_add(disks, d);
    }
    json_object_object_add(o, "disks", disks);
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                          JSON_C_TO_STRING_NOSLASHESCAPE);
    snprintf(path, sizeof(path), "%s/%s", dir, BK_POINT_FILE);
    e = ovfk_write_file_atomic(path, text, strlen(text));
    if (e < 0) {
        e = bk_err(r, e, "cannot write '%s': %s", path, ovfk_errtext(e));
    }
    json_object_put(o);
    ovfk_hv_vm_free(vm);
    return e;
}

uint64_t bk_dir_bytes(const char *dir)
{
    char path[PATH_MAX + 300];
    uint64_t sum = 0;
    struct dirent *e;
    struct stat st;
    DIR *d = opendir(dir);

    while (d && (e = readdir(d))) {
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.' && stat(path, &st) == 0 &&
            S_ISREG(st.st_mode)) {
            sum += (uint64_t)st.st_blocks * 512;
        }
    }
    if (d) {
        closedir(d);
    }
    return sum;
}

void bk_points_free(struct bk_point *pts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bk_point_clear(&pts[i]);
    }
    free(pts);
}

static int by_time(const void *a, const void *b)
{
    const struct bk_point *x = a, *y = b;

    if (x->pub.time != y->pub.time) {
        return x->pub.time < y->pub.time ? -1 : 1;
    }
    return strcmp(x->pub.id, y->pub.id);
}

/* The directory a prune in progress is dropping: its record still names
 * its own point, which the merge is giving up; or, once the record names
 * the child, the child's old directory.  NULL: none. */
static char *prune_hidden(const char *vmdir)
{
    char path[PATH_MAX + 32];
    json_object *o;
    char *drop, *into, *hidden = NULL;

    snprintf(path, sizeof(path), "%s/%s", vmdir, BK_PRUNE_JOURNAL);
    o = json_object_from_file(path);
    if (!o) {
        return NULL;
    }
    drop = jstr(o, "drop_dir");
    into = jstr(o, "into_dir");
    if (drop && into) {
        char rec[PATH_MAX + 300];
        json_object *p;
        char *id = NULL, *into_id = jstr(o, "into_id");
        snprintf(rec, sizeof(rec), "%s/%s/%s", vmdir, drop, BK_POINT_FILE);
        p = json_object_from_file(rec);
        if (p) {
            id = jstr(p, "id");
            json_object_put(p);
        }
        hidden = strdup(id && into_id && !strcmp(id, into_id) ? into : drop);
        free(id);
        free(into_id);
    }
    free(drop);
    free(into);
    json_object_put(o);
    return hidden;
}

int bk_points_load(ovfk_backup_repo *r, const char *uuid,
                   struct bk_point **pts, size_t *n)
{
    char vmdir[PATH_MAX], dir[PATH_MAX + 300], *hidden;
    struct bk_point *v = NULL;
    size_t nv = 0;
    struct dirent *e;
    int rc = 0;
    DIR *d;

    *pts = NULL;
    *n = 0;
    bk_vm_dir(r, uuid, false, vmdir, sizeof(vmdir));
    d = opendir(vmdir);
    if (!d) {
        return 0;
    }
    hidden = prune_hidden(vmdir);
    while (rc == 0 && (e = readdir(d))) {
        struct bk_point *grown;
        if (e->d_name[0] == '.' || (hidden && !strcmp(hidden, e->d_name))) {
            continue;
        }
        snprintf(dir, sizeof(dir), "%s/%s", vmdir, e->d_name);
        grown = realloc(v, (nv + 1) * sizeof(*v));
        if (!grown) {
            rc = bk_err(r, -ENOMEM, "out of memory");
            break;
        }
        v = grown;
        rc = bk_point_read(r, dir, &v[nv]);
        if (rc == 0) {
            nv++;
        } else if (rc == -ENOENT) {
            rc = 0;     /* not a point directory */
        }
    }
    closedir(d);
    free(hidden);
    if (rc < 0) {
        bk_points_free(v, nv);
        return rc;
    }
    if (nv) {
        qsort(v, nv, sizeof(*v), by_time);
    }
    *pts = v;
    *n = nv;
    return 0;
}

int bk_resolve_vm(ovfk_backup_repo *r, const char *key, char uuid[37])
{
    uint8_t raw[16];
    struct dirent *e;
    int64_t best = -1;
    DIR *d;

    if (ovfk_uuid_parse(key, raw) == 0) {
        ovfk_uuid_str(raw, uuid);
        return 0;
    }
    d = opendir(r->path);
    while (d && (e = readdir(d))) {
        struct bk_point *pts;
        size_t n;
        if (e->d_name[0] == '.' || ovfk_uuid_parse(e->d_name, raw) < 0 ||
            bk_points_load(r, e->d_name, &pts, &n) < 0) {
            continue;
        }
        if (n && !strcmp(pts[n - 1].pub.vm_name, key) &&
            pts[n - 1].pub.time > best) {
            best = pts[n - 1].pub.time;
            snprintf(uuid, 37, "%s", e->d_name);
        }
        bk_points_free(pts, n);
    }
    if (d) {
        closedir(d);
    }
    if (best < 0) {
        return bk_err(r, -ENOENT, "repository '%s' has no backup of VM "
                      "'%s'", r->path, key);
    }
    return 0;
}

struct bk_point *bk_find(ovfk_backup_repo *r, struct bk_point *pts,
                         size_t n, const char *key)
{
    if (n && !strcmp(key, "latest")) {
        return &pts[n - 1];
    }
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(pts[i].pub.id, key)) {
            return &pts[i];
        }
    }
    bk_err(r, -ENOENT, "no backup point '%s'%s%s", key, n ? " of VM " : "",
           n ? pts[0].pub.vm_name : "");
    return NULL;
}

const char *bk_chain_damage(struct bk_point *pts, size_t n,
                            const struct bk_point *p)
{
    for (size_t hops = 0; p && hops <= n; hops++) {
        const struct bk_point *next = NULL;
        if (p->pub.damaged) {
            return p->pub.damaged;
        }
        if (!p->pub.parent) {
            return NULL;
        }
        for (size_t i = 0; i < n; i++) {
            if (!strcmp(pts[i].pub.id, p->pub.parent)) {
                next = &pts[i];
            }
        }
        if (!next) {
            return "its parent point is missing";
        }
        p = next;
    }
    return p ? "its chain of points loops" : NULL;
}

void bk_clean_leftovers(const char *vmdir)
{
    char path[PATH_MAX + 300];
    struct dirent *e;
    DIR *d = opendir(vmdir);

    while (d && (e = readdir(d))) {
        /* ours, and ovfk_ova_writer's temporary of a full point's .tmp-ID */
        if (!strncmp(e->d_name, ".tmp-", 5) ||
            !strncmp(e->d_name, ".del-", 5) ||
            !strncmp(e->d_name, "..tmp-", 6)) {
            snprintf(path, sizeof(path), "%s/%s", vmdir, e->d_name);
            ovfk_rm_tree(path);
        }
    }
    if (d) {
        closedir(d);
    }
}

/* The point key of vm, with its list (free with bk_points_free). */
int bk_open_point(ovfk_backup_repo *r, const char *vm, const char *key,
                      struct bk_point **pts, size_t *n, struct bk_point **p)
{
    char uuid[37];
    const char *dmg;
    int e;

    *pts = NULL;
    *n = 0;
    e = bk_resolve_vm(r, vm, uuid);
    if (e == 0) {
        e = bk_points_load(r, uuid, pts, n);
    }
    if (e < 0) {
        return e;
    }
    *p = bk_find(r, *pts, *n, key);
    if (!*p) {
        bk_points_free(*pts, *n);
        *pts = NULL;
        *n = 0;
        return r->err.code;
    }
    dmg = bk_chain_damage(*pts, *n, *p);
    if (dmg) {
        e = bk_err(r, OVFK_ECORRUPT, "point '%s' of VM '%s' cannot be "
                   "read: %s", (*p)->pub.id, (*p)->pub.vm_name, dmg);
        bk_points_free(*pts, *n);
        *pts = NULL;
        *n = 0;
    }
    return e;
}

static void pub_copy(struct ovfk_backup_point *to,
                     const struct ovfk_backup_point *from)
{
    *to = *from;
    to->id = strdup(from->id);
    to->vm_name = strdup(from->vm_name ? from->vm_name : "");
    to->kind = strdup(from->kind);
    to->parent = from->parent ? strdup(from->parent) : NULL;
    to->created = strdup(from->created ? from->created : "");
    to->dir = strdup(from->dir);
    to->package = strdup(from->package);
    to->damaged = from->damaged ? strdup(from->damaged) : NULL;
    to->driver = strdup(from->driver ? from->driver : "dir");
}

int ovfk_backup_list(ovfk_backup_repo *r, const char *vm,
                     struct ovfk_backup_point **out, size_t *nout)
{
    struct ovfk_backup_point *v = NULL;
    size_t nv = 0;
    char uuid[37];
    uint8_t raw[16];
    struct dirent *e;
    int rc = 0;
    DIR *d;

    *out = NULL;
    *nout = 0;
    if (vm && (rc = bk_resolve_vm(r, vm, uuid)) < 0) {
        return rc;
    }
    d = opendir(r->path);
    if (!d) {
        return bk_err(r, -errno, "cannot read '%s': %s", r->path,
                      ovfk_errtext(-errno));
    }
    while (rc == 0 && (e = readdir(d))) {
        struct bk_point *pts;
        struct ovfk_backup_point *grown;
        size_t n;
        if (e->d_name[0] == '.' || ovfk_uuid_parse(e->d_name, raw) < 0 ||
            (vm && strcmp(e->d_name, uuid))) {
            continue;
        }
        rc = bk_points_load(r, e->d_name, &pts, &n);
        if (rc < 0) {
            break;
        }
        grown = realloc(v, (nv + n + 1) * sizeof(*v));
        if (!grown) {
            bk_points_free(pts, n);
            rc = bk_err(r, -ENOMEM, "out of memory");
            break;
        }
        v = grown;
        for (size_t i = 0; i < n; i++) {
            pub_copy(&v[nv++], &pts[i].pub);
        }
        bk_points_free(pts, n);
    }
    closedir(d);
    if (rc < 0) {
        ovfk_backup_points_free(v, nv);
        return rc;
    }
    *out = v;
    *nout = nv;
    return 0;
}

void ovfk_backup_points_free(struct ovfk_backup_point *pts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pub_clear(&pts[i]);
    }
    free(pts);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysprep/report.c - the report of a sysprep run (JSON: the disks, the
 * operating systems inspection found, every change with its old and new
 * value) and --undo, which puts the old values back, newest first.
 *
 * Values are JSON strings when they are UTF-8 text, else base64 under
 * "old_base64" / "new_base64".  Undo never overwrites what changed since
 * the report: a file whose content is no longer the report's new value, a
 * registry value no longer 4, is left alone and named in the error.
 */
#include <errno.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sysprep/internal.h"
#include "util/tmpfile.h"

#define MAX_REPORT (64u << 20)

static bool is_utf8_text(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 :
                (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
        if (n < 0 || (*p < 0x20 && !strchr("\t\n\r", *p))) {
            return false;
        }
        p++;
        for (int i = 0; i < n; i++, p++) {
            if ((*p & 0xc0) != 0x80) {
                return false;
            }
        }
    }
    return true;
}

static void put_value(json_object *o, const char *key, const char *v)
{
    char k[32];

    if (!v) {
        json_object_object_add(o, key, NULL);
    } else if (is_utf8_text(v)) {
        json_object_object_add(o, key, json_object_new_string(v));
    } else {
        size_t n = strlen(v);
        unsigned char *b = malloc(4 * ((n + 2) / 3) + 1);
        if (b) {
            EVP_EncodeBlock(b, (const unsigned char *)v, (int)n);
            snprintf(k, sizeof(k), "%s_base64", key);
            json_object_object_add(o, k, json_object_new_string((char *)b));
        }
        free(b);
    }
}

/* The value of key (plain or base64); *present false when absent/null. */
static char *get_value(json_object *o, const char *key, bool *present)
{
    json_object *v;
    char k[32];

    *present = false;
    if (json_object_object_get_ex(o, key, &v) && v) {
        *present = true;
        return strdup(json_object_get_string(v));
    }
    snprintf(k, sizeof(k), "%s_base64", key);
    if (json_object_object_get_ex(o, k, &v) && v) {
        const char *in = json_object_get_string(v);
        size_t n = strlen(in);
        unsigned char *out = malloc(3 * (n / 4) + 4);
        int len = out ? EVP_DecodeBlock(out, (const unsigned char *)in,
                                        (int)n) : -1;
        if (len < 0) {
            free(out);
            return NULL;
        }
        /* EVP_DecodeBlock counts the padding's zero bytes */
        while (n > 0 && in[n - 1] == '=' && len > 0) {
            n--;
            len--;
        }
        out[len] = '\0';
        *present = true;
        return (char *)out;
    }
    return NULL;
}

int ovfk_sysprep_report_write(ovfk_sysprep *s, const char *const *disks,
                         size_t n, bool dry_run, const char *path)
{
    json_object *o = json_object_new_object(), *a;
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    const char *text;
    int r;

    gmtime_r(&t, &tm);
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_object_add(o, "version", json_object_new_int(1));
    json_object_object_add(o, "tool", json_object_new_string("ovfkit "
                                                             OVFKIT_VERSION));
    json_object_object_add(o, "created", json_object_new_string(now));
    json_object_object_add(o, "dry_run", json_object_new_boolean(dry_run));
    a = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object_array_add(a, json_object_new_string(disks[i]));
    }
    json_object_object_add(o, "disks", a);
    a = json_object_new_array();
    for (size_t i = 0; i < s->n_os; i++) {
        const struct ovfk_sysprep_os *os = &s->os[i];
        json_object *e = json_object_new_object();
        put_value(e, "root", os->root);
        put_value(e, "type", os->type);
        put_value(e, "distro", os->distro);
        put_value(e, "product", os->product);
        json_object_object_add(e, "major", json_object_new_int(os->major));
        json_object_object_add(e, "minor", json_object_new_int(os->minor));
        put_value(e, "hostname", os->hostname);
        put_value(e, "arch", os->arch);
        json_object_array_add(a, e);
    }
    json_object_object_add(o, "os", a);
    a = json_object_new_array();
    for (size_t i = 0; i < s->n_changes; i++) {
        const struct ovfk_sysprep_change *c = &s->changes[i];
        json_object *e = json_object_new_object();
        json_object_object_add(e, "kind", json_object_new_string(c->kind));
        put_value(e, "root", c->root);
        put_value(e, "path", c->path);
        put_value(e, "old", c->old_value);
        put_value(e, "new", c->new_value);
        if (c->mode >= 0) {
            json_object_object_add(e, "mode", json_object_new_int(c->mode));
        }
        json_object_array_add(a, e);
    }
    json_object_object_add(o, "changes", a);
    a = json_object_new_array();
    for (size_t i = 0; i < s->n_notes; i++) {
        json_object_array_add(a, json_object_new_string(s->notes[i]));
    }
    json_object_object_add(o, "notes", a);
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                          JSON_C_TO_STRING_NOSLASHESCAPE);
    r = ovfk_write_file_atomic(path, text, strlen(text));
    json_object_put(o);
    if (r < 0) {
        return ovfk_err_set(&s->err, r, "cannot write the report '%s': %s",
                            path, ovfk_errtext(r));
    }
    return 0;
}

/* --- undo ---------------------------------------------------------------- */

struct undo {
    ovfk_sysprep *s;
    char conflicts[1024];
    size_t n_conflicts;
};

static void conflict(struct undo *u, const char *path)
{
    size_t l = strlen(u->conflicts);

    if (u->n_conflicts++ < 8 && l + strlen(path) + 4 < sizeof(u->conflicts)) {
        snprintf(u->conflicts + l, sizeof(u->conflicts) - l, "%s'%s'",
                 l ? ", " : "", path);
    }
}

static bool same_text(ovfk_sysprep *s, const char *path, const char *want)
{
    size_t len = 0;
    char *now = sp_read_file(s, path, &len);
    bool same = now && want && len == strlen(want) &&
                !memcmp(now, want, len);

    if (!now && !want) {
        same = guestfs_exists(s->g, path) == 0;
    }
    free(now);
    return same;
}

static int undo_file(struct undo *u, const char *path, const char *old,
                     const char *new_value, int mode)
{
    ovfk_sysprep *s = u->s;

    if (!same_text(s, path, new_value)) {
        if (same_text(s, path, old)) {
            return 1;   /* already as it was */
        }
        conflict(u, path);
        return 0;
    }
    if (!old) {
        return guestfs_rm(s->g, path) < 0 ? sp_guest_error(s, path) : 0;
    }
    if (guestfs_write(s->g, path, old, strlen(old)) < 0) {
        return sp_guest_error(s, path);
    }
    if (mode >= 0 && guestfs_chmod(s->g, mode, path) < 0) {
        return sp_guest_error(s, path);
    }
    return 0;
}

/*
 * Open hive for writing and find the key path "A\\B\\C" in it (path is
 * cut up in place).  0 with *node (<= 0: the key is not there) and the
 * hive open, to be closed by the caller; or negative, nothing open.
 */
static int open_key(ovfk_sysprep *s, const char *hive, char *path,
                    int64_t *node)
{
    char *part, *save = NULL;

    if (guestfs_hivex_open(s->g, hive, GUESTFS_HIVEX_OPEN_WRITE, 1, -1) < 0) {
        return sp_guest_error(s, hive);
    }
    *node = guestfs_hivex_root(s->g);
    for (part = strtok_r(path, "\\", &save); *node > 0 && part;
         part = strtok_r(NULL, "\\", &save)) {
        *node = guestfs_hivex_node_get_child(s->g, *node, part);
    }
    return 0;
}

/* "hive|Key\\Path|Value": put the old DWORD back if it is still new. */
static int undo_registry(struct undo *u, const char *spec, const char *old,
                         const char *new_value)
{
    ovfk_sysprep *s = u->s;
    char *copy = strdup(spec), *hive, *key, *val;
    int64_t node;
    int r = 0;

    if (!copy) {
        return -ENOMEM;
    }
    hive = copy;
    key = strchr(hive, '|');
    val = key ? strchr(key + 1, '|') : NULL;
    if (!key || !val || !old || !new_value) {
        free(copy);
        return ovfk_err_set(&s->err, -EINVAL, "bad registry change '%s' in "
                            "the report", spec);
    }
    *key++ = '\0';
    *val++ = '\0';
    r = open_key(s, hive, key, &node);
    if (r < 0) {
        free(copy);
        return r;
    }
    if (node <= 0) {
        conflict(u, spec);
    } else {
        int64_t v = guestfs_hivex_node_get_value(s->g, node, val);
        size_t len = 0;
        char *b = v > 0 ? guestfs_hivex_value_value(s->g, v, &len) : NULL;
        unsigned long want_new = strtoul(new_value, NULL, 10);
        uint32_t now = b && len == 4 ?
                       (uint32_t)((uint8_t)b[0] | (uint8_t)b[1] << 8 |
                                  (uint8_t)b[2] << 16 |
                                  (uint32_t)(uint8_t)b[3] << 24) : 0;
        if (b && len == 4 && now == strtoul(old, NULL, 10)) {
            r = 1;      /* already as it was */
        } else if (!b || len != 4 || now != want_new) {
            conflict(u, spec);
        } else if (sp_hive_set_dword(s->g, node, val,
                                     (uint32_t)strtoul(old, NULL, 10)) < 0 ||
                   guestfs_hivex_commit(s->g, NULL) < 0) {
            r = sp_guest_error(s, spec);
        }
        free(b);
    }
    guestfs_hivex_close(s->g);
    free(copy);
    return r;
}

/* "hive|Key\\Path": a key ovfkit created goes, with what is under it. */
static int undo_registry_key(struct undo *u, const char *spec)
{
    ovfk_sysprep *s = u->s;
    char *copy = strdup(spec), *key;
    int64_t node;
    int r = 0;

    if (!copy) {
        return -ENOMEM;
    }
    key = strchr(copy, '|');
    if (!key) {
        free(copy);
        return ovfk_err_set(&s->err, -EINVAL, "bad registry change '%s' in "
                            "the report", spec);
    }
    *key++ = '\0';
    r = open_key(s, copy, key, &node);
    if (r < 0) {
        free(copy);
        return r;
    }
    if (node <= 0) {
        r = 1;      /* already gone */
    } else if (guestfs_hivex_node_delete_child(s->g, node) < 0 ||
               guestfs_hivex_commit(s->g, NULL) < 0) {
        r = sp_guest_error(s, spec);
    }
    guestfs_hivex_close(s->g);
    free(copy);
    return r;
}

static int undo_one(struct undo *u, json_object *c)
{
    ovfk_sysprep *s = u->s;
    json_object *k, *m;
    bool has_old, has_new, has_root, has_path;
    char *root = get_value(c, "root", &has_root);
    char *path = get_value(c, "path", &has_path);
    char *old = get_value(c, "old", &has_old);
    char *nv = get_value(c, "new", &has_new);
    const char *kind = json_object_object_get_ex(c, "kind", &k) ?
                       json_object_get_string(k) : "";
    int mode = json_object_object_get_ex(c, "mode", &m) ?
               json_object_get_int(m) : -1;
    int r = path ? sp_mount_root(s, root) : ovfk_err_set(&s->err, -EINVAL,
                                                         "a change without "
                                                         "a path");

    if (r < 0) {
        /* the report and the disks do not match */
    } else if (!strcmp(kind, "file") || !strcmp(kind, "file-removed")) {
        r = undo_file(u, path, old, nv, mode);
    } else if (!strcmp(kind, "registry-dword")) {
        r = undo_registry(u, path, old, nv);
    } else if (!strcmp(kind, "systemd-link")) {
        char *now = guestfs_is_symlink(s->g, path) > 0 ?
                    guestfs_readlink(s->g, path) : NULL;
        if (now && old && !strcmp(now, old)) {
            r = 1;      /* already as it was */
        } else if (guestfs_exists(s->g, path) > 0) {
            conflict(u, path);
        } else if (!old || guestfs_ln_s(s->g, old, path) < 0) {
            r = sp_guest_error(s, path);
        }
        free(now);
    } else if (!strcmp(kind, "sysv-link")) {
        if (nv && guestfs_exists(s->g, path) > 0 &&
            guestfs_exists(s->g, nv) == 0) {
            r = 1;      /* already as it was */
        } else if (!nv || guestfs_exists(s->g, path) > 0 ||
            guestfs_exists(s->g, nv) <= 0) {
            conflict(u, path);
        } else if (guestfs_mv(s->g, nv, path) < 0) {
            r = sp_guest_error(s, path);
        }
    } else if (!strcmp(kind, "file-backup")) {
        /* an initramfs rebuilt in the guest: the kept original back */
        if (old && guestfs_is_file(s->g, old) > 0) {
            r = guestfs_mv(s->g, old, path) < 0 ? sp_guest_error(s, path) : 0;
        } else {
            conflict(u, path);
        }
    } else if (!strcmp(kind, "file-added")) {
        if (guestfs_exists(s->g, path) <= 0) {
            r = 1;      /* already as it was */
        } else if (guestfs_rm(s->g, path) < 0) {
            r = sp_guest_error(s, path);
        }
    } else if (!strcmp(kind, "registry-key")) {
        r = undo_registry_key(u, path);
    } else {
        r = ovfk_err_set(&s->err, -EINVAL, "unknown change '%s' in the "
                         "report", kind);
    }
    free(root);
    free(path);
    free(old);
    free(nv);
    return r;
}

/* Is change c's value under key (plain or base64) well-formed?  *set
 * tells whether it is there and not null. */
static const char *check_value(json_object *c, const char *key, bool *set)
{
    json_object *v, *b;
    bool plain = json_object_object_get_ex(c, key, &v) && v;
    char k[32], *text;

    snprintf(k, sizeof(k), "%s_base64", key);
    *set = plain;
    if (plain && !json_object_is_type(v, json_type_string)) {
        return "has a value that is neither text nor null";
    }
    if (json_object_object_get_ex(c, k, &b) && b) {
        if (plain || !json_object_is_type(b, json_type_string)) {
            return "has a value given twice, or base64 that is not text";
        }
        text = get_value(c, key, set);
        free(text);
        if (!text) {
            return "has base64 that does not decode";
        }
    }
    return NULL;
}

/* What is wrong with change c (NULL: nothing). */
static const char *check_change(json_object *c)
{
    static const char *const kinds[] = {
        "file", "file-removed", "registry-dword", "systemd-link",
        "sysv-link", "file-backup", "file-added", "registry-key",
    };
    json_object *k, *p, *root, *m;
    const char *kind, *why, *path;
    bool has_old, has_new, known = false;

    if (!json_object_is_type(c, json_type_object)) {
        return "is not an object";
    }
    if (!json_object_object_get_ex(c, "kind", &k) ||
        !json_object_is_type(k, json_type_string)) {
        return "has no kind";
    }
    kind = json_object_get_string(k);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        known = known || !strcmp(kind, kinds[i]);
    }
    if (!known) {
        return "is of a kind ovfkit does not make";
    }
    if (!json_object_object_get_ex(c, "path", &p) ||
        !json_object_is_type(p, json_type_string) ||
        !json_object_get_string(p)[0]) {
        return "has no path";
    }
    path = json_object_get_string(p);
    if (json_object_object_get_ex(c, "root", &root) && root &&
        !json_object_is_type(root, json_type_string)) {
        return "has a root that is not text";
    }
    if (json_object_object_get_ex(c, "mode", &m) &&
        (!json_object_is_type(m, json_type_int) ||
         json_object_get_int64(m) < 0 || json_object_get_int64(m) > 07777)) {
        return "has a mode that is not a file mode";
    }
    if ((why = check_value(c, "old", &has_old)) ||
        (why = check_value(c, "new", &has_new))) {
        return why;
    }
    if (!strcmp(kind, "registry-dword")) {
        const char *bar = strchr(path, '|');
        if (!bar || !strchr(bar + 1, '|') || !has_old || !has_new) {
            return "is a registry change without 'HIVE|KEY|VALUE' or "
                   "without its old and new value";
        }
    } else if (!strcmp(kind, "systemd-link") && !has_old) {
        return "is a removed link without its target";
    } else if (!strcmp(kind, "sysv-link") && !has_new) {
        return "is a renamed link without its new name";
    } else if (!strcmp(kind, "registry-key") && !strchr(path, '|')) {
        return "is a registry key without 'HIVE|KEY'";
    } else if (!strcmp(kind, "file-backup") && !has_old) {
        return "is a rebuilt file without the name of its kept original";
    } else if (!strcmp(kind, "file-removed") && !has_old) {
        return "is a removed file without its old content";
    } else if (!has_old && !has_new) {
        return "has neither an old nor a new value";
    }
    return NULL;
}

/*
 * The whole report is checked before any disk is opened: undo runs newest
 * change first, so a report cut or edited by hand would otherwise be half
 * undone before its bad change stopped it, and a damaged value read as
 * "did not exist" would remove the file.
 */
static int check_report(const char *report, json_object *o,
                        json_object *changes)
{
    json_object *v;
    size_t count = json_object_array_length(changes);

    if (json_object_object_get_ex(o, "version", &v) &&
        (!json_object_is_type(v, json_type_int) ||
         json_object_get_int(v) != 1)) {
        return ovfk_err_last(OVFK_EUNSUPPORTED, "'%s': report version '%s' "
                             "is not supported (1 is)", report,
                             json_object_get_string(v));
    }
    for (size_t i = 0; i < count; i++) {
        const char *why = check_change(json_object_array_get_idx(changes,
                                                                 i));
        if (why) {
            return ovfk_err_last(OVFK_ECORRUPT, "'%s' is not a valid sysprep "
                                 "report: change %zu %s; nothing was "
                                 "undone", report, i + 1, why);
        }
    }
    return 0;
}

int ovfk_sysprep_undo(const char *report, const char *const *disks, size_t n,
                 size_t *restored)
{
    json_object *o = json_object_from_file(report), *changes, *dry;
    struct undo u = { 0 };
    size_t count;
    int r = 0;

    *restored = 0;
    if (!o || !json_object_object_get_ex(o, "changes", &changes) ||
        !json_object_is_type(changes, json_type_array)) {
        /* one that cannot be read is not at fault: its errno */
        int e = !o && access(report, R_OK) != 0 ? -errno : OVFK_ECORRUPT;
        json_object_put(o);
        return ovfk_err_last(e, "'%s' is not an ovfkit sysprep report",
                             report);
    }
    if (json_object_object_get_ex(o, "dry_run", &dry) &&
        json_object_get_boolean(dry)) {
        json_object_put(o);
        return ovfk_err_last(-EINVAL, "'%s' is the report of a dry run: "
                             "nothing was changed", report);
    }
    r = check_report(report, o, changes);
    if (r < 0) {
        json_object_put(o);
        return r;
    }
    r = ovfk_sysprep_open(disks, n, false, &u.s);
    count = json_object_array_length(changes);
    for (size_t i = count; r == 0 && i-- > 0;) {
        size_t before = u.n_conflicts;
        r = undo_one(&u, json_object_array_get_idx(changes, i));
        if (r == 0 && u.n_conflicts == before) {
            (*restored)++;
        }
        r = r > 0 ? 0 : r;     /* 1: nothing to put back */
    }
    if (r < 0 && u.s) {
        ovfk_err_publish(&u.s->err);
    } else if (r == 0 && u.n_conflicts) {
        r = ovfk_err_last(-EEXIST, "%zu change%s left alone: changed since "
                          "the report (%s)", u.n_conflicts,
                          u.n_conflicts == 1 ? "" : "s", u.conflicts);
    }
    ovfk_sysprep_close(u.s);
    json_object_put(o);
    return r;
}

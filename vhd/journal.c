/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/journal.c - the merge journal (merge.c's NOTES): its text, reading
 * and writing it, and finding the journals that concern a file.  Below
 * open.c (a read-only open looks for a merge in flight, NOTES 6-8),
 * recover.c and merge.c; it opens no VHD itself.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/bytes.h"
#include "util/tmpfile.h"
#include "vhd/internal.h"

bool vhd_merge_alloc_fails(void)
{
    static _Atomic long count;
    const char *spec = getenv("OVFKIT_FAIL_ALLOC_AT");
    long n;

    if (!spec || (n = ++count) != atol(spec)) {
        return false;
    }
    fprintf(stderr, "ovfkit: OVFKIT_FAIL_ALLOC_AT=%ld: the merge's "
            "allocation %ld fails\n", n, n);
    return true;
}

void vhd_journal_free(struct journal *j)
{
    for (size_t i = 0; i < j->n_kids; i++) {
        free(j->kids[i].path);
    }
    free(j->kids);
    j->kids = NULL;
    j->n_kids = 0;
}

void vhd_journal_name(const char *child, char *out, size_t len)
{
    char d[PATH_MAX], b[PATH_MAX];

    snprintf(d, sizeof(d), "%s", child);
    snprintf(b, sizeof(b), "%s", child);
    snprintf(out, len, "%s/.%s.merge.json", dirname(d), basename(b));
}

/* A message for an allocation that failed while doing what. */
int vhd_merge_nomem(ovfk_err *err, const char *what, const char *path)
{
    return ovfk_err_set(err, -ENOMEM, "cannot %s '%s': out of memory", what,
                        path);
}

/* A json-c object the merge allocated (NULL when it failed, or fails by
 * OVFKIT_FAIL_ALLOC_AT). */
static json_object *m_json(json_object *o)
{
    if (o && vhd_merge_alloc_fails()) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* Add key = v to o (v is taken; put when it cannot be added). */
static bool jadd(json_object *o, const char *key, json_object *v)
{
    v = m_json(v);
    if (!o || !v || json_object_object_add(o, key, v) < 0) {
        json_object_put(v);
        return false;
    }
    return true;
}

/* Append v to array a (v is taken; put when it cannot be added). */
static bool jpush(json_object *a, json_object *v)
{
    if (!a || !v || json_object_array_add(a, v) < 0) {
        json_object_put(v);
        return false;
    }
    return true;
}

/*
 * The journal's text for state (allocated, the caller frees it): 0, or
 * -ENOMEM with the message in err.  Every G is in it, or it fails: a
 * journal listing fewer children would let recovery unlink C under one.
 */
int vhd_journal_render(const struct journal *j, const char *state,
                          char **out, ovfk_err *err)
{
    static const char digits[] = "0123456789abcdef";
    json_object *o = m_json(json_object_new_object());
    json_object *kids = m_json(json_object_new_array());
    char cu[37], pu[37], hex[2 * VHD_DYNHDR_SIZE + 1];
    const char *text;
    bool ok;

    *out = NULL;
    ovfk_vhd_uuid_str(j->child_uuid, cu);
    ovfk_vhd_uuid_str(j->parent_uuid, pu);
    ok = o && kids &&
         jadd(o, "version", json_object_new_int(1)) &&
         jadd(o, "state", json_object_new_string(state)) &&
         jadd(o, "child", json_object_new_string(j->child)) &&
         jadd(o, "parent", json_object_new_string(j->parent)) &&
         jadd(o, "keep_child", json_object_new_boolean(j->keep_child)) &&
         jadd(o, "child_uuid", json_object_new_string(cu)) &&
         jadd(o, "parent_uuid", json_object_new_string(pu));
    for (size_t i = 0; ok && i < j->n_kids; i++) {
        json_object *k = m_json(json_object_new_object());
        for (size_t b = 0; b < VHD_DYNHDR_SIZE; b++) {
            hex[2 * b] = digits[j->kids[i].old[b] >> 4];
            hex[2 * b + 1] = digits[j->kids[i].old[b] & 15];
        }
        hex[2 * VHD_DYNHDR_SIZE] = '\0';
        ok = k && jadd(k, "path", json_object_new_string(j->kids[i].path)) &&
             jadd(k, "header", json_object_new_string(hex));
        if (ok) {
            ok = jpush(kids, k);
        } else {
            json_object_put(k);
        }
    }
    if (ok) {
        ok = jadd(o, "children", kids);
    } else {
        json_object_put(kids);
    }
    text = ok ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY)
              : NULL;
    *out = text ? m_strdup(text) : NULL;
    json_object_put(o);
    if (!*out) {
        return vhd_merge_nomem(err, "write the merge journal", j->path);
    }
    return 0;
}

/* Replace the journal by text (journal_render's for state). */
int vhd_journal_write(struct journal *j, const char *state,
                         const char *text, ovfk_err *err)
{
    int r = ovfk_write_file_atomic(j->path, text, strlen(text));

    if (r < 0) {
        return ovfk_err_set(err, r, "cannot write the merge journal '%s': "
                            "%s", j->path, ovfk_errtext(r));
    }
    snprintf(j->state, sizeof(j->state), "%s", state);
    return 0;
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
    if (!s || strlen(s) != 2 * n) {
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return -EINVAL;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v)
                                                 : NULL;
}

int vhd_journal_read(const char *path, struct journal *j, ovfk_err *err)
{
    json_object *o = json_object_from_file(path), *kids;
    const char *s;
    int r = 0;

    memset(j, 0, sizeof(*j));
    snprintf(j->path, sizeof(j->path), "%s", path);
    if (o && vhd_merge_alloc_fails()) {
        json_object_put(o);
        return vhd_merge_nomem(err, "read the merge journal", path);
    }
    if (!o) {
        return ovfk_err_set(err, OVFK_ECORRUPT, "merge journal '%s' cannot "
                            "be read", path);
    }
    snprintf(j->state, sizeof(j->state), "%s", (s = jstr(o, "state")) ? s : "");
    snprintf(j->child, sizeof(j->child), "%s", (s = jstr(o, "child")) ? s : "");
    snprintf(j->parent, sizeof(j->parent), "%s",
             (s = jstr(o, "parent")) ? s : "");
    j->keep_child = json_object_object_get_ex(o, "keep_child", &kids) &&
                    json_object_get_boolean(kids);
    if (!j->child[0] || !j->parent[0] ||
        (strcmp(j->state, "copying") && strcmp(j->state, "repointing")) ||
        vhd_uuid_parse(jstr(o, "child_uuid"), j->child_uuid) < 0 ||
        vhd_uuid_parse(jstr(o, "parent_uuid"), j->parent_uuid) < 0 ||
        !json_object_object_get_ex(o, "children", &kids) ||
        !json_object_is_type(kids, json_type_array)) {
        r = ovfk_err_set(err, OVFK_ECORRUPT, "merge journal '%s' is "
                         "incomplete", path);
    }
    if (r == 0) {
        /* every child or none: one left out would not be re-pointed */
        size_t n = json_object_array_length(kids);
        j->kids = m_calloc(n + 1, sizeof(*j->kids));
        if (!j->kids) {
            r = vhd_merge_nomem(err, "read the merge journal", path);
        }
        for (size_t i = 0; r == 0 && i < n; i++) {
            json_object *k = json_object_array_get_idx(kids, i);
            const char *kp = jstr(k, "path");
            if (!kp || !kp[0] || unhex(jstr(k, "header"), j->kids[i].old,
                                       VHD_DYNHDR_SIZE) < 0) {
                r = ovfk_err_set(err, OVFK_ECORRUPT, "merge journal '%s': "
                                 "bad saved child", path);
            } else if (!(j->kids[i].path = m_strdup(kp))) {
                r = vhd_merge_nomem(err, "read the merge journal", path);
            } else {
                j->n_kids++;
            }
        }
    }
    json_object_put(o);
    return r;
}

/* Does the journal concern path (as child, parent or a re-pointed G)? */
bool vhd_journal_concerns(const struct journal *j, const char *abs)
{
    if (!strcmp(j->child, abs) || !strcmp(j->parent, abs)) {
        return true;
    }
    for (size_t i = 0; i < j->n_kids; i++) {
        if (!strcmp(j->kids[i].path, abs)) {
            return true;
        }
    }
    return false;
}


int vhd_journal_each(const char *abs, bool skip_bad, vhd_journal_fn fn,
                     void *opaque, char jp[PATH_MAX], ovfk_err *err)
{
    char dir[PATH_MAX];
    struct dirent *e;
    int r = 0;
    DIR *d;

    snprintf(jp, PATH_MAX, "%s", abs);
    snprintf(dir, sizeof(dir), "%s", dirname(jp));
    jp[0] = '\0';
    d = opendir(dir);
    if (!d) {
        /* a journal there cannot be ruled out */
        return ovfk_err_set(err, -errno, "cannot look for an interrupted "
                            "merge in '%s': %s", dir, ovfk_errtext(-errno));
    }
    while (r == 0 && (e = readdir(d))) {
        struct journal j;
        size_t n = strlen(e->d_name);
        if (e->d_name[0] != '.' || n < 12 ||
            strcmp(e->d_name + n - 11, ".merge.json")) {
            continue;
        }
        snprintf(jp, PATH_MAX, "%s/%s", dir, e->d_name);
        r = vhd_journal_read(jp, &j, err);
        if (r < 0 && skip_bad && r != -ENOMEM) {
            memset(err, 0, sizeof(*err));
            r = 0;
        } else if (r == 0 && vhd_journal_concerns(&j, abs)) {
            r = fn(&j, opaque);
        }
        vhd_journal_free(&j);
    }
    closedir(d);
    return r;
}

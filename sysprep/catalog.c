/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysprep/catalog.c - the catalog of services to disable: ovfkit's own
 * (data/sysprep-catalog.json) and the user's additions in the same format
 * (/etc/ovfkit/sysprep.d/ *.json, $XDG_CONFIG_HOME/ovfkit/sysprep.d/ *.json,
 * or ~/.config/..., and a file given on the command line).  A name given
 * to ovfk_sysprep_services_resolve is a section, an entry, or a service.
 */
#include <errno.h>
#include <glob.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "sysprep/internal.h"
#include "util/datadir.h"

#define MAX_CATALOG (1u << 20)

static int add(char ***v, size_t *n, const char *name)
{
    char **g;

    for (size_t i = 0; i < *n; i++) {
        if (!strcasecmp((*v)[i], name)) {
            return 0;
        }
    }
    g = realloc(*v, (*n + 2) * sizeof(*g));
    if (!g) {
        return -ENOMEM;
    }
    *v = g;
    g[*n] = strdup(name);
    if (!g[*n]) {
        return -ENOMEM;
    }
    (*n)++;
    g[*n] = NULL;
    return 0;
}

void ovfk_sysprep_services_free(struct ovfk_sysprep_services *set)
{
    for (size_t i = 0; i < set->n_win; i++) {
        free(set->win[i]);
    }
    for (size_t i = 0; i < set->n_lin; i++) {
        free(set->lin[i]);
    }
    free(set->win);
    free(set->lin);
    memset(set, 0, sizeof(*set));
}

static int add_list(json_object *entry, const char *key, char ***v,
                    size_t *n)
{
    json_object *arr;
    int r = 0;

    if (!json_object_object_get_ex(entry, key, &arr) ||
        !json_object_is_type(arr, json_type_array)) {
        return 0;
    }
    for (size_t i = 0; r == 0 && i < json_object_array_length(arr); i++) {
        json_object *s = json_object_array_get_idx(arr, i);
        if (json_object_is_type(s, json_type_string) &&
            json_object_get_string_len(s) > 0 &&
            json_object_get_string_len(s) < 256) {
            r = add(v, n, json_object_get_string(s));
        }
    }
    return r;
}

/* Load one catalog file; a missing file is no error unless required. */
static json_object *load(const char *path, bool required)
{
    struct stat st;
    json_object *o;

    if (stat(path, &st) != 0) {
        if (required) {
            ovfk_err_last(-ENOENT, "cannot read the catalog '%s'", path);
        }
        return NULL;
    }
    if (st.st_size > MAX_CATALOG) {
        ovfk_err_last(-EFBIG, "the catalog '%s' is larger than 1 MiB", path);
        return NULL;
    }
    o = json_object_from_file(path);
    if (!o || !json_object_is_type(o, json_type_object)) {
        ovfk_err_last(-EINVAL, "the catalog '%s' is not a JSON object: %s",
                      path, json_util_get_last_err() ?
                      json_util_get_last_err() : "");
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* Does the name match this catalog (a section or an entry)?  Add what it
 * names; return 1 when it matched. */
static int match(json_object *cat, const char *name,
                 struct ovfk_sysprep_services *out)
{
    json_object *sections;
    int found = 0, r = 0;

    if (!json_object_object_get_ex(cat, "sections", &sections) ||
        !json_object_is_type(sections, json_type_object)) {
        return 0;
    }
    json_object_object_foreach(sections, sname, list) {
        bool whole = !strcasecmp(sname, name);
        if (!json_object_is_type(list, json_type_array)) {
            continue;
        }
        for (size_t i = 0; r == 0 && i < json_object_array_length(list); i++) {
            json_object *e = json_object_array_get_idx(list, i), *n;
            bool pick = whole;
            if (!pick && json_object_object_get_ex(e, "name", &n) &&
                json_object_is_type(n, json_type_string)) {
                pick = !strcasecmp(json_object_get_string(n), name);
            }
            if (pick) {
                found = 1;
                r = add_list(e, "windows", &out->win, &out->n_win);
                if (r == 0) {
                    r = add_list(e, "linux", &out->lin, &out->n_lin);
                }
            }
        }
    }
    return r < 0 ? r : found;
}

int ovfk_sysprep_services_resolve(const char *const *names, size_t n,
                             const char *extra_catalog,
                             struct ovfk_sysprep_services *out)
{
    json_object *cats[64];
    size_t nc = 0;
    char path[PATH_MAX];
    const char *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");
    int r = 0;

    memset(out, 0, sizeof(*out));
    cats[nc] = load(ovfk_data_path("sysprep-catalog.json", path,
                                   sizeof(path)), true);
    if (!cats[nc]) {
        return -ENOENT;
    }
    nc++;
    {
        char pat[3][PATH_MAX];
        size_t np = 0;
        snprintf(pat[np++], PATH_MAX, "/etc/ovfkit/sysprep.d/*.json");
        if (xdg && *xdg) {
            snprintf(pat[np++], PATH_MAX, "%s/ovfkit/sysprep.d/*.json", xdg);
        } else if (home && *home) {
            snprintf(pat[np++], PATH_MAX, "%s/.config/ovfkit/sysprep.d/*.json",
                     home);
        }
        for (size_t p = 0; p < np; p++) {
            glob_t gl;
            if (glob(pat[p], 0, NULL, &gl) != 0) {
                continue;
            }
            for (size_t i = 0; i < gl.gl_pathc && nc < 62; i++) {
                cats[nc] = load(gl.gl_pathv[i], true);
                if (!cats[nc]) {
                    r = -EINVAL;
                    break;
                }
                nc++;
            }
            globfree(&gl);
        }
    }
    if (r == 0 && extra_catalog) {
        cats[nc] = load(extra_catalog, true);
        r = cats[nc] ? 0 : -EINVAL;
        nc += cats[nc] != NULL;
    }
    for (size_t i = 0; r == 0 && i < n; i++) {
        int found = 0;
        for (size_t c = 0; r == 0 && c < nc; c++) {
            int m = match(cats[c], names[i], out);
            r = m < 0 ? m : 0;
            found |= m > 0;
        }
        if (r == 0 && !found) {
            /* a service's own name, for both systems */
            if (strpbrk(names[i], "/\\") || !names[i][0]) {
                r = ovfk_err_last(-EINVAL, "'%s' is not a service name",
                                  names[i]);
            } else {
                r = add(&out->win, &out->n_win, names[i]);
                if (r == 0) {
                    r = add(&out->lin, &out->n_lin, names[i]);
                }
            }
        }
    }
    for (size_t c = 0; c < nc; c++) {
        json_object_put(cats[c]);
    }
    if (r < 0) {
        if (r == -ENOMEM) {
            ovfk_err_last(r, "out of memory");
        }
        ovfk_sysprep_services_free(out);
    }
    return r;
}

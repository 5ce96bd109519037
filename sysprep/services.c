/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysprep/services.c - disable services offline.
 *
 * Windows: in the SYSTEM hive (libguestfs's hivex calls), the value Start
 * of HKLM\SYSTEM\ControlSet00N\Services\NAME becomes 4 (disabled), in
 * every control set Select names (Current, Default, LastKnownGood): the
 * one that boots may be any of them.
 * Linux: what `systemctl disable` removes (the unit's links in
 * /etc/systemd/system/ *.wants and *.requires), and for SysV init what
 * `update-rc.d NAME disable` does (the start links S<NN>NAME in the
 * runlevel directories become K<NN>NAME).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysprep/internal.h"
#include "util/bytes.h"

#define REG_DWORD 4
#define SERVICE_DISABLED 4

/* --- Windows ------------------------------------------------------------- */

static int hive_dword(guestfs_h *g, int64_t node, const char *key,
                      uint32_t *out)
{
    int64_t v = guestfs_hivex_node_get_value(g, node, key);
    size_t len = 0;
    char *b;

    if (v <= 0) {
        return -ENOENT;
    }
    b = guestfs_hivex_value_value(g, v, &len);
    if (!b || len != 4) {
        free(b);
        return -EINVAL;
    }
    *out = get_le32((const uint8_t *)b);
    free(b);
    return 0;
}

int sp_hive_set_dword(guestfs_h *g, int64_t node, const char *key,
                      uint32_t value)
{
    uint8_t b[4];

    put_le32(b, value);
    return guestfs_hivex_node_set_value(g, node, key, REG_DWORD,
                                        (const char *)b, 4);
}

/* The guest path of the SYSTEM hive of a Windows OS. */
char *sp_system_hive(ovfk_sysprep *s, const char *root)
{
    char *sysroot = guestfs_inspect_get_windows_systemroot(s->g, root);
    char path[1024];
    char *real;

    if (!sysroot) {
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/system32/config/system", sysroot);
    free(sysroot);
    real = guestfs_case_sensitive_path(s->g, path);
    if (real && guestfs_is_file(s->g, real) <= 0) {
        free(real);
        real = NULL;
    }
    return real;
}

static int disable_windows(ovfk_sysprep *s, const char *root,
                           const struct ovfk_sysprep_services *set,
                           bool dry_run)
{
    static const char *const which[] = { "Current", "Default",
                                         "LastKnownGood" };
    guestfs_h *g = s->g;
    char *hive = sp_system_hive(s, root);
    int64_t top, select;
    uint32_t sets[3];
    size_t nsets = 0;
    bool dirty = false;
    int r = 0;

    if (!hive) {
        return ovfk_err_set(&s->err, -ENOENT, "no SYSTEM hive in the "
                            "Windows guest on %s", root);
    }
    if (guestfs_hivex_open(g, hive, GUESTFS_HIVEX_OPEN_WRITE, dry_run ? 0 : 1,
                           -1) < 0) {
        r = sp_guest_error(s, hive);
        free(hive);
        return r;
    }
    top = guestfs_hivex_root(g);
    select = top > 0 ? guestfs_hivex_node_get_child(g, top, "Select") : 0;
    for (size_t i = 0; select > 0 && i < 3; i++) {
        uint32_t v;
        bool seen = false;
        if (hive_dword(g, select, which[i], &v) < 0 || v == 0 || v > 999) {
            continue;
        }
        for (size_t k = 0; k < nsets; k++) {
            seen |= sets[k] == v;
        }
        if (!seen) {
            sets[nsets++] = v;
        }
    }
    if (nsets == 0) {
        sets[nsets++] = 1;      /* no Select key: ControlSet001 */
    }
    for (size_t k = 0; r == 0 && k < nsets; k++) {
        char csname[16], key[512], old[16];
        int64_t cs, services;
        snprintf(csname, sizeof(csname), "ControlSet%03u", sets[k]);
        cs = guestfs_hivex_node_get_child(g, top, csname);
        services = cs > 0 ? guestfs_hivex_node_get_child(g, cs, "Services")
                          : 0;
        for (size_t i = 0; r == 0 && services > 0 && i < set->n_win; i++) {
            int64_t svc = guestfs_hivex_node_get_child(g, services,
                                                       set->win[i]);
            uint32_t start;
            char *name;
            if (svc <= 0 || hive_dword(g, svc, "Start", &start) < 0 ||
                start == SERVICE_DISABLED) {
                continue;
            }
            /* the key's own spelling, for the report */
            name = guestfs_hivex_node_name(g, svc);
            snprintf(key, sizeof(key), "%s|%s\\Services\\%s|Start", hive,
                     csname, name ? name : set->win[i]);
            free(name);
            snprintf(old, sizeof(old), "%u", start);
            r = sp_record(s, "registry-dword", key, old, "4");
            if (r == 0 && !dry_run) {
                if (sp_hive_set_dword(g, svc, "Start", SERVICE_DISABLED) < 0) {
                    r = sp_guest_error(s, key);
                }
                dirty = true;
            }
        }
    }
    if (r == 0 && dirty && guestfs_hivex_commit(g, NULL) < 0) {
        r = sp_guest_error(s, "cannot write the SYSTEM hive");
    }
    guestfs_hivex_close(g);
    free(hive);
    return r;
}

/* --- Linux --------------------------------------------------------------- */

static bool has_unit_suffix(const char *name)
{
    static const char *const sfx[] = { ".service", ".socket", ".timer",
                                       ".mount", ".path", ".target" };
    size_t n = strlen(name);

    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        size_t l = strlen(sfx[i]);
        if (n > l && !strcmp(name + n - l, sfx[i])) {
            return true;
        }
    }
    return false;
}

/* Remove the unit's links in *.wants / *.requires of /etc/systemd/system. */
static int disable_unit(ovfk_sysprep *s, const char *unit, bool dry_run)
{
    static const char *const kinds[] = { "wants", "requires" };
    int r = 0;

    for (size_t k = 0; r == 0 && k < 2; k++) {
        char pat[600], **links;
        /* a unit name may hold glob characters (\x2d): escape them */
        char esc[512];
        size_t o = 0;
        for (const char *p = unit; *p && o + 2 < sizeof(esc); p++) {
            if (strchr("*?[]\\", *p)) {
                esc[o++] = '\\';
            }
            esc[o++] = *p;
        }
        esc[o] = '\0';
        snprintf(pat, sizeof(pat), "/etc/systemd/system/*.%s/%s", kinds[k],
                 esc);
        links = guestfs_glob_expand(s->g, pat);
        for (size_t i = 0; links && links[i]; i++) {
            char *target = r == 0 && guestfs_is_symlink(s->g, links[i]) > 0 ?
                           guestfs_readlink(s->g, links[i]) : NULL;
            if (target) {
                r = sp_record(s, "systemd-link", links[i], target, NULL);
                if (r == 0 && !dry_run && guestfs_rm(s->g, links[i]) < 0) {
                    r = sp_guest_error(s, links[i]);
                }
                free(target);
            }
            free(links[i]);
        }
        free(links);
    }
    return r;
}

/* S<NN>name -> K<NN>name in every runlevel directory. */
static int disable_sysv(ovfk_sysprep *s, const char *name, bool dry_run)
{
    static const char *const dirs[] = {
        "/etc/rc0.d", "/etc/rc1.d", "/etc/rc2.d", "/etc/rc3.d", "/etc/rc4.d",
        "/etc/rc5.d", "/etc/rc6.d", "/etc/rcS.d", "/etc/rc.d/rc0.d",
        "/etc/rc.d/rc1.d", "/etc/rc.d/rc2.d", "/etc/rc.d/rc3.d",
        "/etc/rc.d/rc4.d", "/etc/rc.d/rc5.d", "/etc/rc.d/rc6.d",
    };
    int r = 0;

    for (size_t d = 0; r == 0 && d < sizeof(dirs) / sizeof(dirs[0]); d++) {
        char **ents;
        if (guestfs_is_dir(s->g, dirs[d]) <= 0) {
            continue;
        }
        ents = guestfs_ls(s->g, dirs[d]);
        for (size_t i = 0; ents && ents[i]; i++) {
            const char *e = ents[i];
            if (r == 0 && e[0] == 'S' && e[1] >= '0' && e[1] <= '9' &&
                e[2] >= '0' && e[2] <= '9' && !strcmp(e + 3, name)) {
                char from[1024], to[1024];
                snprintf(from, sizeof(from), "%s/%s", dirs[d], e);
                snprintf(to, sizeof(to), "%s/K%s", dirs[d], e + 1);
                r = sp_record(s, "sysv-link", from, from, to);
                if (r == 0 && !dry_run && guestfs_mv(s->g, from, to) < 0) {
                    r = sp_guest_error(s, from);
                }
            }
            free(ents[i]);
        }
        free(ents);
    }
    return r;
}

static int disable_linux(ovfk_sysprep *s,
                         const struct ovfk_sysprep_services *set, bool dry_run)
{
    int r = 0;

    for (size_t i = 0; r == 0 && i < set->n_lin; i++) {
        const char *n = set->lin[i];
        if (has_unit_suffix(n)) {
            r = disable_unit(s, n, dry_run);
        } else {
            char unit[512];
            snprintf(unit, sizeof(unit), "%s.service", n);
            r = disable_unit(s, unit, dry_run);
            if (r == 0) {
                r = disable_sysv(s, n, dry_run);
            }
        }
    }
    return r;
}

int ovfk_sysprep_op_disable_services(ovfk_sysprep *s,
                                const struct ovfk_sysprep_services *set,
                                bool dry_run)
{
    int r = 0;

    for (size_t os = 0; r == 0 && os < s->n_os; os++) {
        r = sp_mount(s, os);
        if (r == 0 && !strcmp(s->os[os].type, "windows")) {
            r = disable_windows(s, s->os[os].root, set, dry_run);
        } else if (r == 0 && !strcmp(s->os[os].type, "linux")) {
            r = disable_linux(s, set, dry_run);
        }
    }
    return r;
}

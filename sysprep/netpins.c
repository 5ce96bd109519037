/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysprep/netpins.c - the net-mac-pins operation: configuration that ties
 * a NIC to its old MAC address makes a guest that gets new MACs (an
 * import) come up with renamed NICs and no network.  Cleaned, as
 * virt-sysprep's net-hwaddr and udev-persistent-net operations do:
 *
 *   /etc/udev/rules.d/70-persistent-net.rules    removed
 *   /etc/sysconfig/network-scripts/ifcfg-*       HWADDR= lines dropped
 *   /etc/sysconfig/network/ifcfg-* (SUSE)        HWADDR= / LLADDR= dropped
 *   /etc/NetworkManager/system-connections/...  mac-address= dropped
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysprep/internal.h"

/* Drop lines starting with any of keys; NULL when nothing changed. */
static char *drop_lines(const char *text, size_t len,
                        const char *const *keys, size_t *out_len)
{
    char *out = malloc(len + 1);
    size_t o = 0, pos = 0;
    bool changed = false;

    if (!out) {
        return NULL;
    }
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - line) + 1 : len - pos;
        const char *p = line;
        bool drop = false;
        while (p < line + l && (*p == ' ' || *p == '\t')) {
            p++;
        }
        for (size_t k = 0; keys[k]; k++) {
            drop |= !strncmp(p, keys[k], strlen(keys[k]));
        }
        if (drop) {
            changed = true;
        } else {
            memcpy(out + o, line, l);
            o += l;
        }
        pos += l;
    }
    if (!changed) {
        free(out);
        return NULL;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

static int clean_dir(ovfk_sysprep *s, const char *dir, const char *prefix,
                     const char *const *keys, bool dry_run)
{
    char **files, path[1024];
    int r = 0;

    if (guestfs_is_dir(s->g, dir) <= 0) {
        return 0;
    }
    files = guestfs_ls(s->g, dir);
    for (size_t i = 0; files && files[i]; i++) {
        size_t len = 0, nlen = 0;
        char *text, *fixed;
        if (r == 0 && !strncmp(files[i], prefix, strlen(prefix))) {
            snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
            text = sp_read_file(s, path, &len);
            fixed = text ? drop_lines(text, len, keys, &nlen) : NULL;
            if (fixed) {
                r = sp_write_file(s, path, fixed, nlen, text, dry_run);
            }
            free(fixed);
            free(text);
        }
        free(files[i]);
    }
    free(files);
    return r;
}

int ovfk_sysprep_op_net_mac_pins(ovfk_sysprep *s, bool dry_run)
{
    static const char *const hwaddr[] = { "HWADDR=", "LLADDR=", NULL };
    static const char *const nm[] = { "mac-address=", NULL };
    static const char *const rules[] = {
        "/etc/udev/rules.d/70-persistent-net.rules",
        "/etc/udev/rules.d/75-persistent-net-generator.rules",
    };
    int r = 0;

    for (size_t os = 0; r == 0 && os < s->n_os; os++) {
        if (strcmp(s->os[os].type, "linux") != 0) {
            continue;
        }
        r = sp_mount(s, os);
        for (size_t i = 0; r == 0 && i < 2; i++) {
            size_t len = 0;
            char *old = sp_read_file(s, rules[i], &len);
            if (old && i == 0) {
                r = sp_write_file(s, rules[i], NULL, 0, old, dry_run);
            }
            free(old);
        }
        if (r == 0) {
            r = clean_dir(s, "/etc/sysconfig/network-scripts", "ifcfg-",
                          hwaddr, dry_run);
        }
        if (r == 0) {
            r = clean_dir(s, "/etc/sysconfig/network", "ifcfg-", hwaddr,
                          dry_run);
        }
        if (r == 0) {
            r = clean_dir(s, "/etc/NetworkManager/system-connections", "",
                          nm, dry_run);
        }
    }
    return r;
}

int ovfk_sysprep_mac_pins(const char *const *disks, size_t n)
{
    ovfk_sysprep *s;
    int r = ovfk_sysprep_open(disks, n, false, &s);

    if (r < 0) {
        return r;
    }
    r = ovfk_sysprep_op_net_mac_pins(s, false);
    if (r < 0) {
        ovfk_err_publish(&s->err);
    }
    ovfk_sysprep_close(s);
    return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysprep/identity.c - the identity operations of Linux guests (as
 * virt-sysprep's): a clone must not keep its source's machine-id, SSH host
 * keys, hostname or DHCP leases.  Windows identity (the SID) is sysprep's
 * own business inside the guest; these operations leave Windows alone.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysprep/internal.h"

typedef int (*linux_fn)(ovfk_sysprep *s, const void *arg, bool dry_run);

static int each_linux(ovfk_sysprep *s, linux_fn fn, const void *arg,
                      bool dry_run)
{
    int r = 0;

    for (size_t os = 0; r == 0 && os < s->n_os; os++) {
        if (strcmp(s->os[os].type, "linux") != 0) {
            continue;
        }
        r = sp_mount(s, os);
        if (r == 0) {
            r = fn(s, arg, dry_run);
        }
    }
    return r;
}

/* Remove every file matching the glob patterns. */
static int remove_glob(ovfk_sysprep *s, const void *arg, bool dry_run)
{
    const char *const *pats = arg;
    int r = 0;

    for (size_t p = 0; r == 0 && pats[p]; p++) {
        char **files = guestfs_glob_expand(s->g, pats[p]);
        for (size_t i = 0; files && files[i]; i++) {
            if (r == 0 && guestfs_is_file(s->g, files[i]) > 0) {
                r = sp_remove_file(s, files[i], dry_run);
            }
            free(files[i]);
        }
        free(files);
    }
    return r;
}

static int machine_id(ovfk_sysprep *s, const void *arg, bool dry_run)
{
    size_t len = 0;
    char *old = sp_read_file(s, "/etc/machine-id", &len);
    int r = 0;

    (void)arg;
    /* empty, not removed: systemd then makes a new one at boot */
    if (old && len > 0 && !memchr(old, '\0', len)) {
        r = sp_write_file(s, "/etc/machine-id", "", 0, old, dry_run);
    }
    free(old);
    if (r == 0 && guestfs_is_symlink(s->g, "/var/lib/dbus/machine-id") == 0 &&
        guestfs_is_file(s->g, "/var/lib/dbus/machine-id") > 0) {
        r = sp_remove_file(s, "/var/lib/dbus/machine-id", dry_run);
    }
    return r;
}

int ovfk_sysprep_op_machine_id(ovfk_sysprep *s, bool dry_run)
{
    return each_linux(s, machine_id, NULL, dry_run);
}

int ovfk_sysprep_op_ssh_hostkeys(ovfk_sysprep *s, bool dry_run)
{
    static const char *const pats[] = { "/etc/ssh/ssh_host_*", NULL };

    return each_linux(s, remove_glob, pats, dry_run);
}

int ovfk_sysprep_op_dhcp_leases(ovfk_sysprep *s, bool dry_run)
{
    static const char *const pats[] = {
        "/var/lib/dhcp/*.leases", "/var/lib/dhcp/*.lease",
        "/var/lib/dhclient/*", "/var/lib/NetworkManager/*.lease",
        "/var/lib/systemd/network/*.lease", NULL,
    };

    return each_linux(s, remove_glob, pats, dry_run);
}

static int hostname(ovfk_sysprep *s, const void *arg, bool dry_run)
{
    const char *name = arg;
    char want[300];
    size_t len = 0;
    char *old = sp_read_file(s, "/etc/hostname", &len);
    int r = 0;

    snprintf(want, sizeof(want), "%s\n", name);
    if (!old || strcmp(old, want) != 0) {
        r = sp_write_file(s, "/etc/hostname", want, strlen(want), old,
                          dry_run);
    }
    free(old);
    return r;
}

int ovfk_sysprep_op_hostname(ovfk_sysprep *s, const char *name, bool dry_run)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > 253 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
                             != n || name[0] == '-' || name[0] == '.') {
        return ovfk_err_set(&s->err, -EINVAL, "'%s' is not a host name",
                            name ? name : "");
    }
    return each_linux(s, hostname, name, dry_run);
}

/* Adapters: every operation as the table calls it (name: the host name,
 * for the one operation that takes it). */
static int op_machine_id(ovfk_sysprep *s, const char *name, bool dry_run)
{
    return ovfk_sysprep_op_machine_id(s, dry_run);
}

static int op_ssh_hostkeys(ovfk_sysprep *s, const char *name, bool dry_run)
{
    return ovfk_sysprep_op_ssh_hostkeys(s, dry_run);
}

static int op_hostname(ovfk_sysprep *s, const char *name, bool dry_run)
{
    return ovfk_sysprep_op_hostname(s, name ? name : "localhost", dry_run);
}

static int op_net_mac_pins(ovfk_sysprep *s, const char *name, bool dry_run)
{
    return ovfk_sysprep_op_net_mac_pins(s, dry_run);
}

static int op_dhcp_leases(ovfk_sysprep *s, const char *name, bool dry_run)
{
    return ovfk_sysprep_op_dhcp_leases(s, dry_run);
}

/* The operations, once: ovfk_sysprep_op_names() lists them and
 * ovfk_sysprep_op_run() dispatches through the same rows. */
static const struct {
    const char *name;
    int (*fn)(ovfk_sysprep *s, const char *name, bool dry_run);
} ops[] = {
    { .name = "machine-id", .fn = op_machine_id },
    { .name = "ssh-hostkeys", .fn = op_ssh_hostkeys },
    { .name = "hostname", .fn = op_hostname },
    { .name = "net-mac-pins", .fn = op_net_mac_pins },
    { .name = "dhcp-leases", .fn = op_dhcp_leases },
};
#define N_OPS (sizeof(ops) / sizeof(ops[0]))

static const char *op_names[N_OPS + 1];
static pthread_once_t op_names_once = PTHREAD_ONCE_INIT;

static void fill_op_names(void)
{
    for (size_t i = 0; i < N_OPS; i++) {
        op_names[i] = ops[i].name;
    }
}

const char *const *ovfk_sysprep_op_names(void)
{
    pthread_once(&op_names_once, fill_op_names);
    return op_names;
}

int ovfk_sysprep_op_run(ovfk_sysprep *s, const char *op, const char *name,
                   bool dry_run)
{
    for (size_t i = 0; i < N_OPS; i++) {
        if (!strcmp(op, ops[i].name)) {
            return ops[i].fn(s, name, dry_run);
        }
    }
    return ovfk_err_set(&s->err, -EINVAL, "unknown operation '%s'", op);
}

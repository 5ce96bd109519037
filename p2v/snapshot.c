/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * p2v/snapshot.c - whether LVM snapshots (`lvcreate -s`) can make the
 * disks consistent: the kernel needs device-mapper, and the file systems
 * must sit on logical volumes.  The answer says why not, for the report
 * and for `--consistency auto`, which then freezes.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "p2v/internal.h"

/* device-mapper shows as /dev/mapper/control, the dm_mod module, or a
 * "device-mapper" line in /proc/misc when built in. */
static bool have_dm(void)
{
    FILE *f;
    char line[128];
    bool dm = access("/sys/module/dm_mod", F_OK) == 0;

    if (!dm && (f = fopen("/proc/misc", "re"))) {
        while (!dm && fgets(line, sizeof(line), f)) {
            dm = strstr(line, "device-mapper") != NULL;
        }
        fclose(f);
    }
    return dm;
}

/* Is a partition a physical volume, or held by a dm device (LV)? */
static bool on_lvm(const struct p2v_part *pt)
{
    char dir[300];
    const char *name = strrchr(pt->path, '/');
    DIR *dh;
    struct dirent *e;
    bool lvm = !strcmp(pt->fstype, "LVM2_member");

    snprintf(dir, sizeof(dir), "/sys/class/block/%s/holders",
             name ? name + 1 : pt->path);
    if (!lvm && (dh = opendir(dir))) {
        while (!lvm && (e = readdir(dh))) {
            lvm = !strncmp(e->d_name, "dm-", 3);
        }
        closedir(dh);
    }
    return lvm;
}

int p2v_snapshot_possible(struct p2v_disk *disks, size_t n, char *why,
                          size_t len)
{
    if (!have_dm()) {
        snprintf(why, len, "the kernel has no device-mapper (no dm_mod "
                 "module, no device-mapper in /proc/misc), which LVM "
                 "snapshots need");
        return -ENOTSUP;
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < disks[i].n_parts; j++) {
            if (!on_lvm(&disks[i].parts[j])) {
                snprintf(why, len, "'%s' is not on LVM",
                         disks[i].parts[j].path);
                return -ENOTSUP;
            }
        }
    }
    snprintf(why, len, "LVM snapshot capture is not implemented yet");
    return -ENOTSUP;
}

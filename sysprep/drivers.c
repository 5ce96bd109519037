/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysprep/drivers.c - what a guest can boot with, and making it able to
 * boot on virtio (issue 17), as virt-v2v does: inspect the kernels'
 * built-in drivers, initramfs contents and modules (Linux) or the driver
 * services of the SYSTEM hive (Windows); rebuild the initramfs inside the
 * guest with the virtio modules; rewrite device names for the new bus.
 */
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysprep/internal.h"

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++) {
        free(v[i]);
    }
    free(v);
}

static void add_detail(struct ovfk_sysprep_drivers *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_detail(struct ovfk_sysprep_drivers *d, const char *fmt, ...)
{
    size_t n = strlen(d->detail);
    va_list ap;

    if (n + 2 >= sizeof(d->detail)) {
        return;
    }
    if (n) {
        d->detail[n++] = ';';
        d->detail[n++] = ' ';
        d->detail[n] = '\0';
    }
    va_start(ap, fmt);
    vsnprintf(d->detail + n, sizeof(d->detail) - n, fmt, ap);
    va_end(ap);
}

int ovfk_sysprep_note(ovfk_sysprep *s, const char *fmt, ...)
{
    char **n = realloc(s->notes, (s->n_notes + 1) * sizeof(*n));
    va_list ap;
    int r;

    if (!n) {
        return ovfk_err_set(&s->err, -ENOMEM, "out of memory");
    }
    s->notes = n;
    va_start(ap, fmt);
    r = vasprintf(&n[s->n_notes], fmt, ap);
    va_end(ap);
    if (r < 0) {
        return ovfk_err_set(&s->err, -ENOMEM, "out of memory");
    }
    s->n_notes++;
    return 0;
}

/* --- Linux: inspection ---------------------------------------------------- */

/* Does a list of module paths (modules.builtin, modules.dep, an initramfs
 * listing) name module mod ("/virtio_blk.ko", then ".", ":" or the end)? */
static bool names_module(const char *text, const char *mod)
{
    char pat[64];
    size_t n;

    snprintf(pat, sizeof(pat), "/%s.ko", mod);
    n = strlen(pat);
    for (const char *p = text; p && (p = strstr(p, pat)); p += n) {
        char c = p[n];
        if (c == '\0' || c == '.' || c == ':' || c == '\n') {
            return true;
        }
    }
    return false;
}

/* The kernel's configuration says CONFIG_sym=y. */
static bool config_builtin(const char *config, const char *sym)
{
    char pat[80];

    snprintf(pat, sizeof(pat), "\nCONFIG_%s=y\n", sym);
    return config && strstr(config, pat);
}

/* The file list of an initramfs, one a line (NULL: cannot be read).
 * guestfs_initrd_list reads gzip'ed cpio; an initramfs with an early
 * microcode part or zstd (Debian 12's default) needs the guest's own
 * lsinitramfs / lsinitrd, run inside the guest. */
static char *initrd_files(ovfk_sysprep *s, const char *initrd, const char **how)
{
    char **l = guestfs_initrd_list(s->g, initrd);
    char *text = NULL;
    size_t len = 0;

    if (l) {
        for (size_t i = 0; l[i]; i++) {
            len += strlen(l[i]) + 2;
        }
        text = calloc(1, len + 1);
        for (size_t i = 0, o = 0; text && l[i]; i++) {
            o += (size_t)snprintf(text + o, len + 1 - o, "/%s\n", l[i]);
        }
        free_strv(l);
        *how = "initrd_list";
        return text;
    }
    for (int i = 0; i < 2 && !text; i++) {
        const char *tool = i == 0 ? "lsinitramfs" : "lsinitrd";
        char *argv[] = { (char *)tool, (char *)initrd, NULL };
        char path[64];
        snprintf(path, sizeof(path), "/usr/bin/%s", tool);
        if (guestfs_exists(s->g, path) <= 0) {
            snprintf(path, sizeof(path), "/usr/sbin/%s", tool);
            if (guestfs_exists(s->g, path) <= 0) {
                continue;
            }
        }
        text = guestfs_command(s->g, argv);
        *how = tool;
    }
    return text;
}

static bool guest_has(ovfk_sysprep *s, const char *const *paths)
{
    for (size_t i = 0; paths[i]; i++) {
        if (guestfs_exists(s->g, paths[i]) > 0) {
            return true;
        }
    }
    return false;
}

static const char *const initramfs_tools[] = {
    "/usr/sbin/update-initramfs", "/sbin/update-initramfs", NULL
};
static const char *const dracut_tools[] = {
    "/usr/bin/dracut", "/usr/sbin/dracut", "/sbin/dracut", NULL
};

/* The initramfs of kernel kv (Debian's or dracut's name), or NULL. */
static char *initrd_of(ovfk_sysprep *s, const char *kv)
{
    char path[512];

    snprintf(path, sizeof(path), "/boot/initrd.img-%s", kv);
    if (guestfs_is_file(s->g, path) > 0) {
        return strdup(path);
    }
    snprintf(path, sizeof(path), "/boot/initramfs-%s.img", kv);
    if (guestfs_is_file(s->g, path) > 0) {
        return strdup(path);
    }
    return NULL;
}

/* The kernel versions that can boot: /boot/vmlinuz-KV with modules. */
static char **kernels(ovfk_sysprep *s)
{
    char **l = guestfs_glob_expand(s->g, "/boot/vmlinuz-*");
    size_t k = 0;

    for (size_t i = 0; l && l[i]; i++) {
        const char *kv = l[i] + strlen("/boot/vmlinuz-");
        char mod[512];
        snprintf(mod, sizeof(mod), "/lib/modules/%s", kv);
        if (guestfs_is_dir(s->g, mod) > 0) {
            memmove(l[i], kv, strlen(kv) + 1);
            l[k++] = l[i];
        } else {
            free(l[i]);
        }
    }
    if (l) {
        l[k] = NULL;
    }
    return l;
}

static int linux_drivers(ovfk_sysprep *s, struct ovfk_sysprep_drivers *d)
{
    char **kv = kernels(s);
    bool all_blk = true, all_scsi = true, all_net = true, add = true;
    bool all_ahci = true, all_piix = true;
    size_t n = 0;

    if (!kv) {
        return sp_guest_error(s, "cannot list the guest's kernels");
    }
    for (size_t i = 0; kv[i]; i++, n++) {
        char path[512], *builtin, *dep, *config, *initrd, *files = NULL;
        const char *how = "";
        bool blk, scsi, ahci, piix, blk_mod, scsi_mod;
        snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin",
                 kv[i]);
        builtin = sp_read_file(s, path, NULL);
        snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", kv[i]);
        dep = sp_read_file(s, path, NULL);
        snprintf(path, sizeof(path), "/boot/config-%s", kv[i]);
        config = sp_read_file(s, path, NULL);
        initrd = initrd_of(s, kv[i]);
        if (initrd) {
            files = initrd_files(s, initrd, &how);
        }
#define BUILTIN(mod, sym) (names_module(builtin, mod) || \
                           config_builtin(config, sym))
#define BOOT(mod, sym) (BUILTIN(mod, sym) || names_module(files, mod))
        blk = BOOT("virtio_blk", "VIRTIO_BLK");
        scsi = BOOT("virtio_scsi", "SCSI_VIRTIO");
        ahci = BOOT("ahci", "SATA_AHCI");
        piix = BOOT("ata_piix", "ATA_PIIX");
        blk_mod = BUILTIN("virtio_blk", "VIRTIO_BLK") ||
                  names_module(dep, "virtio_blk");
        scsi_mod = BUILTIN("virtio_scsi", "SCSI_VIRTIO") ||
                   names_module(dep, "virtio_scsi");
        all_net &= BUILTIN("virtio_net", "VIRTIO_NET") ||
                   names_module(dep, "virtio_net");
#undef BOOT
#undef BUILTIN
        add_detail(d, "kernel %s: virtio_blk %s, virtio_scsi %s, ahci %s, "
                   "ata_piix %s (initramfs %s%s%s)", kv[i],
                   blk ? "at boot" : blk_mod ? "module only" : "absent",
                   scsi ? "at boot" : scsi_mod ? "module only" : "absent",
                   ahci ? "at boot" : "no", piix ? "at boot" : "no",
                   initrd ? initrd : "none", files ? " read by " : "",
                   files ? how : (initrd ? " unreadable" : ""));
        all_blk &= blk;
        all_scsi &= scsi;
        all_ahci &= ahci;
        all_piix &= piix;
        add &= blk_mod && scsi_mod;
        free(builtin);
        free(dep);
        free(config);
        free(initrd);
        free(files);
    }
    free_strv(kv);
    d->virtio_blk = n && all_blk;
    d->virtio_scsi = n && all_scsi;
    d->virtio_net = n && all_net;
    d->ahci = n && all_ahci;
    d->ata_piix = n && all_piix;
    d->virtio_addable = n && add && (guest_has(s, initramfs_tools) ||
                                     guest_has(s, dracut_tools));
    d->inspected = n > 0;
    if (n == 0) {
        add_detail(d, "no kernel with modules in /boot");
    }
    return 0;
}

/* --- Windows: inspection -------------------------------------------------- */

/* The current ControlSet's node of hive (open), or 0. */
static int64_t control_set(guestfs_h *g, char *name, size_t len)
{
    int64_t top = guestfs_hivex_root(g), sel, v;
    uint32_t cur = 1;

    sel = top > 0 ? guestfs_hivex_node_get_child(g, top, "Select") : 0;
    v = sel > 0 ? guestfs_hivex_node_get_value(g, sel, "Current") : 0;
    if (v > 0) {
        size_t n = 0;
        char *b = guestfs_hivex_value_value(g, v, &n);
        if (b && n == 4) {
            cur = (uint32_t)(uint8_t)b[0] | (uint32_t)(uint8_t)b[1] << 8;
        }
        free(b);
    }
    snprintf(name, len, "ControlSet%03u", cur);
    return top > 0 ? guestfs_hivex_node_get_child(g, top, name) : 0;
}

/* Is the driver's .sys in system32/drivers? */
static bool win_sys_file(ovfk_sysprep *s, const char *root, const char *drv)
{
    char *sysroot = guestfs_inspect_get_windows_systemroot(s->g, root);
    char path[512], *real;
    bool ok;

    if (!sysroot) {
        return false;
    }
    snprintf(path, sizeof(path), "%s/system32/drivers/%s.sys", sysroot, drv);
    free(sysroot);
    real = guestfs_case_sensitive_path(s->g, path);
    ok = real && guestfs_is_file(s->g, real) > 0;
    free(real);
    return ok;
}

static int windows_drivers(ovfk_sysprep *s, const char *root,
                           struct ovfk_sysprep_drivers *d)
{
    static const char *const drv[] = { "viostor", "vioscsi", "netkvm",
                                       "storahci" };
    bool have[4] = { false };
    char *hive = sp_system_hive(s, root), cs[32];
    int64_t set, services;

    if (!hive) {
        return ovfk_err_set(&s->err, -ENOENT, "no SYSTEM hive in the "
                            "Windows guest on %s", root);
    }
    if (guestfs_hivex_open(s->g, hive, GUESTFS_HIVEX_OPEN_WRITE, 0, -1) < 0) {
        int r = sp_guest_error(s, hive);
        free(hive);
        return r;
    }
    set = control_set(s->g, cs, sizeof(cs));
    services = set > 0 ? guestfs_hivex_node_get_child(s->g, set, "Services")
                       : 0;
    for (size_t i = 0; services > 0 && i < 4; i++) {
        int64_t k = guestfs_hivex_node_get_child(s->g, services, drv[i]);
        int64_t v = k > 0 ? guestfs_hivex_node_get_value(s->g, k, "Start")
                          : 0;
        size_t n = 0;
        char *b = v > 0 ? guestfs_hivex_value_value(s->g, v, &n) : NULL;
        bool enabled = k > 0 && !(b && n == 4 && (uint8_t)b[0] == 4);
        free(b);
        have[i] = enabled && win_sys_file(s, root, drv[i]);
        add_detail(d, "%s: %s", drv[i], have[i] ? "service and .sys" :
                   k > 0 ? (enabled ? "service without its .sys" :
                            "service disabled") : "absent");
    }
    guestfs_hivex_close(s->g);
    free(hive);
    d->virtio_blk = have[0];
    d->virtio_scsi = have[1];
    d->virtio_net = have[2];
    d->ahci = have[3];
    d->ata_piix = true;     /* atapi / intelide: in every Windows */
    d->inspected = true;
    return 0;
}

int ovfk_sysprep_drivers(ovfk_sysprep *s, size_t os,
                         struct ovfk_sysprep_drivers *out)
{
    const char *type;
    int r;

    memset(out, 0, sizeof(*out));
    if (os >= s->n_os) {
        return ovfk_err_set(&s->err, -EINVAL, "no operating system %zu", os);
    }
    type = s->os[os].type ? s->os[os].type : "";
    r = sp_mount(s, os);
    if (r < 0) {
        return r;
    }
    if (!strcmp(type, "windows")) {
        return windows_drivers(s, s->os[os].root, out);
    }
    if (!strcmp(type, "linux")) {
        return linux_drivers(s, out);
    }
    add_detail(out, "a %s guest: its drivers are not inspected", type);
    return 0;
}

/* --- Linux: initramfs with virtio ----------------------------------------- */

static const char *const virtio_mods[] = { "virtio_pci", "virtio_blk",
                                           "virtio_scsi" };

/* Add the virtio modules to a configuration file: one a line (Debian's
 * /etc/initramfs-tools/modules), or dracut's add_drivers+=" ... ". */
static int add_to_config(ovfk_sysprep *s, const char *path, bool dracut,
                         bool dry_run)
{
    char *old = sp_read_file(s, path, NULL), *text;
    size_t cap = (old ? strlen(old) : 0) + 256, len;
    int r;

    text = malloc(cap);
    if (!text) {
        free(old);
        return ovfk_err_set(&s->err, -ENOMEM, "out of memory");
    }
    snprintf(text, cap, "%s", old ? old : "");
    len = strlen(text);
    if (len && text[len - 1] != '\n') {
        text[len++] = '\n';
        text[len] = '\0';
    }
    if (dracut) {
        snprintf(text + len, cap - len, "# ovfkit: the virtio drivers of "
                 "the new platform\nadd_drivers+=\" virtio_pci virtio_blk "
                 "virtio_scsi \"\n");
    } else {
        for (size_t i = 0; i < 3; i++) {
            char line[64];
            snprintf(line, sizeof(line), "\n%s\n", virtio_mods[i]);
            if (!strstr(text, line) && strncmp(text, line + 1,
                                               strlen(line + 1))) {
                len = strlen(text);
                snprintf(text + len, cap - len, "%s\n", virtio_mods[i]);
            }
        }
    }
    r = old && !strcmp(old, text) ? 0 :
        sp_write_file(s, path, text, strlen(text), old, dry_run);
    free(old);
    free(text);
    return r;
}

int ovfk_sysprep_op_virtio_initramfs(ovfk_sysprep *s, size_t os, bool dry_run)
{
    bool dracut;
    char **kv;
    int r;

    if (os >= s->n_os || !s->os[os].type || strcmp(s->os[os].type, "linux")) {
        return ovfk_err_set(&s->err, -EINVAL, "not a Linux guest");
    }
    r = sp_mount(s, os);
    if (r < 0) {
        return r;
    }
    dracut = !guest_has(s, initramfs_tools);
    if (dracut && !guest_has(s, dracut_tools)) {
        return ovfk_err_set(&s->err, -ENOTSUP, "the guest on %s has neither "
                            "update-initramfs nor dracut: its initramfs "
                            "cannot get the virtio drivers",
                            s->os[os].root);
    }
    if (dracut && !dry_run) {
        guestfs_mkdir_p(s->g, "/etc/dracut.conf.d");
    }
    r = add_to_config(s, dracut ? "/etc/dracut.conf.d/ovfkit-virtio.conf" :
                      "/etc/initramfs-tools/modules", dracut, dry_run);
    kv = r == 0 ? kernels(s) : NULL;
    if (r == 0 && !kv) {
        r = sp_guest_error(s, "cannot list the guest's kernels");
    }
    for (size_t i = 0; r == 0 && kv[i]; i++) {
        char *initrd = initrd_of(s, kv[i]), bak[600], *out;
        /* -k KV: the appliance runs its own kernel, not the guest's */
        char *deb[] = { (char *)"update-initramfs", (char *)"-u", (char *)"-k",
                        kv[i], NULL };
        char *dra[] = { (char *)"dracut", (char *)"-f", initrd, kv[i], NULL };
        if (!initrd) {
            continue;   /* a kernel booted without one */
        }
        snprintf(bak, sizeof(bak), "%s.ovfkit-orig", initrd);
        r = sp_record(s, "file-backup", initrd, bak, "rebuilt with virtio");
        if (r == 0 && !dry_run) {
            if (guestfs_cp(s->g, initrd, bak) < 0) {
                r = sp_guest_error(s, bak);
            } else if (!(out = guestfs_command(s->g, dracut ? dra : deb))) {
                r = sp_guest_error(s, dracut ? "dracut" : "update-initramfs");
            } else {
                free(out);
            }
        }
        free(initrd);
    }
    free_strv(kv);
    return r;
}

/* --- Linux: device names -------------------------------------------------- */

/* text with every /dev/(sd|hd|xvd|vd)<letters>[digits] renamed to prefix;
 * NULL when nothing changes (or out of memory). */
static char *rename_devices(const char *text, const char *prefix)
{
    static const char *const pre[] = { "xvd", "sd", "hd", "vd" };
    size_t cap = strlen(text) * 2 + 1, o = 0;
    char *out = malloc(cap);
    bool changed = false;

    if (!out) {
        return NULL;
    }
    for (const char *p = text; *p;) {
        size_t k = 0, m = 0;
        bool hit = false;
        if (!strncmp(p, "/dev/", 5) && (p == text || p[-1] != '/')) {
            for (k = 0; k < 4 && !hit; k++) {
                size_t l = strlen(pre[k]);
                if (!strncmp(p + 5, pre[k], l) && p[5 + l] >= 'a' &&
                    p[5 + l] <= 'z') {
                    m = l;
                    hit = true;
                }
            }
            k--;
        }
        if (hit) {
            const char *q = p + 5 + m, *e = q;
            size_t letters;
            while (*e >= 'a' && *e <= 'z') {
                e++;
            }
            letters = (size_t)(e - q);
            while (*e >= '0' && *e <= '9') {
                e++;
            }
            /* a word of its own: /dev/sda1 yes, /dev/sdaX or /dev/sdcard no */
            if (letters <= 2 && !((*e >= 'a' && *e <= 'z') ||
                                  (*e >= 'A' && *e <= 'Z') || *e == '_')) {
                o += (size_t)snprintf(out + o, cap - o, "/dev/%s%.*s",
                                      prefix, (int)(e - q), q);
                changed |= strcmp(pre[k], prefix) != 0;
                p = e;
                continue;
            }
        }
        out[o++] = *p++;
        out[o] = '\0';
    }
    out[o] = '\0';
    if (!changed) {
        free(out);
        return NULL;
    }
    return out;
}

int ovfk_sysprep_op_device_names(ovfk_sysprep *s, size_t os, const char *prefix,
                                 bool dry_run)
{
    static const char *const files[] = {
        "/etc/fstab", "/etc/crypttab", "/etc/default/grub",
        "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/boot/grub/menu.lst",
        "/boot/grub/grub.conf", "/etc/grub.conf",
    };
    int r;

    if (os >= s->n_os || !s->os[os].type || strcmp(s->os[os].type, "linux")) {
        return 0;   /* Windows names disks by signature */
    }
    r = sp_mount(s, os);
    for (size_t i = 0; r == 0 && i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len = 0;
        char *old, *text;
        if (guestfs_is_symlink(s->g, files[i]) > 0) {
            continue;   /* /etc/grub.conf -> ../boot/grub/grub.conf */
        }
        old = sp_read_file(s, files[i], &len);
        if (!old || memchr(old, '\0', len)) {
            free(old);
            continue;
        }
        text = rename_devices(old, prefix);
        if (text) {
            r = sp_write_file(s, files[i], text, strlen(text), old, dry_run);
        }
        free(text);
        free(old);
    }
    return r;
}

/* --- Windows: virtio-win -------------------------------------------------- */

#define REG_SZ 1
#define REG_EXPAND_SZ 2
/* the device setup classes (Microsoft's GUIDs) */
#define SCSI_ADAPTER_CLASS "{4D36E97B-E325-11CE-BFC1-08002BE10318}"

/* What virt-v2v writes for a boot-critical virtio driver (its
 * windows_virtio.ml): the service, and a CriticalDeviceDatabase entry for
 * each PCI id so that the first boot on the new disk controller finds it
 * before Plug and Play runs. */
static const struct win_drv {
    const char *name;
    unsigned bit;
    const char *group;
    uint32_t start;
    const char *class_guid;
    const char *const pci[5];
} win_drvs[] = {
    { "viostor", 1, "SCSI miniport", 0, SCSI_ADAPTER_CLASS,
      { "pci#ven_1af4&dev_1001&subsys_00021af4&rev_00",
        "pci#ven_1af4&dev_1001&subsys_00021af4",
        "pci#ven_1af4&dev_1042&subsys_11001af4&rev_01",
        "pci#ven_1af4&dev_1042&subsys_11001af4", NULL } },
    { "vioscsi", 4, "SCSI miniport", 0, SCSI_ADAPTER_CLASS,
      { "pci#ven_1af4&dev_1004&subsys_00081af4&rev_00",
        "pci#ven_1af4&dev_1048&subsys_11001af4&rev_01", NULL } },
    { "netkvm", 2, "NDIS", 3, "{4D36E972-E325-11CE-BFC1-08002BE10318}",
      { "pci#ven_1af4&dev_1000&subsys_00011af4&rev_00",
        "pci#ven_1af4&dev_1041&subsys_11001af4&rev_01", NULL } },
};

/* The driver's .sys in a virtio-win tree (the ISO's NAME/<os>/<arch>/,
 * the older <arch>/<os>/, or DIR itself), or NULL. */
static char *find_sys(const char *dir, const char *name, const char *arch)
{
    char pat[1024];
    glob_t gl;

    for (size_t i = 0; i < 3; i++) {
        char *hit = NULL;
        if (i == 0) {
            snprintf(pat, sizeof(pat), "%s/%s/*/%s/%s.sys", dir, name, arch,
                     name);
        } else if (i == 1) {
            snprintf(pat, sizeof(pat), "%s/%s/*/%s.sys", dir, arch, name);
        } else {
            snprintf(pat, sizeof(pat), "%s/%s.sys", dir, name);
        }
        if (glob(pat, 0, NULL, &gl) == 0 && gl.gl_pathc > 0) {
            /* the newest Windows version directory sorts last */
            hit = strdup(gl.gl_pathv[gl.gl_pathc - 1]);
        }
        globfree(&gl);
        if (hit) {
            return hit;
        }
    }
    return NULL;
}

/* UTF-16LE with its terminator, for REG_SZ values; *len its bytes. */
static char *utf16(const char *s, size_t *len)
{
    size_t n = strlen(s);
    char *b = calloc(n + 1, 2);

    for (size_t i = 0; b && i < n; i++) {
        b[2 * i] = s[i];
    }
    *len = (n + 1) * 2;
    return b;
}

static int set_sz(guestfs_h *g, int64_t node, const char *key, int type,
                  const char *value)
{
    size_t len;
    char *b = utf16(value, &len);
    int r = b ? guestfs_hivex_node_set_value(g, node, key, type, b, len) : -1;

    free(b);
    return r;
}

/* Child name of parent, created (and recorded) when absent: its node. */
static int64_t child(ovfk_sysprep *s, const char *hive, int64_t parent,
                     const char *path, const char *name, bool *made)
{
    int64_t n = guestfs_hivex_node_get_child(s->g, parent, name);
    char spec[1024];

    *made = false;
    if (n > 0) {
        return n;
    }
    snprintf(spec, sizeof(spec), "%s|%s\\%s", hive, path, name);
    if (sp_record(s, "registry-key", spec, NULL, "created") < 0) {
        return -1;
    }
    *made = true;
    return guestfs_hivex_node_add_child(s->g, parent, name);
}

static int install_win_drv(ovfk_sysprep *s, const char *hive, int64_t set,
                           const char *cs, const char *sysroot,
                           const struct win_drv *d, const char *sys)
{
    char path[1024], dst[512], image[128], *real;
    int64_t services, svc, ctl, cdd;
    bool made;

    /* NTFS through ntfs-3g is case-sensitive: System32 as it is spelt */
    snprintf(dst, sizeof(dst), "%s/system32/drivers", sysroot);
    real = guestfs_case_sensitive_path(s->g, dst);
    if (!real || (guestfs_is_dir(s->g, real) <= 0 &&
                  guestfs_mkdir_p(s->g, real) < 0)) {
        free(real);
        return sp_guest_error(s, dst);
    }
    snprintf(dst, sizeof(dst), "%s/%s.sys", real, d->name);
    free(real);
    /* a .sys the guest has is its own (only its service was off) */
    if (guestfs_exists(s->g, dst) <= 0 &&
        (sp_record(s, "file-added", dst, NULL, sys) < 0 ||
         guestfs_upload(s->g, sys, dst) < 0)) {
        return sp_guest_error(s, dst);
    }
    services = guestfs_hivex_node_get_child(s->g, set, "Services");
    ctl = child(s, hive, set, cs, "Control", &made);
    if (services <= 0 || ctl <= 0) {
        return ovfk_err_set(&s->err, -ENOENT, "%s: no Services key in %s",
                            hive, cs);
    }
    snprintf(path, sizeof(path), "%s\\Services", cs);
    svc = child(s, hive, services, path, d->name, &made);
    if (svc <= 0) {
        return sp_guest_error(s, d->name);
    }
    snprintf(image, sizeof(image), "system32\\drivers\\%s.sys", d->name);
    if (!made) {
        /* the guest's own service (disabled, or without its .sys): only
         * its Start changes, recorded as the other services' are */
        int64_t v = guestfs_hivex_node_get_value(s->g, svc, "Start");
        size_t n = 0;
        char *b = v > 0 ? guestfs_hivex_value_value(s->g, v, &n) : NULL;
        char spec[1024], old[16], now[16];
        snprintf(spec, sizeof(spec), "%s|%s\\%s|Start", hive, path,
                 d->name);
        snprintf(old, sizeof(old), "%u", b && n == 4 ?
                 (unsigned)(uint8_t)b[0] : 3u);
        snprintf(now, sizeof(now), "%u", d->start);
        free(b);
        if (sp_record(s, "registry-dword", spec, old, now) < 0 ||
            sp_hive_set_dword(s->g, svc, "Start", d->start) < 0) {
            return sp_guest_error(s, d->name);
        }
    } else if (sp_hive_set_dword(s->g, svc, "Type", 1) < 0 ||
        sp_hive_set_dword(s->g, svc, "Start", d->start) < 0 ||
        sp_hive_set_dword(s->g, svc, "ErrorControl", 1) < 0 ||
        set_sz(s->g, svc, "Group", REG_SZ, d->group) < 0 ||
        set_sz(s->g, svc, "ImagePath", REG_EXPAND_SZ, image) < 0) {
        return sp_guest_error(s, d->name);
    }
    snprintf(path, sizeof(path), "%s\\Control", cs);
    cdd = child(s, hive, ctl, path, "CriticalDeviceDatabase", &made);
    snprintf(path, sizeof(path), "%s\\Control\\CriticalDeviceDatabase", cs);
    for (size_t i = 0; cdd > 0 && d->pci[i]; i++) {
        int64_t k = child(s, hive, cdd, path, d->pci[i], &made);
        if (k <= 0 || set_sz(s->g, k, "Service", REG_SZ, d->name) < 0 ||
            set_sz(s->g, k, "ClassGUID", REG_SZ, d->class_guid) < 0) {
            return sp_guest_error(s, d->pci[i]);
        }
    }
    return cdd > 0 ? 0 : sp_guest_error(s, "CriticalDeviceDatabase");
}

int ovfk_sysprep_op_virtio_win(ovfk_sysprep *s, size_t os, const char *dir,
                               unsigned *installed, bool dry_run)
{
    const char *arch;
    char *hive, *sysroot, cs[32];
    int64_t set;
    int r = 0;

    *installed = 0;
    if (os >= s->n_os || !s->os[os].type ||
        strcmp(s->os[os].type, "windows")) {
        return ovfk_err_set(&s->err, -EINVAL, "not a Windows guest");
    }
    arch = s->os[os].arch && !strcmp(s->os[os].arch, "i386") ? "x86"
                                                             : "amd64";
    r = sp_mount(s, os);
    if (r < 0) {
        return r;
    }
    hive = sp_system_hive(s, s->os[os].root);
    sysroot = guestfs_inspect_get_windows_systemroot(s->g, s->os[os].root);
    if (!hive || !sysroot) {
        free(hive);
        free(sysroot);
        return ovfk_err_set(&s->err, -ENOENT, "no SYSTEM hive in the "
                            "Windows guest on %s", s->os[os].root);
    }
    if (guestfs_hivex_open(s->g, hive, GUESTFS_HIVEX_OPEN_WRITE, !dry_run,
                           -1) < 0) {
        r = sp_guest_error(s, hive);
    }
    set = r == 0 ? control_set(s->g, cs, sizeof(cs)) : 0;
    if (r == 0 && set <= 0) {
        r = ovfk_err_set(&s->err, -ENOENT, "%s: no current ControlSet", hive);
    }
    for (size_t i = 0; r == 0 && i < sizeof(win_drvs) / sizeof(win_drvs[0]);
         i++) {
        char *sys = find_sys(dir, win_drvs[i].name, arch);
        if (!sys) {
            continue;
        }
        if (dry_run) {
            *installed |= win_drvs[i].bit;
        } else {
            r = install_win_drv(s, hive, set, cs, sysroot, &win_drvs[i], sys);
            if (r == 0) {
                *installed |= win_drvs[i].bit;
                ovfk_sysprep_note(s, "installed %s from '%s'",
                                  win_drvs[i].name, sys);
            }
        }
        free(sys);
    }
    if (r == 0 && !(*installed & 1)) {
        r = ovfk_err_set(&s->err, -ENOENT, "no viostor.sys for %s in the "
                         "virtio-win tree '%s'", arch, dir);
    }
    if (r == 0 && !dry_run && guestfs_hivex_commit(s->g, NULL) < 0) {
        r = sp_guest_error(s, "cannot write the SYSTEM hive");
    }
    if (set > 0 || r < 0) {
        guestfs_hivex_close(s->g);
    }
    free(hive);
    free(sysroot);
    return r;
}

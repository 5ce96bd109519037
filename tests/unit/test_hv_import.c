/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests: import planning (hv/import.c) on the dir store.  A VM with
 * several disks and NICs is made in one store, exported, and brought into
 * another: the plan names every disk and NIC, import and restore differ
 * only in identity, unknown networks and too little space are refused
 * before anything is written (the refused plan is still handed back), a
 * dry run shows the identity and paths the import then gives, new MACs
 * are never one written in the package, blank data disks do not start the
 * libguestfs appliance, and libvirt's test driver keeps no disk past its
 * connection.
 */
#include <stdbool.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "ovfkit/hv.h"
#include "ovfkit/vhd.h"
#include "tests/unit/harness.h"

/* The package's MACs: every new one must differ from these. */
static const char *const pkg_macs[] = { "02:17:42:2F:00:01",
                                        "02:17:42:2F:00:02",
                                        "02:17:42:2F:00:03" };

/*
 * Make VM name in the dir store "src" with the given disks (SIZE) and
 * NICs, write data (a seed per disk, 256 KiB at 1 MiB) unless mbr, where
 * the first disk gets a DOS partition table instead, and export it to
 * to (DIR or FILE.ova).
 */
static int make_package(const char *name, const char *const *disks,
                        size_t nd, const char *const *nics, size_t nn,
                        bool mbr, const char *to)
{
    struct ovfk_hv_create_opts co = { 0 };
    struct ovfk_hv_export_opts eo = { .to = to };
    struct ovfk_hv_vm *vm = NULL;
    ovfk_hv_conn *c;
    int r;

    if (ovfk_hv_connect("src", NULL, &c) < 0) {
        return -1;
    }
    ovfk_hv_net_add(c, "lan", NULL);
    ovfk_hv_net_add(c, "dmz", NULL);
    co.name = name;
    co.cpus = 2;
    co.memory_mib = 768;
    co.os_type = "Debian GNU/Linux 12 (32-bit)";
    co.disks = disks;
    co.n_disks = nd;
    co.nics = nics;
    co.n_nics = nn;
    r = ovfk_hv_vm_create(c, &co, &vm);
    for (size_t i = 0; r == 0 && i < vm->n_disks; i++) {
        static uint8_t data[256 << 10];
        ovfk_vhd *h;
        r = ovfk_vhd_open(vm->disks[i].path, OVFK_VHD_OPEN_RDWR, &h);
        if (r < 0) {
            break;
        }
        if (mbr && i == 0) {
            /* one Linux partition from sector 2048, and the signature */
            static const uint8_t entry[16] = { 0x00, 0x20, 0x21, 0x00, 0x83,
                                               0x00, 0x00, 0x00, 0x00, 0x08,
                                               0x00, 0x00, 0x00, 0x18 };
            memset(data, 0, 512);
            memcpy(data + 446, entry, sizeof(entry));
            data[510] = 0x55;
            data[511] = 0xaa;
            r = ovfk_vhd_pwrite(h, data, 512, 0);
        } else {
            t_fill(data, sizeof(data), i + 1);
            r = ovfk_vhd_pwrite(h, data, sizeof(data), 1 << 20);
        }
        ovfk_vhd_close(h);
    }
    ovfk_hv_vm_free(vm);
    if (r == 0) {
        r = ovfk_hv_export(c, name, &eo);
    }
    ovfk_hv_disconnect(c);
    return r;
}

/* The usual package: three disks, three NICs on two networks. */
static int usual_package(const char *to)
{
    static const char *const disks[] = { "16M", "8M", "4M" };
    static const char *const nics[] = { "lan,mac=02:17:42:2F:00:01",
                                        "dmz,mac=02:17:42:2F:00:02",
                                        "lan,mac=02:17:42:2F:00:03" };

    return make_package("web", disks, 3, nics, 3, false, to);
}

/* A target store with the networks lan and dmz (or only those given). */
static int target(const char *store, bool dmz, ovfk_hv_conn **c)
{
    int r = ovfk_hv_connect(store, NULL, c);

    if (r == 0) {
        r = ovfk_hv_net_add(*c, "lan", NULL);
    }
    if (r == 0 && dmz) {
        r = ovfk_hv_net_add(*c, "dmz", NULL);
    }
    return r;
}

static bool is_pkg_mac(const char *mac)
{
    for (size_t i = 0; i < 3; i++) {
        if (!strcasecmp(mac, pkg_macs[i])) {
            return true;
        }
    }
    return false;
}

static size_t vm_count(ovfk_hv_conn *c)
{
    struct ovfk_hv_vm **vms;
    size_t n = 0;

    if (ovfk_hv_list(c, &vms, &n) < 0) {
        return (size_t)-1;
    }
    ovfk_hv_list_free(vms, n);
    return n;
}

static bool mapped(const char *soname)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    bool found = false;

    while (f && !found && fgets(line, sizeof(line), f)) {
        found = strstr(line, soname) != NULL;
    }
    if (f) {
        fclose(f);
    }
    return found;
}

static void plan_names_every_disk_and_nic(void)
{
    struct ovfk_hv_import_opts o = { .mode = OVFK_HV_IMPORT, .dry_run = true,
                                .keep_guest_config = true };
    const char *skip[] = { "vmdisk2" }, *empty[] = { "vmdisk3" };
    struct ovfk_hv_plan *p = NULL;
    ovfk_hv_conn *c;

    CHECK_OK(usual_package("pkg.ova"), ovfk_last_error());
    CHECK_OK(target("dst", true, &c), ovfk_last_error());
    o.name = "copy";
    CHECK_OK(ovfk_hv_import(c, "pkg.ova", &o, &p), ovfk_hv_error(c));
    CHECK(!strcmp(p->vm->name, "copy"));
    CHECK_EQ(p->vm->cpus, 2);
    CHECK_EQ(p->vm->memory_mib, 768);
    CHECK_EQ(p->n_disks, 3);
    CHECK_EQ(p->vm->n_disks, 3);
    CHECK_EQ(p->disks[0].capacity, 16 << 20);
    CHECK_EQ(p->disks[1].capacity, 8 << 20);
    CHECK_EQ(p->disks[2].capacity, 4 << 20);
    for (size_t i = 0; i < 3; i++) {
        CHECK_MSG(!strcmp(p->disks[i].action, "import"), "disk %zu: '%s'",
                  i, p->disks[i].action);
        CHECK(p->disks[i].source && p->disks[i].target);
        CHECK(!strncmp(p->disks[i].target, p->space_dir,
                       strlen(p->space_dir)));
        CHECK(!strcmp(p->vm->disks[i].path, p->disks[i].target));
        for (size_t k = 0; k < i; k++) {
            CHECK(strcmp(p->disks[i].target, p->disks[k].target));
        }
    }
    CHECK_EQ(p->vm->disks[0].boot_order, 1);
    CHECK_EQ(p->vm->n_nics, 3);
    CHECK(!strcmp(p->vm->nics[0].network, "lan"));
    CHECK(!strcmp(p->vm->nics[1].network, "dmz"));
    CHECK(!strcmp(p->vm->nics[2].network, "lan"));
    for (size_t i = 0; i < 3; i++) {
        CHECK(!strncmp(p->vm->nics[i].mac, "02:17:42:2F:", 12));
        CHECK_MSG(!is_pkg_mac(p->vm->nics[i].mac), "NIC %zu got the "
                  "package's MAC %s", i, p->vm->nics[i].mac);
        for (size_t k = 0; k < i; k++) {
            CHECK(strcmp(p->vm->nics[i].mac, p->vm->nics[k].mac));
        }
    }
    CHECK(p->space_needed > 0 && p->space_free > 0);
    CHECK_EQ(p->guest, OVFK_HV_GUEST_KEPT);
    ovfk_hv_plan_free(p);

    /* skipped and empty disks: the VM keeps two, the empty one costs
     * only its metadata */
    o.skip_disks = skip;
    o.n_skip = 1;
    o.empty_disks = empty;
    o.n_empty = 1;
    CHECK_OK(ovfk_hv_import(c, "pkg.ova", &o, &p), ovfk_hv_error(c));
    CHECK(!strcmp(p->disks[0].action, "import"));
    CHECK(!strcmp(p->disks[1].action, "skip"));
    CHECK(p->disks[1].target == NULL && p->disks[1].space == 0);
    CHECK(!strcmp(p->disks[2].action, "empty"));
    CHECK(p->disks[2].space > 0 && p->disks[2].space < (1 << 20));
    CHECK_EQ(p->vm->n_disks, 2);
    CHECK_EQ(p->vm->disks[1].capacity, 4 << 20);
    ovfk_hv_plan_free(p);
    /* a dry run defines nothing */
    CHECK_EQ(vm_count(c), 0);
    ovfk_hv_disconnect(c);
}

/* Everything a plan says about identity and place, as one string. */
static void plan_key(const struct ovfk_hv_plan *p, char *buf, size_t len)
{
    char u[37];
    size_t n;

    ovfk_hv_uuid_str(p->vm->uuid, u);
    n = (size_t)snprintf(buf, len, "%s %s", p->vm->name, u);
    for (size_t i = 0; i < p->vm->n_nics && n < len; i++) {
        n += (size_t)snprintf(buf + n, len - n, " %s@%s", p->vm->nics[i].mac,
                              p->vm->nics[i].network);
    }
    for (size_t i = 0; i < p->n_disks && n < len; i++) {
        n += (size_t)snprintf(buf + n, len - n, " %s:%s:%s:%llu",
                              p->disks[i].id, p->disks[i].action,
                              p->disks[i].target ? p->disks[i].target : "-",
                              (unsigned long long)p->disks[i].capacity);
    }
}

static void dry_run_is_what_happens(void)
{
    struct ovfk_hv_import_opts o = { .mode = OVFK_HV_IMPORT, .dry_run = true,
                                .keep_guest_config = true, .name = "copy" };
    char dry[4096], done[4096], u1[37], u2[37];
    struct ovfk_hv_plan *p = NULL;
    struct ovfk_hv_vm *vm = NULL, *vm2 = NULL;
    ovfk_hv_conn *c;

    CHECK_OK(usual_package("pkg.ova"), ovfk_last_error());
    CHECK_OK(target("dst", true, &c), ovfk_last_error());
    CHECK_OK(ovfk_hv_import(c, "pkg.ova", &o, &p), ovfk_hv_error(c));
    plan_key(p, dry, sizeof(dry));
    ovfk_hv_plan_free(p);
    /* a second dry run, then the import itself: the same plan */
    CHECK_OK(ovfk_hv_import(c, "pkg.ova", &o, &p), ovfk_hv_error(c));
    plan_key(p, done, sizeof(done));
    ovfk_hv_plan_free(p);
    CHECK_MSG(!strcmp(dry, done), "two dry runs differ:\n  %s\n  %s", dry,
              done);
    o.dry_run = false;
    CHECK_OK(ovfk_hv_import(c, "pkg.ova", &o, &p), ovfk_hv_error(c));
    plan_key(p, done, sizeof(done));
    ovfk_hv_plan_free(p);
    CHECK_MSG(!strcmp(dry, done), "dry run and import differ:\n  dry:  %s\n"
              "  done: %s", dry, done);
    /* and the inventory holds exactly that */
    CHECK_OK(ovfk_hv_load(c, "copy", &vm), ovfk_hv_error(c));
    ovfk_hv_uuid_str(vm->uuid, u1);
    CHECK_MSG(strstr(dry, u1) != NULL, "defined UUID %s, planned %s", u1,
              dry);
    for (size_t i = 0; i < vm->n_nics; i++) {
        CHECK(strstr(dry, vm->nics[i].mac) != NULL);
    }
    for (size_t i = 0; i < vm->n_disks; i++) {
        struct stat st;
        CHECK(strstr(dry, vm->disks[i].path) != NULL);
        CHECK(stat(vm->disks[i].path, &st) == 0);
    }
    /* a second import (another name) gets another identity */
    o.name = "copy2";
    CHECK_OK(ovfk_hv_import(c, "pkg.ova", &o, NULL), ovfk_hv_error(c));
    CHECK_OK(ovfk_hv_load(c, "copy2", &vm2), ovfk_hv_error(c));
    ovfk_hv_uuid_str(vm2->uuid, u2);
    CHECK(strcmp(u1, u2) != 0);
    for (size_t i = 0; i < vm2->n_nics; i++) {
        for (size_t k = 0; k < vm->n_nics; k++) {
            CHECK(strcmp(vm2->nics[i].mac, vm->nics[k].mac));
        }
        CHECK(!is_pkg_mac(vm2->nics[i].mac));
    }
    ovfk_hv_vm_free(vm);
    ovfk_hv_vm_free(vm2);
    ovfk_hv_disconnect(c);
}

static void import_and_restore_differ_in_identity(void)
{
    struct ovfk_hv_import_opts o = { .mode = OVFK_HV_IMPORT,
                                .keep_guest_config = true, .name = "copy" };
    static const char *const other_nic[] = { "dmz,mac=02:17:42:2F:00:02" };
    struct ovfk_hv_create_opts co = { .name = "other", .cpus = 1,
                                 .memory_mib = 256, .nics = other_nic,
                                 .n_nics = 1 };
    struct ovfk_hv_vm *orig, *imp, *res;
    struct ovfk_hv_plan *p = NULL;
    ovfk_hv_conn *src, *c;

    CHECK_OK(usual_package("pkg.ova"), ovfk_last_error());
    CHECK_OK(ovfk_hv_connect("src", NULL, &src), ovfk_last_error());
    CHECK_OK(ovfk_hv_load(src, "web", &orig), ovfk_hv_error(src));
    ovfk_hv_disconnect(src);
    CHECK_OK(target("dst", true, &c), ovfk_last_error());

    CHECK_OK(ovfk_hv_import(c, "pkg.ova", &o, &p), ovfk_hv_error(c));
    CHECK(!p->replaces);
    CHECK(!strcmp(p->disks[0].action, "import"));
    ovfk_hv_plan_free(p);
    CHECK_OK(ovfk_hv_load(c, "copy", &imp), ovfk_hv_error(c));
    CHECK(memcmp(imp->uuid, orig->uuid, 16) != 0);
    for (size_t i = 0; i < 3; i++) {
        CHECK(!is_pkg_mac(imp->nics[i].mac));
    }

    o.mode = OVFK_HV_RESTORE;
    o.name = NULL;
    CHECK_OK(ovfk_hv_import(c, "pkg.ova", &o, &p), ovfk_hv_error(c));
    CHECK(!p->replaces);
    CHECK_MSG(!strcmp(p->disks[0].action, "restore"), "'%s'",
              p->disks[0].action);
    CHECK_EQ(p->guest, OVFK_HV_GUEST_NONE);
    ovfk_hv_plan_free(p);
    CHECK_OK(ovfk_hv_load(c, "web", &res), ovfk_hv_error(c));
    CHECK(!memcmp(res->uuid, orig->uuid, 16));
    for (size_t i = 0; i < 3; i++) {
        CHECK(!strcmp(res->nics[i].mac, pkg_macs[i]));
    }
    /* again: it exists now, so it replaces, only when forced */
    CHECK_ERR(ovfk_hv_import(c, "pkg.ova", &o, NULL), -EEXIST, ovfk_hv_error(c),
              "--force");
    o.force = true;
    CHECK_OK(ovfk_hv_import(c, "pkg.ova", &o, &p), ovfk_hv_error(c));
    CHECK(p->replaces);
    ovfk_hv_plan_free(p);
    ovfk_hv_vm_free(res);
    /* a restore whose MAC another VM has is refused, naming it */
    CHECK_OK(ovfk_hv_vm_remove(c, "web", false), ovfk_hv_error(c));
    CHECK_OK(ovfk_hv_vm_create(c, &co, NULL), ovfk_hv_error(c));
    o.force = false;
    CHECK_ERR(ovfk_hv_import(c, "pkg.ova", &o, NULL), -EEXIST, ovfk_hv_error(c),
              "MAC 02:17:42:2F:00:02 of NIC 2 belongs to VM 'other'");
    CHECK_ERR(ovfk_hv_load(c, "web", &res), -ENOENT, ovfk_hv_error(c),
              "no VM named");
    ovfk_hv_vm_free(imp);
    ovfk_hv_vm_free(orig);
    ovfk_hv_disconnect(c);
}

static void unknown_networks_are_refused(void)
{
    struct ovfk_hv_import_opts o = { .mode = OVFK_HV_IMPORT,
                                .keep_guest_config = true, .name = "copy" };
    struct ovfk_hv_map to_lan = { "dmz", "lan" }, to_none = { "dmz", "nosuch" };
    struct ovfk_hv_plan *p = NULL;
    ovfk_hv_conn *c;

    CHECK_OK(usual_package("pkg.ova"), ovfk_last_error());
    CHECK_OK(target("dst", false, &c), ovfk_last_error());
    CHECK_ERR(ovfk_hv_import(c, "pkg.ova", &o, &p), -ENOENT, ovfk_hv_error(c),
              "network 'dmz' does not exist on the target; map it with "
              "--network 'dmz'=NAME (available: lan)");
    CHECK(p == NULL);
    o.networks = &to_none;
    o.n_networks = 1;
    CHECK_ERR(ovfk_hv_import(c, "pkg.ova", &o, NULL), -ENOENT, ovfk_hv_error(c),
              "network 'nosuch' (from --network dmz=nosuch) does not "
              "exist on the target (available: lan)");
    CHECK_EQ(vm_count(c), 0);
    o.networks = &to_lan;
    o.dry_run = true;
    CHECK_OK(ovfk_hv_import(c, "pkg.ova", &o, &p), ovfk_hv_error(c));
    for (size_t i = 0; i < p->vm->n_nics; i++) {
        CHECK(!strcmp(p->vm->nics[i].network, "lan"));
    }
    ovfk_hv_plan_free(p);
    ovfk_hv_disconnect(c);
}

/* Too little space: refused before writing, and the plan is handed back
 * with both figures.  A 1 MiB tmpfs stands for a full disk (root only). */
static void too_little_space_keeps_the_plan(void)
{
    struct ovfk_hv_import_opts o = { .mode = OVFK_HV_IMPORT,
                                .keep_guest_config = true, .name = "copy" };
    struct ovfk_hv_plan *p = NULL;
    char small[4096];
    ovfk_hv_conn *c;
    int r;

    if (geteuid() != 0) {
        SKIP("needs root to mount a small tmpfs");
    }
    CHECK(getcwd(small, sizeof(small)) != NULL);
    strncat(small, "/small", sizeof(small) - strlen(small) - 1);
    CHECK(mkdir(small, 0755) == 0);
    if (mount("tmpfs", small, "tmpfs", 0, "size=1m") < 0) {
        SKIP("cannot mount a tmpfs here");
    }
    r = usual_package("pkg.ova");
    if (r == 0) {
        r = target("dst", true, &c);
    }
    if (r < 0) {
        umount(small);
        CHECK_OK(r, ovfk_last_error());
    }
    o.storage = small;
    for (int dry = 0; dry < 2; dry++) {
        o.dry_run = dry;
        r = ovfk_hv_import(c, "pkg.ova", &o, &p);
        if (r != -ENOSPC || !p) {
            break;
        }
        r = p->space_needed > p->space_free && p->n_disks == 3 &&
            p->space_free <= (1 << 20) &&
            !strcmp(p->space_dir, small) ? 0 : -1;
        ovfk_hv_plan_free(p);
        p = NULL;
        if (r < 0) {
            break;
        }
        r = -ENOSPC;
    }
    /* nothing was written: the tmpfs is empty */
    {
        char cmd[4200];
        snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", small);
        if (r == -ENOSPC && system(cmd) != 0) {
            r = -EEXIST;
        }
    }
    umount(small);
    CHECK_ERR(r, -ENOSPC, ovfk_hv_error(c), "not enough space in");
    CHECK(strstr(ovfk_hv_error(c), "choose another place with --storage"));
    CHECK_EQ(vm_count(c), 0);
    ovfk_hv_disconnect(c);
}

/*
 * Item 8: the package's MACs, wherever the descriptor writes them (RASD
 * Address, a vendor section's bare "0217422F0004"), are never handed out,
 * on the dir store and on libvirt.
 */
static void new_macs_avoid_the_package(void)
{
    static const char *const disks[] = { "4M" };
    static const char *const nics[] = { "lan,mac=02:17:42:2F:00:01",
                                        "dmz,mac=02:17:42:2F:00:02" };
    struct ovfk_hv_import_opts o = { .mode = OVFK_HV_IMPORT,
                                .keep_guest_config = true, .name = "copy" };
    struct ovfk_hv_map maps[] = { { "lan", "default" }, { "dmz", "default" } };
    struct ovfk_hv_plan *p = NULL;
    ovfk_hv_conn *c, *lv;
    char cmd[1024];

    CHECK_OK(make_package("web", disks, 1, nics, 2, false, "pkgdir"),
             ovfk_last_error());
    /* a vendor section with a MAC in VirtualBox's bare form; the
     * manifest no longer matches the edited descriptor and goes */
    snprintf(cmd, sizeof(cmd), "sed -i 's|</VirtualSystem>|<vbox:Machine "
             "xmlns:vbox=\"http://www.virtualbox.org/ovf/machine\" "
             "ovf:required=\"false\"><Info>vbox</Info><Adapter "
             "MACAddress=\"0217422F0004\"/></vbox:Machine></VirtualSystem>|' "
             "pkgdir/web.ovf && rm -f pkgdir/web.mf && grep -q "
             "0217422F0004 pkgdir/web.ovf");
    CHECK(system(cmd) == 0);
    CHECK_OK(target("dst", true, &c), ovfk_last_error());
    CHECK_OK(ovfk_hv_import(c, "pkgdir/web.ovf", &o, &p), ovfk_hv_error(c));
    /* the lowest free pool addresses not in the package: 03 and 05 */
    CHECK_MSG(!strcmp(p->vm->nics[0].mac, "02:17:42:2F:00:03") &&
              !strcmp(p->vm->nics[1].mac, "02:17:42:2F:00:05"),
              "new MACs %s %s (the package has 01, 02 and 04)",
              p->vm->nics[0].mac, p->vm->nics[1].mac);
    ovfk_hv_plan_free(p);
    ovfk_hv_disconnect(c);

    if (ovfk_hv_connect(NULL, "test:///default", &lv) < 0) {
        SKIP("libvirt's test driver is not available");
    }
    o.networks = maps;
    o.n_networks = 2;
    o.storage = ".";
    CHECK_OK(ovfk_hv_import(lv, "pkgdir/web.ovf", &o, &p), ovfk_hv_error(lv));
    for (size_t i = 0; i < 2; i++) {
        CHECK_MSG(strcmp(p->vm->nics[i].mac, "02:17:42:2F:00:01") &&
                  strcmp(p->vm->nics[i].mac, "02:17:42:2F:00:02") &&
                  strcmp(p->vm->nics[i].mac, "02:17:42:2F:00:04"),
                  "libvirt: NIC %zu got the package's MAC %s", i,
                  p->vm->nics[i].mac);
    }
    ovfk_hv_plan_free(p);
    ovfk_hv_disconnect(lv);
}

/* vm create takes NAME, not --name; import's message names --name. */
static void name_hints_fit_the_command(void)
{
    struct ovfk_hv_create_opts co = { .name = "bad-name", .cpus = 1,
                                 .memory_mib = 256 };
    struct ovfk_hv_import_opts o = { .mode = OVFK_HV_IMPORT,
                                .keep_guest_config = true,
                                .name = "bad-name" };
    ovfk_hv_conn *c;

    CHECK_OK(usual_package("pkg.ova"), ovfk_last_error());
    CHECK_OK(target("dst", true, &c), ovfk_last_error());
    CHECK_ERR(ovfk_hv_vm_create(c, &co, NULL), -EINVAL, ovfk_hv_error(c),
              "VM name 'bad-name' may use only letters, digits and '_'; "
              "choose another name");
    CHECK_MSG(!strstr(ovfk_hv_error(c), "--name"), "vm create's error: %s",
              ovfk_hv_error(c));
    CHECK_ERR(ovfk_hv_import(c, "pkg.ova", &o, NULL), -EINVAL, ovfk_hv_error(c),
              "choose another name with --name");
    ovfk_hv_disconnect(c);
}

static int count_warnings;

static void count_warn(void *opaque, const char *msg)
{
    (void)opaque;
    if (strstr(msg, "could not clean the guest's MAC-pinned")) {
        count_warnings++;
    }
}

/*
 * Data disks (no partition table, no file system) have no guest: the
 * appliance is not started for them, observed as libguestfs never being
 * loaded into this process.  A disk with a partition table is inspected:
 * libguestfs is loaded and its appliance started (LIBGUESTFS_HV=/bin/false
 * makes that start fail at once; the import still succeeds and says so).
 */
static void blank_disks_do_not_start_the_appliance(void)
{
    static const char *const disks[] = { "8M", "4M" };
    static const char *const nics[] = { "lan" };
    struct ovfk_hv_import_opts o = { .mode = OVFK_HV_IMPORT, .name = "data",
                                .warn = count_warn };
    struct ovfk_hv_plan *p = NULL;
    char *json;
    ovfk_hv_conn *c;

    if (mapped("libguestfs.so")) {
        SKIP("libguestfs is already loaded (run this case alone: "
             "TEST_CASE=blank_disks_do_not_start_the_appliance)");
    }
    setenv("LIBGUESTFS_HV", "/bin/false", 1);
    CHECK_OK(make_package("data", disks, 2, nics, 1, false, "data.ova"),
             ovfk_last_error());
    CHECK_OK(target("dst", true, &c), ovfk_last_error());
    count_warnings = 0;
    CHECK_OK(ovfk_hv_import(c, "data.ova", &o, &p), ovfk_hv_error(c));
    CHECK_MSG(p->guest == OVFK_HV_GUEST_BLANK, "guest fixup: %s",
              ovfk_hv_guest_fix_name(p->guest));
    CHECK(!mapped("libguestfs.so"));
    CHECK_EQ(count_warnings, 0);
    json = ovfk_hv_plan_to_json(p);
    CHECK(json && strstr(json, "\"status\": \"blank\""));
    free(json);
    ovfk_hv_plan_free(p);

    /* the counter-case: a DOS partition table on the first disk */
    CHECK_OK(make_package("part", disks, 2, nics, 1, true, "part.ova"),
             ovfk_last_error());
    o.name = "part";
    CHECK_OK(ovfk_hv_import(c, "part.ova", &o, &p), ovfk_hv_error(c));
    CHECK_MSG(p->guest == OVFK_HV_GUEST_FAILED, "guest fixup: %s",
              ovfk_hv_guest_fix_name(p->guest));
    CHECK(mapped("libguestfs.so"));
    CHECK_EQ(count_warnings, 1);
    ovfk_hv_plan_free(p);
    unsetenv("LIBGUESTFS_HV");
    ovfk_hv_disconnect(c);
}

/* libvirt's test driver forgets its VMs with the connection: their disks
 * go with it (and never into /var/lib/libvirt/images). */
static void test_driver_keeps_no_disk_past_its_connection(void)
{
    struct ovfk_hv_import_opts o = { .mode = OVFK_HV_IMPORT,
                                .keep_guest_config = true, .name = "lvt" };
    struct ovfk_hv_map maps[] = { { "lan", "default" }, { "dmz", "default" } };
    struct ovfk_hv_plan *p = NULL;
    char target_path[3][4096];
    struct stat st;
    bool left = false;
    ovfk_hv_conn *lv;

    CHECK_OK(usual_package("pkg.ova"), ovfk_last_error());
    if (ovfk_hv_connect(NULL, "test:///default", &lv) < 0) {
        SKIP("libvirt's test driver is not available");
    }
    o.networks = maps;
    o.n_networks = 2;
    CHECK_OK(ovfk_hv_import(lv, "pkg.ova", &o, &p), ovfk_hv_error(lv));
    CHECK_EQ(p->n_disks, 3);
    for (size_t i = 0; i < 3; i++) {
        snprintf(target_path[i], sizeof(target_path[i]), "%s",
                 p->disks[i].target);
    }
    ovfk_hv_plan_free(p);
    CHECK(stat(target_path[0], &st) == 0);
    ovfk_hv_disconnect(lv);
    for (size_t i = 0; i < 3; i++) {
        if (stat(target_path[i], &st) == 0) {
            unlink(target_path[i]);     /* not left where it was put */
            left = true;
        }
    }
    CHECK_MSG(!left, "'%s' outlived the test driver's VM", target_path[0]);
    CHECK_MSG(strncmp(target_path[0], "/var/lib/libvirt/", 17) != 0, "%s",
              target_path[0]);
}

TEST_MAIN(T(blank_disks_do_not_start_the_appliance),
          T(plan_names_every_disk_and_nic), T(dry_run_is_what_happens),
          T(import_and_restore_differ_in_identity),
          T(unknown_networks_are_refused),
          T(too_little_space_keeps_the_plan),
          T(new_macs_avoid_the_package), T(name_hints_fit_the_command),
          T(test_driver_keeps_no_disk_past_its_connection))

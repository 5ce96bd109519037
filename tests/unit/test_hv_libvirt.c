/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests: the libvirt driver against libvirt's own test:///default
 * driver (in process: it forgets everything when the connection closes).
 * A VM made in the dir store is exported, imported into libvirt (new
 * UUID and MACs) and restored (the same ones), and read back from the
 * domain XML libvirt keeps.
 */
#include "ovfkit/hv.h"
#include "ovfkit/vhd.h"
#include "tests/unit/harness.h"

static char cwd[4096];

static int make_package(void)
{
    struct ovfk_hv_create_opts co = { 0 };
    struct ovfk_hv_export_opts eo = { .to = "pkg.ova" };
    const char *disks[] = { "16M" };
    const char *nics[] = { "default,mac=02:17:42:2F:AA:01" };
    struct ovfk_hv_vm *vm;
    ovfk_hv_conn *c;
    int r;

    if (!getcwd(cwd, sizeof(cwd)) || ovfk_hv_connect("store", NULL, &c) < 0) {
        return -1;
    }
    co.name = "lv1";
    co.cpus = 2;
    co.memory_mib = 768;
    co.os_type = "Red Hat Enterprise Linux 4 (32-bit)";
    co.disks = disks;
    co.n_disks = 1;
    co.nics = nics;
    co.n_nics = 1;
    r = ovfk_hv_vm_create(c, &co, &vm);
    if (r == 0) {
        uint8_t data[4096];
        ovfk_vhd *h;
        memset(data, 0x42, sizeof(data));
        if (ovfk_vhd_open(vm->disks[0].path, OVFK_VHD_OPEN_RDWR, &h) == 0) {
            ovfk_vhd_pwrite(h, data, sizeof(data), 1 << 20);
            ovfk_vhd_close(h);
        }
        ovfk_hv_vm_free(vm);
        r = ovfk_hv_export(c, "lv1", &eo);
    }
    ovfk_hv_disconnect(c);
    return r;
}

static void test_driver_round_trip(void)
{
    struct ovfk_hv_import_opts io = { .mode = OVFK_HV_IMPORT,
                                 .keep_guest_config = true,
                                 .storage = cwd };
    struct ovfk_hv_vm *orig, *imp, *res;
    struct ovfk_hv_plan *plan;
    ovfk_hv_conn *dir, *lv;
    uint8_t buf[4096];
    ovfk_vhd *h;

    CHECK_OK(make_package(), ovfk_last_error());
    CHECK_OK(ovfk_hv_connect("store", NULL, &dir), ovfk_last_error());
    CHECK_OK(ovfk_hv_load(dir, "lv1", &orig), ovfk_hv_error(dir));
    CHECK_OK(ovfk_hv_connect(NULL, "test:///default", &lv), ovfk_last_error());
    CHECK(!strcmp(ovfk_hv_driver_name(lv), "libvirt"));

    /* import: new UUID, new MACs, same settings, disk readable */
    io.name = "lvimported";
    CHECK_OK(ovfk_hv_import(lv, "pkg.ova", &io, &plan), ovfk_hv_error(lv));
    ovfk_hv_plan_free(plan);
    CHECK_OK(ovfk_hv_load(lv, "lvimported", &imp), ovfk_hv_error(lv));
    CHECK(memcmp(imp->uuid, orig->uuid, 16) != 0);
    CHECK_EQ(imp->cpus, 2);
    CHECK_EQ(imp->memory_mib, 768);
    CHECK(!strcmp(imp->os_type, orig->os_type));
    CHECK_EQ(imp->n_nics, 1);
    CHECK(strcmp(imp->nics[0].mac, "02:17:42:2F:AA:01") != 0);
    CHECK(!strncmp(imp->nics[0].mac, "02:17:42:2F:", 12));
    CHECK(!strcmp(imp->nics[0].network, "default"));
    CHECK_EQ(imp->n_disks, 1);
    CHECK(!strcmp(imp->disks[0].format, "vhd"));
    CHECK_OK(ovfk_vhd_open(imp->disks[0].path, 0, &h), ovfk_last_error());
    CHECK_OK(ovfk_vhd_pread(h, buf, sizeof(buf), 1 << 20), ovfk_vhd_error(h));
    ovfk_vhd_close(h);
    CHECK(buf[0] == 0x42 && buf[4095] == 0x42);

    /* restore: the original UUID and MAC */
    io.mode = OVFK_HV_RESTORE;
    io.name = NULL;
    CHECK_OK(ovfk_hv_import(lv, "pkg.ova", &io, &plan), ovfk_hv_error(lv));
    CHECK(!plan->replaces);
    ovfk_hv_plan_free(plan);
    CHECK_OK(ovfk_hv_load(lv, "lv1", &res), ovfk_hv_error(lv));
    CHECK(!memcmp(res->uuid, orig->uuid, 16));
    CHECK(!strcmp(res->nics[0].mac, "02:17:42:2F:AA:01"));
    /* a second restore replaces it (forced: no terminal here) */
    CHECK_ERR(ovfk_hv_import(lv, "pkg.ova", &io, NULL), -EEXIST,
              ovfk_hv_error(lv), "--force");
    io.force = true;
    CHECK_OK(ovfk_hv_import(lv, "pkg.ova", &io, &plan), ovfk_hv_error(lv));
    CHECK(plan->replaces);
    ovfk_hv_plan_free(plan);

    /* export from libvirt, restore into a fresh dir store: same identity */
    {
        struct ovfk_hv_export_opts eo = { .to = "fromlv.ova" };
        struct ovfk_hv_vm *back;
        ovfk_hv_conn *dir2;
        io.force = false;
        io.storage = NULL;
        CHECK_OK(ovfk_hv_export(lv, "lv1", &eo), ovfk_hv_error(lv));
        CHECK_OK(ovfk_hv_connect("store2", NULL, &dir2), ovfk_last_error());
        CHECK_OK(ovfk_hv_net_add(dir2, "default", NULL), ovfk_hv_error(dir2));
        CHECK_OK(ovfk_hv_import(dir2, "fromlv.ova", &io, NULL),
                 ovfk_hv_error(dir2));
        CHECK_OK(ovfk_hv_load(dir2, "lv1", &back), ovfk_hv_error(dir2));
        CHECK(!memcmp(back->uuid, orig->uuid, 16));
        CHECK(!strcmp(back->nics[0].mac, "02:17:42:2F:AA:01"));
        CHECK(!strcmp(back->os_type, orig->os_type));
        ovfk_hv_vm_free(back);
        ovfk_hv_disconnect(dir2);
    }
    /* remove */
    ovfk_hv_vm_free(imp);
    CHECK_OK(ovfk_hv_vm_remove(lv, "lvimported", false), ovfk_hv_error(lv));
    CHECK_ERR(ovfk_hv_load(lv, "lvimported", &imp), -ENOENT, ovfk_hv_error(lv),
              "no VM named");
    ovfk_hv_vm_free(res);
    ovfk_hv_vm_free(orig);
    ovfk_hv_disconnect(lv);
    ovfk_hv_disconnect(dir);
}

static void unknown_network_is_refused(void)
{
    struct ovfk_hv_import_opts io = { .mode = OVFK_HV_IMPORT,
                                 .keep_guest_config = true, .storage = cwd };
    struct ovfk_hv_map map = { "default", "nosuchnet" };
    ovfk_hv_conn *lv;

    CHECK_OK(make_package(), ovfk_last_error());
    CHECK_OK(ovfk_hv_connect(NULL, "test:///default", &lv), ovfk_last_error());
    io.networks = &map;
    io.n_networks = 1;
    io.name = "lvnet";
    CHECK_ERR(ovfk_hv_import(lv, "pkg.ova", &io, NULL), -ENOENT,
              ovfk_hv_error(lv),
              "network 'nosuchnet' (from --network default=nosuchnet) does not "
              "exist on the target");
    ovfk_hv_disconnect(lv);
}

TEST_MAIN(T(test_driver_round_trip), T(unknown_network_is_refused))

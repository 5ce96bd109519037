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
    struct hv_create_opts co = { 0 };
    struct hv_export_opts eo = { .to = "pkg.ova" };
    const char *disks[] = { "16M" };
    const char *nics[] = { "default,mac=02:17:42:2F:AA:01" };
    struct hv_vm *vm;
    hv_conn *c;
    int r;

    if (!getcwd(cwd, sizeof(cwd)) || hv_connect("store", NULL, &c) < 0) {
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
    r = hv_vm_create(c, &co, &vm);
    if (r == 0) {
        uint8_t data[4096];
        vhd_t *h;
        memset(data, 0x42, sizeof(data));
        if (vhd_open(vm->disks[0].path, VHD_OPEN_RDWR, &h) == 0) {
            vhd_pwrite(h, data, sizeof(data), 1 << 20);
            vhd_close(h);
        }
        hv_vm_free(vm);
        r = hv_export(c, "lv1", &eo);
    }
    hv_disconnect(c);
    return r;
}

static void test_driver_round_trip(void)
{
    struct hv_import_opts io = { .mode = HV_IMPORT,
                                 .keep_guest_config = true,
                                 .storage = cwd };
    struct hv_vm *orig, *imp, *res;
    struct hv_plan *plan;
    hv_conn *dir, *lv;
    uint8_t buf[4096];
    vhd_t *h;

    CHECK_OK(make_package(), ovfk_last_error());
    CHECK_OK(hv_connect("store", NULL, &dir), ovfk_last_error());
    CHECK_OK(hv_load(dir, "lv1", &orig), hv_error(dir));
    CHECK_OK(hv_connect(NULL, "test:///default", &lv), ovfk_last_error());
    CHECK(!strcmp(hv_driver_name(lv), "libvirt"));

    /* import: new UUID, new MACs, same settings, disk readable */
    io.name = "lvimported";
    CHECK_OK(hv_import(lv, "pkg.ova", &io, &plan), hv_error(lv));
    hv_plan_free(plan);
    CHECK_OK(hv_load(lv, "lvimported", &imp), hv_error(lv));
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
    CHECK_OK(vhd_open(imp->disks[0].path, 0, &h), ovfk_last_error());
    CHECK_OK(vhd_pread(h, buf, sizeof(buf), 1 << 20), vhd_error(h));
    vhd_close(h);
    CHECK(buf[0] == 0x42 && buf[4095] == 0x42);

    /* restore: the original UUID and MAC */
    io.mode = HV_RESTORE;
    io.name = NULL;
    CHECK_OK(hv_import(lv, "pkg.ova", &io, &plan), hv_error(lv));
    CHECK(!plan->replaces);
    hv_plan_free(plan);
    CHECK_OK(hv_load(lv, "lv1", &res), hv_error(lv));
    CHECK(!memcmp(res->uuid, orig->uuid, 16));
    CHECK(!strcmp(res->nics[0].mac, "02:17:42:2F:AA:01"));
    /* a second restore replaces it (forced: no terminal here) */
    CHECK_ERR(hv_import(lv, "pkg.ova", &io, NULL), -EEXIST, hv_error(lv),
              "--force");
    io.force = true;
    CHECK_OK(hv_import(lv, "pkg.ova", &io, &plan), hv_error(lv));
    CHECK(plan->replaces);
    hv_plan_free(plan);

    /* export from libvirt, restore into a fresh dir store: same identity */
    {
        struct hv_export_opts eo = { .to = "fromlv.ova" };
        struct hv_vm *back;
        hv_conn *dir2;
        io.force = false;
        io.storage = NULL;
        CHECK_OK(hv_export(lv, "lv1", &eo), hv_error(lv));
        CHECK_OK(hv_connect("store2", NULL, &dir2), ovfk_last_error());
        CHECK_OK(hv_net_add(dir2, "default", NULL), hv_error(dir2));
        CHECK_OK(hv_import(dir2, "fromlv.ova", &io, NULL), hv_error(dir2));
        CHECK_OK(hv_load(dir2, "lv1", &back), hv_error(dir2));
        CHECK(!memcmp(back->uuid, orig->uuid, 16));
        CHECK(!strcmp(back->nics[0].mac, "02:17:42:2F:AA:01"));
        CHECK(!strcmp(back->os_type, orig->os_type));
        hv_vm_free(back);
        hv_disconnect(dir2);
    }
    /* remove */
    hv_vm_free(imp);
    CHECK_OK(hv_vm_remove(lv, "lvimported", false), hv_error(lv));
    CHECK_ERR(hv_load(lv, "lvimported", &imp), -ENOENT, hv_error(lv),
              "no VM named");
    hv_vm_free(res);
    hv_vm_free(orig);
    hv_disconnect(lv);
    hv_disconnect(dir);
}

static void unknown_network_is_refused(void)
{
    struct hv_import_opts io = { .mode = HV_IMPORT,
                                 .keep_guest_config = true, .storage = cwd };
    struct hv_map map = { "default", "nosuchnet" };
    hv_conn *lv;

    CHECK_OK(make_package(), ovfk_last_error());
    CHECK_OK(hv_connect(NULL, "test:///default", &lv), ovfk_last_error());
    io.networks = &map;
    io.n_networks = 1;
    io.name = "lvnet";
    CHECK_ERR(hv_import(lv, "pkg.ova", &io, NULL), -ENOENT, hv_error(lv),
              "network 'nosuchnet' (from --network default=nosuchnet) does not "
              "exist on the target");
    hv_disconnect(lv);
}

TEST_MAIN(T(test_driver_round_trip), T(unknown_network_is_refused))

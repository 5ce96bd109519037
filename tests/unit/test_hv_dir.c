/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests: the dir store (hv/dir.c) through the public hv API, with
 * several VMs, disks and NICs: create, list, show, remove; names and
 * MACs unique; capacities as asked; a failed create or a remove touches
 * nothing that is not its own (issue 13).
 */
#include <dirent.h>
#include <sys/stat.h>

#include "ovfkit/hv.h"
#include "ovfkit/vhd.h"
#include "tests/unit/harness.h"

#define MIB (1024ull * 1024)

static int create(ovfk_hv_conn *c, const char *name, const char **disks,
                  size_t nd, const char **nics, size_t nn,
                  struct ovfk_hv_vm **out)
{
    struct ovfk_hv_create_opts o = { .name = name, .memory_mib = 512,
                                .disks = disks, .n_disks = nd,
                                .nics = nics, .n_nics = nn };

    return ovfk_hv_vm_create(c, &o, out);
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* The store's VM directories (each holds a vm.json, or is being made). */
static int count_vm_dirs(void)
{
    DIR *d = opendir("store/vms");
    struct dirent *e;
    int n = 0;

    if (!d) {
        return -1;
    }
    while ((e = readdir(d))) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        return -errno;
    }
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -EIO;
}

/* A definition ovfkit did not write: one disk, path, no NICs. */
static int foreign(const char *name, const char *uuid, const char *path)
{
    char dir[512], file[600], text[2048];

    snprintf(dir, sizeof(dir), "store/vms/%s", uuid);
    if (mkdir(dir, 0755) < 0) {
        return -errno;
    }
    snprintf(file, sizeof(file), "%s/vm.json", dir);
    snprintf(text, sizeof(text), "{ \"name\": \"%s\", \"uuid\": \"%s\", "
             "\"memory_mib\": 512, \"disks\": [ { \"id\": \"vmdisk1\", "
             "\"path\": \"%s\", \"format\": \"vhd\" } ], \"nics\": [] }",
             name, uuid, path);
    return write_text(file, text);
}

static void test_create_list_show(void)
{
    const char *disks[] = { "16M", "8M" }, *nics[] = { "lan", "wan" };
    struct ovfk_hv_vm *a, *b, *c3, **vms, *got;
    char u[37];
    ovfk_hv_conn *c;
    size_t n;

    CHECK_OK(ovfk_hv_connect("store", NULL, &c), ovfk_last_error());
    CHECK(!strcmp(ovfk_hv_driver_name(c), "dir"));
    CHECK_OK(create(c, "a", disks, 2, nics, 2, &a), ovfk_hv_error(c));
    CHECK_OK(create(c, "b", disks, 1, nics, 1, &b), ovfk_hv_error(c));
    CHECK_OK(create(c, "c", NULL, 0, NULL, 0, &c3), ovfk_hv_error(c));
    CHECK_OK(ovfk_hv_list(c, &vms, &n), ovfk_hv_error(c));
    ovfk_hv_list_free(vms, n);
    CHECK_EQ(n, 3);

    ovfk_hv_uuid_str(b->uuid, u);
    CHECK_OK(ovfk_hv_load(c, u, &got), ovfk_hv_error(c));
    CHECK(!strcmp(got->name, "b"));
    ovfk_hv_vm_free(got);
    CHECK_OK(ovfk_hv_load(c, "a", &got), ovfk_hv_error(c));
    CHECK(!memcmp(got->uuid, a->uuid, 16));
    CHECK_EQ(got->memory_mib, 512);
    CHECK_EQ(got->n_disks, 2);
    CHECK_EQ(got->n_nics, 2);
    CHECK(!strcmp(got->nics[0].network, "lan"));
    CHECK(!strcmp(got->nics[1].network, "wan"));
    /* the disks live in the VM's own directory, which it owns */
    ovfk_hv_uuid_str(a->uuid, u);
    CHECK(strstr(got->disks[0].path, u) != NULL);
    CHECK(got->disks[0].owned && got->disks[1].owned);
    CHECK(strcmp(got->disks[0].path, got->disks[1].path) != 0);
    CHECK(got->disks[0].path[0] == '/');
    ovfk_hv_vm_free(got);

    CHECK_ERR(ovfk_hv_load(c, "nope", &got), -ENOENT, ovfk_hv_error(c),
              "no VM named 'nope'");
    ovfk_hv_vm_free(a);
    ovfk_hv_vm_free(b);
    ovfk_hv_vm_free(c3);
    ovfk_hv_disconnect(c);
}

static void test_names(void)
{
    static const struct {
        const char *name, *why;
    } bad[] = {
        { "web-1", "may use only letters, digits and '_'" },
        { "1234", "may not be all digits" },
        { "auto", "is reserved" },
        { "xmexample2", "may not start with \"xmexample\"" },
        { "a123456789a123456789a123456789a123456789a123456789x",
          "is longer than 50 characters" },
    };
    struct ovfk_hv_vm *vm;
    ovfk_hv_conn *c;

    CHECK_OK(ovfk_hv_connect("store", NULL, &c), ovfk_last_error());
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_ERR(create(c, bad[i].name, NULL, 0, NULL, 0, &vm), -EINVAL,
                  ovfk_hv_error(c), bad[i].why);
    }
    CHECK_OK(create(c, "web_1", NULL, 0, NULL, 0, &vm), ovfk_hv_error(c));
    ovfk_hv_vm_free(vm);
    CHECK_ERR(create(c, "web_1", NULL, 0, NULL, 0, &vm), -EEXIST,
              ovfk_hv_error(c), "a VM named 'web_1' already exists");
    CHECK_EQ(count_vm_dirs(), 1);
    ovfk_hv_disconnect(c);
}

/* Every NIC of a VM, and of the inventory, has its own MAC. */
static void test_macs_unique(void)
{
    const char *three[] = { "lan", "wan", "lan" };
    const char *later[] = { "lan", "wan,mac=02:17:42:2F:00:06" };
    struct ovfk_hv_vm *x, *y, *z, **vms;
    ovfk_hv_conn *c;
    size_t n, total = 0;

    CHECK_OK(ovfk_hv_connect("store", NULL, &c), ovfk_last_error());
    CHECK_OK(create(c, "x", NULL, 0, three, 3, &x), ovfk_hv_error(c));
    CHECK(!strcmp(x->nics[0].mac, "02:17:42:2F:00:01"));
    CHECK(!strcmp(x->nics[1].mac, "02:17:42:2F:00:02"));
    CHECK(!strcmp(x->nics[2].mac, "02:17:42:2F:00:03"));
    CHECK_OK(create(c, "y", NULL, 0, three, 2, &y), ovfk_hv_error(c));
    CHECK(!strcmp(y->nics[0].mac, "02:17:42:2F:00:04"));
    CHECK(!strcmp(y->nics[1].mac, "02:17:42:2F:00:05"));
    /* the address the pool would give next, asked for by a later NIC */
    CHECK_OK(create(c, "z", NULL, 0, later, 2, &z), ovfk_hv_error(c));
    CHECK(!strcmp(z->nics[1].mac, "02:17:42:2F:00:06"));
    CHECK(!strcmp(z->nics[0].mac, "02:17:42:2F:00:07"));

    CHECK_OK(ovfk_hv_list(c, &vms, &n), ovfk_hv_error(c));
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < vms[i]->n_nics; k++) {
            total++;
            for (size_t j = 0; j < n; j++) {
                for (size_t m = 0; m < vms[j]->n_nics; m++) {
                    CHECK_MSG((i == j && k == m) ||
                              strcmp(vms[i]->nics[k].mac,
                                     vms[j]->nics[m].mac) != 0,
                              "%s has two NICs", vms[i]->nics[k].mac);
                }
            }
        }
    }
    ovfk_hv_list_free(vms, n);
    CHECK_EQ(total, 7);
    ovfk_hv_vm_free(x);
    ovfk_hv_vm_free(y);
    ovfk_hv_vm_free(z);
    ovfk_hv_disconnect(c);
}

static void test_mac_clashes(void)
{
    const char *twice[] = { "lan,mac=02:17:42:2F:AA:01",
                            "wan,mac=02-17-42-2f-aa-01" };
    const char *one[] = { "lan,mac=02:17:42:2F:AA:01" };
    const char *bad[] = { "lan,mac=02:17:42:2F:AA" };
    const char *disks[] = { "8M" };
    struct ovfk_hv_vm *vm;
    ovfk_hv_conn *c;

    CHECK_OK(ovfk_hv_connect("store", NULL, &c), ovfk_last_error());
    CHECK_ERR(create(c, "w", disks, 1, twice, 2, &vm), -EEXIST,
              ovfk_hv_error(c), "MAC 02:17:42:2F:AA:01 appears on two NICs");
    CHECK_OK(create(c, "v", NULL, 0, one, 1, &vm), ovfk_hv_error(c));
    ovfk_hv_vm_free(vm);
    CHECK_ERR(create(c, "w", disks, 1, one, 1, &vm), -EEXIST, ovfk_hv_error(c),
              "MAC 02:17:42:2F:AA:01 is used by VM 'v'");
    CHECK_ERR(create(c, "w", disks, 1, bad, 1, &vm), -EINVAL, ovfk_hv_error(c),
              "'02:17:42:2F:AA' is not a MAC address");
    /* nothing of w was left behind */
    CHECK_EQ(count_vm_dirs(), 1);
    ovfk_hv_disconnect(c);
}

static void test_capacity(void)
{
    const char *disks[] = { "64M", "raw.img", "fixed.vhd" };
    struct ovfk_vhd_create_opts fo = { .type = OVFK_VHD_TYPE_FIXED,
                                       .size = 4 * MIB };
    struct ovfk_vhd_info info;
    struct ovfk_hv_vm *vm;
    ovfk_hv_conn *c;
    ovfk_vhd *h;

    CHECK_OK(write_text("raw.img", ""), "raw.img");
    CHECK(truncate("raw.img", 3 * MIB) == 0);
    CHECK_OK(ovfk_vhd_create("fixed.vhd", &fo, NULL), ovfk_last_error());
    CHECK_OK(ovfk_hv_connect("store", NULL, &c), ovfk_last_error());
    CHECK_OK(create(c, "cap", disks, 3, NULL, 0, &vm), ovfk_hv_error(c));
    ovfk_hv_vm_free(vm);
    CHECK_OK(ovfk_hv_load(c, "cap", &vm), ovfk_hv_error(c));
    CHECK_EQ(vm->disks[0].capacity, 64 * MIB);
    CHECK_EQ(vm->disks[1].capacity, 3 * MIB);
    CHECK_EQ(vm->disks[2].capacity, 4 * MIB);
    for (size_t i = 0; i < 3; i++) {
        CHECK_OK(ovfk_vhd_open(vm->disks[i].path, 0, &h), ovfk_last_error());
        CHECK_EQ(ovfk_vhd_size(h), vm->disks[i].capacity);
        CHECK_OK(ovfk_vhd_get_info(h, &info), ovfk_vhd_error(h));
        ovfk_vhd_close(h);
        /* a fixed VHD stays fixed; the rest become dynamic */
        CHECK_EQ(info.type,
                 i == 2 ? OVFK_VHD_TYPE_FIXED : OVFK_VHD_TYPE_DYNAMIC);
    }
    ovfk_hv_vm_free(vm);
    ovfk_hv_disconnect(c);
}

/* A create that fails after making a disk takes back only that disk. */
static void test_create_rollback(void)
{
    const char *one[] = { "8M" }, *two[] = { "8M", "missing.img" };
    struct ovfk_hv_vm *a, *vm, **vms;
    struct stat before, after;
    ovfk_hv_conn *c;
    size_t n;

    CHECK_OK(ovfk_hv_connect("store", NULL, &c), ovfk_last_error());
    CHECK_OK(create(c, "a", one, 1, NULL, 0, &a), ovfk_hv_error(c));
    CHECK(stat(a->disks[0].path, &before) == 0);
    CHECK_ERR(create(c, "b", two, 2, NULL, 0, &vm), -ENOENT, ovfk_hv_error(c),
              "cannot open 'missing.img'");
    CHECK_OK(ovfk_hv_list(c, &vms, &n), ovfk_hv_error(c));
    ovfk_hv_list_free(vms, n);
    CHECK_EQ(n, 1);
    CHECK_EQ(count_vm_dirs(), 1);
    CHECK(stat(a->disks[0].path, &after) == 0);
    CHECK_EQ(after.st_ino, before.st_ino);
    CHECK_EQ(after.st_size, before.st_size);
    ovfk_hv_vm_free(a);
    ovfk_hv_disconnect(c);
}

static void test_remove(void)
{
    const char *disks[] = { "8M", "8M" };
    struct ovfk_hv_vm *a, *b, *vm;
    char adir[4096], u[37];
    ovfk_hv_conn *c;

    CHECK_OK(ovfk_hv_connect("store", NULL, &c), ovfk_last_error());
    CHECK_OK(create(c, "a", disks, 2, NULL, 0, &a), ovfk_hv_error(c));
    CHECK_OK(create(c, "b", disks, 1, NULL, 0, &b), ovfk_hv_error(c));
    ovfk_hv_uuid_str(a->uuid, u);
    snprintf(adir, sizeof(adir), "store/vms/%s", u);
    CHECK(exists(adir));
    CHECK_OK(ovfk_hv_vm_remove(c, "a", false), ovfk_hv_error(c));
    CHECK(!exists(a->disks[0].path) && !exists(a->disks[1].path));
    CHECK(!exists(adir));
    CHECK(exists(b->disks[0].path));
    CHECK_ERR(ovfk_hv_vm_remove(c, "a", false), -ENOENT, ovfk_hv_error(c),
              "no VM named 'a'");
    /* --keep-disks: the definition goes, the disks stay */
    CHECK_OK(ovfk_hv_vm_remove(c, "b", true), ovfk_hv_error(c));
    CHECK_ERR(ovfk_hv_load(c, "b", &vm), -ENOENT, ovfk_hv_error(c),
              "no VM named");
    CHECK(exists(b->disks[0].path));
    ovfk_hv_vm_free(a);
    ovfk_hv_vm_free(b);
    ovfk_hv_disconnect(c);
}

/*
 * Two definitions share a disk: removing either leaves it (the second
 * does not own it; the first's is still used), and a differencing disk
 * of another VM keeps its parent alive too.
 */
static void test_remove_shared(void)
{
    const char *disks[] = { "8M" };
    struct ovfk_vhd_create_opts co = { .type = OVFK_VHD_TYPE_DYNAMIC };
    char child[4096], cwd[4096];
    struct ovfk_hv_vm *a, *f;
    ovfk_hv_conn *c;
    ovfk_vhd *h;
    uint8_t buf[512];

    CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    CHECK_OK(ovfk_hv_connect("store", NULL, &c), ovfk_last_error());
    CHECK_OK(create(c, "a", disks, 1, NULL, 0, &a), ovfk_hv_error(c));
    t_fill(buf, sizeof(buf), 7);
    CHECK_OK(ovfk_vhd_open(a->disks[0].path, OVFK_VHD_OPEN_RDWR, &h),
             ovfk_last_error());
    CHECK_OK(ovfk_vhd_pwrite(h, buf, sizeof(buf), 0), ovfk_vhd_error(h));
    ovfk_vhd_close(h);

    CHECK_OK(foreign("f", "7f1c2d3e-0000-4000-8000-00000000000f",
                     a->disks[0].path), "foreign f");
    CHECK_OK(ovfk_hv_load(c, "f", &f), ovfk_hv_error(c));
    CHECK(!f->disks[0].owned);
    ovfk_hv_vm_free(f);
    CHECK_OK(ovfk_hv_vm_remove(c, "f", false), ovfk_hv_error(c));
    CHECK(exists(a->disks[0].path));

    CHECK_OK(foreign("f", "7f1c2d3e-0000-4000-8000-00000000000f",
                     a->disks[0].path), "foreign f");
    CHECK_OK(ovfk_hv_vm_remove(c, "a", false), ovfk_hv_error(c));
    CHECK_MSG(exists(a->disks[0].path), "a's disk went while f uses it");
    CHECK_OK(ovfk_hv_vm_remove(c, "f", false), ovfk_hv_error(c));
    CHECK(exists(a->disks[0].path));
    ovfk_hv_vm_free(a);

    /* g's disk is a child of b's: b goes, its disk stays as g's parent */
    CHECK_OK(create(c, "b", disks, 1, NULL, 0, &a), ovfk_hv_error(c));
    co.parent = a->disks[0].path;
    snprintf(child, sizeof(child), "%s/child.vhd", cwd);
    CHECK_OK(ovfk_vhd_create(child, &co, NULL), ovfk_last_error());
    CHECK_OK(foreign("g", "7f1c2d3e-0000-4000-8000-000000000011", child),
             "foreign g");
    CHECK_OK(ovfk_hv_vm_remove(c, "b", false), ovfk_hv_error(c));
    CHECK_MSG(exists(a->disks[0].path), "b's disk went while g's child "
              "disk reads it");
    CHECK_OK(ovfk_vhd_open(child, 0, &h), ovfk_last_error());
    ovfk_vhd_close(h);
    CHECK_OK(ovfk_hv_vm_remove(c, "g", false), ovfk_hv_error(c));
    CHECK(exists(child));
    ovfk_hv_vm_free(a);
    ovfk_hv_disconnect(c);
}

/* A definition that does not parse is skipped; the others still list. */
static void test_bad_definition(void)
{
    struct ovfk_hv_vm *a, **vms;
    ovfk_hv_conn *c;
    size_t n;

    CHECK_OK(ovfk_hv_connect("store", NULL, &c), ovfk_last_error());
    CHECK_OK(create(c, "a", NULL, 0, NULL, 0, &a), ovfk_hv_error(c));
    ovfk_hv_vm_free(a);
    CHECK(mkdir("store/vms/broken", 0755) == 0);
    CHECK_OK(write_text("store/vms/broken/vm.json", "{ \"name\": "), "w");
    CHECK(mkdir("store/vms/nouuid", 0755) == 0);
    CHECK_OK(write_text("store/vms/nouuid/vm.json", "{ \"name\": \"q\" }"),
             "w");
    CHECK_OK(ovfk_hv_list(c, &vms, &n), ovfk_hv_error(c));
    CHECK_EQ(n, 1);
    CHECK(!strcmp(vms[0]->name, "a"));
    ovfk_hv_list_free(vms, n);
    ovfk_hv_disconnect(c);
}

TEST_MAIN(T(test_create_list_show), T(test_names), T(test_macs_unique),
          T(test_mac_clashes), T(test_capacity), T(test_create_rollback),
          T(test_remove), T(test_remove_shared), T(test_bad_definition))

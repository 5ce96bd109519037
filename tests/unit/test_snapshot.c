/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_snapshot.c - snapshot/ through the public API on the dir
 * store, with several VMs: create, list, revert and delete (and its dry
 * run) give back the data each snapshot froze, read through the VM's
 * current chain; every other VM's files and definition stay as they were
 * (sha256sum over its directory, the oracle); errors (unknown VM or
 * snapshot, a taken name, reverting a running VM) say what is wrong and
 * change nothing.
 */
#include <signal.h>
#include <sys/stat.h>

#include "ovfkit/hv.h"
#include "ovfkit/snapshot.h"
#include "ovfkit/vhd.h"
#include "tests/unit/harness.h"

#define DISK (4u << 20)

static char t_why[1024];

static int t_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        return -1;
    }
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -1;
}

static ovfk_hv_conn *store(void)
{
    ovfk_hv_conn *c = NULL;

    if (ovfk_hv_connect("store", NULL, &c) < 0) {
        snprintf(t_why, sizeof(t_why), "%s", ovfk_hv_error(c));
    }
    return c;
}

static int make_vm(ovfk_hv_conn *c, const char *name, size_t ndisks)
{
    static const char *const sizes[] = { "4M", "4M", "4M" };
    struct ovfk_hv_create_opts o = {
        .name = name, .memory_mib = 512, .disks = sizes, .n_disks = ndisks,
    };
    struct ovfk_hv_vm *vm = NULL;
    int r = ovfk_hv_vm_create(c, &o, &vm);

    if (r < 0) {
        snprintf(t_why, sizeof(t_why), "%s", ovfk_hv_error(c));
    }
    ovfk_hv_vm_free(vm);
    return r;
}

/* The current file of disk i of VM name (malloc'ed). */
static char *disk_path(ovfk_hv_conn *c, const char *name, size_t i)
{
    struct ovfk_hv_vm *vm = NULL;
    char *p = NULL;

    if (ovfk_hv_load(c, name, &vm) == 0 && i < vm->n_disks) {
        p = strdup(vm->disks[i].path);
    }
    ovfk_hv_vm_free(vm);
    return p;
}

/* Write 64 KiB of seeded bytes at off into disk i of the VM's chain. */
static int put(ovfk_hv_conn *c, const char *name, size_t i, uint64_t off,
               uint64_t seed)
{
    static uint8_t b[65536];
    char *path = disk_path(c, name, i);
    ovfk_vhd *h = NULL;
    int r = path ? ovfk_vhd_open(path, OVFK_VHD_OPEN_RDWR, &h) : -ENOENT;

    t_fill(b, sizeof(b), seed);
    if (r == 0) {
        r = ovfk_vhd_pwrite(h, b, sizeof(b), off);
        if (r < 0) {
            snprintf(t_why, sizeof(t_why), "%s", ovfk_vhd_error(h));
        }
        r = ovfk_vhd_close(h) < 0 && r == 0 ? -EIO : r;
    } else {
        snprintf(t_why, sizeof(t_why), "open %s: %s", path ? path : "?",
                 ovfk_last_error());
    }
    free(path);
    return r;
}

/* Does disk i read the 64 KiB of seed at off (seed 0: zeros)? */
static bool holds(ovfk_hv_conn *c, const char *name, size_t i, uint64_t off,
                  uint64_t seed)
{
    static uint8_t want[65536], got[65536];
    char *path = disk_path(c, name, i);
    ovfk_vhd *h = NULL;
    bool same = false;

    if (seed) {
        t_fill(want, sizeof(want), seed);
    } else {
        memset(want, 0, sizeof(want));
    }
    if (path && ovfk_vhd_open(path, 0, &h) == 0) {
        same = ovfk_vhd_pread(h, got, sizeof(got), off) == 0 &&
               memcmp(got, want, sizeof(got)) == 0;
        ovfk_vhd_close(h);
    }
    free(path);
    return same;
}

/* sha256sum over every file of a VM's directory (but its lock file), and
 * its definition. */
static int vm_hash(ovfk_hv_conn *c, const char *name, char out[65])
{
    struct ovfk_hv_vm *vm = NULL;
    char dir[4096], cwd[4096], def[4200], cmd[16384], *json = NULL;
    FILE *p;
    int r = ovfk_hv_load(c, name, &vm);

    out[0] = '\0';
    if (r == 0) {
        r = ovfk_hv_vm_data_dir(c, vm, dir, sizeof(dir));
    }
    if (r == 0 && getcwd(cwd, sizeof(cwd))) {
        json = ovfk_hv_vm_to_json(vm, true);
    }
    ovfk_hv_vm_free(vm);
    snprintf(def, sizeof(def), "%s/def-%s.json", cwd, name);
    if (!json || t_write(def, json) < 0) {
        free(json);
        snprintf(t_why, sizeof(t_why), "no definition of %s", name);
        return -1;
    }
    free(json);
    /* .lock (flock's file, made on first use, empty) holds nothing */
    snprintf(cmd, sizeof(cmd), "cd '%s' && (find . -type f ! -name .lock | "
             "LC_ALL=C sort | xargs -r sha256sum && sha256sum < '%s') | "
             "sha256sum", dir, def);
    p = popen(cmd, "r");
    if (!p || !fgets(out, 65, p)) {
        if (p) {
            pclose(p);
        }
        return -1;
    }
    return pclose(p) == 0 && strlen(out) == 64 ? 0 : -1;
}

#define SETUP(c) \
    ovfk_hv_conn *c = store(); \
    CHECK_MSG(c, "%s", t_why); \
    CHECK_MSG(make_vm(c, "a", 2) == 0, "%s", t_why); \
    CHECK_MSG(make_vm(c, "b", 1) == 0, "%s", t_why); \
    CHECK_MSG(make_vm(c, "c", 1) == 0, "%s", t_why); \
    CHECK_MSG(put(c, "b", 0, 0, 90) == 0, "%s", t_why); \
    CHECK_MSG(put(c, "c", 0, 0, 91) == 0, "%s", t_why)

#define HASH(c, name, into) \
    CHECK_MSG(vm_hash(c, name, into) == 0, "cannot hash VM %s", name)

#define SAME_HASH(c, name, before) \
    do { \
        char now_[65]; \
        HASH(c, name, now_); \
        CHECK_MSG(!strcmp(before, now_), "VM %s changed", name); \
    } while (0)

static void t_create_list(void)
{
    struct ovfk_snap_list l = { 0 };
    char hb[65], hc[65], *old0, *new0;
    SETUP(c);

    CHECK_MSG(put(c, "a", 0, 0, 1) == 0, "%s", t_why);
    CHECK_MSG(put(c, "a", 1, DISK - 65536, 2) == 0, "%s", t_why);
    HASH(c, "b", hb);
    HASH(c, "c", hc);
    old0 = disk_path(c, "a", 0);
    CHECK(old0);
    CHECK_OK(ovfk_snap_create(c, "a", "s1", "first", &l), ovfk_hv_error(c));
    CHECK_EQ(l.n, 1);
    ovfk_snap_list_free(&l);
    CHECK_OK(ovfk_snap_create(c, "a", "s2", NULL, NULL), ovfk_hv_error(c));
    {
        struct ovfk_hv_vm *vm = NULL;
        CHECK_OK(ovfk_hv_load(c, "a", &vm), ovfk_hv_error(c));
        CHECK_OK(ovfk_snap_load(c, vm, &l), ovfk_hv_error(c));
        ovfk_hv_vm_free(vm);
    }
    CHECK_EQ(l.n, 2);
    CHECK(!strcmp(l.snaps[0].id, "1") && !strcmp(l.snaps[0].name, "s1"));
    CHECK(!strcmp(l.snaps[0].description, "first"));
    CHECK(!strcmp(l.snaps[1].id, "2") && !strcmp(l.snaps[1].name, "s2"));
    CHECK(l.snaps[1].parent && !strcmp(l.snaps[1].parent, "1"));
    CHECK(l.current && !strcmp(l.current, "2"));
    CHECK_EQ(l.snaps[0].n_disks, 2);
    /* snapshot 1 froze the file the VM wrote to, and the VM moved on */
    CHECK(!strcmp(l.snaps[0].disks[0].file, old0));
    CHECK(ovfk_snap_find(&l, "s2") == &l.snaps[1]);
    CHECK(ovfk_snap_find(&l, "1") == &l.snaps[0]);
    CHECK(ovfk_snap_find(&l, "nope") == NULL);
    ovfk_snap_list_free(&l);
    new0 = disk_path(c, "a", 0);
    CHECK(new0 && strcmp(new0, old0) != 0);
    free(old0);
    free(new0);
    /* the data shows through the deltas */
    CHECK(holds(c, "a", 0, 0, 1));
    CHECK(holds(c, "a", 1, DISK - 65536, 2));
    SAME_HASH(c, "b", hb);
    SAME_HASH(c, "c", hc);
    ovfk_hv_disconnect(c);
}

static void t_revert(void)
{
    char ha[65], ha2[65], hb[65], hc[65];
    SETUP(c);

    CHECK_MSG(put(c, "a", 0, 0, 1) == 0, "%s", t_why);
    CHECK_OK(ovfk_snap_create(c, "a", "s1", NULL, NULL), ovfk_hv_error(c));
    CHECK_MSG(put(c, "a", 0, 0, 2) == 0, "%s", t_why);
    CHECK_MSG(put(c, "a", 1, 65536, 3) == 0, "%s", t_why);
    CHECK(holds(c, "a", 0, 0, 2));
    HASH(c, "b", hb);
    HASH(c, "c", hc);
    HASH(c, "a", ha);
    CHECK_OK(ovfk_snap_revert(c, "a", "s1"), ovfk_hv_error(c));
    CHECK(holds(c, "a", 0, 0, 1));
    /* the hash sees a change where there is one */
    HASH(c, "a", ha2);
    CHECK(strcmp(ha, ha2) != 0);
    CHECK(holds(c, "a", 1, 65536, 0));
    /* again, after more writes, by id */
    CHECK_MSG(put(c, "a", 0, 0, 4) == 0, "%s", t_why);
    CHECK_OK(ovfk_snap_revert(c, "a", "1"), ovfk_hv_error(c));
    CHECK(holds(c, "a", 0, 0, 1));
    SAME_HASH(c, "b", hb);
    SAME_HASH(c, "c", hc);
    ovfk_hv_disconnect(c);
}

static void t_delete(void)
{
    struct ovfk_snap_plan plan = { 0 };
    struct ovfk_snap_list l = { 0 };
    struct ovfk_hv_vm *vm = NULL;
    char ha[65], hb[65], hc[65];
    SETUP(c);

    CHECK_MSG(put(c, "a", 0, 0, 1) == 0, "%s", t_why);
    CHECK_OK(ovfk_snap_create(c, "a", "s1", NULL, NULL), ovfk_hv_error(c));
    CHECK_MSG(put(c, "a", 0, 65536, 2) == 0, "%s", t_why);
    CHECK_OK(ovfk_snap_create(c, "a", "s2", NULL, NULL), ovfk_hv_error(c));
    CHECK_MSG(put(c, "a", 0, 0, 3) == 0, "%s", t_why);
    HASH(c, "a", ha);
    HASH(c, "b", hb);
    HASH(c, "c", hc);
    /* a dry run plans and changes nothing */
    CHECK_OK(ovfk_snap_delete(c, "a", "s1", false, true, &plan, NULL, NULL),
             ovfk_hv_error(c));
    CHECK(plan.n > 0);
    ovfk_snap_plan_free(&plan);
    SAME_HASH(c, "a", ha);
    CHECK_OK(ovfk_snap_delete(c, "a", "s1", false, false, NULL, NULL, NULL),
             ovfk_hv_error(c));
    CHECK_OK(ovfk_hv_load(c, "a", &vm), ovfk_hv_error(c));
    CHECK_OK(ovfk_snap_load(c, vm, &l), ovfk_hv_error(c));
    ovfk_hv_vm_free(vm);
    CHECK_EQ(l.n, 1);
    CHECK(!strcmp(l.snaps[0].name, "s2"));
    ovfk_snap_list_free(&l);
    CHECK(holds(c, "a", 0, 0, 3) && holds(c, "a", 0, 65536, 2));
    /* s2 still holds what it froze: s1's data merged below it */
    CHECK_OK(ovfk_snap_revert(c, "a", "s2"), ovfk_hv_error(c));
    CHECK(holds(c, "a", 0, 0, 1) && holds(c, "a", 0, 65536, 2));
    CHECK_OK(ovfk_snap_delete(c, "a", NULL, true, false, NULL, NULL, NULL),
             ovfk_hv_error(c));
    CHECK_OK(ovfk_hv_load(c, "a", &vm), ovfk_hv_error(c));
    CHECK_OK(ovfk_snap_load(c, vm, &l), ovfk_hv_error(c));
    ovfk_hv_vm_free(vm);
    CHECK_EQ(l.n, 0);
    ovfk_snap_list_free(&l);
    CHECK(holds(c, "a", 0, 0, 1) && holds(c, "a", 0, 65536, 2));
    SAME_HASH(c, "b", hb);
    SAME_HASH(c, "c", hc);
    ovfk_hv_disconnect(c);
}

/* Snapshots of two VMs at once keep to their own VM. */
static void t_two_vms(void)
{
    char hc[65];
    SETUP(c);

    HASH(c, "c", hc);
    CHECK_OK(ovfk_snap_create(c, "a", "x", NULL, NULL), ovfk_hv_error(c));
    CHECK_OK(ovfk_snap_create(c, "b", "x", NULL, NULL), ovfk_hv_error(c));
    CHECK_MSG(put(c, "b", 0, 0, 5) == 0, "%s", t_why);
    CHECK_MSG(put(c, "a", 0, 0, 6) == 0, "%s", t_why);
    CHECK_OK(ovfk_snap_revert(c, "b", "x"), ovfk_hv_error(c));
    CHECK(holds(c, "b", 0, 0, 90));
    CHECK(holds(c, "a", 0, 0, 6));
    CHECK_OK(ovfk_snap_delete(c, "a", "x", false, false, NULL, NULL, NULL),
             ovfk_hv_error(c));
    CHECK(holds(c, "a", 0, 0, 6));
    CHECK(holds(c, "b", 0, 0, 90));
    SAME_HASH(c, "c", hc);
    ovfk_hv_disconnect(c);
}

static void t_errors(void)
{
    char ha[65], hb[65];
    SETUP(c);

    CHECK_OK(ovfk_snap_create(c, "a", "s1", NULL, NULL), ovfk_hv_error(c));
    HASH(c, "a", ha);
    HASH(c, "b", hb);
    CHECK_ERR(ovfk_snap_create(c, "nope", "x", NULL, NULL), -ENOENT,
              ovfk_hv_error(c), "no VM named 'nope' in the dir inventory");
    CHECK_ERR(ovfk_snap_create(c, "a", "s1", NULL, NULL), -EEXIST,
              ovfk_hv_error(c), "VM 'a' already has a snapshot named 's1'");
    CHECK_ERR(ovfk_snap_revert(c, "a", "s9"), -ENOENT, ovfk_hv_error(c),
              "VM 'a' has no snapshot 's9'");
    CHECK_ERR(ovfk_snap_revert(c, "nope", "s1"), -ENOENT, ovfk_hv_error(c),
              "no VM named 'nope' in the dir inventory");
    CHECK_ERR(ovfk_snap_delete(c, "a", "s9", false, false, NULL, NULL, NULL),
              -ENOENT, ovfk_hv_error(c), "VM 'a' has no snapshot 's9'");
    CHECK_ERR(ovfk_snap_delete(c, "nope", "s1", false, false, NULL, NULL, NULL),
              -ENOENT, ovfk_hv_error(c), "no VM named 'nope' in the dir "
              "inventory");
    /* b has no snapshot at all */
    CHECK_ERR(ovfk_snap_revert(c, "b", "s1"), -ENOENT, ovfk_hv_error(c),
              "VM 'b' has no snapshot 's1'");
    SAME_HASH(c, "a", ha);
    SAME_HASH(c, "b", hb);
    ovfk_hv_disconnect(c);
}

/* A VM whose qemu runs (the dir store knows it by run/qemu.pid naming a
 * live qemu process) is not reverted under it. */
static void t_revert_running(void)
{
    struct ovfk_hv_vm *vm = NULL;
    char dir[4096], ha[65];
    FILE *f;
    int pid = 0;
    SETUP(c);

    if (system("command -v bash > /dev/null") != 0) {
        SKIP("needs bash (exec -a names a stand-in qemu process)");
    }
    CHECK_OK(ovfk_snap_create(c, "a", "s1", NULL, NULL), ovfk_hv_error(c));
    CHECK_OK(ovfk_hv_load(c, "a", &vm), ovfk_hv_error(c));
    CHECK_OK(ovfk_hv_vm_data_dir(c, vm, dir, sizeof(dir)), ovfk_hv_error(c));
    CHECK_EQ(ovfk_hv_is_running(c, vm), 0);
    {
        char cmd[8192];
        snprintf(cmd, sizeof(cmd), "mkdir -p '%s/run' && (bash -c 'exec -a "
                 "qemu-system-x86_64 sleep 60' > /dev/null 2>&1 & echo $! > "
                 "'%s/run/qemu.pid')", dir, dir);
        CHECK(system(cmd) == 0);
        snprintf(cmd, sizeof(cmd), "%s/run/qemu.pid", dir);
        f = fopen(cmd, "r");
        CHECK(f);
        CHECK(fscanf(f, "%d", &pid) == 1);
        fclose(f);
    }
    /* the stand-in shows up once bash has exec'ed it */
    for (int i = 0; i < 50 && ovfk_hv_is_running(c, vm) != 1; i++) {
        usleep(100000);
    }
    CHECK_EQ(ovfk_hv_is_running(c, vm), 1);
    ovfk_hv_vm_free(vm);
    HASH(c, "a", ha);
    {
        int r = ovfk_snap_revert(c, "a", "s1");
        kill(pid, SIGKILL);
        CHECK_ERR(r, -EBUSY, ovfk_hv_error(c), "VM 'a' is running; stop it "
                  "before reverting");
    }
    SAME_HASH(c, "a", ha);
    ovfk_hv_disconnect(c);
}

TEST_MAIN(T(t_create_list), T(t_revert), T(t_delete), T(t_two_vms),
          T(t_errors), T(t_revert_running))

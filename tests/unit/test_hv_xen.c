/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests: the xen driver (hv/xen.c) through the public hv API, on a
 * directory of Xen configuration files: hand-written files in the
 * syntaxes xl and xm accept, files it must skip, several VMs made by
 * ovfkit sharing images/ without touching each other's disks, MACs,
 * capacities (the image's virtual size, not the file's), remove (issue
 * 13).  NICs need a bridge (Xen's networks): made here when root.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "ovfkit/hv.h"
#include "ovfkit/vhd.h"
#include "tests/unit/harness.h"

#define MIB (1024ull * 1024)

static char bridge_made[16];

static void drop_bridge(void)
{
    char cmd[64];

    if (bridge_made[0]) {
        snprintf(cmd, sizeof(cmd), "ip link del %s 2>/dev/null",
                 bridge_made);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove bridge %s\n", bridge_made);
        }
    }
}

/* A bridge of the host (one made for the tests when there is none), or
 * NULL when none can be had. */
static const char *bridge(void)
{
    static char found[64];
    static bool tried;
    struct dirent *e;
    DIR *d;

    if (tried) {
        return found[0] ? found : NULL;
    }
    tried = true;
    d = opendir("/sys/class/net");
    while (d && (e = readdir(d))) {
        char path[512];
        snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", e->d_name);
        if (e->d_name[0] != '.' && access(path, F_OK) == 0) {
            snprintf(found, sizeof(found), "%s", e->d_name);
            break;
        }
    }
    if (d) {
        closedir(d);
    }
    if (!found[0] && getuid() == 0) {
        char cmd[96];
        snprintf(bridge_made, sizeof(bridge_made), "ovku%d",
                 (int)(getpid() % 100000));
        snprintf(cmd, sizeof(cmd), "ip link add %s type bridge 2>/dev/null",
                 bridge_made);
        if (system(cmd) == 0) {
            snprintf(found, sizeof(found), "%s", bridge_made);
            atexit(drop_bridge);
        } else {
            bridge_made[0] = '\0';
        }
    }
    return found[0] ? found : NULL;
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

static char *read_text(const char *path)
{
    static char buf[8192];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

    if (f) {
        fclose(f);
    }
    buf[n] = '\0';
    return buf;
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* The connection to ./xen (made) and the absolute directory. */
static char top[4096];

static int connect_xen(ovfk_hv_conn **c)
{
    char uri[4200];

    if (!getcwd(top, sizeof(top)) || (mkdir("xen", 0755) < 0 &&
                                      errno != EEXIST)) {
        return -errno;
    }
    snprintf(uri, sizeof(uri), "xen:%s/xen", top);
    return ovfk_hv_connect(NULL, uri, c);
}

static int create(ovfk_hv_conn *c, const char *name, const char **disks,
                  size_t nd, const char **nics, size_t nn,
                  struct ovfk_hv_vm **out)
{
    struct ovfk_hv_create_opts o = { .name = name, .memory_mib = 512,
                                .disks = disks, .n_disks = nd,
                                .nics = nics, .n_nics = nn };

    return ovfk_hv_vm_create(c, &o, out);
}

static int vm_count(ovfk_hv_conn *c)
{
    struct ovfk_hv_vm **vms;
    size_t n;

    if (ovfk_hv_list(c, &vms, &n) < 0) {
        return -1;
    }
    ovfk_hv_list_free(vms, n);
    return (int)n;
}

static void test_open_errors(void)
{
    ovfk_hv_conn *c;

    CHECK_ERR(ovfk_hv_connect(NULL, "xen:/nonexistent/ovfkit-xen", &c), -ENOENT,
              ovfk_last_error(), "'/nonexistent/ovfkit-xen' is not a "
              "directory of Xen configuration files");
    CHECK_OK(write_text("plain", ""), "plain");
    CHECK_ERR(ovfk_hv_connect(NULL, "xen:plain", &c), -ENOENT,
              ovfk_last_error(), "is not a directory");
}

/* The syntaxes of hand-written files: quotes, lists over lines, comments,
 * xl's positional and key=value disks, phy: devices, vifs without MACs. */
static void test_read_hand_written(void)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_DYNAMIC,
                                      .size = 48 * MIB };
    char text[4096];
    struct ovfk_hv_vm *vm;
    ovfk_hv_conn *c;

    CHECK_OK(connect_xen(&c), ovfk_last_error());
    CHECK_OK(write_text("raw.img", ""), "raw.img");
    CHECK(truncate("raw.img", 3 * MIB) == 0);
    CHECK_OK(ovfk_vhd_create("d.vhd", &o, NULL), ovfk_last_error());
    snprintf(text, sizeof(text),
             "# written by hand\n"
             "name = \"db01\"   # the domain\n"
             "uuid = '8d9b3a1e-1f2c-4c55-9a1e-5b6f7a8c9d0e'\n"
             "memory = 1024\nmaxmem = 2048\nvcpus = 2;\n"
             "kernel = \"/boot/vmlinuz\"\nextra = \"console=hvc0\"\n"
             "disk = [ 'tap:aio:%s/raw.img,xvda,w',\n"
             "         \"format=vhd, vdev=xvdb, access=rw, target=%s/d.vhd\",\n"
             "         \"%s/d.vhd,vpc,hdc,w\",\n"
             "         'phy:/dev/ovfkit-no-such-lv,sdd,w', ]\n"
             "vif = [ \"mac=00:16:3e:2f:01:01,bridge=xenbr7\",\n"
             "        'bridge=xenbr8, model=e1000' ]\n", top, top, top);
    CHECK_OK(write_text("xen/db01.cfg", text), "db01.cfg");
    CHECK_OK(ovfk_hv_load(c, "8d9b3a1e-1f2c-4c55-9a1e-5b6f7a8c9d0e", &vm),
             ovfk_hv_error(c));
    CHECK(!strcmp(vm->name, "db01"));
    CHECK_EQ(vm->memory_mib, 1024);
    CHECK_EQ(vm->cpus, 2);
    CHECK(vm->kernel && !strcmp(vm->kernel, "/boot/vmlinuz"));
    CHECK(vm->cmdline && !strcmp(vm->cmdline, "console=hvc0"));
    CHECK_EQ(vm->n_disks, 4);
    CHECK(!strcmp(vm->disks[0].format, "raw"));
    CHECK(!strcmp(vm->disks[0].bus, "xen"));
    CHECK_EQ(vm->disks[0].capacity, 3 * MIB);
    CHECK(!strcmp(vm->disks[1].format, "vhd"));
    CHECK_EQ(vm->disks[1].capacity, 48 * MIB);
    CHECK(!strcmp(vm->disks[2].format, "vhd"));
    CHECK(!strcmp(vm->disks[2].bus, "ide"));
    CHECK_EQ(vm->disks[2].capacity, 48 * MIB);
    CHECK(!strcmp(vm->disks[3].path, "/dev/ovfkit-no-such-lv"));
    CHECK(!strcmp(vm->disks[3].bus, "scsi"));
    CHECK_EQ(vm->disks[3].capacity, 0);
    for (size_t i = 0; i < vm->n_disks; i++) {
        CHECK_MSG(!vm->disks[i].owned, "disk %zu of a hand-written file is "
                  "taken as ovfkit's", i);
    }
    CHECK_EQ(vm->n_nics, 2);
    CHECK(!strcmp(vm->nics[0].mac, "00:16:3E:2F:01:01"));
    CHECK(!strcmp(vm->nics[0].network, "xenbr7"));
    CHECK(vm->nics[1].mac[0] == '\0');
    CHECK(!strcmp(vm->nics[1].network, "xenbr8"));
    CHECK(!strcmp(vm->nics[1].model, "e1000"));
    ovfk_hv_vm_free(vm);
    ovfk_hv_disconnect(c);
}

/* Files that are not domains, or do not parse, are skipped; the rest
 * still list, and a new VM never overwrites such a file. */
static void test_bad_config_lines(void)
{
    const char *disks[] = { "8M" };
    char before[8192];
    struct ovfk_hv_vm *vm;
    ovfk_hv_conn *c;

    CHECK_OK(connect_xen(&c), ovfk_last_error());
    CHECK_OK(write_text("xen/good.cfg", "name = \"good\"\nmemory = 512\n"),
             "good");
    CHECK_OK(write_text("xen/noeq.cfg", "name \"noeq\"\n"), "noeq");
    CHECK_OK(write_text("xen/quote.cfg", "name = \"quote\ndisk = [ ]\n"),
             "quote");
    CHECK_OK(write_text("xen/list.cfg", "name = 'list'\nvif = [ 'a', \n"),
             "list");
    CHECK_OK(write_text("xen/noname.cfg", "memory = 512\n"), "noname");
    CHECK_OK(write_text("xen/xl.conf", "name = \"xlconf\"\n"), "xl.conf");
    CHECK_OK(write_text("xen/xmexample1", "name = \"example\"\n"), "xm");
    CHECK(mkdir("xen/scripts", 0755) == 0);
    CHECK_EQ(vm_count(c), 1);
    CHECK_OK(ovfk_hv_load(c, "good", &vm), ovfk_hv_error(c));
    ovfk_hv_vm_free(vm);
    CHECK_ERR(ovfk_hv_load(c, "noeq", &vm), -ENOENT, ovfk_hv_error(c),
              "no VM named 'noeq'");

    /* "noeq" is free as a name, but noeq.cfg is the user's */
    snprintf(before, sizeof(before), "%s", read_text("xen/noeq.cfg"));
    CHECK_ERR(create(c, "noeq", disks, 1, NULL, 0, &vm), -EEXIST,
              ovfk_hv_error(c), "noeq.cfg' already exists");
    CHECK(!strcmp(read_text("xen/noeq.cfg"), before));
    CHECK_MSG(!exists("xen/images/noeq-disk1.vhd"), "the refused VM's disk "
              "was left behind");
    ovfk_hv_disconnect(c);
}

static void test_names(void)
{
    struct ovfk_hv_vm *vm;
    ovfk_hv_conn *c;

    CHECK_OK(connect_xen(&c), ovfk_last_error());
    CHECK_ERR(create(c, "xmexample3", NULL, 0, NULL, 0, &vm), -EINVAL,
              ovfk_hv_error(c), "may not start with \"xmexample\"");
    CHECK_ERR(create(c, "scripts", NULL, 0, NULL, 0, &vm), -EINVAL,
              ovfk_hv_error(c), "is reserved");
    CHECK_ERR(create(c, "../etc", NULL, 0, NULL, 0, &vm), -EINVAL,
              ovfk_hv_error(c), "may use only letters, digits and '_'");
    CHECK_ERR(create(c, "", NULL, 0, NULL, 0, &vm), -EINVAL, ovfk_hv_error(c),
              "is empty");
    CHECK_EQ(vm_count(c), 0);
    CHECK_OK(create(c, "ok_1", NULL, 0, NULL, 0, &vm), ovfk_hv_error(c));
    ovfk_hv_vm_free(vm);
    CHECK(exists("xen/ok_1.cfg"));
    ovfk_hv_disconnect(c);
}

/* Several VMs in one images/: each disk a file of its own, named after
 * its VM, owned by it; a file already at a name is left alone. */
static void test_disk_names_unique(void)
{
    const char *one[] = { "16M" }, *two[] = { "8M", "8M" };
    struct ovfk_hv_vm *a, *b, *c3, *d, *got;
    struct stat st;
    ovfk_hv_conn *c;

    CHECK_OK(connect_xen(&c), ovfk_last_error());
    CHECK_OK(create(c, "a", one, 1, NULL, 0, &a), ovfk_hv_error(c));
    CHECK_OK(create(c, "b", one, 1, NULL, 0, &b), ovfk_hv_error(c));
    CHECK_OK(create(c, "c", two, 2, NULL, 0, &c3), ovfk_hv_error(c));
    CHECK(strstr(a->disks[0].path, "/xen/images/a-disk1.vhd") != NULL);
    CHECK(strstr(b->disks[0].path, "/xen/images/b-disk1.vhd") != NULL);
    CHECK(strstr(c3->disks[0].path, "/xen/images/c-disk1.vhd") != NULL);
    CHECK(strstr(c3->disks[1].path, "/xen/images/c-disk2.vhd") != NULL);
    CHECK(strstr(read_text("xen/a.cfg"), "#ovfkit-owns = ") != NULL);
    CHECK_OK(ovfk_hv_load(c, "c", &got), ovfk_hv_error(c));
    CHECK(got->disks[0].owned && got->disks[1].owned);
    CHECK(!strcmp(got->disks[1].path, c3->disks[1].path));
    ovfk_hv_vm_free(got);

    CHECK_OK(write_text("xen/images/d-disk1.vhd", "the user's"), "squat");
    CHECK_OK(create(c, "d", one, 1, NULL, 0, &d), ovfk_hv_error(c));
    CHECK(strstr(d->disks[0].path, "/xen/images/d-disk1-2.vhd") != NULL);
    CHECK(!strcmp(read_text("xen/images/d-disk1.vhd"), "the user's"));
    CHECK(stat(a->disks[0].path, &st) == 0 && st.st_size > 0);
    CHECK_EQ(vm_count(c), 4);
    ovfk_hv_vm_free(a);
    ovfk_hv_vm_free(b);
    ovfk_hv_vm_free(c3);
    ovfk_hv_vm_free(d);
    ovfk_hv_disconnect(c);
}

/* A failed create takes back its own disk only; images/ stays. */
static void test_create_rollback(void)
{
    const char *one[] = { "8M" }, *bad[] = { "8M", "missing.img" };
    struct stat before, after;
    struct ovfk_hv_vm *a, *vm;
    ovfk_hv_conn *c;

    CHECK_OK(connect_xen(&c), ovfk_last_error());
    CHECK_OK(create(c, "a", one, 1, NULL, 0, &a), ovfk_hv_error(c));
    CHECK(stat(a->disks[0].path, &before) == 0);
    CHECK_ERR(create(c, "d", bad, 2, NULL, 0, &vm), -ENOENT, ovfk_hv_error(c),
              "cannot open 'missing.img'");
    CHECK(!exists("xen/d.cfg"));
    CHECK(!exists("xen/images/d-disk1.vhd"));
    CHECK(stat(a->disks[0].path, &after) == 0);
    CHECK_EQ(after.st_ino, before.st_ino);
    CHECK_EQ(after.st_mtime, before.st_mtime);
    CHECK_EQ(vm_count(c), 1);
    /* and in an images/ with nothing else, the folder stays */
    CHECK_OK(ovfk_hv_vm_remove(c, "a", false), ovfk_hv_error(c));
    CHECK_ERR(create(c, "e", bad, 2, NULL, 0, &vm), -ENOENT, ovfk_hv_error(c),
              "cannot open 'missing.img'");
    CHECK(exists("xen/images"));
    ovfk_hv_vm_free(a);
    ovfk_hv_disconnect(c);
}

/* vm remove removes the disks the VM owns and nobody else uses. */
static void test_remove_owned_only(void)
{
    const char *one[] = { "8M" };
    char text[4096];
    struct ovfk_hv_vm *a, *b, *vm;
    ovfk_hv_conn *c;

    CHECK_OK(connect_xen(&c), ovfk_last_error());
    CHECK_OK(create(c, "a", one, 1, NULL, 0, &a), ovfk_hv_error(c));
    CHECK_OK(create(c, "b", one, 1, NULL, 0, &b), ovfk_hv_error(c));
    CHECK_OK(write_text("user.img", "the user's data"), "user.img");
    snprintf(text, sizeof(text), "name = \"f\"\ndisk = [ \"tap:vhd:%s,xvda,"
             "w\" ]\n", a->disks[0].path);
    CHECK_OK(write_text("xen/f.cfg", text), "f.cfg");
    snprintf(text, sizeof(text), "name = \"g\"\ndisk = [ \"tap:aio:%s/user."
             "img,xvda,w\" ]\n", top);
    CHECK_OK(write_text("xen/g.cfg", text), "g.cfg");

    CHECK_OK(ovfk_hv_vm_remove(c, "g", false), ovfk_hv_error(c));
    CHECK(!exists("xen/g.cfg"));
    CHECK_MSG(exists("user.img"), "removing g removed the user's file");
    CHECK_OK(ovfk_hv_vm_remove(c, "f", false), ovfk_hv_error(c));
    CHECK_MSG(exists(a->disks[0].path), "removing f removed a's disk");
    snprintf(text, sizeof(text), "name = \"f\"\ndisk = [ \"tap:vhd:%s,xvda,"
             "w\" ]\n", a->disks[0].path);
    CHECK_OK(write_text("xen/f.cfg", text), "f.cfg");
    CHECK_OK(ovfk_hv_vm_remove(c, "a", false), ovfk_hv_error(c));
    CHECK(!exists("xen/a.cfg"));
    CHECK_MSG(exists(a->disks[0].path), "removing a removed the disk f "
              "still uses");
    CHECK_OK(ovfk_hv_vm_remove(c, "b", false), ovfk_hv_error(c));
    CHECK_MSG(!exists(b->disks[0].path), "b's own disk stayed");
    CHECK_ERR(ovfk_hv_load(c, "b", &vm), -ENOENT, ovfk_hv_error(c),
              "no VM named 'b'");
    CHECK_ERR(ovfk_hv_vm_remove(c, "b", false), -ENOENT, ovfk_hv_error(c),
              "no VM named 'b'");
    ovfk_hv_vm_free(a);
    ovfk_hv_vm_free(b);
    ovfk_hv_disconnect(c);
}

/* Hand-written files without a uuid line all read as the zero UUID: the
 * one removed is the one named. */
static void test_remove_without_uuid(void)
{
    ovfk_hv_conn *c;

    CHECK_OK(connect_xen(&c), ovfk_last_error());
    CHECK_OK(write_text("xen/p.cfg", "name = \"p\"\n"), "p");
    CHECK_OK(write_text("xen/q.cfg", "name = \"q\"\n"), "q");
    CHECK_OK(write_text("xen/r.cfg", "name = \"r\"\n"), "r");
    CHECK_OK(ovfk_hv_vm_remove(c, "q", false), ovfk_hv_error(c));
    CHECK(exists("xen/p.cfg") && exists("xen/r.cfg"));
    CHECK(!exists("xen/q.cfg"));
    CHECK_OK(ovfk_hv_vm_remove(c, "p", true), ovfk_hv_error(c));
    CHECK(exists("xen/r.cfg") && !exists("xen/p.cfg"));
    ovfk_hv_disconnect(c);
}

/* A disk's capacity is the size the guest sees, however small the file. */
static void test_capacity(void)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_DYNAMIC,
                                      .size = 64 * MIB };
    const char *disks[] = { "64M" };
    struct ovfk_hv_vm *v, *h;
    struct stat st;
    char text[4096];
    ovfk_hv_conn *c;

    CHECK_OK(connect_xen(&c), ovfk_last_error());
    CHECK_OK(create(c, "v", disks, 1, NULL, 0, &v), ovfk_hv_error(c));
    ovfk_hv_vm_free(v);
    CHECK_OK(ovfk_hv_load(c, "v", &v), ovfk_hv_error(c));
    CHECK(stat(v->disks[0].path, &st) == 0 && (uint64_t)st.st_size < MIB);
    CHECK_EQ(v->disks[0].capacity, 64 * MIB);

    /* a differencing child: its own footer has the size, even with its
     * parent gone */
    CHECK_OK(ovfk_vhd_create("base.vhd", &o, NULL), ovfk_last_error());
    o.parent = "base.vhd";
    CHECK_OK(ovfk_vhd_create("child.vhd", &o, NULL), ovfk_last_error());
    snprintf(text, sizeof(text), "name = \"h\"\ndisk = [ \"tap:vhd:%s/child."
             "vhd,xvda,w\", \"tap:vhd:%s/none.vhd,xvdb,w\", \"tap:vhd:%s/"
             "fake.vhd,xvdc,w\" ]\n", top, top, top);
    CHECK_OK(write_text("xen/h.cfg", text), "h.cfg");
    CHECK_OK(write_text("fake.vhd", "not a VHD"), "fake");
    CHECK(unlink("base.vhd") == 0);
    CHECK_OK(ovfk_hv_load(c, "h", &h), ovfk_hv_error(c));
    CHECK_EQ(h->disks[0].capacity, 64 * MIB);
    CHECK_EQ(h->disks[1].capacity, 0);      /* missing */
    CHECK_EQ(h->disks[2].capacity, 0);      /* not a VHD */
    ovfk_hv_vm_free(h);
    ovfk_hv_vm_free(v);
    ovfk_hv_disconnect(c);
}

/*
 * A restore that renames a VM writes NEWNAME.cfg: over the VM's own file
 * when that already has the name (db.cfg holding "db01", restored as
 * "db"), never over a file of the user's; the user's disk stays.
 */
static void test_restore_renamed(void)
{
    struct ovfk_hv_import_opts io = { .mode = OVFK_HV_RESTORE, .force = true,
                                 .keep_guest_config = true };
    struct ovfk_hv_export_opts eo = { .to = "db.ova" };
    char text[4096], rs[4200];
    struct ovfk_hv_plan *plan;
    struct ovfk_hv_vm *vm;
    ovfk_hv_conn *c;
    int r;

    CHECK_OK(connect_xen(&c), ovfk_last_error());
    CHECK_OK(write_text("d.img", "the user's disk"), "d.img");
    CHECK(truncate("d.img", MIB) == 0);
    snprintf(text, sizeof(text), "name = \"db01\"\nuuid = \"8d9b3a1e-1f2c-"
             "4c55-9a1e-5b6f7a8c9d0e\"\ndisk = [ \"tap:aio:%s/d.img,xvda,"
             "w\" ]\n", top);
    CHECK_OK(write_text("xen/db.cfg", text), "db.cfg");
    CHECK_OK(write_text("xen/other.cfg", "this is not a domain\n"), "other");
    CHECK_OK(ovfk_hv_export(c, "db01", &eo), ovfk_hv_error(c));
    snprintf(rs, sizeof(rs), "%s/rs", top);
    CHECK(mkdir(rs, 0755) == 0);
    io.storage = rs;

    io.name = "other";
    plan = NULL;
    r = ovfk_hv_import(c, "db.ova", &io, &plan);
    ovfk_hv_plan_free(plan);     /* made also when the import fails */
    CHECK_ERR(r, -EEXIST, ovfk_hv_error(c), "other.cfg' already exists");
    CHECK(!strcmp(read_text("xen/other.cfg"), "this is not a domain\n"));
    CHECK_OK(ovfk_hv_load(c, "db01", &vm), ovfk_hv_error(c));
    ovfk_hv_vm_free(vm);

    io.name = "db";
    CHECK_OK(ovfk_hv_import(c, "db.ova", &io, &plan), ovfk_hv_error(c));
    ovfk_hv_plan_free(plan);
    CHECK_MSG(exists("xen/db.cfg"), "the renamed VM's file is gone");
    CHECK_OK(ovfk_hv_load(c, "db", &vm), ovfk_hv_error(c));
    CHECK(vm->disks[0].owned);
    CHECK(strncmp(vm->disks[0].path, rs, strlen(rs)) == 0);
    ovfk_hv_vm_free(vm);
    CHECK_EQ(vm_count(c), 1);
    CHECK_MSG(exists("d.img"), "the restore removed the user's disk");
    ovfk_hv_disconnect(c);
}

static void test_macs(void)
{
    const char *br = bridge();
    char n1[96], n2[96], pinned[160], text[512];
    const char *three[] = { n1, n2, n1 }, *clash[] = { pinned };
    struct ovfk_hv_vm *x, *y, *vm;
    ovfk_hv_conn *c;

    if (!br) {
        SKIP("no bridge (Xen's networks) on this host, and making one "
             "needs root");
    }
    snprintf(n1, sizeof(n1), "%s", br);
    snprintf(n2, sizeof(n2), "%s,model=e1000", br);
    CHECK_OK(connect_xen(&c), ovfk_last_error());
    /* a hand-written domain already has the pool's second address */
    snprintf(text, sizeof(text), "name = \"hand\"\nvif = [ 'mac=02:17:42:"
             "2f:00:02,bridge=%s' ]\n", br);
    CHECK_OK(write_text("xen/hand.cfg", text), "hand.cfg");
    CHECK_OK(create(c, "x", NULL, 0, three, 3, &x), ovfk_hv_error(c));
    CHECK(!strcmp(x->nics[0].mac, "02:17:42:2F:00:01"));
    CHECK(!strcmp(x->nics[1].mac, "02:17:42:2F:00:03"));
    CHECK(!strcmp(x->nics[2].mac, "02:17:42:2F:00:04"));
    CHECK(strstr(read_text("xen/x.cfg"), "mac=02:17:42:2F:00:04,") != NULL);
    CHECK_OK(create(c, "y", NULL, 0, three, 2, &y), ovfk_hv_error(c));
    CHECK(!strcmp(y->nics[0].mac, "02:17:42:2F:00:05"));
    CHECK(!strcmp(y->nics[1].mac, "02:17:42:2F:00:06"));
    ovfk_hv_vm_free(y);
    CHECK_OK(ovfk_hv_load(c, "y", &y), ovfk_hv_error(c));
    CHECK_EQ(y->n_nics, 2);
    CHECK(!strcmp(y->nics[1].mac, "02:17:42:2F:00:06"));
    snprintf(pinned, sizeof(pinned), "%s,mac=02:17:42:2F:00:02", br);
    CHECK_ERR(create(c, "z", NULL, 0, clash, 1, &vm), -EEXIST, ovfk_hv_error(c),
              "MAC 02:17:42:2F:00:02 is used by VM 'hand'");
    CHECK_ERR(create(c, "z", NULL, 0, (const char *[]){ "ovfkit_nonet" }, 1,
                     &vm), -ENOENT, ovfk_hv_error(c),
              "network 'ovfkit_nonet' does not exist on the target");
    CHECK(!exists("xen/z.cfg"));
    ovfk_hv_vm_free(x);
    ovfk_hv_vm_free(y);
    ovfk_hv_disconnect(c);
}

/*
 * Issue 17: the bus convert chose reaches the configuration: an HVM guest
 * without PV drivers boots from emulated IDE disks (hdX, read back as
 * "ide"); a paravirtual one keeps xvdX; an emulated NIC model is written
 * (model=e1000) and read back.
 */
static void test_bus_names(void)
{
    const char *disks[] = { "16M", "16M" }, *br = bridge();
    const char *nics[] = { br };
    struct ovfk_hv_vm *v, *w;
    const char *cfg;
    ovfk_hv_conn *c;

    CHECK_OK(connect_xen(&c), ovfk_last_error());
    CHECK_OK(create(c, "bus", disks, 2, br ? nics : NULL, br ? 1 : 0, &v),
             ovfk_hv_error(c));
    free(v->disks[0].bus);
    v->disks[0].bus = strdup("ide");
    free(v->disks[1].bus);
    v->disks[1].bus = strdup("sata");
    if (br) {
        free(v->nics[0].model);
        v->nics[0].model = strdup("e1000");
    }
    CHECK_OK(ovfk_hv_vm_update(c, v), ovfk_hv_error(c));
    cfg = read_text("xen/bus.cfg");
    CHECK_MSG(strstr(cfg, ",hda,w\"") && strstr(cfg, ",hdb,w\""), "%s", cfg);
    CHECK_MSG(!br || strstr(cfg, ",model=e1000\""), "%s", cfg);
    CHECK_OK(ovfk_hv_load(c, "bus", &w), ovfk_hv_error(c));
    CHECK(!strcmp(w->disks[0].bus, "ide") && !strcmp(w->disks[1].bus, "ide"));
    CHECK(!br || !strcmp(w->nics[0].model, "e1000"));
    ovfk_hv_vm_free(w);
    free(v->disks[0].bus);
    v->disks[0].bus = strdup("virtio");
    CHECK_OK(ovfk_hv_vm_update(c, v), ovfk_hv_error(c));
    CHECK_MSG(strstr(read_text("xen/bus.cfg"), ",xvda,w\""), "%s",
              read_text("xen/bus.cfg"));
    ovfk_hv_vm_free(v);
    ovfk_hv_disconnect(c);
}

TEST_MAIN(T(test_open_errors), T(test_read_hand_written),
          T(test_bad_config_lines), T(test_names), T(test_disk_names_unique),
          T(test_create_rollback), T(test_remove_owned_only),
          T(test_remove_without_uuid), T(test_capacity),
          T(test_restore_renamed), T(test_macs), T(test_bus_names))

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests: a running VM's disk server (nbdkit with our plugin, started
 * as `vm start` starts it) switches its write target when the snapshot
 * code asks (hv/run.c's run_disk_request): to a path with blanks; never
 * to a missing, foreign or unrelated file, which it refuses with the
 * reason while it keeps writing to the old file (and a later reopen opens
 * that one); and requests in quick succession, one after another or from
 * several requesters at once, are all carried out, in order.  qemu-io is
 * the NBD client that writes; our reader checks which file took the data.
 */
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hv/internal.h"
#include "hv/run.h"
#include "ovfkit/vhd.h"
#include "tests/unit/harness.h"
#include "util/nbdkit.h"

#define DISK (8u << 20)

static char dir[PATH_MAX];

static bool have(const char *tool)
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "command -v %s > /dev/null 2>&1", tool);
    return system(cmd) == 0;
}

/* The tools and the plugin; NULL when all are there, else the reason. */
static const char *missing(void)
{
    static char plugin[PATH_MAX];
    const char *build = getenv("OVFK_BUILD");

    if (!have("nbdkit")) {
        return "needs nbdkit (Debian package nbdkit)";
    }
    if (!have("qemu-io")) {
        return "needs qemu-io (Debian package qemu-utils)";
    }
    snprintf(plugin, sizeof(plugin), "%s/nbdkit-ovfkit-plugin.so",
             build ? build : "build");
    if (access(plugin, R_OK) != 0) {
        return "the nbdkit plugin was not built";
    }
    setenv("OVFKIT_NBDKIT_PLUGIN", plugin, 1);
    return NULL;
}

static int make(const char *path, uint64_t size, const char *parent)
{
    struct ovfk_vhd_create_opts o = { .type = OVFK_VHD_TYPE_DYNAMIC,
                                      .size = size,
                                      .parent = parent };

    return ovfk_vhd_create(path, &o, NULL);
}

/* Serve file (relative to the test directory) as disk 0 of a VM whose
 * directory is the test directory. */
static int serve(const char *file)
{
    char f[PATH_MAX + 64], sock[PATH_MAX + 64], pid[PATH_MAX + 64];
    char ctl[PATH_MAX + 64];

    if (!getcwd(dir, sizeof(dir)) || mkdir("run", 0755) < 0) {
        return -errno;
    }
    snprintf(f, sizeof(f), "%s/%s", dir, file);
    snprintf(sock, sizeof(sock), "%s/run/disk-0.sock", dir);
    snprintf(pid, sizeof(pid), "%s/run/nbdkit-0.pid", dir);
    snprintf(ctl, sizeof(ctl), "%s/run/disk-0.ctl", dir);
    return ovfk_nbdkit_serve(f, sock, pid, ctl, false);
}

static void stop(void)
{
    char pid[PATH_MAX + 64];

    snprintf(pid, sizeof(pid), "%s/run/nbdkit-0.pid", dir);
    ovfk_nbdkit_stop(pid);
}

/* Ask the server of disk 0; the message in msg (ovfk_hv_conn's error). */
static int ask(const char *verb, const char *path, char *msg, size_t len)
{
    ovfk_hv_conn c = { 0 };
    int r = run_disk_request(&c, dir, 0, verb, path);

    snprintf(msg, len, "%s", c.err.msg);
    return r;
}

/* Write len bytes of the pattern byte at off through NBD (qemu-io). */
static int nbd_write(unsigned pattern, uint64_t off, uint64_t len)
{
    char cmd[PATH_MAX + 256];

    snprintf(cmd, sizeof(cmd), "qemu-io -f raw -c 'write -P 0x%02x %llu "
             "%llu' 'nbd+unix:///?socket=%s/run/disk-0.sock' > /dev/null",
             pattern, (unsigned long long)off, (unsigned long long)len, dir);
    return system(cmd) == 0 ? 0 : -EIO;
}

/* The byte at off of the chain whose top is path, or -1. */
static int byte_at(const char *path, uint64_t off)
{
    uint8_t b;
    ovfk_vhd *h;
    int r;

    if (ovfk_vhd_open(path, 0, &h) < 0) {
        return -1;
    }
    r = ovfk_vhd_pread(h, &b, 1, off);
    ovfk_vhd_close(h);
    return r < 0 ? -1 : b;
}

static void switch_path_with_blanks(void)
{
    char target[PATH_MAX + 64], msg[1024];
    const char *why = missing();

    if (why) {
        SKIP(why);
    }
    CHECK(mkdir("new deltas", 0755) == 0);
    CHECK_OK(make("base.vhd", DISK, NULL), ovfk_last_error());
    CHECK_OK(make("new deltas/d 1 .vhd", 0, "base.vhd"), ovfk_last_error());
    CHECK_OK(serve("base.vhd"), "cannot start nbdkit");
    snprintf(target, sizeof(target), "%s/new deltas/d 1 .vhd", dir);
    if (ask("switch", target, msg, sizeof(msg)) < 0) {
        stop();
        CHECK_MSG(false, "switch to '%s': %s", target, msg);
    }
    CHECK(nbd_write(0xab, 65536, 4096) == 0);
    stop();
    CHECK_EQ(byte_at("new deltas/d 1 .vhd", 65536), 0xab);
    CHECK_EQ(byte_at("base.vhd", 65536), 0);
}

/* A switch that must be refused: the message names the reason. */
static int refused(const char *file, const char *want, char *msg,
                   size_t len)
{
    char target[PATH_MAX + 64];
    int r;

    snprintf(target, sizeof(target), "%s/%s", dir, file);
    r = ask("switch", target, msg, len);
    return r < 0 && strstr(msg, want) ? 0 : -1;
}

static void refused_switch_keeps_target(void)
{
    char msg[1024];
    const char *why = missing();
    FILE *f;

    if (why) {
        SKIP(why);
    }
    CHECK_OK(make("base.vhd", DISK, NULL), ovfk_last_error());
    CHECK_OK(make("small.vhd", DISK / 2, NULL), ovfk_last_error());
    CHECK_OK(make("stranger.vhd", DISK, NULL), ovfk_last_error());
    CHECK((f = fopen("junk.vhd", "w")) != NULL);
    fprintf(f, "not a VHD at all\n");
    fclose(f);
    CHECK_OK(serve("base.vhd"), "cannot start nbdkit");
    if (refused("missing.vhd", "missing.vhd", msg, sizeof(msg)) < 0 ||
        refused("junk.vhd", "junk.vhd", msg, sizeof(msg)) < 0) {
        stop();
        CHECK_MSG(false, "not refused with the file named: '%s'", msg);
    }
    /* the failed switches left the old file the one to reopen */
    if (ask("reopen", NULL, msg, sizeof(msg)) < 0) {
        stop();
        CHECK_MSG(false, "reopen after a refused switch: %s", msg);
    }
    if (refused("small.vhd", "holds 4194304 bytes", msg, sizeof(msg)) < 0 ||
        refused("stranger.vhd", "is not a delta on", msg,
                sizeof(msg)) < 0) {
        stop();
        CHECK_MSG(false, "not refused with the reason: '%s'", msg);
    }
    CHECK(nbd_write(0x5a, 1 << 20, 512) == 0);
    stop();
    CHECK_EQ(byte_at("base.vhd", 1 << 20), 0x5a);
    CHECK_EQ(byte_at("stranger.vhd", 1 << 20), 0);
    CHECK(access("missing.vhd", F_OK) != 0);
}

static void requests_in_order(void)
{
    char name[32], parent[32], target[PATH_MAX + 64], msg[1024];
    const char *why = missing();
    pid_t kids[4];
    int fails = 0;

    if (why) {
        SKIP(why);
    }
    CHECK_OK(make("base.vhd", DISK, NULL), ovfk_last_error());
    snprintf(parent, sizeof(parent), "base.vhd");
    for (int k = 1; k <= 5; k++) {
        snprintf(name, sizeof(name), "d%d.vhd", k);
        CHECK_OK(make(name, 0, parent), ovfk_last_error());
        snprintf(parent, sizeof(parent), "%s", name);
    }
    CHECK_OK(serve("base.vhd"), "cannot start nbdkit");
    /* one after another, at once: each a delta on the one before, so a
     * request lost or applied out of order is refused */
    for (int k = 1; k <= 5 && !fails; k++) {
        snprintf(target, sizeof(target), "%s/d%d.vhd", dir, k);
        fails += ask("switch", target, msg, sizeof(msg)) < 0;
    }
    if (fails) {
        stop();
        CHECK_MSG(false, "a switch in the series failed: %s", msg);
    }
    /* several requesters at the same time: every one is answered */
    for (int k = 0; k < 4; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            _exit(ask("reopen", NULL, msg, sizeof(msg)) < 0);
        }
    }
    for (int k = 0; k < 4; k++) {
        int st;
        fails += kids[k] < 0 || waitpid(kids[k], &st, 0) != kids[k] ||
                 !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    }
    if (fails) {
        stop();
        CHECK_MSG(false, "%d of 4 simultaneous requests failed", fails);
    }
    CHECK(nbd_write(0xc3, 3 << 20, 512) == 0);
    stop();
    CHECK_EQ(byte_at("d5.vhd", 3 << 20), 0xc3);
    CHECK_EQ(byte_at("d4.vhd", 3 << 20), 0);
}

TEST_MAIN(T(switch_path_with_blanks), T(refused_switch_keeps_target),
          T(requests_in_order))

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tests/unit/test_lock.c - util/lock.c: a held lock refuses a second
 * taker with a message naming the holder, a waiter gets it when the
 * holder lets go, and a lock left by a killed holder is taken over with
 * a warning that names it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ovfkit/hv.h"
#include "ovfkit/lock.h"
#include "ovfkit/snapshot.h"
#include "tests/unit/harness.h"

static char warned[1024];

static void on_warn(void *opaque, const char *msg)
{
    (void)opaque;
    snprintf(warned, sizeof(warned), "%s", msg);
}

/* A child that takes "l" and holds it hold_ms (-1: until killed); the
 * parent returns once the child holds it.  The child's pid, or -1. */
static pid_t holder(int hold_ms)
{
    int p[2];
    char ch;
    pid_t pid;

    if (pipe(p) < 0) {
        return -1;
    }
    pid = fork();
    if (pid == 0) {
        ovfk_lock *l;
        close(p[0]);
        if (ovfk_lock_take("l", "thing 'l'", 0, &l) < 0) {
            _exit(1);
        }
        if (write(p[1], "x", 1) != 1) {
            _exit(1);
        }
        if (hold_ms < 0) {
            pause();
        }
        usleep((useconds_t)hold_ms * 1000);
        ovfk_lock_release(l);
        _exit(0);
    }
    close(p[1]);
    if (pid < 0 || read(p[0], &ch, 1) != 1) {
        close(p[0]);
        return -1;
    }
    close(p[0]);
    return pid;
}

static off_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void take_and_release(void)
{
    ovfk_lock *l = NULL;

    warned[0] = '\0';
    ovfk_set_warn_handler(on_warn, NULL);
    CHECK_OK(ovfk_lock_take("l", "thing 'l'", 0, &l), ovfk_last_error());
    CHECK(l != NULL);
    CHECK(file_size("l") > 0);          /* the holder's record */
    ovfk_lock_release(l);
    CHECK_EQ(file_size("l"), 0);        /* emptied on release */
    CHECK_OK(ovfk_lock_take("l", "thing 'l'", 0, &l), ovfk_last_error());
    ovfk_lock_release(l);
    CHECK_MSG(warned[0] == '\0', "unexpected warning '%s'", warned);
    ovfk_lock_release(NULL);
    ovfk_set_warn_handler(NULL, NULL);
}

static void refused_names_holder(void)
{
    ovfk_lock *l = (ovfk_lock *)1;
    char want[64];
    pid_t pid = holder(-1);
    int r;

    CHECK(pid > 0);
    r = ovfk_lock_take("l", "thing 'l'", 0, &l);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    snprintf(want, sizeof(want), "thing 'l' is in use by process %d (",
             (int)pid);
    CHECK_ERR(r, -EAGAIN, ovfk_last_error(), want);
    CHECK(l == NULL);
    /* the command line and the time it took the lock */
    CHECK_MSG(strstr(ovfk_last_error(), "test_lock") &&
              strstr(ovfk_last_error(), ") since 2") &&
              strstr(ovfk_last_error(), " UTC"), "%s", ovfk_last_error());
}

static void wait_gets_it(void)
{
    ovfk_lock *l = NULL;
    pid_t pid = holder(300);
    int r, status = -1;

    CHECK(pid > 0);
    warned[0] = '\0';
    ovfk_set_warn_handler(on_warn, NULL);
    r = ovfk_lock_take("l", "thing 'l'", 10, &l);
    waitpid(pid, &status, 0);
    ovfk_set_warn_handler(NULL, NULL);
    CHECK_OK(r, ovfk_last_error());
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* the holder released it: nothing was taken over */
    CHECK_MSG(warned[0] == '\0', "unexpected warning '%s'", warned);
    ovfk_lock_release(l);
}

static void wait_gives_up(void)
{
    ovfk_lock *l = NULL;
    pid_t pid = holder(-1);
    int r;

    CHECK(pid > 0);
    r = ovfk_lock_take("l", "thing 'l'", 1, &l);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    CHECK_ERR(r, -EAGAIN, ovfk_last_error(), "(waited 1 s)");
}

static void killed_holder_taken_over(void)
{
    ovfk_lock *l = NULL;
    char want[64];
    pid_t pid = holder(-1);

    CHECK(pid > 0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    CHECK(file_size("l") > 0);          /* the dead holder's record */
    warned[0] = '\0';
    ovfk_set_warn_handler(on_warn, NULL);
    CHECK_OK(ovfk_lock_take("l", "thing 'l'", 0, &l), ovfk_last_error());
    ovfk_set_warn_handler(NULL, NULL);
    snprintf(want, sizeof(want), "thing 'l': taking over the lock left by "
             "process %d (", (int)pid);
    CHECK_MSG(strstr(warned, want) && strstr(warned, "without releasing"),
              "warning '%s'", warned);
    ovfk_lock_release(l);
}

static void no_directory(void)
{
    ovfk_lock *l = NULL;

    CHECK_ERR(ovfk_lock_take("nosuch/l", NULL, 0, &l), -ENOENT,
              ovfk_last_error(), "cannot open lock file 'nosuch/l'");
    CHECK(l == NULL);
}

/* After ovfk_lock_interrupt (a signal handler's call) no lock is taken,
 * free or not: the process is stopping.  In a child: it lasts. */
static void interrupt_stops_takers(void)
{
    int status = -1;
    pid_t pid = fork();

    if (pid == 0) {
        ovfk_lock *l = NULL;
        ovfk_lock_interrupt();
        _exit(ovfk_lock_take("l", "thing 'l'", 5, &l) == -EINTR &&
              !l && strstr(ovfk_last_error(), "interrupted before taking "
                           "thing 'l'") ? 0 : 1);
    }
    CHECK(pid > 0);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A program linking libovfkit gets the locks from the library calls: one
 * connection holds the VM, calls on another are refused with -EAGAIN and
 * the holder's name, or wait as ovfk_hv_set_lock_wait says. */
static void library_calls_take_the_vm_lock(void)
{
    const char *disks[] = { "1M", NULL };
    struct ovfk_hv_create_opts o = { .name = "web", .memory_mib = 512,
                                .disks = disks, .n_disks = 1 };
    struct ovfk_hv_export_opts eo = { .to = "out" };
    ovfk_hv_conn *a = NULL, *b = NULL;
    struct ovfk_hv_vm *vm = NULL;
    ovfk_lock *l = NULL;
    char want[64];

    snprintf(want, sizeof(want), "VM 'web' is in use by process %d (",
             (int)getpid());
    CHECK_OK(ovfk_hv_connect("store", NULL, &a), ovfk_last_error());
    CHECK_OK(ovfk_hv_connect("store", NULL, &b), ovfk_last_error());
    CHECK_OK(ovfk_hv_vm_create(a, &o, &vm), ovfk_hv_error(a));
    CHECK_OK(ovfk_hv_vm_lock(a, vm, &l), ovfk_hv_error(a));
    CHECK_ERR(ovfk_hv_export(b, "web", &eo), -EAGAIN, ovfk_hv_error(b), want);
    CHECK(access("out", F_OK) != 0);
    CHECK_ERR(ovfk_hv_vm_remove(b, "web", false), -EAGAIN,
              ovfk_hv_error(b), want);
    CHECK_ERR(ovfk_snap_create(b, "web", "s", NULL, NULL), -EAGAIN,
              ovfk_hv_error(b), want);
    ovfk_hv_set_lock_wait(b, 1);
    CHECK_ERR(ovfk_hv_export(b, "web", &eo), -EAGAIN, ovfk_hv_error(b),
              "(waited 1 s)");
    ovfk_lock_release(l);
    CHECK_OK(ovfk_hv_export(b, "web", &eo), ovfk_hv_error(b));
    CHECK(access("out/web.ovf", F_OK) == 0);
    ovfk_hv_vm_free(vm);
    ovfk_hv_disconnect(a);
    ovfk_hv_disconnect(b);
}

TEST_MAIN(T(take_and_release), T(refused_names_holder), T(wait_gets_it),
          T(wait_gives_up), T(killed_holder_taken_over), T(no_directory),
          T(interrupt_stops_takers), T(library_calls_take_the_vm_lock))

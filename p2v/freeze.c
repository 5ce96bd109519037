/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * p2v/freeze.c - freeze the mounted file systems of the disks for the last
 * copy pass, and make sure they are thawed whatever happens: a frozen root
 * file system on a production server is an outage.
 *
 * NOTES
 * States: OPEN (mount points opened, nothing frozen) -> FROZEN (FIFREEZE
 * done on each, as fsfreeze -f does) -> THAWED.
 * Invariants:
 *   1. The watchdog process exists before the first FIFREEZE and holds its
 *      own descriptors of the mount points, so it can thaw when this
 *      process is gone (SIGKILL, a crash: its end of the control pipe
 *      reads EOF) or when the freeze outlives the deadline.
 *   2. SIGINT, SIGTERM and SIGHUP (handled for the whole capture,
 *      p2v_signals) thaw in the handler (FITHAW is one ioctl,
 *      async-signal-safe) and cancel the capture, which then fails and
 *      cleans up as on any error.
 *   3. p2v_thaw stops the watchdog first, then thaws: a deadline thaw by
 *      the watchdog is reported (the copy is then not consistent), never
 *      missed.
 * The signal handler works on static state: one process freezes at most
 * once at a time, and a handler cannot be given a pointer.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "p2v/internal.h"

#define MAX_MOUNTS 64

struct p2v_freeze {
    int fds[MAX_MOUNTS];
    size_t n;
    pid_t wd;
    int ctl;                    /* write end: the watchdog's lifeline */
};

static int g_fds[MAX_MOUNTS];
static volatile sig_atomic_t g_n, g_sig;
static const int g_sigs[] = { SIGINT, SIGTERM, SIGHUP };
static struct sigaction g_old[3];

static void thaw_all(const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ioctl(fds[i], FITHAW, 0);
    }
}

static void on_signal(int sig)
{
    thaw_all(g_fds, (size_t)g_n);
    g_n = 0;
    g_sig = sig;
}

void p2v_signals(bool on)
{
    struct sigaction sa = { .sa_handler = on_signal };

    sigemptyset(&sa.sa_mask);
    g_sig = 0;
    for (size_t i = 0; i < sizeof(g_sigs) / sizeof(g_sigs[0]); i++) {
        if (on) {
            /* no SA_RESTART: a blocked write returns EINTR and the capture
             * sees the cancel */
            sigaction(g_sigs[i], &sa, &g_old[i]);
        } else {
            sigaction(g_sigs[i], &g_old[i], NULL);
        }
    }
}

int p2v_canceled(void)
{
    return g_sig;
}

/* The watchdog: only async-signal-safe calls (this process may have
 * threads).  Exits 0 when told the capture thawed, 2 after thawing for a
 * dead capture, 3 after thawing at the deadline. */
static void watchdog(int ctl, const int *fds, size_t n, double deadline)
{
    struct timespec t0, now;
    struct sigaction ign = { .sa_handler = SIG_IGN };

    setpgid(0, 0);      /* a terminal's ^C goes to the capture, not here */
    sigaction(SIGINT, &ign, NULL);
    sigaction(SIGTERM, &ign, NULL);
    sigaction(SIGHUP, &ign, NULL);
    sigaction(SIGPIPE, &ign, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        char c;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double left = deadline - ((double)(now.tv_sec - t0.tv_sec) +
                                  (double)(now.tv_nsec - t0.tv_nsec) / 1e9);
        struct pollfd p = { .fd = ctl, .events = POLLIN };
        if (left <= 0) {
            thaw_all(fds, n);
            _exit(3);
        }
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r > 0) {
            ssize_t got = read(ctl, &c, 1);
            if (got == 1 && c == 'T') {
                _exit(0);
            }
            if (got == 0 || (got < 0 && errno != EINTR)) {
                thaw_all(fds, n);
                _exit(2);
            }
        }
    }
}

int p2v_freeze(char *const *mounts, size_t n, double deadline,
               struct p2v_freeze **out, ovfk_err *err)
{
    struct p2v_freeze *f = calloc(1, sizeof(*f));
    int pfd[2], r = 0;

    *out = NULL;
    if (!f) {
        return ovfk_err_set(err, -ENOMEM, "out of memory");
    }
    if (n > MAX_MOUNTS) {
        free(f);
        return ovfk_err_set(err, -E2BIG, "more than %d file systems to "
                            "freeze", MAX_MOUNTS);
    }
    for (f->n = 0; f->n < n; f->n++) {
        f->fds[f->n] = open(mounts[f->n], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (f->fds[f->n] < 0) {
            r = ovfk_err_set(err, -errno, "cannot open '%s': %s",
                             mounts[f->n], strerror(errno));
            goto fail;
        }
    }
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        r = ovfk_err_set(err, -errno, "cannot create a pipe: %s",
                         strerror(errno));
        goto fail;
    }
    f->wd = fork();
    if (f->wd == 0) {
        close(pfd[1]);
        watchdog(pfd[0], f->fds, f->n, deadline);
    }
    close(pfd[0]);
    f->ctl = pfd[1];
    if (f->wd < 0) {
        r = ovfk_err_set(err, -errno, "cannot start the thaw watchdog: %s",
                         strerror(errno));
        close(f->ctl);
        goto fail;
    }
    g_n = 0;
    for (size_t i = 0; i < f->n; i++) {
        g_fds[i] = f->fds[i];
        if (p2v_canceled()) {
            r = ovfk_err_set(err, -ECANCELED, "canceled by signal %d",
                             p2v_canceled());
            p2v_thaw(f, NULL);
            return r;
        }
        if (ioctl(f->fds[i], FIFREEZE, 0) < 0) {
            r = ovfk_err_set(err, -errno, "cannot freeze '%s': %s", mounts[i],
                             strerror(errno));
            p2v_thaw(f, NULL);
            return r;
        }
        g_n = (sig_atomic_t)(i + 1);
    }
    *out = f;
    return 0;
fail:
    while (f->n > 0) {
        close(f->fds[--f->n]);
    }
    free(f);
    return r;
}

int p2v_thaw(struct p2v_freeze *f, ovfk_err *err)
{
    int st = 0, r = 0;

    if (!f) {
        return 0;
    }
    if (write(f->ctl, "T", 1) != 1) {
        /* the watchdog is gone: it thawed (deadline) or was killed;
         * waitpid says which */
    }
    close(f->ctl);
    while (waitpid(f->wd, &st, 0) < 0 && errno == EINTR) {
    }
    thaw_all(f->fds, (size_t)g_n);
    g_n = 0;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 3) {
        r = err ? ovfk_err_set(err, -ETIMEDOUT, "the freeze outlived the "
                               "watchdog's deadline, which thawed the file "
                               "systems: the copy is not consistent")
                : -ETIMEDOUT;
    }
    while (f->n > 0) {
        close(f->fds[--f->n]);
    }
    free(f);
    return r;
}

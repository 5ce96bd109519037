/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/lock.c - locks between processes (ovfkit/lock.h): flock(2) on a
 * lock file that records its holder.
 *
 * Why flock and a record, not O_EXCL lock files (git's index.lock): the
 * kernel drops an flock when its holder dies, so a job killed with -9
 * never leaves a lock that needs a human to remove; the record only says
 * who holds it.  A record found when the lock is taken belongs to a
 * holder that ended without releasing it, so the taker says so.
 *
 * The record, written after the lock is held, emptied before release:
 *   pid=4242
 *   since=1795951805          (seconds since the epoch)
 *   cmd=ovfkit export web --to /x
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "ovfkit/lock.h"
#include "util/err.h"

/* a command line longer than this is cut (messages stay one line) */
#define LOCK_CMD_MAX 200
/* how often a waiter retries: a second job starts well within a second
 * of the first one's end, and a wait of hours costs 10 calls a second */
#define LOCK_POLL_NS 100000000L

struct ovfk_lock {
    int fd;
};

static volatile sig_atomic_t interrupted;

void ovfk_lock_interrupt(void)
{
    interrupted = 1;
}

struct holder {
    long pid;
    long long since;
    char cmd[LOCK_CMD_MAX + 4];
};

/* This process's command line, arguments joined by spaces, control
 * characters as '?', cut at LOCK_CMD_MAX with "...". */
static void own_cmdline(char *buf, size_t len)
{
    char raw[LOCK_CMD_MAX + 1];
    ssize_t n = 0;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        n = read(fd, raw, sizeof(raw));
        close(fd);
    }
    if (n <= 0) {
        snprintf(buf, len, "?");
        return;
    }
    while (n > 0 && raw[n - 1] == '\0') {
        n--;
    }
    for (ssize_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)raw[i];
        raw[i] = ch == '\0' ? ' ' : (ch < 0x20 || ch == 0x7f) ? '?' : raw[i];
    }
    snprintf(buf, len, "%.*s%s", (int)(n > LOCK_CMD_MAX ? LOCK_CMD_MAX : n),
             raw, n > LOCK_CMD_MAX ? "..." : "");
}

/* The record in fd; 1 when it names a holder, 0 when empty or not ours. */
static int read_holder(int fd, struct holder *h)
{
    char buf[512], *line, *save = NULL;
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

    memset(h, 0, sizeof(*h));
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    for (line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "pid=", 4)) {
            h->pid = strtol(line + 4, NULL, 10);
        } else if (!strncmp(line, "since=", 6)) {
            h->since = strtoll(line + 6, NULL, 10);
        } else if (!strncmp(line, "cmd=", 4)) {
            snprintf(h->cmd, sizeof(h->cmd), "%s", line + 4);
        }
    }
    return h->pid > 0;
}

/* "process 4242 (ovfkit export web) since 2026-11-29 11:30:05 UTC" */
static void describe(const struct holder *h, char *buf, size_t len)
{
    char when[64] = "an unknown time";
    time_t t = (time_t)h->since;
    struct tm tm;

    if (h->since > 0 && gmtime_r(&t, &tm)) {
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    }
    snprintf(buf, len, "process %ld (%s) since %s", h->pid,
             h->cmd[0] ? h->cmd : "?", when);
}

static int write_holder(int fd)
{
    char cmd[LOCK_CMD_MAX + 4], rec[LOCK_CMD_MAX + 96];
    int n;

    own_cmdline(cmd, sizeof(cmd));
    n = snprintf(rec, sizeof(rec), "pid=%ld\nsince=%lld\ncmd=%s\n",
                 (long)getpid(), (long long)time(NULL), cmd);
    if (ftruncate(fd, 0) < 0 || pwrite(fd, rec, (size_t)n, 0) != n) {
        return -errno;
    }
    return 0;
}

/* flock with retries until deadline (monotonic seconds; 0: once, -1:
 * forever).  0, -EWOULDBLOCK past the deadline, -EINTR, or -errno. */
static int lock_until(int fd, int wait_seconds)
{
    struct timespec now, end, nap = { 0, LOCK_POLL_NS };

    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += wait_seconds > 0 ? wait_seconds : 0;
    for (;;) {
        if (interrupted) {
            return -EINTR;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            return 0;
        }
        if (errno != EWOULDBLOCK && errno != EINTR) {
            return -errno;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (wait_seconds == 0 ||
            (wait_seconds > 0 && (now.tv_sec > end.tv_sec ||
                                  (now.tv_sec == end.tv_sec &&
                                   now.tv_nsec >= end.tv_nsec)))) {
            return -EWOULDBLOCK;
        }
        /* a caught signal (the CLI's SIGINT/SIGTERM flag) ends the wait */
        if (nanosleep(&nap, NULL) < 0 && errno == EINTR) {
            return -EINTR;
        }
    }
}

int ovfk_lock_take(const char *path, const char *what, int wait_seconds,
                   ovfk_lock **out)
{
    struct holder h;
    char who[LOCK_CMD_MAX + 128];
    ovfk_lock *l;
    int fd, r;

    *out = NULL;
    what = what ? what : path;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        r = -errno;
        return ovfk_err_last(r, "cannot open lock file '%s': %s", path,
                             ovfk_errtext(r));
    }
    r = lock_until(fd, wait_seconds);
    if (r == -EWOULDBLOCK) {
        if (read_holder(fd, &h)) {
            describe(&h, who, sizeof(who));
        } else {
            snprintf(who, sizeof(who), "another process");
        }
        close(fd);
        if (wait_seconds > 0) {
            return ovfk_err_last(-EAGAIN, "%s is in use by %s (waited %d "
                                 "s)", what, who, wait_seconds);
        }
        return ovfk_err_last(-EAGAIN, "%s is in use by %s", what, who);
    }
    if (r == -EINTR) {
        close(fd);
        return ovfk_err_last(r, "interrupted before taking %s", what);
    }
    if (r < 0) {
        close(fd);
        return ovfk_err_last(r, "cannot lock '%s': %s", path,
                             ovfk_errtext(r));
    }
    /* ours now: a record still there was left by a holder that died */
    if (read_holder(fd, &h)) {
        describe(&h, who, sizeof(who));
        ovfk_warn("%s: taking over the lock left by %s, which ended "
                  "without releasing it", what, who);
    }
    r = write_holder(fd);
    l = r == 0 ? malloc(sizeof(*l)) : NULL;
    if (!l) {
        r = r < 0 ? r : -ENOMEM;
        close(fd);
        return ovfk_err_last(r, "cannot record the holder of '%s': %s",
                             path, ovfk_errtext(r));
    }
    l->fd = fd;
    *out = l;
    return 0;
}

void ovfk_lock_release(ovfk_lock *l)
{
    if (!l) {
        return;
    }
    /* emptied while still held: a waiter never reads a half record, and
     * the next taker knows this holder let go */
    if (ftruncate(l->fd, 0) < 0) {
        /* the next taker warns about a takeover it did not need */
    }
    flock(l->fd, LOCK_UN);
    close(l->fd);
    free(l);
}

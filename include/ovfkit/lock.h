/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovfkit/lock.h - exclusive locks between processes, one lock file per
 * thing locked (a VM, a store, a backup repository), so two jobs never
 * work on one thing at once.
 *
 * A lock is an flock(2) on its lock file, which the kernel drops when the
 * holder dies however it dies: a killed job leaves no lock behind.  While
 * held, the file records who holds it (pid, command line, since when), so
 * a refused caller's message names the holder; a release empties it.  A
 * lock file still naming a holder when it is taken was left by a process
 * that ended without releasing it (killed, crashed): the lock is taken
 * over and a warning says so (ovfk_set_warn_handler, common.h).
 *
 * The library takes these locks itself where it works (ovfk_hv_* and
 * snapshot calls lock the VM, definition changes the store), so a program
 * linking libovfkit is protected as the ovfkit command is; the wait comes
 * from the connection (ovfk_hv_set_lock_wait).
 */
#ifndef OVFKIT_LOCK_H
#define OVFKIT_LOCK_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ovfk_lock ovfk_lock;

/* wait_seconds for "wait as long as it takes" */
#define OVFK_LOCK_WAIT_FOREVER (-1)

/*
 * Take the lock of path (the lock file, created 0644 if missing; its
 * directory must exist).  what names the thing for messages ("VM 'web'",
 * "store '/srv/vms'").  wait_seconds: 0 fails at once when the lock is
 * held, N > 0 retries for up to N seconds, OVFK_LOCK_WAIT_FOREVER waits.
 * Returns 0 and *out (release with ovfk_lock_release), or:
 *   -EAGAIN  held by another process (or another open of the file in
 *            this one) past the wait; ovfk_last_error() names the holder:
 *            "VM 'web' is in use by process 4242 (ovfkit export web
 *            --to /x) since 2026-11-29 11:30:05 UTC";
 *   -EINTR   ovfk_lock_interrupt() was called (before or while waiting),
 *            or a signal with a handler arrived while waiting;
 *   another negative errno when the file cannot be opened or locked.
 * On failure *out is NULL and nothing was changed.
 */
int ovfk_lock_take(const char *path, const char *what, int wait_seconds,
                   ovfk_lock **out);

/*
 * Make every ovfk_lock_take of this process, waiting now or called later,
 * fail with -EINTR instead of taking the lock.  Async-signal-safe: a
 * SIGINT/SIGTERM handler calls it, so a signal that arrives between two
 * tries of a wait is not lost.  For processes that stop once asked to.
 */
void ovfk_lock_interrupt(void);

/* Empty the record, drop the lock, free l.  NULL is accepted.  The lock
 * file stays (removing it would race with a process waiting on it). */
void ovfk_lock_release(ovfk_lock *l);

#ifdef __cplusplus
}
#endif
#endif

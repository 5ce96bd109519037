/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv/locks.c - advisory locks (flock) so two ovfkit processes, say two
 * backup jobs, never work on one VM or define into the store at once.  The
 * kernel drops a lock when its holder dies, so a killed job leaves none
 * behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "hv/internal.h"

int hv_flock(const char *path, bool wait, int *fd, ovfk_err *err)
{
    char pid[32];
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

    *fd = -1;
    if (f < 0) {
        return ovfk_err_set(err, -errno, "cannot open lock '%s': %s", path,
                            ovfk_errtext(-errno));
    }
    if (flock(f, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
        int e = errno;
        char holder[32] = "";
        ssize_t n = pread(f, holder, sizeof(holder) - 1, 0);
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        close(f);
        if (e == EWOULDBLOCK) {
            return ovfk_err_set(err, -EBUSY, "another ovfkit process%s%s "
                                "holds '%s'; try again when it is done",
                                holder[0] ? " (pid " : "", holder[0] ?
                                holder : "", path);
        }
        return ovfk_err_set(err, -e, "cannot lock '%s': %s", path,
                            ovfk_errtext(-e));
    }
    /* who holds it, for the message above */
    snprintf(pid, sizeof(pid), "%d)\n", (int)getpid());
    if (ftruncate(f, 0) == 0 && pwrite(f, pid, strlen(pid), 0) < 0) {
        /* the pid is only a hint */
    }
    *fd = f;
    return 0;
}

void hv_funlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

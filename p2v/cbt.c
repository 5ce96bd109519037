/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * p2v/cbt.c - changed block tracking for the pre-copy passes, from the
 * kernel's own record of completed writes: the block:block_rq_complete
 * trace event of a private tracefs instance, filtered on the captured
 * disks and on writes and discards.  A pass after the first then reads
 * only the chunks written since the previous one (plus the chunks that
 * became used), so the frozen pass reads what changed, not the whole disk.
 *
 * A completion is recorded when the data is on the device: a chunk read
 * after its event was collected holds that write; a write completing after
 * the read is collected for the next pass.  Lost events (the instance's
 * ring buffer overrun) make the next pass a full scan again.  Without
 * tracefs, or on a bio-based device (no request events), the capture scans
 * every used chunk in every pass, as it would without tracking.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "p2v/internal.h"

struct p2v_cbt {
    char root[PATH_MAX];        /* the tracefs mount */
    char mnt_tmp[64];           /* a mount of ours, to remove */
    char inst[PATH_MAX + 64];   /* our instance */
    int pipe;                   /* its trace_pipe, non-blocking */
    char line[512];
    size_t llen;
};

static int put(const char *dir, const char *file, const char *text)
{
    char path[PATH_MAX + 128];
    int fd, r = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        r = -errno;
    }
    close(fd);
    return r;
}

/* Where tracefs is mounted (/proc/self/mounts); else mount it where the
 * kernel provides for it (/sys/kernel/tracing, as systemd does, left
 * mounted: a SIGKILLed capture leaves no mount behind), else privately. */
static int find_tracefs(struct p2v_cbt *t)
{
    FILE *f = fopen("/proc/self/mounts", "re");
    char dev[256], dir[PATH_MAX], type[64];

    while (f && fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
        if (!strcmp(type, "tracefs")) {
            snprintf(t->root, sizeof(t->root), "%s", dir);
            fclose(f);
            return 0;
        }
    }
    if (f) {
        fclose(f);
    }
    if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0) {
        snprintf(t->root, sizeof(t->root), "/sys/kernel/tracing");
        return 0;
    }
    snprintf(t->mnt_tmp, sizeof(t->mnt_tmp), "/tmp/ovfkit-tracefs-XXXXXX");
    if (!mkdtemp(t->mnt_tmp)) {
        t->mnt_tmp[0] = '\0';
        return -errno;
    }
    if (mount("tracefs", t->mnt_tmp, "tracefs", 0, NULL) < 0) {
        int e = -errno;
        rmdir(t->mnt_tmp);
        t->mnt_tmp[0] = '\0';
        return e;
    }
    snprintf(t->root, sizeof(t->root), "%s", t->mnt_tmp);
    return 0;
}

/* Instances of captures that died without removing theirs (SIGKILL):
 * they would trace, and hold their buffers, for ever. */
static void remove_stale(struct p2v_cbt *t)
{
    char dir[PATH_MAX + 32], path[PATH_MAX + 300];
    DIR *dh;
    struct dirent *e;

    snprintf(dir, sizeof(dir), "%s/instances", t->root);
    if (!(dh = opendir(dir))) {
        return;
    }
    while ((e = readdir(dh))) {
        int pid;
        if (sscanf(e->d_name, "ovfkit-p2v-%d", &pid) != 1 || pid <= 0 ||
            kill(pid, 0) == 0 || errno != ESRCH) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        put(path, "tracing_on", "0");
        rmdir(path);
    }
    closedir(dh);
}

void p2v_cbt_stop(struct p2v_cbt *t)
{
    if (!t) {
        return;
    }
    if (t->pipe >= 0) {
        close(t->pipe);
    }
    if (t->inst[0]) {
        put(t->inst, "tracing_on", "0");
        rmdir(t->inst);
    }
    if (t->mnt_tmp[0]) {
        umount2(t->mnt_tmp, MNT_DETACH);
        rmdir(t->mnt_tmp);
    }
    free(t);
}

int p2v_cbt_start(struct p2v_disk *disks, size_t n, struct p2v_cbt **out,
                  char *why, size_t len)
{
    struct p2v_cbt *t = calloc(1, sizeof(*t));
    char filter[2048] = "(", ev[PATH_MAX + 128];
    size_t fl = 1;
    int r;

    *out = NULL;
    if (!t) {
        snprintf(why, len, "out of memory");
        return -ENOMEM;
    }
    t->pipe = -1;
    if ((r = find_tracefs(t)) < 0) {
        snprintf(why, len, "no tracefs: %s", strerror(-r));
        free(t);
        return r;
    }
    remove_stale(t);
    snprintf(t->inst, sizeof(t->inst), "%s/instances/ovfkit-p2v-%d",
             t->root, (int)getpid());
    if (mkdir(t->inst, 0700) < 0) {
        r = -errno;
        snprintf(why, len, "cannot create a trace instance: %s",
                 strerror(errno));
        t->inst[0] = '\0';
        p2v_cbt_stop(t);
        return r;
    }
    for (size_t i = 0; i < n; i++) {
        /* the kernel's dev_t in trace events: major << 20 | minor */
        fl += (size_t)snprintf(filter + fl, sizeof(filter) - fl, "%sdev == %u",
                               i ? " || " : "",
                               (major(disks[i].rdev) << 20) |
                               minor(disks[i].rdev));
    }
    snprintf(filter + fl, sizeof(filter) - fl,
             ") && (rwbs ~ \"*W*\" || rwbs ~ \"*D*\")");
    snprintf(ev, sizeof(ev), "%s/events/block/block_rq_complete", t->inst);
    if ((r = put(t->inst, "buffer_size_kb", "8192")) < 0 ||
        (r = put(ev, "filter", filter)) < 0 ||
        (r = put(ev, "enable", "1")) < 0 ||
        (r = put(t->inst, "tracing_on", "1")) < 0) {
        snprintf(why, len, "cannot trace block completions: %s",
                 strerror(-r));
        p2v_cbt_stop(t);
        return r;
    }
    snprintf(ev, sizeof(ev), "%s/trace_pipe", t->inst);
    t->pipe = open(ev, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (t->pipe < 0) {
        r = -errno;
        snprintf(why, len, "cannot read the trace: %s", strerror(errno));
        p2v_cbt_stop(t);
        return r;
    }
    *out = t;
    return 0;
}

/* "... block_rq_complete: 7,1 WS () 429826 + 128 be,0,4 [0]" */
static void on_line(const char *line, struct p2v_disk *disks, size_t n)
{
    const char *p = strstr(line, "block_rq_complete: "), *q;
    unsigned maj, min, cnt;
    unsigned long long sec;

    if (!p || sscanf(p + 19, "%u,%u", &maj, &min) != 2 ||
        !(q = strstr(p, ") ")) || sscanf(q + 2, "%llu + %u", &sec,
                                         &cnt) != 2) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct p2v_disk *d = &disks[i];
        if (major(d->rdev) != maj || minor(d->rdev) != min) {
            continue;
        }
        uint64_t a = (uint64_t)sec * 512, b = a + (uint64_t)cnt * 512;
        if (b > d->size) {
            b = d->size;
        }
        for (uint64_t c = a / P2V_CHUNK; a < b && c <= (b - 1) / P2V_CHUNK;
             c++) {
            d->dirty[c] = 1;
        }
    }
}

static bool lost_events(struct p2v_cbt *t)
{
    char dir[PATH_MAX + 128], line[128];
    bool lost = false;

    for (int cpu = 0; !lost; cpu++) {
        FILE *f;
        snprintf(dir, sizeof(dir), "%s/per_cpu/cpu%d/stats", t->inst, cpu);
        if (!(f = fopen(dir, "re"))) {
            break;
        }
        while (fgets(line, sizeof(line), f)) {
            unsigned long long v;
            if ((sscanf(line, "overrun: %llu", &v) == 1 ||
                 sscanf(line, "dropped events: %llu", &v) == 1) && v > 0) {
                lost = true;
            }
        }
        fclose(f);
    }
    return lost;
}

int p2v_cbt_collect(struct p2v_cbt *t, struct p2v_disk *disks, size_t n)
{
    char buf[65536];
    ssize_t got;

    while ((got = read(t->pipe, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < got; i++) {
            if (buf[i] != '\n' && t->llen < sizeof(t->line) - 1) {
                t->line[t->llen++] = buf[i];
                continue;
            }
            t->line[t->llen] = '\0';
            on_line(t->line, disks, n);
            t->llen = 0;
        }
    }
    if (got < 0 && errno != EAGAIN && errno != EINTR) {
        return -errno;
    }
    return lost_events(t) ? -EOVERFLOW : 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * p2v/capture.c - capture a running machine's disks (ovfk_p2v_capture).
 *
 * Freeze mode: pass 1 sends every used chunk with its SHA-256; each later
 * pass re-reads the used chunks and sends those whose digest changed (or
 * that became used), until a pass's changes are small.  The last pass's
 * time estimates the freeze; within --max-freeze, the mounted file systems
 * of the disks are frozen (p2v/freeze.c), the used maps re-read (a frozen
 * file system is synced), the changes sent, and the file systems thawed.
 * The stream goes to a local receiver thread (DIR) or to `ovfkit p2v
 * receive` run by ssh (ssh://), through a pipe either way.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ovfkit/convert.h"
#include "ovfkit/ova.h"
#include "p2v/internal.h"
#include "util/bytes.h"

extern char **environ;

#define MAX_PASSES 6
#define READ_RUN 64             /* chunks per read (4 MiB) */

struct cap {
    const struct ovfk_p2v_capture_opts *o;
    struct p2v_disk *disks;
    size_t n_disks;
    struct ovfk_hv_vm *vm;
    struct p2v_wire *w;
    uint8_t *buf;               /* READ_RUN chunks, aligned for O_DIRECT */
    char *mounts[64];
    size_t n_mounts;
    const char *method;         /* "freeze", "none" */
    char reason[512];
    /* log lines while frozen: stderr may be a file on a frozen file
     * system, and a write there would wait for the thaw */
    bool defer;
    char deferred[8][256];
    size_t n_deferred;
    json_object *passes;
    struct p2v_cbt *cbt;        /* NULL: every pass reads every used chunk */
    char cbt_why[256];
    bool full;                  /* this pass reads every used chunk */
    double est_freeze, freeze_s;
    double frozen_at, thawed_at;   /* CLOCK_MONOTONIC seconds */
    uint64_t data_bytes;
    ovfk_err err;
    /* the receiver */
    bool local;
    pthread_t thr;
    bool thr_started;
    pid_t ssh;
    int rfd;                    /* the receiver's end of the pipe */
    int recv_rc;
    char recv_msg[1024];
    char *dir;                  /* local target */
    bool ova;                   /* the target is TO.ova */
    bool dir_made;
};

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void logf_(struct cap *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void logf_(struct cap *c, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    if (!c->o->log) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (c->defer) {
        if (c->n_deferred < sizeof(c->deferred) / sizeof(c->deferred[0])) {
            snprintf(c->deferred[c->n_deferred++], sizeof(c->deferred[0]),
                     "%s", line);
        }
        return;
    }
    c->o->log(c->o->opaque, line);
}

static void flush_log(struct cap *c)
{
    c->defer = false;
    for (size_t i = 0; i < c->n_deferred && c->o->log; i++) {
        c->o->log(c->o->opaque, c->deferred[i]);
    }
    c->n_deferred = 0;
}

/* Does this pass read chunk ch?  Used, and never sent or written since
 * (or every used chunk, without change tracking). */
static bool wanted(const struct cap *c, const struct p2v_disk *d,
                   uint32_t ch)
{
    return d->used[ch] && (c->full || !d->have[ch] || d->dirty[ch]);
}

/*
 * One pass over every disk: read the used chunks in runs, send those whose
 * digest differs from what was sent (all of them in pass 1).  *changed
 * gets the bytes sent.
 */
static int run_pass(struct cap *c, int pass, uint64_t *changed)
{
    uint8_t pn[4];
    double t0 = now_s();
    uint64_t sent = 0, chunks = 0, scanned = 0;
    int r;

    put_be32(pn, (uint32_t)pass);
    r = p2v_wire_rec(c->w, P2V_PASS, pn, sizeof(pn), &c->err);
    for (size_t i = 0; r == 0 && i < c->n_disks; i++) {
        struct p2v_disk *d = &c->disks[i];
        uint32_t ch = 0;
        while (r == 0 && ch < d->nchunks) {
            uint32_t run = 0;
            if (!wanted(c, d, ch)) {
                ch++;
                continue;
            }
            while (run < READ_RUN && ch + run < d->nchunks &&
                   wanted(c, d, ch + run)) {
                run++;
            }
            uint64_t off = (uint64_t)ch * P2V_CHUNK;
            size_t len = (size_t)run * P2V_CHUNK;
            if (off + len > d->size) {
                len = (size_t)(d->size - off);
            }
            if (p2v_canceled()) {
                r = ovfk_err_set(&c->err, -ECANCELED, "canceled by signal "
                                 "%d", p2v_canceled());
                break;
            }
            ssize_t got = pread(d->fd, c->buf, len, (off_t)off);
            if (got != (ssize_t)len) {
                r = ovfk_err_set(&c->err, got < 0 ? -errno : -EIO,
                                 "cannot read '%s' at %llu: %s", d->path,
                                 (unsigned long long)off,
                                 got < 0 ? strerror(errno) : "short read");
                break;
            }
            scanned += len;
            for (uint32_t k = 0; r == 0 && k < run; k++) {
                size_t cl = len - (size_t)k * P2V_CHUNK < P2V_CHUNK ?
                            len - (size_t)k * P2V_CHUNK : P2V_CHUNK;
                const uint8_t *p = c->buf + (size_t)k * P2V_CHUNK;
                uint8_t dig[P2V_DIGLEN];
                d->dirty[ch + k] = 0;
                p2v_sha256(p, cl, dig);
                if (d->have[ch + k] &&
                    !memcmp(d->dig[ch + k], dig, P2V_DIGLEN)) {
                    continue;
                }
                r = p2v_wire_data(c->w, (uint32_t)i,
                                  off + (uint64_t)k * P2V_CHUNK, p, cl, dig,
                                  &c->err);
                memcpy(d->dig[ch + k], dig, P2V_DIGLEN);
                d->have[ch + k] = 1;
                sent += cl;
                chunks++;
            }
            ch += run;
        }
    }
    if (r == 0) {
        json_object *p = json_object_new_object();
        double secs = now_s() - t0;
        json_object_object_add(p, "pass", json_object_new_int(pass));
        json_object_object_add(p, "scanned_bytes",
                               json_object_new_int64((int64_t)scanned));
        json_object_object_add(p, "sent_bytes",
                               json_object_new_int64((int64_t)sent));
        json_object_object_add(p, "chunks", json_object_new_int64(
                                   (int64_t)chunks));
        json_object_object_add(p, "seconds", json_object_new_double(secs));
        json_object_array_add(c->passes, p);
        c->data_bytes += sent;
        *changed = sent;
        logf_(c, "pass %d: %llu KiB sent of %llu KiB read in %.2f s", pass,
              (unsigned long long)(sent >> 10),
              (unsigned long long)(scanned >> 10), secs);
    }
    return r;
}

/* Write the mounted file systems' dirty data back first: a pre-copy pass
 * then sees it (in the used map and on the disk), and the freeze, which
 * syncs too, has less to do. */
static void sync_mounts(struct cap *c)
{
    for (size_t i = 0; i < c->n_mounts; i++) {
        int fd = open(c->mounts[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            syncfs(fd);
            close(fd);
        }
    }
}

/* Before a pass: the used maps again, and the chunks written since the
 * last pass (every used chunk when writes were lost or are not tracked). */
static int remap(struct cap *c)
{
    int r = 0;

    sync_mounts(c);
    for (size_t i = 0; r == 0 && i < c->n_disks; i++) {
        r = p2v_used_map(&c->disks[i], &c->err);
    }
    c->full = c->cbt == NULL;
    if (r == 0 && c->cbt) {
        int t = p2v_cbt_collect(c->cbt, c->disks, c->n_disks);
        if (t < 0) {
            logf_(c, "change tracking lost writes (%s): this pass reads "
                  "every used chunk", strerror(-t));
            c->full = true;
        }
    }
    return r;
}

/* Test hook (as the crash points of STYLE.md 12): stay frozen this many
 * seconds, watching the receiver, so tests can kill us mid-freeze.  It
 * says so on the log at once (tests keep stderr off the frozen file
 * systems). */
static int test_hold(struct cap *c)
{
    const char *e = getenv("OVFK_P2V_TEST_HOLD");
    double until = e ? now_s() + strtod(e, NULL) : 0;

    if (e && c->o->log) {
        c->o->log(c->o->opaque, "froze the file systems (test hold)");
    }
    while (now_s() < until) {
        if (p2v_canceled()) {
            return ovfk_err_set(&c->err, -ECANCELED, "canceled by signal "
                                "%d", p2v_canceled());
        }
        if (!p2v_wire_alive(c->w)) {
            return ovfk_err_set(&c->err, -EPIPE, "cannot send the capture "
                                "stream: the receiver is gone");
        }
        usleep(50000);
    }
    return 0;
}

static int freeze_and_finish(struct cap *c)
{
    double max = c->o->max_freeze > 0 ? c->o->max_freeze : 10;
    struct p2v_freeze *f = NULL;
    uint64_t changed;
    double t0;
    int r, r2;

    /* the watchdog thaws at twice the limit: a stuck flow past that is
     * an outage, and the capture then fails rather than lie */
    c->frozen_at = now_s();
    r = p2v_freeze(c->mounts, c->n_mounts, 2 * max + 5, &f, &c->err);
    if (r < 0) {
        return r;
    }
    t0 = c->frozen_at;
    c->defer = true;
    logf_(c, "froze %zu file system%s", c->n_mounts,
          c->n_mounts == 1 ? "" : "s");
    r = test_hold(c);
    if (r == 0) {
        r = remap(c);
    }
    if (r == 0) {
        r = run_pass(c, (int)json_object_array_length(c->passes) + 1,
                     &changed);
    }
    r2 = p2v_thaw(f, &c->err);
    c->thawed_at = now_s();
    c->freeze_s = c->thawed_at - t0;
    flush_log(c);
    logf_(c, "thawed after %.2f s", c->freeze_s);
    return r < 0 ? r : r2;
}

/* Pre-copy passes until one is small, then the frozen pass. */
static int copy_freeze(struct cap *c)
{
    uint64_t used = 0, changed = 0, prev = UINT64_MAX;
    double max = c->o->max_freeze > 0 ? c->o->max_freeze : 10;
    int pass = 1, r;

    char why[200];
    if (c->n_mounts > 0 &&
        p2v_cbt_start(c->disks, c->n_disks, &c->cbt, why, sizeof(why)) == 0) {
        snprintf(c->cbt_why, sizeof(c->cbt_why), "completed writes "
                 "(tracefs block:block_rq_complete)");
    } else if (c->n_mounts > 0) {
        snprintf(c->cbt_why, sizeof(c->cbt_why), "none (%s): every pass "
                 "reads every used chunk", why);
    }
    r = remap(c);
    c->full = true;
    for (size_t i = 0; i < c->n_disks; i++) {
        used += c->disks[i].used_bytes;
    }
    if (r == 0) {
        r = run_pass(c, pass, &changed);
    }
    while (r == 0 && c->n_mounts > 0) {
        json_object *last = json_object_array_get_idx(
            c->passes, json_object_array_length(c->passes) - 1);
        json_object *secs;
        json_object_object_get_ex(last, "seconds", &secs);
        c->est_freeze = json_object_get_double(secs);
        /* small: 1% of the used bytes or 16 MiB, or no longer shrinking */
        bool small = changed <= used / 100 || changed <= (16u << 20) ||
                     changed >= prev;
        if (pass > 1 && (small || pass >= MAX_PASSES)) {
            break;
        }
        prev = changed;
        r = remap(c);
        if (r == 0) {
            r = run_pass(c, ++pass, &changed);
        }
    }
    if (r < 0 || c->n_mounts == 0) {
        return r;
    }
    if (c->est_freeze > max) {
        return ovfk_err_set(&c->err, -ETIME, "refusing to freeze: the last "
                            "pass would take about %.1f s, more than "
                            "--max-freeze %.1f s", c->est_freeze, max);
    }
    return freeze_and_finish(c);
}

static int send_digests(struct cap *c)
{
    int r = 0;

    for (size_t i = 0; r == 0 && i < c->n_disks; i++) {
        struct p2v_disk *d = &c->disks[i];
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        uint8_t rec[4 + P2V_DIGLEN], idx[8];
        unsigned int n = P2V_DIGLEN;
        if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
            EVP_MD_CTX_free(ctx);
            return ovfk_err_set(&c->err, -ENOMEM, "out of memory");
        }
        for (uint32_t ch = 0; ch < d->nchunks; ch++) {
            if (d->have[ch]) {
                put_be64(idx, ch);
                EVP_DigestUpdate(ctx, idx, sizeof(idx));
                EVP_DigestUpdate(ctx, d->dig[ch], P2V_DIGLEN);
            }
        }
        put_be32(rec, (uint32_t)i);
        EVP_DigestFinal_ex(ctx, rec + 4, &n);
        EVP_MD_CTX_free(ctx);
        r = p2v_wire_rec(c->w, P2V_DIGEST, rec, sizeof(rec), &c->err);
    }
    return r;
}

/* Read up to 32 MiB of used chunks and hash them: bytes per second of a
 * scan, which dominates a frozen pass. */
static double scan_rate(struct cap *c)
{
    uint64_t done = 0;
    double t0 = now_s();

    for (size_t i = 0; i < c->n_disks && done < (32u << 20); i++) {
        struct p2v_disk *d = &c->disks[i];
        for (uint32_t ch = 0; ch < d->nchunks && done < (32u << 20); ch++) {
            uint8_t dig[P2V_DIGLEN];
            uint64_t off = (uint64_t)ch * P2V_CHUNK;
            size_t len = d->size - off < P2V_CHUNK ? (size_t)(d->size - off)
                                                   : P2V_CHUNK;
            if (d->used[ch] && pread(d->fd, c->buf, len, (off_t)off) ==
                                   (ssize_t)len) {
                p2v_sha256(c->buf, len, dig);
                done += len;
            }
        }
    }
    return done ? (double)done / (now_s() - t0 + 1e-6) : 0;
}

static json_object *jstr(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static const char *part_consistency(struct cap *c, const struct p2v_part *pt)
{
    if (!strcmp(pt->fstype, "swap")) {
        return "hole (swap)";
    }
    if (!pt->mountpoint) {
        return "not mounted: copied as it is";
    }
    return !strcmp(c->method, "freeze") ? "frozen for the last pass"
                                        : "crash-consistent at best";
}

/* The plan (dry run) or the report: one shape for both. */
static json_object *describe(struct cap *c, bool plan)
{
    json_object *o = json_object_new_object(), *m, *nics, *disks;
    uint64_t send = 0;
    char uuid[37];

    json_object_object_add(o, "name", jstr(c->vm->name));
    json_object_object_add(o, "target", jstr(c->o->to));
    json_object_object_add(o, "consistency", jstr(c->method));
    json_object_object_add(o, "reason", jstr(c->reason));
    json_object_object_add(o, "crash_consistent", json_object_new_boolean(
                               !strcmp(c->method, "none")));
    m = json_object_new_object();
    ovfk_hv_uuid_str(c->vm->uuid, uuid);
    json_object_object_add(m, "uuid", jstr(uuid));
    json_object_object_add(m, "os", jstr(c->vm->os_type));
    json_object_object_add(m, "cpus", json_object_new_int64(c->vm->cpus));
    json_object_object_add(m, "memory_mib", json_object_new_int64(
                               (int64_t)c->vm->memory_mib));
    json_object_object_add(m, "firmware", jstr(c->vm->firmware));
    nics = json_object_new_array();
    for (size_t i = 0; i < c->vm->n_nics; i++) {
        json_object *n = json_object_new_object();
        json_object_object_add(n, "name", jstr(c->vm->nics[i].network));
        json_object_object_add(n, "mac", jstr(c->vm->nics[i].mac));
        json_object_array_add(nics, n);
    }
    json_object_object_add(m, "nics", nics);
    json_object_object_add(o, "machine", m);
    disks = json_object_new_array();
    for (size_t i = 0; i < c->n_disks; i++) {
        struct p2v_disk *d = &c->disks[i];
        json_object *dj = json_object_new_object(), *parts;
        uint64_t ds = 0;
        for (uint32_t ch = 0; ch < d->nchunks; ch++) {
            if (d->used[ch]) {
                uint64_t off = (uint64_t)ch * P2V_CHUNK;
                ds += d->size - off < P2V_CHUNK ? d->size - off : P2V_CHUNK;
            }
        }
        send += ds;
        json_object_object_add(dj, "path", jstr(d->path));
        json_object_object_add(dj, "size", json_object_new_int64(
                                   (int64_t)d->size));
        json_object_object_add(dj, "used_bytes", json_object_new_int64(
                                   (int64_t)d->used_bytes));
        json_object_object_add(dj, "bytes_to_send", json_object_new_int64(
                                   (int64_t)ds));
        parts = json_object_new_array();
        for (size_t j = 0; j < d->n_parts; j++) {
            struct p2v_part *pt = &d->parts[j];
            json_object *pj = json_object_new_object();
            json_object_object_add(pj, "path", jstr(pt->path));
            json_object_object_add(pj, "start", json_object_new_int64(
                                       (int64_t)pt->start));
            json_object_object_add(pj, "size", json_object_new_int64(
                                       (int64_t)pt->size));
            json_object_object_add(pj, "fstype", jstr(pt->fstype));
            json_object_object_add(pj, "mountpoint", jstr(pt->mountpoint));
            json_object_object_add(pj, "used_map", jstr(pt->method));
            json_object_object_add(pj, "used_bytes", json_object_new_int64(
                                       (int64_t)pt->used_bytes));
            json_object_object_add(pj, "consistency",
                                   jstr(part_consistency(c, pt)));
            json_object_array_add(parts, pj);
        }
        json_object_object_add(dj, "partitions", parts);
        json_object_array_add(disks, dj);
    }
    json_object_object_add(o, "disks", disks);
    json_object_object_add(o, "bytes_to_send", json_object_new_int64(
                               (int64_t)send));
    json_object_object_add(o, "max_freeze_seconds", json_object_new_double(
                               c->o->max_freeze > 0 ? c->o->max_freeze : 10));
    json_object_object_add(o, "estimated_freeze_seconds",
                           json_object_new_double(c->est_freeze));
    if (!plan) {
        json_object_object_add(o, "passes", json_object_get(c->passes));
        json_object_object_add(o, "change_tracking", jstr(c->cbt_why[0] ?
                               c->cbt_why : "none: every pass reads every "
                               "used chunk"));
        json_object_object_add(o, "freeze_seconds",
                               json_object_new_double(c->freeze_s));
        /* when, on CLOCK_MONOTONIC, so a test's writer can tell which of
         * its files were complete before the freeze began */
        json_object_object_add(o, "freeze_started_monotonic",
                               json_object_new_double(c->frozen_at));
        json_object_object_add(o, "thawed_monotonic",
                               json_object_new_double(c->thawed_at));
        json_object_object_add(o, "data_bytes", json_object_new_int64(
                                   (int64_t)c->data_bytes));
        json_object_object_add(o, "wire_bytes", json_object_new_int64(
                                   c->w ? (int64_t)p2v_wire_bytes(c->w) : 0));
    }
    return o;
}

static void *local_receiver(void *arg)
{
    struct cap *c = arg;
    struct ovfk_p2v_receive_opts ro = { .dir = c->dir, .fd = c->rfd,
                                        .no_convert = c->o->no_convert ||
                                                      c->ova,
                                        .log = c->o->log,
                                        .opaque = c->o->opaque };

    c->recv_rc = ovfk_p2v_receive(&ro);
    if (c->recv_rc < 0) {
        snprintf(c->recv_msg, sizeof(c->recv_msg), "%s", ovfk_last_error());
    }
    close(c->rfd);
    c->rfd = -1;
    return NULL;
}

/* '...' for a POSIX shell: the remote command is one string. */
static int shell_quote(char *out, size_t len, const char *s)
{
    size_t n = 0;

    if (len < 3) {
        return -ENAMETOOLONG;
    }
    out[n++] = '\'';
    for (; *s; s++) {
        const char *piece = *s == '\'' ? "'\\''" : NULL;
        size_t pl = piece ? 4 : 1;
        if (n + pl + 2 > len) {
            return -ENAMETOOLONG;
        }
        if (piece) {
            memcpy(out + n, piece, pl);
        } else {
            out[n] = *s;
        }
        n += pl;
    }
    out[n++] = '\'';
    out[n] = '\0';
    return 0;
}

/* ssh://[USER@]HOST[:PORT]/DIR -> argv for ssh and the remote command */
static int start_ssh(struct cap *c, int rfd)
{
    const char *u = c->o->to + 6, *slash = strchr(u, '/');
    const char *prog = getenv("OVFK_P2V_SSH");
    char host[256], port[16] = "", *colon, cmd[PATH_MAX * 4 + 64];
    char q1[PATH_MAX * 2], q2[PATH_MAX * 2];
    char *argv[8];
    int argc = 0, r;
    posix_spawn_file_actions_t fa;

    if (!slash || slash == u || (size_t)(slash - u) >= sizeof(host) ||
        !slash[1]) {
        return ovfk_err_set(&c->err, -EINVAL, "cannot parse '%s': expected "
                            "ssh://[USER@]HOST[:PORT]/DIR", c->o->to);
    }
    memcpy(host, u, (size_t)(slash - u));
    host[slash - u] = '\0';
    if ((colon = strrchr(host, ':'))) {
        snprintf(port, sizeof(port), "%s", colon + 1);
        *colon = '\0';
        if (!port[0] || strspn(port, "0123456789") != strlen(port)) {
            return ovfk_err_set(&c->err, -EINVAL, "cannot parse '%s': bad "
                                "port '%s'", c->o->to, port);
        }
    }
    if (shell_quote(q1, sizeof(q1), c->o->remote_cmd ? c->o->remote_cmd
                                                     : "ovfkit") < 0 ||
        shell_quote(q2, sizeof(q2), slash) < 0) {
        return ovfk_err_set(&c->err, -ENAMETOOLONG, "'%s' is too long",
                            c->o->to);
    }
    snprintf(cmd, sizeof(cmd), "%s p2v receive %s%s", q1,
             c->o->no_convert ? "--no-convert " : "", q2);
    argv[argc++] = (char *)(prog && *prog ? prog : "ssh");
    if (port[0]) {
        argv[argc++] = "-p";
        argv[argc++] = port;
    }
    argv[argc++] = "--";
    argv[argc++] = host;
    argv[argc++] = cmd;
    argv[argc] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, rfd, 0);
    /* the receiver's report must not mix with ours on stdout */
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    r = posix_spawnp(&c->ssh, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0) {
        c->ssh = 0;
        return ovfk_err_set(&c->err, -r, "cannot run '%s': %s", argv[0],
                            strerror(r));
    }
    logf_(c, "sending to %s through %s", host, argv[0]);
    return 0;
}

static int start_receiver(struct cap *c, int *wfd)
{
    int p[2], r = 0;

    if (pipe2(p, O_CLOEXEC) < 0) {
        return ovfk_err_set(&c->err, -errno, "cannot create a pipe: %s",
                            strerror(errno));
    }
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    *wfd = p[1];
    c->rfd = p[0];
    if (c->local) {
        r = pthread_create(&c->thr, NULL, local_receiver, c);
        if (r != 0) {
            close(p[0]);
            c->rfd = -1;
            return ovfk_err_set(&c->err, -r, "cannot start the receiver: %s",
                                strerror(r));
        }
        c->thr_started = true;
        return 0;
    }
    r = start_ssh(c, p[0]);
    close(p[0]);
    c->rfd = -1;
    return r;
}

/* Wait for the receiver; 0 when it wrote everything, else the reason in
 * *e. */
static int wait_receiver(struct cap *c, ovfk_err *e)
{
    int st = 0;

    if (c->thr_started) {
        pthread_join(c->thr, NULL);
        c->thr_started = false;
        if (c->recv_rc < 0) {
            return ovfk_err_set(e, c->recv_rc, "%s", c->recv_msg);
        }
    } else if (c->ssh > 0) {
        while (waitpid(c->ssh, &st, 0) < 0 && errno == EINTR) {
        }
        c->ssh = 0;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            return ovfk_err_set(e, -EIO, "the receiver failed (ssh "
                                "exit status %d): see its messages above",
                                WIFEXITED(st) ? WEXITSTATUS(st) : 255);
        }
    }
    return 0;
}

/* A local target must not be on a file system this capture freezes. */
static int check_target(struct cap *c)
{
    char dir[PATH_MAX];
    struct stat st, ms;

    snprintf(dir, sizeof(dir), "%s", c->o->to);
    while (stat(dir, &st) < 0) {
        char *s = strrchr(dir, '/');
        if (!s) {
            snprintf(dir, sizeof(dir), ".");
        } else if (s == dir) {
            dir[1] = '\0';
        } else {
            *s = '\0';
        }
    }
    for (size_t i = 0; i < c->n_mounts; i++) {
        if (stat(c->mounts[i], &ms) == 0 && ms.st_dev == st.st_dev) {
            return ovfk_err_set(&c->err, -EINVAL, "cannot capture to '%s': "
                                "it is on '%s', which the capture freezes",
                                c->o->to, c->mounts[i]);
        }
    }
    return 0;
}

static int choose_method(struct cap *c)
{
    char why[400];
    enum ovfk_p2v_consistency m = c->o->consistency;

    if (m == OVFK_P2V_NONE) {
        c->method = "none";
        snprintf(c->reason, sizeof(c->reason), "--consistency none: the "
                 "disks are read while in use, crash-consistent at best");
        return 0;
    }
    if (m == OVFK_P2V_SNAPSHOT || m == OVFK_P2V_AUTO) {
        p2v_snapshot_possible(c->disks, c->n_disks, why, sizeof(why));
        if (m == OVFK_P2V_SNAPSHOT) {
            return ovfk_err_set(&c->err, OVFK_EUNSUPPORTED, "cannot take LVM "
                                "snapshots: %s", why);
        }
        snprintf(c->reason, sizeof(c->reason), "no LVM snapshot: %s; "
                 "pre-copy passes and fsfreeze instead", why);
    } else {
        snprintf(c->reason, sizeof(c->reason), "--consistency freeze");
    }
    c->method = "freeze";
    for (size_t i = 0; i < c->n_disks; i++) {
        for (size_t j = 0; j < c->disks[i].n_parts; j++) {
            char *mp = c->disks[i].parts[j].mountpoint;
            if (mp && c->n_mounts < sizeof(c->mounts) / sizeof(c->mounts[0])) {
                c->mounts[c->n_mounts++] = mp;
            }
        }
    }
    return 0;
}

/* The machine as the receiver's OVF describes it: NICs on the network
 * "default" (the interface names stay in the report only). */
static int hello(struct cap *c)
{
    struct ovfk_hv_vm *vm = ovfk_hv_vm_copy(c->vm);
    json_object *o = json_object_new_object(), *disks, *mj;
    char *text;
    const char *s;
    int r;

    if (!vm) {
        json_object_put(o);
        return ovfk_err_set(&c->err, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < vm->n_nics; i++) {
        free(vm->nics[i].network);
        vm->nics[i].network = strdup("default");
    }
    text = ovfk_hv_vm_to_json(vm, false);
    ovfk_hv_vm_free(vm);
    mj = text ? json_tokener_parse(text) : NULL;
    free(text);
    disks = json_object_new_array();
    for (size_t i = 0; i < c->n_disks; i++) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "size", json_object_new_int64(
                                   (int64_t)c->disks[i].size));
        json_object_object_add(d, "source", jstr(c->disks[i].path));
        json_object_array_add(disks, d);
    }
    json_object_object_add(o, "name", jstr(c->vm->name));
    json_object_object_add(o, "machine", mj);
    json_object_object_add(o, "disks", disks);
    s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    r = mj ? p2v_wire_rec(c->w, P2V_HELLO, s, strlen(s), &c->err)
           : ovfk_err_set(&c->err, -ENOMEM, "out of memory");
    json_object_put(o);
    return r;
}

static int finish_stream(struct cap *c, char **report)
{
    json_object *rep;
    const char *s;
    int r = send_digests(c);

    rep = describe(c, false);
    s = json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PRETTY |
                                       JSON_C_TO_STRING_NOSLASHESCAPE);
    if (r == 0) {
        r = p2v_wire_rec(c->w, P2V_REPORT, s, strlen(s), &c->err);
    }
    if (r == 0) {
        r = p2v_wire_rec(c->w, P2V_END, NULL, 0, &c->err);
    }
    if (r == 0 && report) {
        /* wire_bytes now counts every byte sent */
        json_object_put(rep);
        rep = describe(c, false);
        s = json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PRETTY |
                                           JSON_C_TO_STRING_NOSLASHESCAPE);
        *report = strdup(s);
    }
    json_object_put(rep);
    return r;
}

/*
 * The dry run: the plan, with the freeze estimated from the scan rate
 * (32 MiB read) and what the frozen pass would read: the writes of one
 * second with change tracking, else every used chunk.
 */
static int plan(struct cap *c)
{
    double rate = scan_rate(c);
    json_object *p = describe(c, true), *v;
    uint64_t bytes = 0;
    char why[200], basis[300];

    json_object_object_get_ex(p, "bytes_to_send", &v);
    bytes = (uint64_t)json_object_get_int64(v);
    snprintf(basis, sizeof(basis), "a full rescan of the used chunks");
    if (strcmp(c->method, "freeze") || c->n_mounts == 0) {
        bytes = 0;
        snprintf(basis, sizeof(basis), "nothing to freeze");
    } else if (p2v_cbt_start(c->disks, c->n_disks, &c->cbt, why,
                             sizeof(why)) == 0) {
        sleep(1);
        bytes = 0;
        if (p2v_cbt_collect(c->cbt, c->disks, c->n_disks) == 0) {
            for (size_t i = 0; i < c->n_disks; i++) {
                for (uint32_t ch = 0; ch < c->disks[i].nchunks; ch++) {
                    bytes += c->disks[i].dirty[ch] && c->disks[i].used[ch]
                             ? P2V_CHUNK : 0;
                }
            }
            snprintf(basis, sizeof(basis), "the chunks written in 1 s "
                     "(change tracking)");
        }
    } else {
        snprintf(basis, sizeof(basis), "a full rescan of the used chunks "
                 "(no change tracking: %s)", why);
    }
    c->est_freeze = rate > 0 ? (double)bytes / rate : 0;
    json_object_object_add(p, "estimated_freeze_seconds",
                           json_object_new_double(c->est_freeze));
    json_object_object_add(p, "estimate_basis", jstr(basis));
    if (c->o->report) {
        *c->o->report = strdup(json_object_to_json_string_ext(
            p, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    }
    json_object_put(p);
    return 0;
}

/* TO.ova from the capture in TO.p2v-dir: packed, or converted into it
 * (convert --p2v writes an OVA itself); the directory goes either way. */
static int make_ova(struct cap *c, int r)
{
    char ovf[PATH_MAX + 128];
    DIR *dh;
    struct dirent *e;

    snprintf(ovf, sizeof(ovf), "%s/%s.ovf", c->dir, c->vm->name);
    if (r == 0 && c->o->no_convert) {
        struct ovfk_ova_pack_opts po = { .digest = OVFK_OVA_DIGEST_SHA256 };
        if ((r = ovfk_ova_pack(ovf, c->o->to, &po)) < 0) {
            r = ovfk_err_set(&c->err, r, "%s", ovfk_last_error());
        }
    } else if (r == 0) {
        const char *srcs[1] = { ovf };
        struct ovfk_convert_opts co = { .to = c->o->to,
                                        .mode = OVFK_CONVERT_P2V,
                                        .digest = OVFK_OVA_DIGEST_SHA256 };
        logf_(c, "converting (convert --p2v)");
        if ((r = ovfk_convert_vm(srcs, 1, &co, NULL)) < 0) {
            r = ovfk_err_set(&c->err, r, "convert --p2v failed: %s",
                             ovfk_last_error());
        }
    }
    /* only the receiver's files are in it (it refuses a non-empty one) */
    if ((dh = opendir(c->dir))) {
        while ((e = readdir(dh))) {
            char p[PATH_MAX + 300];
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof(p), "%s/%s", c->dir, e->d_name);
                unlink(p);
            }
        }
        closedir(dh);
        rmdir(c->dir);
    }
    return r;
}

static int capture(struct cap *c)
{
    const struct ovfk_p2v_capture_opts *o = c->o;
    char **found = NULL;
    size_t nfound = 0;
    int r = 0, wfd = -1;

    if (!o->to || !*o->to) {
        return ovfk_err_set(&c->err, -EINVAL, "no target: --to DIR or "
                            "ssh://[USER@]HOST[:PORT]/DIR");
    }
    c->local = strncmp(o->to, "ssh://", 6) != 0;
    if (o->n_disks == 0) {
        r = p2v_disks_find(&found, &nfound, &c->err);
    }
    size_t n = o->n_disks ? o->n_disks : nfound;
    c->disks = r == 0 ? calloc(n + 1, sizeof(*c->disks)) : NULL;
    if (r == 0 && !c->disks) {
        r = ovfk_err_set(&c->err, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; r == 0 && i < n; i++) {
        r = p2v_disk_open(o->n_disks ? o->disks[i] : found[i], &c->disks[i],
                          &c->err);
        c->n_disks++;
        if (r == 0) {
            r = p2v_used_map(&c->disks[i], &c->err);
        }
    }
    for (size_t i = 0; i < nfound; i++) {
        free(found[i]);
    }
    free(found);
    if (r == 0) {
        r = p2v_machine(o->name, &c->vm, &c->err);
    }
    if (r == 0) {
        r = choose_method(c);
    }
    if (r == 0 && c->local) {
        r = check_target(c);
    }
    if (r < 0) {
        return r;
    }
    if (o->dry_run) {
        return plan(c);
    }
    if (c->local) {
        size_t tl = strlen(o->to);
        c->ova = tl > 4 && !strcmp(o->to + tl - 4, ".ova");
        if (c->ova && access(o->to, F_OK) == 0) {
            return ovfk_err_set(&c->err, -EEXIST, "cannot capture to '%s': "
                                "it exists", o->to);
        }
        /* an OVA is packed from a directory beside it */
        if (asprintf(&c->dir, "%s%s", o->to, c->ova ? ".p2v-dir" : "") < 0) {
            c->dir = NULL;
            return ovfk_err_set(&c->err, -ENOMEM, "out of memory");
        }
    }
    r = start_receiver(c, &wfd);
    if (r == 0) {
        r = p2v_wire_new(wfd, o->compress, &c->w, &c->err);
    }
    if (r == 0) {
        r = hello(c);
    }
    if (r == 0) {
        uint64_t changed;
        c->full = true;
        r = !strcmp(c->method, "none") ? run_pass(c, 1, &changed)
                                       : copy_freeze(c);
    }
    if (r == 0) {
        r = finish_stream(c, o->report);
    } else if (c->w) {
        /* best effort: the receiver removes what it wrote */
        ovfk_err dummy = { 0 };
        p2v_wire_rec(c->w, P2V_ABORT, c->err.msg, strlen(c->err.msg),
                     &dummy);
    }
    if (wfd >= 0) {
        close(wfd);
    }
    ovfk_err re = { 0 };
    int rr = wait_receiver(c, &re);
    /* the local receiver's message says why it stopped reading (a remote
     * one's came through ssh's standard error) */
    if (rr < 0 && (r == 0 || (r == -EPIPE && c->local))) {
        r = ovfk_err_set(&c->err, rr, "%s", re.msg);
    }
    if (c->ova) {
        r = make_ova(c, r);
    }
    return r;
}

int ovfk_p2v_capture(const struct ovfk_p2v_capture_opts *o)
{
    struct cap c = { .o = o, .rfd = -1, .passes = json_object_new_array() };
    struct sigaction ign = { .sa_handler = SIG_IGN }, old;
    int r;

    if (o->report) {
        *o->report = NULL;
    }
    c.buf = aligned_alloc(4096, (size_t)READ_RUN * P2V_CHUNK);
    if (!c.buf || !c.passes) {
        free(c.buf);
        json_object_put(c.passes);
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    /* a receiver that is gone must fail a write, not kill us while the
     * file systems are frozen */
    sigaction(SIGPIPE, &ign, &old);
    p2v_signals(true);
    r = capture(&c);
    int sig = p2v_canceled();
    p2v_signals(false);
    sigaction(SIGPIPE, &old, NULL);
    if (sig) {
        /* cleaned up: now the signal does what it did before (a default
         * disposition ends the process here, as it would have) */
        raise(sig);
    }
    if (r < 0 && o->report && !*o->report && c.est_freeze > 0 && c.vm) {
        json_object *rep = describe(&c, false);
        *o->report = strdup(json_object_to_json_string_ext(
            rep, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(rep);
    }
    if (r < 0) {
        ovfk_err_publish(&c.err);
    }
    p2v_cbt_stop(c.cbt);
    p2v_wire_free(c.w);
    for (size_t i = 0; i < c.n_disks; i++) {
        p2v_disk_close(&c.disks[i]);
    }
    free(c.disks);
    ovfk_hv_vm_free(c.vm);
    json_object_put(c.passes);
    free(c.buf);
    free(c.dir);
    return r;
}

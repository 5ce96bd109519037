/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nbdkit/ovfkit.c - an nbdkit plugin that serves any VHD chain (fixed,
 * dynamic, differencing, as deep as it goes) read-write over NBD:
 *
 *   nbdkit ovfkit file=DISK.vhd [control=SOCKET]
 *
 * qemu's own VHD driver cannot read differencing disks, and a running qemu
 * cannot be told to switch files; this plugin is how `ovfkit vm start`
 * runs VMs on snapshot chains.
 *
 * The control channel.  With control=SOCKET the plugin listens on that
 * Unix socket (SOCK_SEQPACKET, made before nbdkit goes into the
 * background, so it is there once nbdkit has started; only the plugin's
 * own user or root may use it).  A request is one connection carrying one
 * message, each part NUL-terminated:
 *     "switch" NUL PATH NUL   serve PATH, a new delta whose parent is the
 *                             current file (an absolute path, any bytes
 *                             but NUL), from now on
 *     "reopen" NUL NUL        reopen the current file (a merge re-pointed
 *                             its chain)
 * and gets one message back: "ok", or "error MESSAGE".  Why a socket: a
 * request cannot be lost or merged with another (each is a connection the
 * kernel queues in order, and a requester whose connect fails knows at
 * once), its bytes arrive exactly (a message keeps its boundaries: a path
 * is never parsed at blanks or cut), every requester gets its own answer,
 * and the control thread sleeps in poll() rather than watching a file's
 * modification time.  util/nbdkit.c has the requester's side.
 *
 * A switch is atomic: under the lock every NBD request takes, the current
 * file is flushed, the new chain opened and checked, and only then does it
 * replace the old one; when any step fails the old file stays the one
 * served and written (and named for a later reopen), and the requester is
 * told why.
 */
#define NBDKIT_API_VERSION 2
#include <errno.h>
#include <nbdkit-plugin.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ovfkit/vhd.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_SERIALIZE_ALL_REQUESTS

/* A request: a verb, a path, their NULs. */
#define REQUEST_MAX (16 + 4096)
/* How long a connected requester may take to send or read (seconds). */
#define REQUEST_TIMEOUT 10

static char *file;
static char *control;
static ovfk_vhd *top;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t watcher;
static bool watching;
static int listen_fd = -1;
static int wake[2] = { -1, -1 };    /* unload wakes the control thread */
static atomic_bool stopping;

static int ovfkit_config(const char *key, const char *value)
{
    if (!strcmp(key, "file")) {
        free(file);
        file = nbdkit_absolute_path(value);
        return file ? 0 : -1;
    }
    if (!strcmp(key, "control")) {
        free(control);
        control = nbdkit_absolute_path(value);
        return control ? 0 : -1;
    }
    nbdkit_error("unknown parameter '%s' (file=DISK.vhd, control=SOCKET)",
                 key);
    return -1;
}

static int ovfkit_config_complete(void)
{
    if (!file) {
        nbdkit_error("file=DISK.vhd is required");
        return -1;
    }
    return 0;
}

/* Listen on the control socket (before the fork: see NOTES above). */
static int control_listen(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t n = strlen(control);

    if (n >= sizeof(sa.sun_path)) {
        nbdkit_error("control socket path '%s' is too long (at most %zu "
                     "bytes)", control, sizeof(sa.sun_path) - 1);
        return -1;
    }
    memcpy(sa.sun_path, control, n + 1);
    /* what is there is left by a server that is gone (the caller runs one
     * server per socket) */
    unlink(control);
    listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (listen_fd < 0 ||
        bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        chmod(control, 0600) < 0 || listen(listen_fd, 64) < 0 ||
        pipe2(wake, O_CLOEXEC) < 0) {
        nbdkit_error("cannot listen on '%s': %m", control);
        return -1;
    }
    return 0;
}

static int ovfkit_get_ready(void)
{
    if (ovfk_vhd_open(file, OVFK_VHD_OPEN_RDWR, &top) < 0) {
        nbdkit_error("%s", ovfk_last_error());
        return -1;
    }
    return control ? control_listen() : 0;
}

/* Is the file at a the one at b? */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/*
 * Serve path from now on (NULL: reopen the current file), atomically (see
 * the NOTES above); msg gets "ok" or "error MESSAGE".  Returns 0 or -1.
 */
static int retarget(const char *path, char *msg, size_t len)
{
    ovfk_vhd *next = NULL, *parent;
    char *name = NULL;
    int r = -1;

    if (path && path[0] != '/') {
        snprintf(msg, len, "error '%s' is not an absolute path", path);
        return -1;
    }
    if (path && !(name = strdup(path))) {
        snprintf(msg, len, "error out of memory");
        return -1;
    }
    pthread_mutex_lock(&lock);
    if (ovfk_vhd_flush(top) < 0) {
        snprintf(msg, len, "error %s", ovfk_vhd_error(top));
    } else if (ovfk_vhd_open(name ? name : file, OVFK_VHD_OPEN_RDWR, &next) <
               0) {
        snprintf(msg, len, "error %s", ovfk_last_error());
    } else if (ovfk_vhd_size(next) != ovfk_vhd_size(top)) {
        snprintf(msg, len,
                 "error '%s' holds %llu bytes; the disk holds "
                 "%llu",
                 ovfk_vhd_path(next), (unsigned long long)ovfk_vhd_size(next),
                 (unsigned long long)ovfk_vhd_size(top));
    } else if (name && (!(parent = ovfk_vhd_parent(next)) ||
                        !same_file(ovfk_vhd_path(parent), file))) {
        snprintf(msg, len, "error '%s' is not a delta on '%s'", name, file);
    } else {
        ovfk_vhd_close(top);     /* flushed above: nothing is left to write */
        top = next;
        next = NULL;
        if (name) {
            free(file);
            file = name;
            name = NULL;
        }
        snprintf(msg, len, "ok");
        r = 0;
    }
    ovfk_vhd_close(next);
    pthread_mutex_unlock(&lock);
    free(name);
    return r;
}

/* Read one request from the connection fd, carry it out, answer it. */
static void serve_request(int fd)
{
    char req[REQUEST_MAX + 1], msg[1400];
    struct timeval tv = { REQUEST_TIMEOUT, 0 };
    struct iovec iov = { req, REQUEST_MAX };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    struct ucred cred;
    socklen_t cl = sizeof(cred);
    size_t vlen, plen;
    ssize_t n;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
        (cred.uid != 0 && cred.uid != geteuid())) {
        snprintf(msg, sizeof(msg), "error not allowed");
    } else if ((n = recvmsg(fd, &mh, 0)) <= 0) {
        return;     /* the requester went away before asking */
    } else if (mh.msg_flags & MSG_TRUNC) {
        snprintf(msg, sizeof(msg), "error request too long");
    } else {
        req[n] = '\0';
        vlen = strlen(req);
        plen = vlen < (size_t)n ? strlen(req + vlen + 1) : 0;
        if (vlen + plen + 2 != (size_t)n) {
            snprintf(msg, sizeof(msg), "error malformed request");
        } else if (!strcmp(req, "switch") && plen) {
            retarget(req + vlen + 1, msg, sizeof(msg));
        } else if (!strcmp(req, "reopen") && !plen) {
            retarget(NULL, msg, sizeof(msg));
        } else {
            snprintf(msg, sizeof(msg), "error unknown request '%s'", req);
        }
    }
    if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) < 0) {
        nbdkit_error("cannot answer a control request: %m");
    }
    if (!strcmp(msg, "ok")) {
        nbdkit_debug("now serving %s", file);
    }
}

static void *watch(void *arg)
{
    (void)arg;
    while (!atomic_load(&stopping)) {
        struct pollfd p[2] = {
            { .fd = listen_fd, .events = POLLIN },
            { .fd = wake[0], .events = POLLIN },
        };
        int fd;
        if (poll(p, 2, -1) < 0) {
            if (errno != EINTR) {
                nbdkit_error("control socket: %m");
                break;
            }
            continue;
        }
        if (p[1].revents) {
            break;
        }
        fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            /* out of descriptors, say: let it pass rather than spin */
            struct timespec ts = { 0, 10 * 1000000L };
            nanosleep(&ts, NULL);
            continue;
        }
        serve_request(fd);
        close(fd);
    }
    return NULL;
}

static int ovfkit_after_fork(void)
{
    if (!control) {
        return 0;
    }
    if (pthread_create(&watcher, NULL, watch, NULL) != 0) {
        nbdkit_error("cannot start the control thread");
        return -1;
    }
    watching = true;
    return 0;
}

static void ovfkit_unload(void)
{
    if (watching) {
        atomic_store(&stopping, true);
        if (write(wake[1], "", 1) < 0) {
            nbdkit_error("cannot stop the control thread: %m");
        } else {
            pthread_join(watcher, NULL);
        }
    }
    if (listen_fd >= 0) {
        close(listen_fd);
        unlink(control);
    }
    if (wake[0] >= 0) {
        close(wake[0]);
        close(wake[1]);
    }
    if (top) {
        ovfk_vhd_flush(top);
        ovfk_vhd_close(top);
    }
    free(file);
    free(control);
}

static void *ovfkit_open(int readonly)
{
    (void)readonly;
    return &top;
}

static int64_t ovfkit_get_size(void *handle)
{
    int64_t size;

    (void)handle;
    pthread_mutex_lock(&lock);
    size = (int64_t)ovfk_vhd_size(top);
    pthread_mutex_unlock(&lock);
    return size;
}

static int ovfkit_pread(void *handle, void *buf, uint32_t count,
                        uint64_t offset, uint32_t flags)
{
    int r;

    (void)handle;
    (void)flags;
    pthread_mutex_lock(&lock);
    r = ovfk_vhd_pread(top, buf, count, offset);
    if (r < 0) {
        nbdkit_error("%s", ovfk_vhd_error(top));
        nbdkit_set_error(r == OVFK_ECORRUPT ? EIO : -r);
    }
    pthread_mutex_unlock(&lock);
    return r < 0 ? -1 : 0;
}

static int ovfkit_pwrite(void *handle, const void *buf, uint32_t count,
                         uint64_t offset, uint32_t flags)
{
    int r;

    (void)handle;
    pthread_mutex_lock(&lock);
    r = ovfk_vhd_pwrite(top, buf, count, offset);
    if (r == 0 && (flags & NBDKIT_FLAG_FUA)) {
        r = ovfk_vhd_flush(top);
    }
    if (r < 0) {
        nbdkit_error("%s", ovfk_vhd_error(top));
        nbdkit_set_error(r == OVFK_ECORRUPT ? EIO : -r);
    }
    pthread_mutex_unlock(&lock);
    return r < 0 ? -1 : 0;
}

static int ovfkit_flush(void *handle, uint32_t flags)
{
    int r;

    (void)handle;
    (void)flags;
    pthread_mutex_lock(&lock);
    r = ovfk_vhd_flush(top);
    if (r < 0) {
        nbdkit_error("%s", ovfk_vhd_error(top));
        nbdkit_set_error(-r);
    }
    pthread_mutex_unlock(&lock);
    return r < 0 ? -1 : 0;
}

static int ovfkit_can_flush(void *handle)
{
    (void)handle;
    return 1;
}

static int ovfkit_can_fua(void *handle)
{
    (void)handle;
    return NBDKIT_FUA_NATIVE;
}

static struct nbdkit_plugin plugin = {
    .name = "ovfkit",
    .version = OVFKIT_VERSION,
    .longname = "ovfkit VHD chain plugin",
    .description = "Serve a VHD chain (fixed, dynamic, differencing) "
                   "read-write, switching to a new delta on request",
    .config = ovfkit_config,
    .config_complete = ovfkit_config_complete,
    .config_help = "file=<DISK.vhd>   (required) the top of the chain\n"
                   "control=<SOCKET> a Unix socket for requests to switch "
                   "or reopen",
    .get_ready = ovfkit_get_ready,
    .after_fork = ovfkit_after_fork,
    .unload = ovfkit_unload,
    .open = ovfkit_open,
    .get_size = ovfkit_get_size,
    .pread = ovfkit_pread,
    .pwrite = ovfkit_pwrite,
    .flush = ovfkit_flush,
    .can_flush = ovfkit_can_flush,
    .can_fua = ovfkit_can_fua,
};

NBDKIT_REGISTER_PLUGIN(plugin)

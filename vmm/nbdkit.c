/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmm/nbdkit.c - start and stop nbdkit with our plugin (vmm/nbdkit.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "vmm/nbdkit.h"

void ovfk_nbdkit_plugin(char *out, size_t len)
{
    const char *env = getenv("OVFKIT_NBDKIT_PLUGIN");
    char exe[4096], dir[4096];
    ssize_t n;

    if (env && *env) {
        snprintf(out, len, "%s", env);
        return;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        snprintf(dir, sizeof(dir), "%s", exe);
        *strrchr(dir, '/') = '\0';
        snprintf(out, len, "%s/nbdkit-ovfkit-plugin.so", dir);
        if (access(out, R_OK) == 0) {
            return;
        }
        snprintf(out, len, "%s/../lib/nbdkit/plugins/nbdkit-ovfkit-plugin.so",
                 dir);
        if (access(out, R_OK) == 0) {
            return;
        }
    }
    snprintf(out, len, "ovfkit");
}

int ovfk_nbdkit_serve(const char *file, const char *sock, const char *pidfile,
                      const char *control, bool readonly)
{
    char plugin[4096], filearg[4200], ctlarg[4200];
    const char *argv[12];
    int status = 0, k = 0;
    pid_t p;

    ovfk_nbdkit_plugin(plugin, sizeof(plugin));
    snprintf(filearg, sizeof(filearg), "file=%s", file);
    argv[k++] = "nbdkit";
    argv[k++] = "--unix";
    argv[k++] = sock;
    argv[k++] = "--pidfile";
    argv[k++] = pidfile;
    if (readonly) {
        argv[k++] = "-r";
    }
    argv[k++] = plugin;
    argv[k++] = filearg;
    if (control) {
        snprintf(ctlarg, sizeof(ctlarg), "control=%s", control);
        argv[k++] = ctlarg;
    }
    argv[k] = NULL;
    unlink(sock);
    p = fork();
    if (p == 0) {
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, STDIN_FILENO);
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
        /* nbdkit forks into the background once the socket is bound */
        execvp("nbdkit", (char *const *)argv);
        _exit(127);
    }
    if (p < 0 || waitpid(p, &status, 0) != p) {
        return -EIO;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        return -ENOENT;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

void ovfk_nbdkit_stop(const char *pidfile)
{
    FILE *f = fopen(pidfile, "r");
    int pid = 0;

    if (!f) {
        return;
    }
    if (fscanf(f, "%d", &pid) != 1) {
        pid = 0;
    }
    fclose(f);
    if (pid > 0 && kill(pid, SIGTERM) == 0) {
        for (int k = 0; k < 100 && kill(pid, 0) == 0; k++) {
            struct timespec ts = { 0, 20 * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    unlink(pidfile);
}

int ovfk_nbdkit_request(const char *control, const char *verb,
                        const char *path, int timeout_ms, char *answer,
                        size_t len)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    char msg[16 + 4096];
    size_t vlen = strlen(verb), plen = path ? strlen(path) : 0, n;
    ssize_t got;
    int fd, r;

    snprintf(answer, len, "%s", "");
    if (strlen(control) >= sizeof(sa.sun_path) ||
        vlen + plen + 2 > sizeof(msg)) {
        snprintf(answer, len, "%s", ovfk_errtext(-ENAMETOOLONG));
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, control, strlen(control) + 1);
    memcpy(msg, verb, vlen + 1);
    if (plen) {
        memcpy(msg + vlen + 1, path, plen);
    }
    msg[vlen + 1 + plen] = '\0';
    n = vlen + plen + 2;
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        r = -errno;
        snprintf(answer, len, "%s", ovfk_errtext(r));
        return r;
    }
    /* the timeout covers a full queue (connect waits), the send, and the
     * server's work (flushing the disk) before its answer */
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        send(fd, msg, n, MSG_NOSIGNAL) != (ssize_t)n) {
        r = -errno;
    } else if ((got = recv(fd, answer, len > 0 ? len - 1 : 0, 0)) < 0) {
        r = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
    } else if (got == 0) {
        r = -ECONNRESET;   /* gone without an answer */
    } else {
        answer[got] = '\0';
        if (!strcmp(answer, "ok")) {
            r = 0;
        } else {
            /* "error MESSAGE": keep the message */
            size_t skip = strncmp(answer, "error ", 6) ? 0 : 6;
            memmove(answer, answer + skip, strlen(answer + skip) + 1);
            close(fd);
            return -EIO;
        }
    }
    close(fd);
    if (r < 0) {
        snprintf(answer, len, "%s", ovfk_errtext(r));
    }
    /* -EIO means a refusal, nothing else */
    return r == -EIO ? -ECOMM : r;
}

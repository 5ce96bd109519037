/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/nbdkit.c - start and stop nbdkit with our plugin (util/nbdkit.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/nbdkit.h"

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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmm/kvm.c - the KVM probe (see kvm.h).
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/kvm.h"
#include "util/tmpfile.h"

#define PROBE_SECONDS 8

static bool find_kernel(char *out, size_t len)
{
    DIR *d = opendir("/boot");
    struct dirent *e;
    bool found = false;

    if (!d) {
        return false;
    }
    while ((e = readdir(d))) {
        if (!strncmp(e->d_name, "vmlinuz-", 8)) {
            snprintf(out, len, "/boot/%s", e->d_name);
            found = access(out, R_OK) == 0;
            if (found) {
                break;
            }
        }
    }
    closedir(d);
    return found;
}

/* Boot the host kernel under KVM; true if its banner appears in time. */
static bool probe(const char *kernel)
{
    char buf[4096];
    size_t got = 0;
    int pfd[2];
    pid_t pid;
    bool ok = false;
    time_t start = time(NULL);

    if (pipe(pfd) < 0) {
        return false;
    }
    pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return false;
    }
    if (pid == 0) {
        dup2(pfd[1], STDOUT_FILENO);
        dup2(pfd[1], STDERR_FILENO);
        close(pfd[0]);
        execlp("qemu-system-x86_64", "qemu-system-x86_64", "-accel", "kvm",
               "-m", "128", "-nodefaults", "-display", "none", "-no-reboot",
               "-kernel", kernel, "-append", "console=ttyS0 panic=-1",
               "-serial", "stdio", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    while (!ok && time(NULL) - start < PROBE_SECONDS) {
        struct pollfd p = { pfd[0], POLLIN, 0 };
        ssize_t n;
        if (poll(&p, 1, 500) <= 0) {
            continue;
        }
        n = read(pfd[0], buf + got, sizeof(buf) - 1 - got);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
        buf[got] = '\0';
        ok = strstr(buf, "Linux version") != NULL;
        if (got > sizeof(buf) / 2) {
            memmove(buf, buf + got / 2, got - got / 2 + 1);
            got -= got / 2;
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(pfd[0]);
    return ok;
}

static void boot_id(char *out, size_t len)
{
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

    out[0] = '\0';
    if (f) {
        if (!fgets(out, (int)len, f)) {
            out[0] = '\0';
        }
        fclose(f);
        out[strcspn(out, "\n")] = '\0';
    }
}

bool ovfk_kvm_works(void)
{
    static int known = -1;
    const char *force = getenv("OVFKIT_ACCEL");
    char kernel[512], id[64], cache[128], line[128];
    FILE *f;

    if (force && !strcmp(force, "kvm")) {
        return true;
    }
    if ((force && !strcmp(force, "tcg")) || access("/dev/kvm", R_OK | W_OK)) {
        return false;
    }
    if (known >= 0) {
        return known;
    }
    boot_id(id, sizeof(id));
    snprintf(cache, sizeof(cache), "/tmp/ovfkit-kvm-probe-%d", (int)getuid());
    f = fopen(cache, "r");
    if (f) {
        if (fgets(line, sizeof(line), f) && id[0] &&
            !strncmp(line, id, strlen(id)) && line[strlen(id)] == ' ') {
            known = line[strlen(id) + 1] == '1';
        }
        fclose(f);
        if (known >= 0) {
            return known;
        }
    }
    /* no kernel to probe with: trust /dev/kvm */
    known = find_kernel(kernel, sizeof(kernel)) ? probe(kernel) : 1;
    snprintf(line, sizeof(line), "%s %d\n", id, known);
    ovfk_write_file_atomic(cache, line, strlen(line));
    return known;
}

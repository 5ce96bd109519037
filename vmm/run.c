/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmm/run.c - start and stop a VM with qemu-system-x86_64 (vmm/vmm.h).
 *
 * Acceleration: KVM when it really works (vmm/kvm.c probes it: some
 * hosts expose /dev/kvm yet guests hang or qemu aborts), TCG otherwise or
 * when qemu dies at once under KVM.  OVFKIT_ACCEL=tcg|kvm forces one.
 * NICs without a bridge use qemu's user networking; with a bridge, qemu's
 * bridge helper.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ovfkit/common.h"
#include "util/tmpfile.h"
#include "vmm/kvm.h"
#include "vmm/nbdkit.h"
#include "vmm/vmm.h"

#define MAX_ARGS 128
#define NBD_TIMEOUT_MS 30000

/* Stop the nbdkit servers of a VM (left over, or at stop). */
static void stop_servers(const char *vmdir)
{
    char path[4096];

    for (int i = 0; i < 64; i++) {
        snprintf(path, sizeof(path), "%s/run/nbdkit-%d.pid", vmdir, i);
        ovfk_nbdkit_stop(path);
    }
}

/* Serve disk i of vm over NBD on run/disk-i.sock; 0 or negative. */
static int serve_disk(const char *vmdir, size_t i, const struct vmm_disk *d,
                      ovfk_err *err)
{
    char sock[4096], pid[4096], ctl[4096], plugin[4096];
    int r;

    snprintf(sock, sizeof(sock), "%s/run/disk-%zu.sock", vmdir, i);
    snprintf(pid, sizeof(pid), "%s/run/nbdkit-%zu.pid", vmdir, i);
    snprintf(ctl, sizeof(ctl), "%s/run/disk-%zu.ctl", vmdir, i);
    r = ovfk_nbdkit_serve(d->path, sock, pid, ctl, false);
    if (r < 0) {
        ovfk_nbdkit_plugin(plugin, sizeof(plugin));
        return ovfk_err_set(err, -EIO, "cannot serve disk '%s' with "
                            "nbdkit (%s)%s", d->path, plugin,
                            r == -ENOENT ? ": nbdkit is not installed" : "");
    }
    return 0;
}

int vmm_disk_request(const char *vmdir, size_t i, const char *verb,
                     const char *path, ovfk_err *err)
{
    char ctl[4096], why[1400];
    int r;

    snprintf(ctl, sizeof(ctl), "%s/run/disk-%zu.ctl", vmdir, i);
    r = ovfk_nbdkit_request(ctl, verb, path, NBD_TIMEOUT_MS, why,
                            sizeof(why));
    if (r == -EIO) {
        return ovfk_err_set(err, r, "the disk server of disk %zu could "
                            "not %s%s%s%s: %s", i, verb, path ? " to '" : "",
                            path ? path : "", path ? "'" : "", why);
    }
    if (r < 0) {
        return ovfk_err_set(err, r, "cannot ask the disk server of disk "
                            "%zu to %s: %s", i, verb, why);
    }
    return 0;
}

int vmm_pid(const char *vmdir)
{
    char path[4096], cmd[4096];
    int pid = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/run/qemu.pid", vmdir);
    f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    if (fscanf(f, "%d", &pid) != 1) {
        pid = 0;
    }
    fclose(f);
    if (pid <= 0 || kill(pid, 0) < 0) {
        return 0;
    }
    /* a recycled pid is not our VM */
    snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
    f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    size_t n = fread(cmd, 1, sizeof(cmd) - 1, f);
    fclose(f);
    cmd[n] = '\0';
    return strstr(cmd, "qemu") ? pid : 0;
}

bool vmm_is_running(const char *vmdir)
{
    return vmm_pid(vmdir) > 0;
}

struct argv {
    char *v[MAX_ARGS];
    int n;
};

static void add(struct argv *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add(struct argv *a, const char *fmt, ...)
{
    va_list ap;

    if (a->n >= MAX_ARGS - 1) {
        return;
    }
    va_start(ap, fmt);
    if (vasprintf(&a->v[a->n], fmt, ap) >= 0) {
        a->n++;
    }
    va_end(ap);
    a->v[a->n] = NULL;
}

static void free_argv(struct argv *a)
{
    for (int i = 0; i < a->n; i++) {
        free(a->v[i]);
    }
    a->n = 0;
}

static const char *nic_device(const char *model)
{
    if (!model || !strcmp(model, "virtio")) {
        return "virtio-net-pci";
    }
    if (!strcmp(model, "e1000") || !strcmp(model, "rtl8139") ||
        !strcmp(model, "e1000e") || !strcmp(model, "vmxnet3")) {
        return model;
    }
    return "e1000";     /* what every guest has a driver for */
}

static const char *disk_if(const char *bus)
{
    if (!bus || !strcmp(bus, "virtio") || !strcmp(bus, "xen")) {
        return "virtio";
    }
    if (!strcmp(bus, "scsi")) {
        return "scsi";
    }
    return "ide";
}

static void build(const struct vmm_vm *vm, const char *vmdir, bool console,
                  const char *accel, struct argv *a)
{
    char uuid[37];

    ovfk_uuid_str(vm->uuid, uuid);
    add(a, "qemu-system-x86_64");
    add(a, "-name");
    add(a, "%s", vm->name);
    add(a, "-uuid");
    add(a, "%s", uuid);
    add(a, "-accel");
    add(a, "%s", accel);
    add(a, "-m");
    add(a, "%llu", (unsigned long long)vm->memory_mib);
    add(a, "-smp");
    add(a, "%u", vm->cpus);
    add(a, "-nodefaults");
    add(a, "-display");
    add(a, "none");
    if (vm->firmware && !strcmp(vm->firmware, "efi") &&
        access("/usr/share/ovmf/OVMF.fd", R_OK) == 0) {
        add(a, "-bios");
        add(a, "/usr/share/ovmf/OVMF.fd");
    }
    for (size_t i = 0, port = 0; i < vm->n_disks; i++) {
        const struct vmm_disk *d = &vm->disks[i];
        /* SATA: an AHCI controller (ICH9's, 6 ports); -drive if= has none */
        bool sata = d->bus && !strcmp(d->bus, "sata");
        char where[64];
        if (sata && port == 0) {
            add(a, "-device");
            add(a, "ahci,id=ahci0");
        }
        if (sata) {
            snprintf(where, sizeof(where), "if=none,id=disk%zu", i);
        } else {
            snprintf(where, sizeof(where), "if=%s,index=%zu",
                     disk_if(d->bus), i);
        }
        add(a, "-drive");
        if (!d->format || !strcmp(d->format, "vhd")) {
            /* VHD chains are served by our nbdkit plugin (serve_disk) */
            add(a, "file=nbd:unix:%s/run/disk-%zu.sock,format=raw,%s,"
                "cache=writeback", vmdir, i, where);
        } else {
            add(a, "file=%s,format=%s,%s,cache=writeback", d->path,
                d->format, where);
        }
        if (sata) {
            add(a, "-device");
            add(a, "ide-hd,drive=disk%zu,bus=ahci0.%zu%s", i, port++,
                d->boot_order == 1 ? ",bootindex=1" : "");
        }
    }
    for (size_t i = 0; i < vm->n_nics; i++) {
        const char *br = vm->nics[i].bridge;
        add(a, "-netdev");
        if (br) {
            add(a, "bridge,id=net%zu,br=%s", i, br);
        } else {
            add(a, "user,id=net%zu", i);
        }
        add(a, "-device");
        add(a, "%s,netdev=net%zu,mac=%s", nic_device(vm->nics[i].model), i,
            vm->nics[i].mac);
    }
    if (vm->kernel) {
        add(a, "-kernel");
        add(a, "%s", vm->kernel);
        if (vm->initrd) {
            add(a, "-initrd");
            add(a, "%s", vm->initrd);
        }
        add(a, "-append");
        add(a, "%s", vm->cmdline ? vm->cmdline : "console=ttyS0");
    }
    add(a, "-serial");
    if (console) {
        add(a, "stdio");
    } else {
        add(a, "file:%s/run/console.log", vmdir);
    }
}

static void write_pid(const char *vmdir, pid_t pid)
{
    char path[4096], text[32];
    int fd;

    snprintf(path, sizeof(path), "%s/run/qemu.pid", vmdir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        snprintf(text, sizeof(text), "%d\n", (int)pid);
        if (write(fd, text, strlen(text)) < 0) {
            /* best effort: vmm_pid then reports "not running" */
        }
        close(fd);
    }
}

/* Start qemu; returns its pid, or 0 when it died within `grace` ms. */
static pid_t spawn(struct argv *a, const char *vmdir, bool console,
                   int grace_ms, int *status)
{
    char log[4096];
    pid_t pid = fork();

    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        if (!console) {
            int fd;
            setsid();
            snprintf(log, sizeof(log), "%s/run/qemu.log", vmdir);
            fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) {
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
                close(fd);
            }
            fd = open("/dev/null", O_RDONLY);
            if (fd >= 0) {
                dup2(fd, STDIN_FILENO);
                close(fd);
            }
        }
        execvp(a->v[0], a->v);
        _exit(127);
    }
    for (int waited = 0; waited < grace_ms; waited += 50) {
        struct timespec ts = { 0, 50 * 1000000L };
        if (waitpid(pid, status, WNOHANG) == pid) {
            return 0;
        }
        nanosleep(&ts, NULL);
    }
    return pid;
}

int vmm_start(const struct vmm_vm *vm, const char *vmdir, bool console,
              ovfk_err *err)
{
    const char *force = getenv("OVFKIT_ACCEL");
    const char *accels[2];
    char path[4096];
    int n = 0, status = 0;

    if (force && *force) {
        accels[n++] = force;
    } else {
        if (ovfk_kvm_works()) {
            accels[n++] = "kvm";
        }
        accels[n++] = "tcg";
    }
    snprintf(path, sizeof(path), "%s/run", vmdir);
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        return ovfk_err_set(err, -errno, "cannot create '%s'", path);
    }
    stop_servers(vmdir);    /* left over from a guest that powered off */
    for (size_t i = 0; i < vm->n_disks; i++) {
        const struct vmm_disk *d = &vm->disks[i];
        if ((!d->format || !strcmp(d->format, "vhd")) &&
            serve_disk(vmdir, i, d, err) < 0) {
            stop_servers(vmdir);
            return err->code;
        }
    }
    for (int i = 0; i < n; i++) {
        struct argv a = { { 0 }, 0 };
        pid_t pid;
        build(vm, vmdir, console, accels[i], &a);
        pid = spawn(&a, vmdir, console, 2000, &status);
        free_argv(&a);
        if (pid < 0) {
            return ovfk_err_set(err, -errno, "cannot start qemu: %s",
                                ovfk_errtext(-errno));
        }
        if (pid == 0) {
            continue;   /* died at once: try the next accelerator */
        }
        write_pid(vmdir, pid);
        if (!console) {
            return 0;
        }
        waitpid(pid, &status, 0);
        snprintf(path, sizeof(path), "%s/run/qemu.pid", vmdir);
        unlink(path);
        stop_servers(vmdir);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 :
               ovfk_err_set(err, -EIO, "qemu exited with status %d",
                            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    stop_servers(vmdir);
    snprintf(path, sizeof(path), "%s/run/qemu.log", vmdir);
    return ovfk_err_set(err, -EIO, "qemu could not start VM '%s' (exit "
                        "%d); see '%s'", vm->name,
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1, path);
}

int vmm_stop(const char *vmdir, ovfk_err *err)
{
    char path[4096];
    int pid = vmm_pid(vmdir);

    if (pid <= 0) {
        return ovfk_err_set(err, -ESRCH, "the VM is not running");
    }
    kill(pid, SIGTERM);
    for (int i = 0; i < 200 && kill(pid, 0) == 0; i++) {
        struct timespec ts = { 0, 50 * 1000000L };
        waitpid(pid, NULL, WNOHANG);
        nanosleep(&ts, NULL);
    }
    if (kill(pid, 0) == 0) {
        kill(pid, SIGKILL);
    }
    snprintf(path, sizeof(path), "%s/run/qemu.pid", vmdir);
    unlink(path);
    stop_servers(vmdir);
    return 0;
}

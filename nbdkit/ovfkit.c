/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nbdkit/ovfkit.c - an nbdkit plugin that serves any VHD chain (fixed,
 * dynamic, differencing, as deep as it goes) read-write over NBD:
 *
 *   nbdkit ovfkit file=DISK.vhd [control=CTL]
 *
 * qemu's own VHD driver cannot read differencing disks, and a running qemu
 * cannot be told to switch files; this plugin is how `ovfkit vm start`
 * runs VMs on snapshot chains.  With control=CTL it watches that file;
 * `ovfkit snapshot create` writes "GEN switch PATH" there (PATH: a new
 * delta on top of the current file) and the plugin, between two requests,
 * flushes, opens PATH and writes to it from then on; "GEN reopen" reopens
 * the current file (after a merge re-pointed it).  The answer goes to
 * CTL.ack as "GEN ok" or "GEN error MESSAGE".
 */
#define NBDKIT_API_VERSION 2
#include <errno.h>
#include <nbdkit-plugin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ovfkit/vhd.h"
#include "util/tmpfile.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_SERIALIZE_ALL_REQUESTS

static char *file;
static char *control;
static vhd_t *top;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t watcher;
static volatile int stopping;

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
    nbdkit_error("unknown parameter '%s' (file=DISK.vhd, control=FILE)",
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

static int ovfkit_get_ready(void)
{
    if (vhd_open(file, VHD_OPEN_RDWR, &top) < 0) {
        nbdkit_error("%s", ovfk_last_error());
        return -1;
    }
    return 0;
}

static void ack(const char *gen, const char *result)
{
    char path[4096], text[1024];

    snprintf(path, sizeof(path), "%s.ack", control);
    snprintf(text, sizeof(text), "%s %s\n", gen, result);
    ovfk_write_file_atomic(path, text, strlen(text));
}

/* Carry out one control request, between two NBD requests. */
static void handle(char *req)
{
    char gen[64], verb[16], path[4000] = "", msg[1200];
    vhd_t *next;

    if (sscanf(req, "%63s %15s %3999s", gen, verb, path) < 2) {
        return;
    }
    if (strcmp(verb, "switch") && strcmp(verb, "reopen")) {
        ack(gen, "error unknown request");
        return;
    }
    pthread_mutex_lock(&lock);
    if (vhd_flush(top) < 0) {
        snprintf(msg, sizeof(msg), "error %s", vhd_error(top));
        pthread_mutex_unlock(&lock);
        ack(gen, msg);
        return;
    }
    if (!strcmp(verb, "switch") && path[0]) {
        free(file);
        file = strdup(path);
    }
    if (vhd_open(file, VHD_OPEN_RDWR, &next) < 0) {
        snprintf(msg, sizeof(msg), "error %s", ovfk_last_error());
        pthread_mutex_unlock(&lock);
        ack(gen, msg);
        return;
    }
    vhd_close(top);
    top = next;
    pthread_mutex_unlock(&lock);
    nbdkit_debug("now serving %s", file);
    ack(gen, "ok");
}

static void *watch(void *arg)
{
    struct timespec last = { 0, 0 };
    char buf[4200];

    (void)arg;
    while (!stopping) {
        struct timespec ts = { 0, 50 * 1000000L };
        struct stat st;
        FILE *f;
        nanosleep(&ts, NULL);
        if (stat(control, &st) < 0 ||
            (st.st_mtim.tv_sec == last.tv_sec &&
             st.st_mtim.tv_nsec == last.tv_nsec)) {
            continue;
        }
        last = st.st_mtim;
        f = fopen(control, "r");
        if (!f) {
            continue;
        }
        if (fgets(buf, sizeof(buf), f)) {
            handle(buf);
        }
        fclose(f);
    }
    return NULL;
}

static int ovfkit_after_fork(void)
{
    struct stat st;

    if (!control) {
        return 0;
    }
    /* a request written before we started is old: ignore it */
    if (stat(control, &st) == 0) {
        unlink(control);
    }
    if (pthread_create(&watcher, NULL, watch, NULL) != 0) {
        nbdkit_error("cannot start the control thread");
        return -1;
    }
    return 0;
}

static void ovfkit_unload(void)
{
    if (control && watcher) {
        stopping = 1;
        pthread_join(watcher, NULL);
    }
    if (top) {
        vhd_flush(top);
        vhd_close(top);
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
    size = (int64_t)vhd_size(top);
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
    r = vhd_pread(top, buf, count, offset);
    if (r < 0) {
        nbdkit_error("%s", vhd_error(top));
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
    r = vhd_pwrite(top, buf, count, offset);
    if (r == 0 && (flags & NBDKIT_FLAG_FUA)) {
        r = vhd_flush(top);
    }
    if (r < 0) {
        nbdkit_error("%s", vhd_error(top));
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
    r = vhd_flush(top);
    if (r < 0) {
        nbdkit_error("%s", vhd_error(top));
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
                   "control=<FILE>   requests to switch or reopen",
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

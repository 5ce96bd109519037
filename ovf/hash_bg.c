/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/hash_bg.c - a digest computed on a second core while the caller
 * reads and writes the data (pkg_hash_init_bg).
 *
 * Writing or unpacking a package moves a disk through one pass: read,
 * hash, write.  The hash (OpenSSL's SHA-256, ~1.5 GB/s with SHA-NI) is as
 * long as the I/O itself, so a worker thread takes it: the caller copies
 * each buffer it passes (a memcpy is ten times faster than the hash) and
 * goes on.  Two buffers alternate: the caller fills one while the worker
 * hashes the other, and waits only when the worker is behind.  The order
 * of updates is kept (one worker, one job at a time), so the digest is
 * exactly the synchronous one; small updates wait for the worker and are
 * hashed inline.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ovf/pkg.h"

/* Below this, an update is hashed inline (after the worker drains). */
#define BG_MIN (64u << 10)

struct pkg_hash_bg {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint8_t *buf[2];
    size_t cap[2];
    int cur;                /* the buffer the caller fills next */
    const uint8_t *job;     /* what the worker hashes; NULL when idle */
    size_t job_len;
    bool quit;
    int error;              /* first failure of EVP_DigestUpdate */
    EVP_MD_CTX *ctx;
};

static void *worker(void *opaque)
{
    struct pkg_hash_bg *bg = opaque;

    pthread_mutex_lock(&bg->lock);
    for (;;) {
        while (!bg->job && !bg->quit) {
            pthread_cond_wait(&bg->cond, &bg->lock);
        }
        if (!bg->job) {
            break;
        }
        const uint8_t *p = bg->job;
        size_t n = bg->job_len;
        pthread_mutex_unlock(&bg->lock);
        int ok = EVP_DigestUpdate(bg->ctx, p, n) == 1;
        pthread_mutex_lock(&bg->lock);
        if (!ok && !bg->error) {
            bg->error = -EIO;
        }
        bg->job = NULL;
        pthread_cond_broadcast(&bg->cond);
    }
    pthread_mutex_unlock(&bg->lock);
    return NULL;
}

/* Wait until the worker has hashed everything handed to it. */
static int drain(struct pkg_hash_bg *bg)
{
    int r;

    pthread_mutex_lock(&bg->lock);
    while (bg->job) {
        pthread_cond_wait(&bg->cond, &bg->lock);
    }
    r = bg->error;
    pthread_mutex_unlock(&bg->lock);
    return r;
}

int pkg_hash_init_bg(pkg_hash *h, enum ovfk_ova_digest alg)
{
    struct pkg_hash_bg *bg;
    int r = pkg_hash_init(h, alg);

    if (r < 0) {
        return r;
    }
    bg = calloc(1, sizeof(*bg));
    if (!bg) {
        return 0;       /* hash inline: slower, still right */
    }
    bg->ctx = h->ctx;
    pthread_mutex_init(&bg->lock, NULL);
    pthread_cond_init(&bg->cond, NULL);
    if (pthread_create(&bg->thread, NULL, worker, bg) != 0) {
        pthread_cond_destroy(&bg->cond);
        pthread_mutex_destroy(&bg->lock);
        free(bg);
        return 0;
    }
    h->bg = bg;
    return 0;
}

/* Hash in the caller's thread, after everything handed to the worker. */
static int update_inline(struct pkg_hash_bg *bg, const void *buf, size_t len)
{
    int r = drain(bg);

    if (r < 0) {
        return r;
    }
    return EVP_DigestUpdate(bg->ctx, buf, len) == 1 ? 0 : -EIO;
}

int pkg_hash_bg_update(pkg_hash *h, const void *buf, size_t len)
{
    struct pkg_hash_bg *bg = h->bg;
    int c = bg->cur, r;

    if (len < BG_MIN) {
        return update_inline(bg, buf, len);
    }
    /* buf[c] is free: the worker hashes buf[!c] at most */
    if (bg->cap[c] < len) {
        uint8_t *nb = realloc(bg->buf[c], len);
        if (!nb) {
            return update_inline(bg, buf, len);
        }
        bg->buf[c] = nb;
        bg->cap[c] = len;
    }
    memcpy(bg->buf[c], buf, len);
    pthread_mutex_lock(&bg->lock);
    while (bg->job) {
        pthread_cond_wait(&bg->cond, &bg->lock);
    }
    bg->job = bg->buf[c];
    bg->job_len = len;
    r = bg->error;
    pthread_cond_broadcast(&bg->cond);
    pthread_mutex_unlock(&bg->lock);
    bg->cur = !c;
    return r;
}

int pkg_hash_bg_finish(pkg_hash *h)
{
    struct pkg_hash_bg *bg = h->bg;
    int r;

    if (!bg) {
        return 0;
    }
    r = drain(bg);
    pthread_mutex_lock(&bg->lock);
    bg->quit = true;
    pthread_cond_broadcast(&bg->cond);
    pthread_mutex_unlock(&bg->lock);
    pthread_join(bg->thread, NULL);
    pthread_cond_destroy(&bg->cond);
    pthread_mutex_destroy(&bg->lock);
    free(bg->buf[0]);
    free(bg->buf[1]);
    free(bg);
    h->bg = NULL;
    return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * p2v/wire.c - the sender's side of the capture stream (format in
 * p2v/internal.h): framed records written in order to a pipe (the ssh
 * program's standard input, or the local receiver's), each chunk with its
 * SHA-256, compressed by zlib or zstd when that makes it smaller.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "p2v/internal.h"
#include "util/bytes.h"

struct p2v_wire {
    int fd;
    enum ovfk_p2v_compress compress;
    ZSTD_CCtx *zc;
    uint64_t bytes;             /* written to fd */
    uint8_t *out;               /* one record: header + payload */
    size_t cap;
};

void p2v_sha256(const void *buf, size_t len, uint8_t out[P2V_DIGLEN])
{
    unsigned int n = P2V_DIGLEN;

    EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL);
}

bool p2v_is_zero(const uint8_t *buf, size_t len)
{
    return len == 0 || (buf[0] == 0 && memcmp(buf, buf + 1, len - 1) == 0);
}

int p2v_wire_new(int fd, enum ovfk_p2v_compress c, struct p2v_wire **out,
                 ovfk_err *err)
{
    struct p2v_wire *w = calloc(1, sizeof(*w));

    *out = NULL;
    if (!w) {
        return ovfk_err_set(err, -ENOMEM, "out of memory");
    }
    w->fd = fd;
    w->compress = c;
    w->cap = P2V_REC_HDR + P2V_MAX_PAYLOAD;
    w->out = malloc(w->cap);
    if (!w->out || (c == OVFK_P2V_COMPRESS_ZSTD &&
                    !(w->zc = ZSTD_createCCtx()))) {
        p2v_wire_free(w);
        return ovfk_err_set(err, -ENOMEM, "out of memory");
    }
    *out = w;
    return p2v_wire_rec_raw(w, P2V_MAGIC, 8, err);
}

void p2v_wire_free(struct p2v_wire *w)
{
    if (w) {
        ZSTD_freeCCtx(w->zc);
        free(w->out);
        free(w);
    }
}

uint64_t p2v_wire_bytes(const struct p2v_wire *w)
{
    return w->bytes;
}

int p2v_wire_rec_raw(struct p2v_wire *w, const void *buf, size_t len,
                     ovfk_err *err)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0 && errno == EINTR && !p2v_canceled()) {
            continue;
        }
        if (n < 0 && errno == EINTR) {
            return ovfk_err_set(err, -ECANCELED, "canceled by signal %d",
                                p2v_canceled());
        }
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            return ovfk_err_set(err, -e, "cannot send the capture stream: %s",
                                e == EPIPE ? "the receiver is gone"
                                           : strerror(e));
        }
        p += n;
        len -= (size_t)n;
        w->bytes += (uint64_t)n;
    }
    return 0;
}

static void put_hdr(uint8_t *h, int type, int flags, size_t len)
{
    h[0] = (uint8_t)type;
    h[1] = (uint8_t)flags;
    h[2] = h[3] = 0;
    put_be32(h + 4, (uint32_t)len);
}

int p2v_wire_rec(struct p2v_wire *w, int type, const void *p, size_t len,
                 ovfk_err *err)
{
    uint8_t h[P2V_REC_HDR];
    int r;

    if (len > P2V_MAX_JSON) {
        return ovfk_err_set(err, -E2BIG, "record of %zu bytes is too large",
                            len);
    }
    put_hdr(h, type, 0, len);
    r = p2v_wire_rec_raw(w, h, sizeof(h), err);
    return r == 0 && len ? p2v_wire_rec_raw(w, p, len, err) : r;
}

/* Compress buf into dst (room: cap); the compressed size, or 0 when it
 * would not be smaller. */
static size_t squeeze(struct p2v_wire *w, const uint8_t *buf, size_t len,
                      uint8_t *dst, size_t cap)
{
    if (w->compress == OVFK_P2V_COMPRESS_ZLIB) {
        uLongf n = cap;
        return compress2(dst, &n, buf, len, 1) == Z_OK && n < len ? n : 0;
    }
    if (w->compress == OVFK_P2V_COMPRESS_ZSTD) {
        size_t n = ZSTD_compressCCtx(w->zc, dst, cap, buf, len, 1);
        return !ZSTD_isError(n) && n < len ? n : 0;
    }
    return 0;
}

int p2v_wire_data(struct p2v_wire *w, uint32_t disk, uint64_t off,
                  const uint8_t *buf, size_t len,
                  const uint8_t dig[P2V_DIGLEN], ovfk_err *err)
{
    uint8_t *h = w->out, *p = w->out + P2V_REC_HDR;
    uint8_t *data = p + P2V_DATA_HDR;
    size_t room = w->cap - P2V_REC_HDR - P2V_DATA_HDR, n = 0;
    int flags = P2V_PLAIN;

    if (len > P2V_CHUNK) {
        return ovfk_err_set(err, -EINVAL, "chunk of %zu bytes", len);
    }
    put_be32(p, disk);
    put_be64(p + 4, off);
    put_be32(p + 12, (uint32_t)len);
    memcpy(p + 16, dig, P2V_DIGLEN);
    if (p2v_is_zero(buf, len)) {
        flags = P2V_ZERO;
    } else if ((n = squeeze(w, buf, len, data, room)) > 0) {
        flags = w->compress == OVFK_P2V_COMPRESS_ZLIB ? P2V_ZLIB : P2V_ZSTD;
    } else {
        memcpy(data, buf, len);
        n = len;
    }
    put_hdr(h, P2V_DATA, flags, P2V_DATA_HDR + n);
    return p2v_wire_rec_raw(w, w->out, P2V_REC_HDR + P2V_DATA_HDR + n, err);
}

bool p2v_wire_alive(struct p2v_wire *w)
{
    struct pollfd pfd = { .fd = w->fd, .events = POLLOUT };

    return !(poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLERR | POLLHUP)));
}

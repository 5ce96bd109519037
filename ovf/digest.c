/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/digest.c - manifest digests through OpenSSL EVP, and the names
 * producers spell them with (DSP0243: SHA1, SHA256, SHA512; VirtualBox,
 * ovftool and others also write SHA-1, SHA-256, SHA2-256, ...).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ovf/pkg.h"

int ovfk_ova_digest_parse(const char *name, enum ovfk_ova_digest *out)
{
    static const struct {
        const char *name;
        enum ovfk_ova_digest d;
    } names[] = {
        { "SHA1", OVFK_OVA_DIGEST_SHA1 },
        { "SHA-1", OVFK_OVA_DIGEST_SHA1 },
        { "SHA256", OVFK_OVA_DIGEST_SHA256 },
        { "SHA-256", OVFK_OVA_DIGEST_SHA256 },
        { "SHA2-256", OVFK_OVA_DIGEST_SHA256 },
        { "SHA512", OVFK_OVA_DIGEST_SHA512 },
        { "SHA-512", OVFK_OVA_DIGEST_SHA512 },
        { "SHA2-512", OVFK_OVA_DIGEST_SHA512 },
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].d;
            return 0;
        }
    }
    return -EINVAL;
}

const char *ovfk_ova_digest_name(enum ovfk_ova_digest d)
{
    switch (d) {
    case OVFK_OVA_DIGEST_SHA1:
        return "SHA1";
    case OVFK_OVA_DIGEST_SHA512:
        return "SHA512";
    default:
        return "SHA256";
    }
}

const EVP_MD *pkg_md(enum ovfk_ova_digest d)
{
    switch (d) {
    case OVFK_OVA_DIGEST_SHA1:
        return EVP_sha1();
    case OVFK_OVA_DIGEST_SHA512:
        return EVP_sha512();
    default:
        return EVP_sha256();
    }
}

void pkg_hex(const unsigned char *raw, size_t len, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * len] = '\0';
}

int pkg_hash_init(pkg_hash *h, enum ovfk_ova_digest alg)
{
    h->alg = alg ? alg : OVFK_OVA_DIGEST_SHA256;
    h->bg = NULL;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, pkg_md(h->alg), NULL) != 1) {
        EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
        return -ENOMEM;
    }
    return 0;
}

int pkg_hash_update(pkg_hash *h, const void *buf, size_t len)
{
    if (h->bg) {
        return pkg_hash_bg_update(h, buf, len);
    }
    return EVP_DigestUpdate(h->ctx, buf, len) == 1 ? 0 : -EIO;
}

int pkg_hash_final(pkg_hash *h, char hex[129])
{
    unsigned char raw[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int r = pkg_hash_bg_finish(h);

    if (r < 0) {
        return r;
    }
    if (EVP_DigestFinal_ex(h->ctx, raw, &n) != 1) {
        return -EIO;
    }
    pkg_hex(raw, n, hex);
    return 0;
}

void pkg_hash_free(pkg_hash *h)
{
    pkg_hash_bg_finish(h);
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

int pkg_hash_file(const char *path, enum ovfk_ova_digest alg, char hex[129])
{
    const size_t chunk = 1u << 20;
    char *buf = malloc(chunk);
    pkg_hash h;
    ssize_t n;
    int fd, r;

    if (!buf) {
        return -ENOMEM;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        free(buf);
        return r;
    }
    r = pkg_hash_init(&h, alg);
    while (r == 0 && (n = read(fd, buf, chunk)) != 0) {
        if (n < 0) {
            r = errno == EINTR ? 0 : -errno;
            continue;
        }
        r = pkg_hash_update(&h, buf, (size_t)n);
    }
    if (r == 0) {
        r = pkg_hash_final(&h, hex);
    }
    pkg_hash_free(&h);
    close(fd);
    free(buf);
    return r;
}

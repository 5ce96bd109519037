/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/pkg.h - internals of the package code: digests (OpenSSL EVP), safe
 * tar member iteration (libarchive), gzip streams (zlib), signatures.
 */
#ifndef OVFK_OVF_PKG_H
#define OVFK_OVF_PKG_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#include "ovfkit/ova.h"
#include "util/err.h"

/* digest.c */
const EVP_MD *pkg_md(enum ovfk_ova_digest d);
void pkg_hex(const unsigned char *raw, size_t len, char *out);

typedef struct pkg_hash {
    EVP_MD_CTX *ctx;
    enum ovfk_ova_digest alg;
    struct pkg_hash_bg *bg;     /* hash_bg.c: the worker, or NULL */
} pkg_hash;

int pkg_hash_init(pkg_hash *h, enum ovfk_ova_digest alg);
/* The same digest, computed by a worker thread while the caller does its
 * I/O (for whole disks); falls back to inline hashing when it cannot
 * start one. */
int pkg_hash_init_bg(pkg_hash *h, enum ovfk_ova_digest alg);
int pkg_hash_bg_update(pkg_hash *h, const void *buf, size_t len);
int pkg_hash_bg_finish(pkg_hash *h);
int pkg_hash_update(pkg_hash *h, const void *buf, size_t len);
int pkg_hash_final(pkg_hash *h, char hex[129]);
void pkg_hash_free(pkg_hash *h);
/* Hash a whole local file. */
int pkg_hash_file(const char *path, enum ovfk_ova_digest alg, char hex[129]);

/* tar.c: reading members of an OVA */
typedef struct tar_in tar_in;

struct tar_member {
    const char *name;       /* normalised ("./" stripped) */
    uint64_t size;
    const char *problem;    /* why it may not be extracted, or NULL */
};

int tar_open(const char *path, tar_in **out, ovfk_err *err);
/* 1: a member, 0: end of archive, <0: error (in err) */
int tar_next(tar_in *t, struct tar_member *m);
/* Bytes of the current member: count read, 0 at its end, <0 error */
long tar_read(tar_in *t, void *buf, size_t len);
void tar_close(tar_in *t);
/* Check a member name; normalised into norm.  NULL when acceptable. */
const char *tar_name_problem(const char *raw, char *norm, size_t len);

/* cert.c */
/* The .cert text for a manifest: "ALG(mf)= hexsig\n" + PEM certificate. */
int pkg_cert_make(const char *mf_name, const void *mf, size_t mf_len,
                  enum ovfk_ova_digest alg, const char *key_pem,
                  const char *cert_pem, char **out, size_t *out_len,
                  ovfk_err *err);
/* Size pkg_cert_make will produce (RSA keys: exact). */
int pkg_cert_size(const char *mf_name, enum ovfk_ova_digest alg,
                  const char *key_pem, const char *cert_pem, size_t *size,
                  ovfk_err *err);
/* Verify a .cert against the manifest bytes; each problem reported. */
int pkg_cert_verify(const char *cert, size_t cert_len, const char *mf_name,
                    const void *mf, size_t mf_len, const char *ca,
                    ovfk_ova_report_fn report, void *opaque);

/* manifest.c */
/* The manifest line for one file; returns its length. */
size_t pkg_manifest_line(enum ovfk_ova_digest alg, const char *name,
                         const char *hex, char *out, size_t outlen);

/* gzip.c */
typedef struct gz_out gz_out;
int gz_out_new(const ovfk_sink *down, gz_out **out);
/* the sink that compresses into down */
void gz_out_sink(gz_out *g, ovfk_sink *sink);
int gz_out_finish(gz_out *g);
void gz_out_free(gz_out *g);
/* Decompress src (a gzip file) into dst, writing at most max bytes. */
int gz_decompress_file(const char *src, const char *dst, uint64_t max,
                       ovfk_err *err);

/* pkg_check.c: the first and last 512 bytes of a file (a VHD's footer
 * copy and footer), gathered as it streams by or read from disk */
struct pkg_ends {
    uint8_t head[512];
    uint8_t tail[512];
    uint64_t len;
};
void pkg_ends_update(struct pkg_ends *e, const void *buf, size_t n,
                     uint64_t off);
int pkg_file_ends(const char *path, struct pkg_ends *e);
/* Is disk k's file f a VHD we can look into (not gzip, not chunked)? */
bool pkg_vhd_disk(const struct ovfk_ovf_disk *k, const struct ovfk_ovf_file *f);
/* Compare k's capacity with the VHD's virtual size; reports through fn
 * and returns the number of errors (0 or 1). */
int pkg_check_capacity(const struct ovfk_ovf_disk *k, const char *href,
                       const struct pkg_ends *e, ovfk_ovf_diag_fn fn,
                       void *opaque);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/cert.c - the .cert file (DSP0243 5.2), as ovftool and VirtualBox
 * write it: a first line "SHA256(name.mf)= <hex signature of the manifest
 * file>", then the signer's X.509 certificate in PEM.  Signing and
 * verification through OpenSSL.
 */
#include <ctype.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ovf/pkg.h"

static void say(ovfk_ova_report_fn report, void *opaque, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(ovfk_ova_report_fn report, void *opaque, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (report) {
        report(opaque, msg);
    }
}

static const char *ssl_error(void)
{
    static _Thread_local char buf[256];
    unsigned long e = ERR_get_error();

    if (!e) {
        return "unknown error";
    }
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return buf;
}

static EVP_PKEY *load_key(const char *path, ovfk_err *err)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k;

    if (!f) {
        ovfk_err_set(err, -errno, "cannot open key '%s': %s", path,
                     ovfk_errtext(-errno));
        return NULL;
    }
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k) {
        ovfk_err_set(err, -EINVAL, "'%s' holds no PEM private key (%s)",
                     path, ssl_error());
    }
    return k;
}

static X509 *load_cert(const char *path, ovfk_err *err)
{
    FILE *f = fopen(path, "r");
    X509 *c;

    if (!f) {
        ovfk_err_set(err, -errno, "cannot open certificate '%s': %s", path,
                     ovfk_errtext(-errno));
        return NULL;
    }
    c = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!c) {
        ovfk_err_set(err, -EINVAL, "'%s' holds no PEM certificate (%s)",
                     path, ssl_error());
    }
    return c;
}

/* The PEM text of a certificate (malloc'ed). */
static char *cert_pem(X509 *c, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data, *out = NULL;
    long n;

    if (b && PEM_write_bio_X509(b, c)) {
        n = BIO_get_mem_data(b, &data);
        out = malloc((size_t)n + 1);
        if (out) {
            memcpy(out, data, (size_t)n);
            out[n] = '\0';
            *len = (size_t)n;
        }
    }
    BIO_free(b);
    return out;
}

int pkg_cert_size(const char *mf_name, enum ovfk_ova_digest alg,
                  const char *key_pem, const char *cert_path, size_t *size,
                  ovfk_err *err)
{
    EVP_PKEY *k = load_key(key_pem, err);
    X509 *c = k ? load_cert(cert_path, err) : NULL;
    size_t pem_len = 0;
    char *pem;
    int r = -EINVAL;

    if (k && c) {
        if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
            ovfk_err_set(err, -EINVAL, "'%s' is not an RSA key: ovftool and "
                         "VirtualBox verify RSA signatures", key_pem);
        } else if (X509_check_private_key(c, k) != 1) {
            ovfk_err_set(err, -EINVAL, "key '%s' does not belong to "
                         "certificate '%s'", key_pem, cert_path);
        } else if ((pem = cert_pem(c, &pem_len))) {
            *size = strlen(ovfk_ova_digest_name(alg)) + strlen(mf_name) + 4 +
                    2 * (size_t)EVP_PKEY_get_size(k) + 1 + pem_len;
            free(pem);
            r = 0;
        }
    }
    EVP_PKEY_free(k);
    X509_free(c);
    return r;
}

int pkg_cert_make(const char *mf_name, const void *mf, size_t mf_len,
                  enum ovfk_ova_digest alg, const char *key_pem,
                  const char *cert_path, char **out, size_t *out_len,
                  ovfk_err *err)
{
    EVP_PKEY *k = load_key(key_pem, err);
    X509 *c = k ? load_cert(cert_path, err) : NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t sig_len = 0, pem_len = 0, total;
    char *pem = NULL, *text = NULL;
    int r = -EINVAL, n;

    if (!k || !c || !ctx) {
        goto out;
    }
    if (EVP_DigestSignInit(ctx, NULL, pkg_md(alg), NULL, k) != 1 ||
        EVP_DigestSign(ctx, NULL, &sig_len, mf, mf_len) != 1 ||
        !(sig = malloc(sig_len)) ||
        EVP_DigestSign(ctx, sig, &sig_len, mf, mf_len) != 1) {
        ovfk_err_set(err, -EIO, "cannot sign the manifest: %s", ssl_error());
        goto out;
    }
    pem = cert_pem(c, &pem_len);
    total = strlen(ovfk_ova_digest_name(alg)) + strlen(mf_name) + 4 +
            2 * sig_len + 1 + pem_len + 1;
    text = pem ? malloc(total) : NULL;
    if (!text) {
        r = ovfk_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    n = snprintf(text, total, "%s(%s)= ", ovfk_ova_digest_name(alg), mf_name);
    pkg_hex(sig, sig_len, text + n);
    n += (int)(2 * sig_len);
    text[n++] = '\n';
    memcpy(text + n, pem, pem_len + 1);
    *out = text;
    *out_len = (size_t)n + pem_len;
    text = NULL;
    r = 0;
out:
    free(text);
    free(pem);
    free(sig);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    X509_free(c);
    return r;
}

/* Parse "ALG(name)= hexsig" into its parts; false when malformed. */
static bool parse_sig_line(const char *line, size_t len, char *alg,
                           size_t alglen, char *name, size_t namelen,
                           unsigned char **sig, size_t *sig_len)
{
    const char *open = memchr(line, '(', len);
    const char *eq = memchr(line, '=', len);
    const char *close, *p;
    size_t hex = 0;

    if (!open || !eq || eq < open || (size_t)(open - line) >= alglen) {
        return false;
    }
    snprintf(alg, alglen, "%.*s", (int)(open - line), line);
    close = eq;
    while (close > open && close[-1] == ' ') {
        close--;
    }
    if (close[-1] != ')') {
        return false;
    }
    snprintf(name, namelen, "%.*s", (int)(close - 1 - open - 1), open + 1);
    for (p = eq + 1; p < line + len && *p == ' '; p++) {
    }
    while (p + hex < line + len && isxdigit((unsigned char)p[hex])) {
        hex++;
    }
    if (hex == 0 || hex % 2 || p + hex != line + len) {
        return false;
    }
    *sig = malloc(hex / 2);
    if (!*sig) {
        return false;
    }
    for (size_t i = 0; i < hex / 2; i++) {
        unsigned int v;
        sscanf(p + 2 * i, "%2x", &v);
        (*sig)[i] = (unsigned char)v;
    }
    *sig_len = hex / 2;
    return true;
}

struct chain_errors {
    ovfk_ova_report_fn report;
    void *opaque;
    int seen[32];
    int n;
    int *count;
};

static int chain_errors_idx = -1;

/* Collect every chain problem (expired, untrusted, ...), not just the
 * first: users fix them all at once. */
static int collect(int ok, X509_STORE_CTX *ctx)
{
    struct chain_errors *ce = X509_STORE_CTX_get_ex_data(ctx,
                                                         chain_errors_idx);
    int e = X509_STORE_CTX_get_error(ctx);

    if (ok || !ce) {
        return ok;
    }
    for (int i = 0; i < ce->n; i++) {
        if (ce->seen[i] == e) {
            return 1;
        }
    }
    if (ce->n < 32) {
        ce->seen[ce->n++] = e;
    }
    (*ce->count)++;
    say(ce->report, ce->opaque, "certificate: %s",
        X509_verify_cert_error_string(e));
    return 1;
}

static void check_chain(X509 *c, STACK_OF(X509) *extra, const char *ca,
                        ovfk_ova_report_fn report, void *opaque, int *count)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    struct chain_errors ce = { report, opaque, { 0 }, 0, count };

    if (chain_errors_idx < 0) {
        chain_errors_idx = X509_STORE_CTX_get_ex_new_index(0, NULL, NULL,
                                                           NULL, NULL);
    }
    if (!store || !ctx) {
        (*count)++;
        say(report, opaque, "certificate: out of memory");
        goto out;
    }
    if (ca ? X509_STORE_load_file(store, ca) != 1
           : X509_STORE_set_default_paths(store) != 1) {
        (*count)++;
        say(report, opaque, "cannot load CA bundle '%s': %s",
            ca ? ca : "(system)", ssl_error());
        goto out;
    }
    X509_STORE_set_verify_cb(store, collect);
    X509_STORE_CTX_init(ctx, store, c, extra);
    X509_STORE_CTX_set_ex_data(ctx, chain_errors_idx, &ce);
    X509_verify_cert(ctx);
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
}

int pkg_cert_verify(const char *cert, size_t cert_len, const char *mf_name,
                    const void *mf, size_t mf_len, const char *ca,
                    ovfk_ova_report_fn report, void *opaque)
{
    const char *nl = memchr(cert, '\n', cert_len);
    size_t l = nl ? (size_t)(nl - cert) : cert_len;
    char alg[16], name[512];
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    enum ovfk_ova_digest d;
    STACK_OF(X509) *extra = sk_X509_new_null();
    X509 *c = NULL;
    EVP_MD_CTX *ctx = NULL;
    BIO *b;
    int count = 0;
    bool line_ok;

    while (l > 0 && isspace((unsigned char)cert[l - 1])) {
        l--;
    }
    line_ok = parse_sig_line(cert, l, alg, sizeof(alg), name, sizeof(name),
                             &sig, &sig_len) &&
              ovfk_ova_digest_parse(alg, &d) == 0;
    if (!line_ok) {
        count++;
        say(report, opaque, "certificate: the signature line is malformed "
            "(want 'SHA256(%s)= <hex signature>')", mf_name);
    } else if (strcmp(name, mf_name) != 0) {
        count++;
        say(report, opaque, "certificate: signs '%s', but the manifest is "
            "'%s'", name, mf_name);
    }
    b = BIO_new_mem_buf(cert, (int)cert_len);
    c = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    if (!c) {
        count++;
        say(report, opaque, "certificate: no PEM certificate in the .cert "
            "file");
        ERR_clear_error();
    } else {
        X509 *more;
        while ((more = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
            sk_X509_push(extra, more);
        }
        ERR_clear_error();
        if (line_ok) {
            ctx = EVP_MD_CTX_new();
            if (!ctx || EVP_DigestVerifyInit(ctx, NULL, pkg_md(d), NULL,
                                             X509_get0_pubkey(c)) != 1 ||
                EVP_DigestVerify(ctx, sig, sig_len, mf, mf_len) != 1) {
                count++;
                say(report, opaque, "certificate: the signature does not "
                    "match the manifest '%s'", mf_name);
                ERR_clear_error();
            }
        }
        check_chain(c, extra, ca, report, opaque, &count);
    }
    BIO_free(b);
    EVP_MD_CTX_free(ctx);
    X509_free(c);
    sk_X509_pop_free(extra, X509_free);
    free(sig);
    return count;
}

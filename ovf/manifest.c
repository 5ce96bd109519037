/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/manifest.c - the .mf file (DSP0243 5.1): one "ALG(name)= hex" line
 * per file.  Read leniently (spaces around "=", upper-case hex, CRLF, any
 * of the digest spellings), written as "SHA256(name)= hex\n".
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ovf/pkg.h"

static size_t hexlen(enum ovfk_ova_digest d)
{
    return d == OVFK_OVA_DIGEST_SHA1     ? 40
           : d == OVFK_OVA_DIGEST_SHA512 ? 128
                                         : 64;
}

size_t pkg_manifest_line(enum ovfk_ova_digest alg, const char *name,
                         const char *hex, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s(%s)= %s\n", ovfk_ova_digest_name(alg),
                     name, hex);

    return n < 0 ? 0 : (size_t)n;
}

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

/* One line: "ALG(name)= hex".  Returns 0, or 1 for a malformed line. */
static int parse_line(const char *line, size_t len,
                      struct ovfk_ova_manifest_entry *e)
{
    char alg[16];
    const char *open = memchr(line, '(', len);
    const char *close, *p, *end = line + len;
    size_t n = 0;

    if (!open || (size_t)(open - line) >= sizeof(alg)) {
        return 1;
    }
    memcpy(alg, line, (size_t)(open - line));
    alg[open - line] = '\0';
    if (ovfk_ova_digest_parse(alg, &e->digest) < 0) {
        return 1;
    }
    /* the name runs to the last ")" before "=" */
    p = memchr(open, '=', (size_t)(end - open));
    if (!p) {
        return 1;
    }
    close = p;
    while (close > open && close[-1] == ' ') {
        close--;
    }
    if (close <= open + 1 || close[-1] != ')') {
        return 1;
    }
    close--;
    e->name = strndup(open + 1, (size_t)(close - open - 1));
    if (!e->name) {
        return -ENOMEM;
    }
    for (p++; p < end && isspace((unsigned char)*p); p++) {
    }
    while (p < end && isxdigit((unsigned char)*p) && n < sizeof(e->hex) - 1) {
        e->hex[n++] = (char)tolower((unsigned char)*p++);
    }
    e->hex[n] = '\0';
    while (p < end && isspace((unsigned char)*p)) {
        p++;
    }
    if (p != end || n != hexlen(e->digest)) {
        free(e->name);
        e->name = NULL;
        return 1;
    }
    return 0;
}

int ovfk_ova_manifest_parse(const char *buf, size_t len,
                            struct ovfk_ova_manifest *m,
                            ovfk_ova_report_fn report, void *opaque)
{
    size_t pos = 0;
    int bad = 0, lineno = 0;

    memset(m, 0, sizeof(*m));
    if (len > OVFK_OVA_MAX_MANIFEST) {
        return ovfk_err_last(OVFK_ECORRUPT,
                             "manifest of %zu bytes is over "
                             "the %u MiB limit",
                             len, OVFK_OVA_MAX_MANIFEST >> 20);
    }
    while (pos < len) {
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - line) : len - pos;
        struct ovfk_ova_manifest_entry e = { 0 };
        int r;
        pos += l + (nl ? 1 : 0);
        lineno++;
        while (l > 0 && isspace((unsigned char)line[l - 1])) {
            l--;    /* CRLF, trailing blanks */
        }
        if (l == 0) {
            continue;
        }
        r = parse_line(line, l, &e);
        if (r < 0) {
            ovfk_ova_manifest_free(m);
            return ovfk_err_last(r, "out of memory");
        }
        if (r > 0) {
            bad++;
            say(report, opaque, "manifest line %d is malformed: '%.*s'",
                lineno, (int)(l > 120 ? 120 : l), line);
            continue;
        }
        if (m->n >= OVFK_OVA_MAX_MEMBERS) {
            free(e.name);
            ovfk_ova_manifest_free(m);
            return ovfk_err_last(OVFK_ECORRUPT, "manifest lists more than "
                                 "%u files", OVFK_OVA_MAX_MEMBERS);
        }
        {
            struct ovfk_ova_manifest_entry *ne = realloc(m->entries,
                                                    (m->n + 1) * sizeof(*ne));
            if (!ne) {
                free(e.name);
                ovfk_ova_manifest_free(m);
                return ovfk_err_last(-ENOMEM, "out of memory");
            }
            m->entries = ne;
            m->entries[m->n++] = e;
        }
    }
    return bad;
}

void ovfk_ova_manifest_free(struct ovfk_ova_manifest *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->entries[i].name);
    }
    free(m->entries);
    m->entries = NULL;
    m->n = 0;
}

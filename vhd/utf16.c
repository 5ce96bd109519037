/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/utf16.c - UTF-16 <-> UTF-8 for parent names (UTF-16BE) and Windows
 * parent locators (UTF-16LE), through iconv.
 */
#include <errno.h>
#include <iconv.h>
#include <string.h>

#include "vhd/internal.h"

static int convert(const char *to, const char *from, const void *in,
                   size_t inlen, void *out, size_t outlen, size_t *written)
{
    iconv_t cd = iconv_open(to, from);
    char *ip = (char *)in;
    char *op = out;
    size_t il = inlen, ol = outlen;
    int r = 0;

    if (cd == (iconv_t)-1) {
        return -errno;
    }
    if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) {
        r = errno == E2BIG ? -ENAMETOOLONG : OVFK_ECORRUPT;
    }
    iconv_close(cd);
    *written = outlen - ol;
    return r;
}

/* Decode up to the first NUL code unit; out is always NUL-terminated. */
int vhd_utf16_to_utf8(const uint8_t *in, size_t inlen, bool big_endian,
                      char *out, size_t outlen)
{
    size_t n = 0, w = 0;
    int r;

    if (outlen == 0) {
        return -EINVAL;
    }
    while (n + 1 < inlen && (in[n] || in[n + 1])) {
        n += 2;
    }
    r = convert("UTF-8", big_endian ? "UTF-16BE" : "UTF-16LE", in, n, out,
                outlen - 1, &w);
    out[w] = '\0';
    return r;
}

int vhd_utf8_to_utf16(const char *in, bool big_endian, uint8_t *out,
                      size_t outlen, size_t *written)
{
    return convert(big_endian ? "UTF-16BE" : "UTF-16LE", "UTF-8", in,
                   strlen(in), out, outlen, written);
}

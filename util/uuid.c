/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/uuid.c - UUIDs as text and at random (RFC 4122 section 4.4), the one
 * implementation the VHD identifiers and the VM model share.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "ovfkit/common.h"

void ovfk_uuid_str(const uint8_t u[16], char buf[37])
{
    snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
             u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static int hexval(char c)
{
    return isdigit((unsigned char)c) ? c - '0'
                                     : tolower((unsigned char)c) - 'a' + 10;
}

int ovfk_uuid_parse(const char *text, uint8_t u[16])
{
    const char *p = text;
    size_t len;
    int n = 0;

    if (!text) {
        return -EINVAL;
    }
    len = strlen(text);
    if (len >= 2 && text[0] == '{') {
        if (text[len - 1] != '}') {
            return -EINVAL;
        }
        p++;
        len -= 2;
    }
    for (const char *end = p + len; p < end; p++) {
        if (*p == '-') {
            continue;
        }
        if (p + 1 >= end || !isxdigit((unsigned char)p[0]) ||
            !isxdigit((unsigned char)p[1]) || n >= 16) {
            return -EINVAL;
        }
        u[n++] = (uint8_t)(hexval(p[0]) << 4 | hexval(p[1]));
        p++;
    }
    return n == 16 ? 0 : -EINVAL;
}

void ovfk_uuid_generate(uint8_t u[16])
{
    size_t got = 0;

    /* getrandom blocks only until the pool is first seeded, and a short
     * read (a signal) just asks again */
    while (got < 16) {
        ssize_t n = getrandom(u + got, 16 - got, 0);
        if (n > 0) {
            got += (size_t)n;
        }
    }
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);   /* version 4 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/bytes.c - zero detection for the write paths that skip zero blocks.
 */
#include <string.h>

#include "util/bytes.h"

bool ovfk_is_zero(const void *buf, size_t len)
{
    const unsigned char *p = buf;

    /*
     * Compare the first 16 bytes by hand, then the buffer against itself
     * shifted by 16: memcmp is vectorised by glibc, a byte loop is not.
     */
    if (len < 16) {
        for (size_t i = 0; i < len; i++) {
            if (p[i]) {
                return false;
            }
        }
        return true;
    }
    for (size_t i = 0; i < 16; i++) {
        if (p[i]) {
            return false;
        }
    }
    return memcmp(p, p + 16, len - 16) == 0;
}

/* Length of the piece starting at pos (clipped to the piece grid). */
static size_t piece_len(size_t len, uint64_t base, size_t piece, size_t pos)
{
    size_t to_edge = piece - (size_t)((base + pos) % piece);

    return len - pos < to_edge ? len - pos : to_edge;
}

bool ovfk_next_data_run(const uint8_t *buf, size_t len, uint64_t base,
                        size_t piece, size_t *pos, size_t *start,
                        size_t *end)
{
    size_t p = *pos, n;

    while (p < len && ovfk_is_zero(buf + p, piece_len(len, base, piece, p))) {
        p += piece_len(len, base, piece, p);
    }
    if (p >= len) {
        *pos = len;
        return false;
    }
    *start = p;
    while (p < len) {
        n = piece_len(len, base, piece, p);
        if (ovfk_is_zero(buf + p, n)) {
            break;
        }
        p += n;
    }
    *end = p;
    *pos = p;
    return true;
}

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

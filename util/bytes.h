/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/bytes.h - explicit big/little-endian field access and overflow-checked
 * arithmetic.  Wire structures are byte arrays decoded with these helpers;
 * nothing is byte-swapped in place (STYLE 6, 9).
 */
#ifndef OVFK_UTIL_BYTES_H
#define OVFK_UTIL_BYTES_H

#include <stdbool.h>
#include <stdint.h>

static inline uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t get_be64(const uint8_t *p)
{
    return ((uint64_t)get_be32(p) << 32) | get_be32(p + 4);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

static inline uint32_t get_le32(const uint8_t *p)
{
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[1] << 8) | p[0];
}

static inline uint64_t get_le64(const uint8_t *p)
{
    return ((uint64_t)get_le32(p + 4) << 32) | get_le32(p);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}

/* true when a + b overflows; *out holds the wrapped value then */
static inline bool add_overflow_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

static inline bool mul_overflow_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

static inline uint64_t align_up_u64(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

static inline bool is_pow2_u64(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

/* true when the whole buffer is zero (fast path over 64-bit words) */
bool ovfk_is_zero(const void *buf, size_t len);

#endif

/*
 * The next run of non-zero pieces in buf at or after *pos: pieces are
 * `piece` bytes long and aligned to `base + k * piece` in the caller's
 * coordinates (base is buf's own offset there).  Stores the run in
 * [*start, *end) and advances *pos past it; returns false when only zero
 * pieces remain.  Writers use it to write runs of data in one call and
 * leave zero pieces as file holes.
 */
bool ovfk_next_data_run(const uint8_t *buf, size_t len, uint64_t base,
                        size_t piece, size_t *pos, size_t *start,
                        size_t *end);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovfkit/source.h - the two small interfaces disk data flows through:
 * a source (a logical disk that can be read at any offset and tells where
 * its data is) and a sink (a sequential byte consumer: a file, a tar
 * member, a hash, a gzip stream).  VHD chains, raw files and the foreign
 * readers of image/ are sources; the VHD writer and the OVA packer
 * consume them.
 */
#ifndef OVFKIT_SOURCE_H
#define OVFKIT_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ovfk_source ovfk_source;

/*
 * What a kind of source does, one static const table per format (as the
 * hv drivers do); every instance points at its format's table.
 */
struct ovfk_source_ops {
    /* Read len bytes at off (off + len <= size).  0 or negative errno. */
    int (*pread)(void *opaque, void *buf, size_t len, uint64_t off);

    /*
     * Allocation of [off, off + len): store in *pnum (1..len) how many
     * bytes from off share one status and return 1 when they may hold
     * data, 0 when they read as zeros, negative errno on failure.
     * Sources that cannot tell return 1 for everything.
     */
    int (*status)(void *opaque, uint64_t off, uint64_t len, uint64_t *pnum);

    /* The message of the last failure (never NULL). */
    const char *(*error)(void *opaque);

    /* Release opaque and what it owns (NULL: the source borrows it). */
    void (*close)(void *opaque);
};

struct ovfk_source {
    const struct ovfk_source_ops *ops;
    void *opaque;
    uint64_t size;              /* logical size in bytes */
    const char *format;         /* "raw", "vhd", ... (static storage) */
};

/* Close a source and free it; NULL is accepted. */
void ovfk_source_free(ovfk_source *src);

typedef struct ovfk_sink {
    void *opaque;
    /* Consume len bytes in order.  0 or negative errno. */
    int (*write)(void *opaque, const void *buf, size_t len);
} ovfk_sink;

#ifdef __cplusplus
}
#endif
#endif

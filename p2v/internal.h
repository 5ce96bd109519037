/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * p2v/internal.h - what the files of the live P2V layer share: the disks
 * being captured and their used-chunk maps, the wire format between the
 * capture and the receiver, and the freeze with its watchdog.
 */
#ifndef OVFK_P2V_INTERNAL_H
#define OVFK_P2V_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ovfkit/hv.h"
#include "ovfkit/p2v.h"
#include "util/err.h"

/* The unit of the used map, of change detection and of a DATA record:
 * small enough that sparse metadata does not inflate what is sent, large
 * enough that a digest per chunk stays small (32 bytes per 64 KiB). */
#define P2V_CHUNK (64u << 10)
#define P2V_DIGLEN 32           /* SHA-256 */

struct p2v_part {
    char *path;                 /* /dev/sda1 */
    uint64_t start, size;       /* bytes on the disk */
    char fstype[32];            /* from libblkid; "" when none found */
    char *mountpoint;           /* NULL when not mounted */
    bool swap_active;
    const char *method;         /* how its used blocks are known */
    uint64_t used_bytes;        /* what the file system uses */
};

struct p2v_disk {
    char *path;                 /* /dev/sda */
    uint64_t size;
    struct p2v_part *parts;
    size_t n_parts;
    uint32_t nchunks;
    uint8_t *used;              /* per chunk: 1 = send it */
    uint8_t *have;              /* per chunk: 1 = dig[] holds what was sent */
    uint8_t *dirty;             /* per chunk: written since it was read */
    uint8_t (*dig)[P2V_DIGLEN];
    uint64_t used_bytes;        /* the file systems' used bytes plus the
                                   areas sent in full */
    int fd;                     /* O_DIRECT, read-only */
    dev_t rdev;
};

/* disks.c */
int p2v_disks_find(char ***paths, size_t *n, ovfk_err *err);
int p2v_disk_open(const char *path, struct p2v_disk *d, ovfk_err *err);
void p2v_disk_close(struct p2v_disk *d);
int p2v_machine(const char *name, struct ovfk_hv_vm **out, ovfk_err *err);

/* usedmap.c: fill d->used from the file systems' own maps */
int p2v_used_map(struct p2v_disk *d, ovfk_err *err);

/* snapshot.c: can LVM snapshot these disks?  0 yes, else the reason */
int p2v_snapshot_possible(struct p2v_disk *disks, size_t n, char *why,
                          size_t len);

/* cbt.c: completed writes to the disks, from a tracefs instance */
struct p2v_cbt;
int p2v_cbt_start(struct p2v_disk *disks, size_t n, struct p2v_cbt **out,
                  char *why, size_t len);
/* Mark in d->dirty the chunks written since the last call; -EOVERFLOW
 * when events were lost (then every chunk must be read again). */
int p2v_cbt_collect(struct p2v_cbt *t, struct p2v_disk *disks, size_t n);
void p2v_cbt_stop(struct p2v_cbt *t);

/* freeze.c */
struct p2v_freeze;
int p2v_freeze(char *const *mounts, size_t n, double deadline,
               struct p2v_freeze **out, ovfk_err *err);
/* SIGINT, SIGTERM, SIGHUP: thaw and cancel (on) or as before (off) */
void p2v_signals(bool on);
/* The signal that canceled the capture, or 0. */
int p2v_canceled(void);
/* Thaw; -ETIMEDOUT when the watchdog had already thawed (deadline). */
int p2v_thaw(struct p2v_freeze *f, ovfk_err *err);

/*
 * Wire format (all integers big-endian).  The stream starts with the 8
 * bytes "OVFKP2V1", then records: a 8-byte header (type u8, flags u8,
 * 2 zero bytes, payload length u32) and the payload.
 *   HELLO   JSON: {"name", "machine": hv_vm JSON, "disks": [{"size"}]}
 *   DATA    disk u32, offset u64, length u32, SHA-256 of the plain data
 *           (32), then the data: plain, zlib or zstd (flags), or nothing
 *           when flags say zeros
 *   PASS    pass number u32 (informative)
 *   DIGEST  disk u32, SHA-256 over (chunk index u64, chunk SHA-256) of
 *           every chunk sent, ascending, as last sent
 *   REPORT  JSON: the sender's report
 *   END     nothing; ABORT: the sender's message
 */
#define P2V_MAGIC "OVFKP2V1"
enum p2v_rec {
    P2V_HELLO = 1, P2V_DATA, P2V_PASS, P2V_DIGEST, P2V_REPORT, P2V_END,
    P2V_ABORT,
};
enum p2v_data_flags {
    P2V_PLAIN = 0, P2V_ZLIB = 1, P2V_ZSTD = 2, P2V_ZERO = 3,
};
#define P2V_REC_HDR 8
#define P2V_DATA_HDR (4 + 8 + 4 + P2V_DIGLEN)
#define P2V_MAX_PAYLOAD (P2V_DATA_HDR + 2 * P2V_CHUNK)
#define P2V_MAX_JSON (16u << 20)

struct p2v_wire;
int p2v_wire_new(int fd, enum ovfk_p2v_compress c, struct p2v_wire **out,
                 ovfk_err *err);
void p2v_wire_free(struct p2v_wire *w);
uint64_t p2v_wire_bytes(const struct p2v_wire *w);
int p2v_wire_rec(struct p2v_wire *w, int type, const void *p, size_t len,
                 ovfk_err *err);
int p2v_wire_data(struct p2v_wire *w, uint32_t disk, uint64_t off,
                  const uint8_t *buf, size_t len,
                  const uint8_t dig[P2V_DIGLEN], ovfk_err *err);
int p2v_wire_rec_raw(struct p2v_wire *w, const void *buf, size_t len,
                     ovfk_err *err);
/* Is the reader still there?  (a pipe's POLLERR) */
bool p2v_wire_alive(struct p2v_wire *w);

void p2v_sha256(const void *buf, size_t len, uint8_t out[P2V_DIGLEN]);
bool p2v_is_zero(const uint8_t *buf, size_t len);

#endif

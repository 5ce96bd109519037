/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovfkit/p2v.h - live P2V: capture a running Linux server's disks
 * consistently (pre-copy passes and a short fsfreeze, always thawed),
 * copying only the blocks its file systems use, to a local directory or
 * through OpenSSH's ssh program to `ovfkit p2v receive` on the conversion
 * host, which writes dynamic VHDs and an OVF as the data arrives.
 *
 * Errors follow ovfkit/common.h; both entry points report through
 * ovfk_last_error() (they have no handle).
 */
#ifndef OVFKIT_P2V_H
#define OVFKIT_P2V_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ovfkit/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ovfk_p2v_consistency {
    OVFK_P2V_AUTO,          /* snapshot where possible, else freeze */
    OVFK_P2V_SNAPSHOT,      /* LVM snapshots (needs device-mapper) */
    OVFK_P2V_FREEZE,        /* pre-copy passes, fsfreeze for the last */
    OVFK_P2V_NONE,          /* one pass, crash-consistent at best */
};

enum ovfk_p2v_compress {
    OVFK_P2V_COMPRESS_NONE,
    OVFK_P2V_COMPRESS_ZLIB,
    OVFK_P2V_COMPRESS_ZSTD,
};

/* A line of progress for people ("pass 2: 3 MiB changed"); may be NULL. */
typedef void (*ovfk_p2v_log_fn)(void *opaque, const char *line);

struct ovfk_p2v_capture_opts {
    const char *const *disks;       /* block devices; none: every local
                                       disk holding a mounted fs or swap */
    size_t n_disks;
    const char *to;                 /* DIR, FILE.ova (packed, or converted
                                       into it without no_convert) or
                                       ssh://[USER@]HOST[:PORT]/DIR */
    const char *name;               /* the VM's name (default: hostname) */
    enum ovfk_p2v_consistency consistency;
    double max_freeze;              /* seconds; 0: 10 */
    bool dry_run;                   /* plan only: nothing read or sent */
    enum ovfk_p2v_compress compress;
    bool no_convert;                /* receiver: no `convert --p2v` */
    const char *remote_cmd;         /* the receiver's ovfkit program on the
                                       remote host (default "ovfkit") */
    ovfk_p2v_log_fn log;
    void *opaque;
    /* out (NULL: not wanted): the report or, with dry_run, the plan, as
     * JSON, malloc'ed, set on success and on a refusal; caller frees */
    char **report;
};

/*
 * Capture the disks to o->to.  The program ssh (or $OVFK_P2V_SSH) runs
 * `REMOTE_CMD p2v receive DIR` for an ssh:// target.  File systems frozen
 * by the capture are thawed on every exit: return, SIGINT, SIGTERM,
 * SIGHUP (which cancel the capture; once it has cleaned up, the signal is
 * raised again for the handler that was there before), and by a watchdog
 * process when this process dies or the freeze outlives its deadline (then
 * the capture fails).  On failure a local DIR
 * is removed if the capture created it.
 */
int ovfk_p2v_capture(const struct ovfk_p2v_capture_opts *o);

struct ovfk_p2v_receive_opts {
    const char *dir;                /* created; must not exist or be empty */
    int fd;                         /* the stream (standard input) */
    bool no_convert;                /* else `convert --p2v` to DIR/converted */
    ovfk_p2v_log_fn log;
    void *opaque;
    char **report;                  /* out: the sender's report (JSON) */
};

/*
 * Read a capture stream from o->fd and write DIR/NAME-diskN.vhd (dynamic,
 * written as blocks arrive), DIR/NAME.ovf, DIR/NAME.mf (SHA-256) and
 * DIR/NAME.p2v.json (the sender's report), after checking every block and
 * each disk against the sender's digests (OVFK_EMISMATCH when one
 * differs).  On failure the files it wrote are removed.
 */
int ovfk_p2v_receive(const struct ovfk_p2v_receive_opts *o);

#ifdef __cplusplus
}
#endif
#endif

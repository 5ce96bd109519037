/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmm/nbdkit.h - serve a VHD chain over NBD with our nbdkit plugin.
 * qemu's own VHD driver (and so libguestfs, which runs qemu) opens a
 * differencing VHD as if it were a dynamic disk and never reads the
 * parent: both `vm start` and the guest fixups give such disks to qemu
 * through the plugin instead.
 */
#ifndef OVFK_VMM_NBDKIT_H
#define OVFK_VMM_NBDKIT_H

#include <stdbool.h>
#include <stddef.h>

/* Where the plugin is: OVFKIT_NBDKIT_PLUGIN, beside the ovfkit binary
 * (the build tree), the install tree, or "ovfkit" (nbdkit's plugin dir). */
void ovfk_nbdkit_plugin(char *out, size_t len);

/*
 * Start nbdkit in the background serving file on the Unix socket sock,
 * its pid in pidfile; control (may be NULL) is the plugin's control socket
 * for switching the write target (nbdkit/ovfkit.c); readonly serves with
 * -r.  Returns once
 * the socket is bound: 0, -ENOENT when nbdkit is not installed, -EIO when
 * it failed to start.
 */
int ovfk_nbdkit_serve(const char *file, const char *sock, const char *pidfile,
                      const char *control, bool readonly);

/*
 * Ask the plugin listening on control to "switch" to path (absolute) or to
 * "reopen" (path NULL), and wait up to timeout_ms for its answer
 * (nbdkit/ovfkit.c describes the protocol).  Returns 0 when it was done;
 * -EIO when the plugin refused, with its reason in answer (the plugin then
 * serves the file it served before), and only then; another negative
 * errno when it could not be asked or did not answer (-ETIMEDOUT: it may
 * still carry the request out), with the reason in answer.
 */
int ovfk_nbdkit_request(const char *control, const char *verb,
                        const char *path, int timeout_ms, char *answer,
                        size_t len);

/* Stop the nbdkit whose pid is in pidfile (waiting up to 2 s) and remove
 * the pid file; nothing when there is none. */
void ovfk_nbdkit_stop(const char *pidfile);

#endif

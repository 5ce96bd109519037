/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovfkit/image.h - disk images in: open any supported image (raw file or
 * block device, VHD, VHDX, VMDK, qcow2) as a source, by probing its
 * content or by the format its describer declares.  The readers live in
 * image/, below everything that reads foreign disks (hv, convert).
 */
#ifndef OVFKIT_IMAGE_H
#define OVFKIT_IMAGE_H

#include "ovfkit/common.h"
#include "ovfkit/source.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Open path as a source.  format is a driver name ("raw", "vhd", ...) or
 * NULL to probe: the driver with the highest confidence wins, raw last.
 * A file that no format bids for but whose name (.vhd, .vmdk, .qcow2,
 * .vhdx) or content (a magic number, a VHD footer cookie) claims a format
 * is opened with that format, never as raw: a damaged image fails with
 * the reason (and, for a VHD, 'ovfkit vhd repair'); format "raw" insists.
 * The source owns everything it opened; free it with ovfk_source_free.
 * On failure *out is NULL and the message is in ovfk_last_error().
 */
int ovfk_open_source(const char *path, const char *format,
                     ovfk_source **out);

/* The name of the format ovfk_open_source(path, NULL) opens path as
 * ("raw" when nothing else bids and nothing claims another format). */
const char *ovfk_probe_format(const char *path);

#ifdef __cplusplus
}
#endif
#endif

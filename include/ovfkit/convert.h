/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovfkit/convert.h - foreign disk images in: open any supported image
 * (raw file or block device, VHD, and the formats of convert/) as a
 * source, by probing its content.
 */
#ifndef OVFKIT_CONVERT_H
#define OVFKIT_CONVERT_H

#include "ovfkit/common.h"
#include "ovfkit/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Open path as a source.  format is a driver name ("raw", "vhd", ...) or
 * NULL to probe: the driver with the highest confidence wins, raw last.
 * The source owns everything it opened; free it with ovfk_source_free.
 * On failure *out is NULL and the message is in ovfk_last_error().
 */
int ovfk_open_source(const char *path, const char *format,
                     ovfk_source **out);

/* The name of the format path probes as ("raw" when nothing else bids). */
const char *ovfk_probe_format(const char *path);

#ifdef __cplusplus
}
#endif
#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert/input.h - the input driver table: one static const driver per
 * image format, each with a probe that returns a confidence 0..100
 * (QEMU's BlockDriver, libarchive's bids).
 */
#ifndef OVFK_CONVERT_INPUT_H
#define OVFK_CONVERT_INPUT_H

#include "ovfkit/image.h"

struct input_driver {
    const char *name;
    int (*probe)(const char *path);
    int (*open)(const char *path, ovfk_source **out);
};

extern const struct input_driver input_raw;
extern const struct input_driver input_vhd;
extern const struct input_driver input_vhdx;
extern const struct input_driver input_vmdk;
extern const struct input_driver input_qcow2;

#endif

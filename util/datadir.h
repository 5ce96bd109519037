/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/datadir.h - where ovfkit's shipped data (schemas, the sysprep
 * catalog) is: $OVFKIT_DATADIR when set (a binary copied elsewhere, as the
 * benchmarks do), beside the binary in the source tree (build/ovfkit ->
 * data/), in an install tree (bin/ovfkit -> share/ovfkit/), else the
 * configured OVFK_DATADIR.
 */
#ifndef OVFK_UTIL_DATADIR_H
#define OVFK_UTIL_DATADIR_H

#include <stddef.h>

/* The path of name (a file or directory under data/) in buf. */
const char *ovfk_data_path(const char *name, char *buf, size_t len);

#endif

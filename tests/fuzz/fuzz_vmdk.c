/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/fuzz/fuzz_vmdk.c - libFuzzer target: the vmdk reader of convert/
 * (header, tables, data and allocation map) over the fuzz input.
 */
#include "tests/fuzz/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_source(data, size, "in.vmdk", "vmdk");
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/fuzz/fuzz_manifest.c - libFuzzer target: the manifest parser.
 */
#include "ovfkit/ova.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ovfk_ova_manifest m;

    if (ovfk_ova_manifest_parse((const char *)data, size, &m, NULL, NULL) >=
        0) {
        ovfk_ova_manifest_free(&m);
    }
    return 0;
}

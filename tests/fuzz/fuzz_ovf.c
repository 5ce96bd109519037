/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/fuzz/fuzz_ovf.c - libFuzzer target: parse a descriptor, emit it as
 * OVF 1.0 and 2.0, parse that again, and run the semantic checks.
 */
#include <stdlib.h>

#include "ovfkit/ovf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ovfk_ovf_doc *d, *again;
    char *xml, *dump;
    size_t len;

    if (ovfk_ovf_parse_memory((const char *)data, size, "fuzz.ovf", &d) < 0) {
        return 0;
    }
    ovfk_ovf_semantic_check(d, NULL, NULL);
    {
        /* both href policies: beside the descriptor and inside an OVA */
        struct ovfk_ovf_check_opts co = { .in_archive = size & 1 };
        ovfk_ovf_check(d, &co, NULL, NULL);
    }
    for (size_t i = 0; i < ovfk_ovf_system_count(d); i++) {
        struct ovfk_ovf_hw_summary hw;
        ovfk_ovf_summary(d, ovfk_ovf_system_at(d, i), NULL, &hw);
    }
    dump = ovfk_ovf_dump(d);
    free(dump);
    for (int v = 10; v <= 20; v += 10) {
        if (ovfk_ovf_emit(d, v, &xml, &len) == 0) {
            if (ovfk_ovf_parse_memory(xml, len, "again.ovf", &again) == 0) {
                ovfk_ovf_free(again);
            }
            free(xml);
        }
    }
    ovfk_ovf_free(d);
    return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/fuzz/fuzz_ova.c - libFuzzer target: an OVA made of the input (a
 * memfd): list, load the descriptor, verify, validate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ovfkit/ova.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *opaque, const char *name, uint64_t size,
                 const char *problem)
{
    (void)name;
    (void)size;
    (void)problem;
    (*(int *)opaque)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ovfk_ova_verify_opts vo = { 0 };
    char path[64], *buf, *name;
    size_t len;
    int n = 0, fd = memfd_create("fuzz.ova", 0);

    if (fd < 0) {
        return 0;
    }
    if (write(fd, data, size) == (ssize_t)size) {
        /* the name says .ova, as users' files do */
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        ovfk_ova_list(path, count, &n);
        if (ovfk_ova_load_descriptor(path, &buf, &len, &name) == 0) {
            free(buf);
            free(name);
        }
        ovfk_ova_verify(path, &vo, NULL, NULL);
        ovfk_ova_validate(path, NULL, NULL, NULL);
    }
    close(fd);
    return 0;
}

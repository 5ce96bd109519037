/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * examples/list-package.c - list the members of an OVA with their sizes,
 * and say whether each is acceptable, through libovfkit's public API
 * (built by `make check` against the installed headers and `pkg-config
 * ovfkit`).
 *
 *     list-package PKG.ova
 */
#include <inttypes.h>
#include <stdio.h>

#include <ovfkit/ova.h>

static int show(void *opaque, const char *name, uint64_t size,
                const char *problem)
{
    size_t *count = opaque;

    (*count)++;
    printf("%12" PRIu64 "  %s%s%s\n", size, name, problem ? "  # " : "",
           problem ? problem : "");
    return 0;
}

int main(int argc, char **argv)
{
    size_t count = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: list-package PKG.ova\n");
        return 64;
    }
    if (ovfk_ova_list(argv[1], show, &count) < 0) {
        fprintf(stderr, "list-package: %s\n", ovfk_last_error());
        return 1;
    }
    printf("%zu member%s\n", count, count == 1 ? "" : "s");
    return 0;
}

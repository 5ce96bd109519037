/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * examples/export-vm.c - export one VM of a dir store as an OVF package,
 * as a program that links libovfkit would (built by `make check` against
 * the installed headers and `pkg-config ovfkit`).
 *
 *     export-vm STORE VM DIR|FILE.ova
 */
#include <stdio.h>

#include <ovfkit/hv.h>

int main(int argc, char **argv)
{
    struct ovfk_hv_export_opts o = { 0 };
    ovfk_hv_conn *c;
    int r;

    if (argc != 4) {
        fprintf(stderr, "usage: export-vm STORE VM DIR|FILE.ova\n");
        return 64;
    }
    /* a store directory, no libvirt URI: the embedded dir driver */
    if (ovfk_hv_connect(argv[1], NULL, &c) < 0) {
        fprintf(stderr, "export-vm: %s\n", ovfk_last_error());
        return 1;
    }
    o.to = argv[3];
    r = ovfk_hv_export(c, argv[2], &o);
    if (r < 0) {
        /* the message lives on the connection until its next call */
        fprintf(stderr, "export-vm: %s\n", ovfk_hv_error(c));
    } else {
        printf("exported '%s' to '%s'\n", argv[2], argv[3]);
    }
    ovfk_hv_disconnect(c);
    return r < 0 ? 1 : 0;
}

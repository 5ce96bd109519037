/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/fuzz/fuzz_vhd.c - libFuzzer target: open, describe, read, map and
 * check a VHD made of the fuzz input (through a memfd, so the real open
 * path is exercised).
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ovfkit/vhd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[1 << 16];
    struct ovfk_vhd_info info;
    char path[64];
    ovfk_vhd *h;
    int fd = memfd_create("fuzz.vhd", 0);

    if (fd < 0) {
        return 0;
    }
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (ovfk_vhd_open(path, OVFK_VHD_OPEN_NO_PARENT, &h) == 0) {
        uint64_t sz = ovfk_vhd_size(h), off = 0, pnum;
        int depth, steps = 0;
        ovfk_vhd_get_info(h, &info);
        for (int i = 0; i < 8 && sz; i++) {
            uint64_t at = sz / 8 * (uint64_t)i;
            size_t n = sz - at < sizeof(buf) ? (size_t)(sz - at) : sizeof(buf);
            ovfk_vhd_pread(h, buf, n, at);
        }
        while (off < sz && steps++ < 64) {
            if (ovfk_vhd_block_status(h, off, sz - off, &pnum, &depth) < 0 ||
                pnum == 0) {
                break;
            }
            off += pnum;
        }
        ovfk_vhd_close(h);
    }
    ovfk_vhd_check(path, NULL, NULL);
    close(fd);
    return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovfkit/convert.h - the P2V/V2V flow: foreign VM descriptions and disks
 * (through image/) into our VM model and an OVF package, with the guest
 * fixups of sysprep/.
 */
#ifndef OVFKIT_CONVERT_H
#define OVFKIT_CONVERT_H

#include "ovfkit/common.h"
#include "ovfkit/hv.h"
#include "ovfkit/image.h"
#include "ovfkit/ova.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ovfk_convert_mode {
    OVFK_CONVERT_PLAIN,     /* the disks as they are */
    OVFK_CONVERT_P2V,       /* disable the catalog's "p2v" services */
    OVFK_CONVERT_V2V,       /* disable the catalog's "v2v" services */
};

struct ovfk_convert_opts {
    const char *to;                 /* DIR or FILE.ova (must not exist) */
    const char *name;               /* overrides: 0/NULL keep the source's */
    const char *os_type;
    uint32_t cpus;
    uint64_t memory_mib;
    const char *const *nics;        /* network names: replace the NICs */
    size_t n_nics;
    enum ovfk_convert_mode mode;
    const char *catalog;            /* an extra service catalog */
    const char *report; /* sysprep report (default TO.sysprep.json) */
    enum ovfk_ova_digest digest;
    bool fixed;                     /* fixed VHDs (default dynamic) */
    const char *format;             /* of bare disk sources; NULL: probe */
    size_t *changes;                /* out: guest changes made (or NULL) */
    /* out (or NULL): what libguestfs inspection found ("debian 12.5
     * (linux)"), malloc'ed, caller frees; NULL when nothing was inspected.
     * The declared OS type is kept; inspection fills it only when the
     * source declares none. */
    char **os_found;
    bool *os_mismatch;              /* out (or NULL): declared != found */
    char **package;                 /* out (or NULL): the descriptor or OVA
                                       written, malloc'ed, caller frees */
    ovfk_progress_fn progress;
    void *opaque;
    /* drivers and bus (issue 17): NULL/false choose from what the guest
     * can boot with (virtio when it has it, else made able to: Linux's
     * initramfs rebuilt, Windows' drivers from virtio_win) */
    const char *bus;                /* "virtio", "scsi", "sata", "ide" */
    bool no_driver_changes;         /* an emulated bus rather than edits */
    const char *virtio_win;         /* a virtio-win driver tree (DIR) */
    void (*warn)(void *opaque, const char *msg);    /* NULL: none */
};

/*
 * Convert a physical or virtual machine into an OVF package of VHDs.
 * srcs: disk images or block devices (one VHD each), or one .ova/.ovf,
 * .vmx or libvirt domain XML describing the whole VM.  The sources are
 * only read.  *model (may be NULL) gets the VM as packaged.
 */
int ovfk_convert_vm(const char *const *srcs, size_t n,
                    const struct ovfk_convert_opts *o,
                    struct ovfk_hv_vm **model);

#ifdef __cplusplus
}
#endif
#endif

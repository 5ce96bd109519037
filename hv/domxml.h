/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv/domxml.h - the one reader of libvirt domain XML: the libvirt driver
 * lists its domains with it, and a conversion (convert/) starts from a
 * `virsh dumpxml` file with it.
 */
#ifndef OVFK_HV_DOMXML_H
#define OVFK_HV_DOMXML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libxml/xpath.h>

#include "ovfkit/hv.h"
#include "util/err.h"

/* Larger domain XML is refused: libvirt's own are a few KiB. */
#define HV_DOMXML_MAX (4u << 20)

enum {
    /* only disks backed by a file or a block device (a conversion cannot
     * read network or volume disks); others are left out */
    HV_DOMXML_LOCAL_DISKS = 1,
};

/*
 * Read a domain: name, UUID, description, memory, vCPUs, firmware,
 * direct-boot kernel, the guest OS (our metadata's os-type and os-id,
 * else libosinfo's id), disks (device "disk" or unset; path, the driver's
 * type as written, bus, ids vmdisk1...) and interfaces (network or
 * bridge, MAC, model).  Refused with OVFK_ECORRUPT: what is not a
 * well-formed <domain>, and numbers that cannot be read (hv_domxml_memory
 * and hv_domxml_number); with OVFK_EUNSUPPORTED: a DTD (its entities are
 * not expanded here).  Errors on err, worded to follow the document's
 * name ("'a.xml' is not a libvirt domain XML"); *out is malloc'ed.
 */
int hv_domxml_parse(const char *xml, size_t len, unsigned flags,
                    struct ovfk_hv_vm **out, ovfk_err *err);
/* The same for a file (a missing one is not a domain XML either). */
int hv_domxml_parse_file(const char *path, unsigned flags,
                         struct ovfk_hv_vm **out, ovfk_err *err);

/*
 * <memory unit=...>value</memory> in MiB (rounded down), per libvirt's
 * units: "b"/"bytes"; "KB", "MB", "GB", "TB", "PB", "EB" (powers of 1000);
 * "k"/"KiB", "M"/"MiB", "G"/"GiB", "T"/"TiB", "P"/"PiB", "E"/"EiB"
 * (powers of 1024), any case; no unit: KiB.  The value is decimal digits
 * only; -EINVAL for junk or an unknown unit, -ERANGE when the bytes
 * overflow 64 bits or exceed HV_DOMXML_MAX_MEMORY_MIB.
 */
#define HV_DOMXML_MAX_MEMORY_MIB (64ull << 20)     /* 64 TiB */
int hv_domxml_memory(const char *value, const char *unit, uint64_t *mib);

/* A decimal number in 0..max (digits only, surrounding blanks allowed):
 * 0, -EINVAL (junk, empty, a sign) or -ERANGE. */
int hv_domxml_number(const char *text, uint64_t max, uint64_t *out);

/* The text of the first node expr selects (or a string result), or NULL
 * when there is none or it is empty (malloc'ed): for libvirt's other XML
 * (a storage pool's) too. */
char *hv_xp_str(xmlXPathContextPtr ctx, const char *expr);

#endif

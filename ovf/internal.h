/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/internal.h - what the files of ovf/ share: the XML kept for round
 * trips, namespaces, and helpers.
 */
#ifndef OVFK_OVF_INTERNAL_H
#define OVFK_OVF_INTERNAL_H

#include <libxml/tree.h>

#include "ovfkit/ovf.h"
#include "util/err.h"

/* Envelope namespaces we read (see the quirk table in parse.c). */
#define NS_OVF1 "http://schemas.dmtf.org/ovf/envelope/1"
#define NS_OVF2 "http://schemas.dmtf.org/ovf/envelope/2"
#define NS_OVF09 "http://www.vmware.com/schema/ovf/1/envelope"
#define NS_OVF_DRAFT "http://schemas.dmtf.org/ovf/envelope"
#define NS_OVF1_SLASH "http://schemas.dmtf.org/ovf/envelope/1/"
#define NS_CIM "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
#define NS_RASD NS_CIM "CIM_ResourceAllocationSettingData"
#define NS_VSSD NS_CIM "CIM_VirtualSystemSettingData"
#define NS_SASD NS_CIM "CIM_StorageAllocationSettingData"
#define NS_EPASD NS_CIM "CIM_EthernetPortAllocationSettingData"
#define NS_CIMCOMMON "http://schemas.dmtf.org/wbem/wscim/1/common"
#define NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define NS_XML "http://www.w3.org/XML/1998/namespace"

/*
 * Unmodeled XML of one modeled element: child elements before the modeled
 * children that follow them in the schema ("head", e.g. ProductSection's
 * Icon, the envelope's unknown sections) and after ("tail"), and
 * attributes.  Nodes are copies owned by the document's holder.
 */
struct ovf_extra_attr {
    char *ns_href;      /* NULL: no namespace */
    char *ns_prefix;
    char *name;
    char *value;
};

struct ovfk_ovf_extra {
    xmlNodePtr *head;
    size_t n_head;
    xmlNodePtr *tail;
    size_t n_tail;
    struct ovf_extra_attr *attrs;
    size_t n_attrs;
};

struct ovf_priv {
    xmlDocPtr holder;       /* owns the copied nodes */
    ovfk_ovf_extra **extras;     /* every extra, for freeing */
    size_t n_extras;
};

/* Info texts the emitter writes when the model has none (the schema
 * requires Info); the dump treats them as absent. */
#define INFO_SYSTEM "A virtual machine"
#define INFO_DISKS "Virtual disks"
#define INFO_NETWORKS "Logical networks"
#define INFO_OPTIONS "Deployment options"
#define INFO_PRODUCT "Product information"
#define INFO_OS "The guest operating system"
#define INFO_HARDWARE "Virtual hardware"

/* The ProductSection's text fields after Info, in the schema's order: the
 * one table parse.c reads them with and emit.c writes them from. */
struct ovf_product_field {
    const char *name;           /* element name */
    size_t off;                 /* of the char * in struct ovfk_ovf_product */
};
extern const struct ovf_product_field ovf_product_fields[];
extern const size_t ovf_n_product_fields;

/* parse.c: XenCenter's encoding="utf-16" on 8-bit text? */
bool ovf_utf16_label_on_8bit(const char *buf, size_t len);

/* model.c */
ovfk_ovf_extra *ovf_extra_new(ovfk_ovf_doc *d);
int ovf_extra_add_node(ovfk_ovf_doc *d, ovfk_ovf_extra *x, xmlNodePtr node,
                       bool head);
int ovf_extra_add_attr(ovfk_ovf_extra *x, xmlAttrPtr a);
bool ovf_is_envelope_ns(const char *href);
void *ovf_grow(void *array, size_t *n, size_t elem);
char *ovf_strdup(const char *s);

#endif

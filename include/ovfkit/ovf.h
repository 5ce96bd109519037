/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovfkit/ovf.h - the OVF descriptor (DMTF DSP0243 1.x and 2.x): a model,
 * a lenient parser (libxml2), a deterministic emitter, and validation
 * (DMTF schema through libxml2, plus semantic checks).
 *
 * The model is plain structs the caller may read; build and change it only
 * through the functions below (they own every string).  What the model
 * does not describe (vendor sections and attributes: vmw:, vbox:, xenovf:,
 * vcloud:, ...) is kept as XML and written back where it came from.
 *
 * Errors: 0 or negative; constructors leave the message in
 * ovfk_last_error().
 */
#ifndef OVFKIT_OVF_H
#define OVFKIT_OVF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ovfkit/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OVFK_OVF_MAX_DESCRIPTOR (16u << 20) /* larger descriptors are refused */

/* CIM ResourceType values used by OVF (DSP1041) */
enum ovfk_ovf_resource_type {
    OVFK_OVF_RT_OTHER = 1,
    OVFK_OVF_RT_PROCESSOR = 3,
    OVFK_OVF_RT_MEMORY = 4,
    OVFK_OVF_RT_IDE = 5,
    OVFK_OVF_RT_SCSI = 6,
    OVFK_OVF_RT_FC = 7,
    OVFK_OVF_RT_ETHERNET = 10,
    OVFK_OVF_RT_FLOPPY = 14,
    OVFK_OVF_RT_CDROM = 15,
    OVFK_OVF_RT_DVD = 16,
    OVFK_OVF_RT_DISK = 17,
    OVFK_OVF_RT_STORAGE_EXTENT = 19,     /* XenServer's disk images */
    OVFK_OVF_RT_SATA = 20,
    OVFK_OVF_RT_USB = 23,
    OVFK_OVF_RT_VIDEO = 24,
    OVFK_OVF_RT_SOUND = 35,
};

/* Opaque XML kept for round trips (owned by the document). */
typedef struct ovfk_ovf_extra ovfk_ovf_extra;

/* A name/value child of an Item or System, in document order. */
struct ovfk_ovf_prop {
    char *name;     /* local name, e.g. "ResourceType" */
    char *value;
};

struct ovfk_ovf_file {
    char *id;
    char *href;
    uint64_t size;
    bool has_size;
    char *compression;      /* "gzip" or NULL */
    uint64_t chunk_size;    /* 0: not chunked */
    ovfk_ovf_extra *extra;
};

struct ovfk_ovf_disk {
    char *id;
    char *file_ref;         /* NULL for a blank disk */
    char *format;           /* URI */
    char *parent_ref;
    char *capacity_text;    /* as written: "10", "${disk_size}" */
    char *capacity_units;   /* as written, or NULL for bytes */
    uint64_t capacity;      /* bytes; 0 when unknown */
    bool capacity_known;
    uint64_t populated_size;
    bool has_populated;
    ovfk_ovf_extra *extra;
};

struct ovfk_ovf_network {
    char *name;
    char *description;
    ovfk_ovf_extra *extra;
};

struct ovfk_ovf_item {
    char *element;          /* "Item", "StorageItem", "EthernetPortItem" */
    struct ovfk_ovf_prop *props; /* RASD children (Address, Connection, ...) */
    size_t n_props;
    char *configuration;    /* ovf:configuration, or NULL */
    char *bound;            /* ovf:bound, or NULL */
    bool required;          /* ovf:required (default true) */
    ovfk_ovf_extra *extra;
};

struct ovfk_ovf_property {
    bool is_category;       /* a Category line (label in value) */
    char *key;
    char *type;
    char *value;            /* default (ovf:value) or the category text */
    char *qualifiers;
    char *label;
    char *description;
    bool user_configurable;
    bool password;
    ovfk_ovf_extra *extra;
};

struct ovfk_ovf_product {
    char *class_;
    char *instance;
    char *info;
    char *product, *vendor, *version, *full_version;
    char *product_url, *vendor_url, *app_url;
    struct ovfk_ovf_property *props;
    size_t n_props;
    ovfk_ovf_extra *extra;
};

struct ovfk_ovf_deploy_option {
    char *id;
    char *label;
    char *description;
    bool is_default;
};

struct ovfk_ovf_system {
    bool collection;        /* VirtualSystemCollection */
    char *id;
    char *info;
    char *name;
    /* OperatingSystemSection */
    bool has_os;
    int os_id;              /* CIM OS type */
    char *os_description;   /* kept exactly */
    char *os_version;
    char *os_info;
    ovfk_ovf_extra *os_extra;    /* e.g. vmw:osType */
    /* VirtualHardwareSection (the first; others stay opaque) */
    bool has_hardware;
    char *hw_info;
    char *hw_transport;
    struct ovfk_ovf_prop *vssd;  /* System: ElementName, InstanceID, ... */
    size_t n_vssd;
    struct ovfk_ovf_item *items;
    size_t n_items;
    ovfk_ovf_extra *hw_extra;
    struct ovfk_ovf_product *products;
    size_t n_products;
    char *annotation;
    char **eulas;           /* license texts */
    size_t n_eulas;
    struct ovfk_ovf_system *children;
    size_t n_children;
    ovfk_ovf_extra *extra;       /* unmodeled sections and attributes */
};

typedef struct ovfk_ovf_doc {
    int version;            /* 10 for 1.x, 20 for 2.x, 9 for 0.9 */
    char *version_text;     /* ovf:version as written, or NULL */
    char *lang;             /* xml:lang */
    struct ovfk_ovf_file *files;
    size_t n_files;
    char *disk_info;
    struct ovfk_ovf_disk *disks;
    size_t n_disks;
    ovfk_ovf_extra *disk_extra;
    char *net_info;
    struct ovfk_ovf_network *networks;
    size_t n_networks;
    ovfk_ovf_extra *net_extra;
    char *options_info;
    struct ovfk_ovf_deploy_option *options;
    size_t n_options;
    struct ovfk_ovf_system top;  /* the Content element */
    bool has_top;
    char **warnings;
    size_t n_warnings;
    void *priv;             /* XML kept for round trips */
    ovfk_ovf_extra *extra;       /* envelope-level unmodeled sections */
} ovfk_ovf_doc;

/*
 * Parse a descriptor.  name is used in messages (file name).  Lenient
 * reading: each tolerated quirk adds a warning to doc->warnings.  Refused:
 * not XML, not an OVF envelope, DTDs or entities (XXE, entity bombs),
 * descriptors over OVFK_OVF_MAX_DESCRIPTOR, values that overflow.
 */
int ovfk_ovf_parse_memory(const char *buf, size_t len, const char *name,
                     ovfk_ovf_doc **out);
int ovfk_ovf_parse_file(const char *path, ovfk_ovf_doc **out);

/* A new empty document of the given version (10 or 20). */
int ovfk_ovf_new(int version, ovfk_ovf_doc **out);
void ovfk_ovf_free(ovfk_ovf_doc *doc);

/*
 * Emit as OVF 1.0 (version 10) or 2.0 (version 20): deterministic bytes in
 * *out (malloc'ed, caller frees), NUL-terminated, length in *len.
 */
int ovfk_ovf_emit(const ovfk_ovf_doc *doc, int version, char **out,
                  size_t *len);

/* Canonical text of the model (for tests and round-trip comparison);
 * malloc'ed, caller frees. */
char *ovfk_ovf_dump(const ovfk_ovf_doc *doc);

/* Builders: each copies its strings; return NULL/negative on ENOMEM.  The
 * element returned belongs to the document: valid until ovfk_ovf_free(d) or
 * the next builder call that adds to the same array (which may move it). */
struct ovfk_ovf_file *ovfk_ovf_add_file(ovfk_ovf_doc *d, const char *id,
                                        const char *href, uint64_t size);
struct ovfk_ovf_disk *ovfk_ovf_add_disk(ovfk_ovf_doc *d, const char *id,
                              const char *file_ref, uint64_t capacity,
                              const char *format);
struct ovfk_ovf_network *ovfk_ovf_add_network(ovfk_ovf_doc *d, const char *name,
                                    const char *description);
struct ovfk_ovf_item *ovfk_ovf_add_item(struct ovfk_ovf_system *s, int type,
                              const char *instance_id,
                              const char *element_name);
int ovfk_ovf_item_set(struct ovfk_ovf_item *it, const char *name,
                      const char *value);
int ovfk_ovf_item_add(struct ovfk_ovf_item *it, const char *name,
                      const char *value);
int ovfk_ovf_set_str(char **field, const char *value);
int ovfk_ovf_prop_set(struct ovfk_ovf_prop **props, size_t *n, const char *name,
                 const char *value);
int ovfk_ovf_warn(ovfk_ovf_doc *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Vendor settings kept in a VirtualHardwareSection as
 * <prefix:Config prefix:key="K" prefix:value="V"/> (VMware's vmw:Config
 * pattern: schema-valid through the section's ##other extension point).
 * get returns a malloc'ed value or NULL.
 */
int ovfk_ovf_hw_set_config(ovfk_ovf_doc *d, struct ovfk_ovf_system *s,
                           const char *ns_href, const char *prefix,
                           const char *key, const char *value);
char *ovfk_ovf_hw_get_config(const struct ovfk_ovf_system *s,
                             const char *ns_href, const char *key);
/* An attribute of the first unmodeled element (in ns_href, named local)
 * of a system, e.g. vbox:Machine's uuid; malloc'ed or NULL. */
char *ovfk_ovf_system_vendor_attr(const struct ovfk_ovf_system *s,
                                  const char *ns_href, const char *local,
                                  const char *attr);

/* Lookups.  What they return points into the document (or the item) and
 * stays valid until it is freed or changed; NULL when absent. */
const char *ovfk_ovf_item_get(const struct ovfk_ovf_item *it, const char *name);
int ovfk_ovf_item_type(const struct ovfk_ovf_item *it);
const char *ovfk_ovf_prop_get(const struct ovfk_ovf_prop *props, size_t n,
                         const char *name);
struct ovfk_ovf_file *ovfk_ovf_find_file(const ovfk_ovf_doc *d, const char *id);
struct ovfk_ovf_disk *ovfk_ovf_find_disk(const ovfk_ovf_doc *d, const char *id);
/* The disk id an Item's HostResource names ("ovf:/disk/ID", ...). */
const char *ovfk_ovf_host_resource_disk(const char *host_resource);

/* The default deployment option id, or NULL when there are none. */
const char *ovfk_ovf_default_config(const ovfk_ovf_doc *d);
/* Does an item apply in configuration cfg (NULL: the default)? */
bool ovfk_ovf_item_in_config(const ovfk_ovf_doc *d,
                             const struct ovfk_ovf_item *it, const char *cfg);

/* Systems in depth-first order (the top one, then its descendants);
 * ovfk_ovf_system_at's pointer belongs to the document (valid until
 * ovfk_ovf_free). */
size_t ovfk_ovf_system_count(const ovfk_ovf_doc *d);
const struct ovfk_ovf_system *ovfk_ovf_system_at(const ovfk_ovf_doc *d,
                                                 size_t i);

/* Hardware summary of one system for a configuration (NULL: default). */
struct ovfk_ovf_hw_summary {
    uint64_t cpus;
    uint64_t memory_mib;
};
int ovfk_ovf_summary(const ovfk_ovf_doc *d, const struct ovfk_ovf_system *s,
                const char *cfg, struct ovfk_ovf_hw_summary *out);

/*
 * Convert a value with CIM programmatic units ("byte * 2^20", "MegaBytes",
 * "KB", "byte") to bytes.  Returns 0, -EINVAL (unknown units) or -ERANGE.
 */
int ovfk_ovf_units_to_bytes(const char *value, const char *units,
                            uint64_t *out);

/* Where the DMTF schemas are (OVFKIT_SCHEMA_DIR, the install, the tree). */
const char *ovfk_ovf_schema_dir(void);

/*
 * Validate against the DMTF schema of the descriptor's version, in process.
 * Each problem goes to report (one line); returns the number of problems,
 * or negative when the schema cannot be loaded.
 */
typedef void (*ovfk_ovf_report_fn)(void *opaque, const char *msg);
int ovfk_ovf_schema_check(const char *buf, size_t len, int version,
                     ovfk_ovf_report_fn report, void *opaque);

/* Semantic checks (ids unique, references resolve, ...): reports the
 * errors of ovfk_ovf_check (not its warnings) and returns their number. */
int ovfk_ovf_semantic_check(const ovfk_ovf_doc *d, ovfk_ovf_report_fn report,
                            void *opaque);

/*
 * What a consumer needs to know before deploying a descriptor, by weight:
 * an error breaks a deployment (a reference that resolves nowhere, an id
 * used twice, a capacity that cannot be read or is zero, a section marked
 * required that no reader understands, ...); a warning is something
 * readers tolerate.  Schema conformance is ovfk_ova_validate's --strict.
 */
enum ovfk_ovf_severity {
    OVFK_OVF_WARNING = 1,
    OVFK_OVF_ERROR = 2,
};
typedef void (*ovfk_ovf_diag_fn)(void *opaque, enum ovfk_ovf_severity sev,
                            const char *msg);

struct ovfk_ovf_check_opts {
    bool in_archive;        /* the descriptor of an OVA: an href that leaves
                             * the package is an error, not a warning */
};

/* Report each finding (fn may be NULL); returns the number of errors. */
int ovfk_ovf_check(const ovfk_ovf_doc *d, const struct ovfk_ovf_check_opts *o,
              ovfk_ovf_diag_fn fn, void *opaque);

#ifdef __cplusplus
}
#endif
#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/validate.c - validation of descriptors: the DMTF schema (DSP8023
 * 1.0.0 for OVF 1.x, 2.0.1 for 2.x) in process with libxml2, and the
 * semantic checks a user needs before deploying a package.
 */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlschemas.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/datadir.h"
#include "ovf/internal.h"

const char *ovfk_ovf_schema_dir(void)
{
    static char dir[PATH_MAX];
    const char *env = getenv("OVFKIT_SCHEMA_DIR");

    if (env && *env) {
        return env;
    }
    if (!dir[0]) {
        ovfk_data_path("schema", dir, sizeof(dir));
    }
    return dir;
}

/* Schemas import each other by relative path; never fetch anything else. */
static xmlParserInputPtr local_only(const char *url, const char *id,
                                    xmlParserCtxtPtr ctxt)
{
    (void)id;
    if (!url || strstr(url, "://")) {
        return NULL;
    }
    return xmlNewInputFromFile(ctxt, url);
}

struct schema_cache {
    xmlSchemaPtr schema[2];
    bool tried[2];
    char why[2][256];           /* the parser's first error, if it failed */
};

static struct schema_cache cache;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * libxml2's schema parser says what it does on stderr unless given a
 * handler: the DMTF files import common.xsd under two locations, which
 * makes nine "Schemas parser warning" lines on every OVF 2.0 file.  Those
 * are dropped; the first error is kept for the message if loading fails.
 */
static void schema_parser_msg(void *opaque, xmlErrorPtr e)
{
    char *why = opaque;

    if (e->level >= XML_ERR_ERROR && !why[0]) {
        snprintf(why, 256, "%s", e->message ? e->message : "error");
        why[strcspn(why, "\n")] = '\0';
    }
}

static xmlSchemaPtr load_schema(int version, const char **why)
{
    int i = version >= 20 ? 1 : 0;
    char path[PATH_MAX];
    xmlSchemaParserCtxtPtr pc;
    xmlExternalEntityLoader old;

    pthread_mutex_lock(&cache_lock);
    if (!cache.tried[i]) {
        cache.tried[i] = true;
        snprintf(path, sizeof(path), "%s/%s", ovfk_ovf_schema_dir(),
                 i ? "ovf-2.0.1/dsp8023_2.0.1.xsd"
                   : "ovf-1.0.0/ovf-envelope.xsd");
        old = xmlGetExternalEntityLoader();
        xmlSetExternalEntityLoader(local_only);
        pc = xmlSchemaNewParserCtxt(path);
        if (pc) {
            xmlSchemaSetParserStructuredErrors(pc, schema_parser_msg,
                                               cache.why[i]);
            cache.schema[i] = xmlSchemaParse(pc);
            xmlSchemaFreeParserCtxt(pc);
        }
        xmlSetExternalEntityLoader(old);
    }
    pthread_mutex_unlock(&cache_lock);
    *why = cache.why[i][0] ? cache.why[i] : "not found";
    return cache.schema[i];
}

struct sctx {
    ovfk_ovf_report_fn report;
    void *opaque;
    int count;
};

static void schema_error(void *opaque, xmlErrorPtr e)
{
    struct sctx *v = opaque;
    char msg[512];

    snprintf(msg, sizeof(msg), "schema: line %d: %s", e->line,
             e->message ? e->message : "invalid");
    msg[strcspn(msg, "\n")] = '\0';
    v->count++;
    if (v->report) {
        v->report(v->opaque, msg);
    }
}

int ovfk_ovf_schema_check(const char *buf, size_t len, int version,
                     ovfk_ovf_report_fn report, void *opaque)
{
    struct sctx v = { report, opaque, 0 };
    const char *why;
    xmlSchemaPtr schema = load_schema(version, &why);
    xmlSchemaValidCtxtPtr vc;
    xmlDocPtr doc;

    if (!schema) {
        return ovfk_err_last(-ENOENT, "cannot load the DMTF OVF schema from "
                             "'%s' (%s; set OVFKIT_SCHEMA_DIR)",
                             ovfk_ovf_schema_dir(), why);
    }
    if (len > OVFK_OVF_MAX_DESCRIPTOR || len > INT32_MAX) {
        return ovfk_err_last(OVFK_ECORRUPT, "descriptor too large");
    }
    /* the same reading as ovfk_ovf_parse_memory: XenCenter's "utf-16" on
     * 8-bit text is read as UTF-8 */
    doc = xmlReadMemory(buf, (int)len, "descriptor",
                        ovf_utf16_label_on_8bit(buf, len) ? "UTF-8" : NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR |
                        XML_PARSE_NOWARNING);
    if (!doc) {
        return ovfk_err_last(OVFK_ECORRUPT, "descriptor is not "
                             "well-formed XML");
    }
    if (doc->intSubset || doc->extSubset) {
        xmlFreeDoc(doc);
        return ovfk_err_last(OVFK_ECORRUPT, "descriptor has a DTD");
    }
    vc = xmlSchemaNewValidCtxt(schema);
    if (!vc) {
        xmlFreeDoc(doc);
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    xmlSchemaSetValidStructuredErrors(vc, schema_error, &v);
    xmlSchemaValidateDoc(vc, doc);
    xmlSchemaFreeValidCtxt(vc);
    xmlFreeDoc(doc);
    return v.count;
}

struct vctx {
    ovfk_ovf_diag_fn fn;
    void *opaque;
    const struct ovfk_ovf_check_opts *o;
    int errors;
};

static void problem(struct vctx *v, enum ovfk_ovf_severity sev, const char *fmt,
                    ...) __attribute__((format(printf, 3, 4)));

static void problem(struct vctx *v, enum ovfk_ovf_severity sev, const char *fmt,
                    ...)
{
    char msg[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    v->errors += sev == OVFK_OVF_ERROR;
    if (v->fn) {
        v->fn(v->opaque, sev, msg);
    }
}

#define ERR OVFK_OVF_ERROR
#define WARN OVFK_OVF_WARNING

static const char *sv(const char *s)
{
    return s ? s : "(none)";
}

static bool mac_ok(const char *m)
{
    int digits = 0;
    char sep = 0;

    for (const char *p = m; *p; p++) {
        if (isxdigit((unsigned char)*p)) {
            digits++;
        } else if ((*p == ':' || *p == '-') && digits % 2 == 0 &&
                   (!sep || sep == *p)) {
            sep = *p;
        } else {
            return false;
        }
    }
    /* "00:50:56:..." or "005056..." */
    return digits == 12 && (!sep || strlen(m) == 17);
}

/*
 * Do two items with one InstanceID clash?  DSP0243 9.8: items of one
 * InstanceID with ovf:configuration combine (a later one's children win),
 * which is how ovftool and Cisco override a default per configuration;
 * two that both apply always (no ovf:configuration, the same ovf:bound)
 * contradict each other (ovftool's twomax_rangemarker negative test).
 */
static bool items_clash(const struct ovfk_ovf_item *a,
                        const struct ovfk_ovf_item *b)
{
    bool same_bound = !a->bound == !b->bound &&
                      (!a->bound || !strcmp(a->bound, b->bound));

    return same_bound && (!a->configuration || !*a->configuration) &&
           (!b->configuration || !*b->configuration);
}

static bool declared_network(const ovfk_ovf_doc *d, const char *name)
{
    for (size_t w = 0; w < d->n_networks; w++) {
        if (d->networks[w].name && !strcmp(d->networks[w].name, name)) {
            return true;
        }
    }
    return false;
}

static void check_nic(const ovfk_ovf_doc *d, const struct ovfk_ovf_system *s,
                      const struct ovfk_ovf_item *it, const char *id,
                      struct vctx *v)
{
    const char *mac = ovfk_ovf_item_get(it, "Address");

    /* import ignores a malformed MAC (and makes one); restore cannot */
    if (mac && *mac && !mac_ok(mac)) {
        problem(v, WARN, "system '%s': NIC '%s' has a malformed MAC address "
                "'%s'", sv(s->id), sv(id), mac);
    }
    for (size_t k = 0; k < it->n_props; k++) {
        if (strcmp(it->props[k].name, "Connection") != 0 ||
            !*it->props[k].value) {
            continue;
        }
        if (!declared_network(d, it->props[k].value)) {
            problem(v, ERR, "system '%s': NIC '%s' connects to network "
                    "'%s', which the NetworkSection does not declare",
                    sv(s->id), sv(id), it->props[k].value);
        }
    }
}

/* CPUs and memory a deployer cannot read make no VM (units: DSP0004
 * programmatic units; memory without any is MiB, as ovfk_ovf_summary reads). */
static void check_quantity(const struct ovfk_ovf_system *s,
                           const struct ovfk_ovf_item *it, const char *id,
                           struct vctx *v)
{
    const char *q = ovfk_ovf_item_get(it, "VirtualQuantity");
    const char *units = ovfk_ovf_item_get(it, "VirtualQuantityUnits");
    uint64_t n;

    if (!units) {
        units = ovfk_ovf_item_get(it, "AllocationUnits");
    }
    if (!q) {
        return;
    }
    if (ovfk_ovf_item_type(it) == OVFK_OVF_RT_PROCESSOR &&
        ovfk_ovf_units_to_bytes(q, NULL, &n) < 0) {
        problem(v, ERR, "system '%s': Item '%s': %s virtual CPUs cannot be "
                "read", sv(s->id), sv(id), q);
    } else if (ovfk_ovf_item_type(it) == OVFK_OVF_RT_MEMORY &&
               ovfk_ovf_units_to_bytes(q, units ? units : "byte * 2^20", &n) <
                   0) {
        problem(v, ERR, "system '%s': Item '%s': memory '%s' in units '%s' "
                "cannot be read", sv(s->id), sv(id), q,
                units ? units : "byte * 2^20");
    }
}

static void check_items(const ovfk_ovf_doc *d, const struct ovfk_ovf_system *s,
                        struct vctx *v)
{
    for (size_t i = 0; i < s->n_items; i++) {
        const struct ovfk_ovf_item *it = &s->items[i];
        const char *id = ovfk_ovf_item_get(it, "InstanceID");
        if (!id) {
            problem(v, ERR, "system '%s': an Item has no InstanceID",
                    sv(s->id));
        }
        for (size_t j = i + 1; id && j < s->n_items; j++) {
            const struct ovfk_ovf_item *o = &s->items[j];
            const char *oid = ovfk_ovf_item_get(o, "InstanceID");
            if (oid && strcmp(id, oid) == 0 && items_clash(it, o)) {
                problem(v, ERR, "system '%s': InstanceID '%s' is used twice",
                        sv(s->id), id);
            }
        }
        /* readers skip an item they cannot classify */
        if (!ovfk_ovf_item_type(it)) {
            problem(v, WARN, "system '%s': Item '%s' has no valid "
                    "ResourceType (ignored)", sv(s->id), sv(id));
        }
        if (ovfk_ovf_item_type(it) == OVFK_OVF_RT_ETHERNET) {
            check_nic(d, s, it, id, v);
        }
        check_quantity(s, it, id, v);
        for (size_t k = 0; k < it->n_props; k++) {
            const char *disk;
            if (strcmp(it->props[k].name, "HostResource") != 0) {
                continue;
            }
            disk = ovfk_ovf_host_resource_disk(it->props[k].value);
            if (disk && !ovfk_ovf_find_disk(d, disk)) {
                problem(v, ERR, "system '%s': Item '%s' names disk '%s', "
                        "which the DiskSection does not declare", sv(s->id),
                        sv(id), disk);
            }
            if (!strncmp(it->props[k].value, "ovf:/file/", 10) &&
                !ovfk_ovf_find_file(d, it->props[k].value + 10)) {
                problem(v, ERR, "system '%s': Item '%s' names file '%s', "
                        "which References does not declare", sv(s->id),
                        sv(id), it->props[k].value + 10);
            }
        }
    }
}

/*
 * Sections of a vendor's namespace that the vendor's own deployers
 * (vSphere, ovftool) understand: required or not, such a package deploys
 * where it was made for, so they are warnings, not errors.
 */
static const struct {
    const char *ns;
    const char *vendor;
} vendor_ns[] = {
    { "http://www.vmware.com/schema/ovf", "VMware" },
    { "http://www.vmware.com/vcloud/v1.5", "VMware vCloud" },
    { "http://www.vmware.com/vcloud/v1", "VMware vCloud" },
    { "http://www.virtualbox.org/ovf/machine", "VirtualBox" },
    { "http://schemas.citrix.com/ovf/envelope/1", "Citrix XenServer" },
};

static const char *vendor_of(const char *ns)
{
    for (size_t i = 0; i < sizeof(vendor_ns) / sizeof(vendor_ns[0]); i++) {
        if (!strcmp(ns, vendor_ns[i].ns)) {
            return vendor_ns[i].vendor;
        }
    }
    return NULL;
}

/*
 * A section outside the OVF vocabulary may be skipped only when it says
 * ovf:required="false" (DSP0243 9.1); one without it asks the reader to
 * refuse the package unless it understands it.  vmw:Config and other
 * non-section elements are settings, not sections.
 */
static void check_required(const ovfk_ovf_extra *x, const char *where,
                           struct vctx *v)
{
    for (size_t pass = 0; x && pass < 2; pass++) {
        xmlNodePtr *nodes = pass ? x->tail : x->head;
        size_t n = pass ? x->n_tail : x->n_head;
        for (size_t i = 0; i < n; i++) {
            xmlChar *req = NULL;
            const char *ns = nodes[i]->ns ? (const char *)nodes[i]->ns->href
                                          : NULL;
            if (!ns || ovf_is_envelope_ns(ns)) {
                continue;   /* standard sections: kept and written back */
            }
            for (xmlAttrPtr a = nodes[i]->properties; a; a = a->next) {
                if (!strcmp((const char *)a->name, "required") && a->ns &&
                    ovf_is_envelope_ns((const char *)a->ns->href)) {
                    req = xmlNodeGetContent((xmlNodePtr)a);
                }
            }
            if (!strcmp((const char *)nodes[i]->name, "Config") ||
                (req && !strcmp((const char *)req, "false"))) {
                xmlFree(req);
                continue;
            }
            if (strstr((const char *)nodes[i]->name, "Section") &&
                vendor_of(ns)) {
                problem(v, WARN, "%s: section <%s> is required; only %s's "
                        "deployers understand it", where, nodes[i]->name,
                        vendor_of(ns));
            } else if (strstr((const char *)nodes[i]->name, "Section")) {
                problem(v, ERR, "%s: section <%s> (%s) is required but not "
                        "understood", where, nodes[i]->name, ns);
            }
            xmlFree(req);
        }
    }
}

static void check_system(const ovfk_ovf_doc *d, const struct ovfk_ovf_system *s,
                         struct vctx *v)
{
    char where[300];

    if (!s->id) {
        problem(v, ERR, "a %s has no ovf:id", s->collection ?
                "VirtualSystemCollection" : "VirtualSystem");
    }
    check_items(d, s, v);
    snprintf(where, sizeof(where), "system '%s'", sv(s->id));
    check_required(s->extra, where, v);
    for (size_t i = 0; i < s->n_children; i++) {
        for (size_t j = i + 1; j < s->n_children; j++) {
            if (s->children[i].id && s->children[j].id &&
                !strcmp(s->children[i].id, s->children[j].id)) {
                problem(v, ERR, "system id '%s' is used twice",
                        s->children[i].id);
            }
        }
        check_system(d, &s->children[i], v);
    }
}

/* ovf:version must name a version of the envelope's namespace. */
static void check_version(const ovfk_ovf_doc *d, struct vctx *v)
{
    const char *t = d->version_text;
    int major;

    if (!t || !*t) {
        return;     /* optional; the namespace says which */
    }
    major = isdigit((unsigned char)t[0]) ? t[0] - '0' : -1;
    if (d->version == 9 && major != 0) {
        problem(v, ERR, "ovf:version '%s' contradicts the envelope's OVF 0.9 "
                "namespace", t);
    } else if (d->version == 20 && major != 2) {
        problem(v, ERR, "ovf:version '%s' contradicts the envelope's OVF 2 "
                "namespace", t);
    } else if (d->version == 10 && major == 0) {
        /* oVirt writes 0.9 on its envelope/1/ namespace */
        problem(v, WARN, "ovf:version '%s' on an OVF 1 namespace (read as "
                "1.x)", t);
    } else if (d->version == 10 && major != 1) {
        problem(v, ERR, "ovf:version '%s' contradicts the envelope's OVF 1 "
                "namespace", t);
    }
}

/* Where an href may point: into the package directory, or (an OVA) at a
 * top-level member. */
static void check_href(const struct ovfk_ovf_file *f, struct vctx *v)
{
    const char *h = f->href;
    bool leaves = h[0] == '/' || !strcmp(h, "..") || !strncmp(h, "../", 3) ||
                  strstr(h, "/../") || (strlen(h) >= 3 &&
                                        !strcmp(h + strlen(h) - 3, "/.."));
    bool in_ova = v->o && v->o->in_archive;

    if (strstr(h, "://")) {
        if (in_ova) {
            problem(v, WARN, "file '%s': href '%s' is outside the package "
                    "(fetched at deployment)", f->id, h);
        }
        return;
    }
    if (leaves) {
        problem(v, in_ova ? ERR : WARN, "file '%s': href '%s' leaves the "
                "package directory%s", f->id, h, in_ova ? "" :
                " (an OVA of it could not hold the file)");
    } else if (in_ova && strchr(h, '/') && strncmp(h, "./", 2) != 0) {
        problem(v, ERR, "file '%s': href '%s' names a subdirectory; an OVA "
                "holds only top-level files", f->id, h);
    }
}

static void check_files(const ovfk_ovf_doc *d, struct vctx *v)
{
    for (size_t i = 0; i < d->n_files; i++) {
        const struct ovfk_ovf_file *f = &d->files[i];
        if (!f->id || !f->href) {
            problem(v, ERR, "a File lacks ovf:id or ovf:href");
            continue;
        }
        for (size_t j = i + 1; j < d->n_files; j++) {
            if (d->files[j].id && !strcmp(f->id, d->files[j].id)) {
                problem(v, ERR, "file id '%s' is used twice", f->id);
            }
        }
        if (f->compression && strcmp(f->compression, "gzip") != 0 &&
            strcmp(f->compression, "identity") != 0) {
            problem(v, ERR, "file '%s': unknown compression '%s'", f->id,
                    f->compression);
        }
        check_href(f, v);
    }
}

static void check_disks(const ovfk_ovf_doc *d, struct vctx *v)
{
    for (size_t i = 0; i < d->n_disks; i++) {
        const struct ovfk_ovf_disk *k = &d->disks[i];
        if (!k->id) {
            problem(v, ERR, "a Disk has no ovf:diskId");
            continue;
        }
        for (size_t j = i + 1; j < d->n_disks; j++) {
            if (d->disks[j].id && !strcmp(k->id, d->disks[j].id)) {
                problem(v, ERR, "disk id '%s' is used twice", k->id);
            }
        }
        if (k->file_ref && !ovfk_ovf_find_file(d, k->file_ref)) {
            problem(v, ERR, "disk '%s': fileRef '%s' names no File", k->id,
                    k->file_ref);
        }
        if (k->parent_ref && !ovfk_ovf_find_disk(d, k->parent_ref)) {
            problem(v, ERR, "disk '%s': parentRef '%s' names no Disk", k->id,
                    k->parent_ref);
        }
        if (!k->capacity_text) {
            problem(v, ERR, "disk '%s' has no capacity", k->id);
        } else if (!k->capacity_known) {
            problem(v, ERR, "disk '%s': capacity '%s'%s%s cannot be read",
                    k->id, k->capacity_text, k->capacity_units ? " " : "",
                    k->capacity_units ? k->capacity_units : "");
        } else if (k->capacity == 0) {
            problem(v, ERR, "disk '%s': capacity is zero", k->id);
        }
        /* populatedSize is an estimate for space planning */
        if (k->has_populated && k->capacity_known &&
            k->populated_size > k->capacity) {
            problem(v, WARN, "disk '%s': populatedSize %llu is above its "
                    "capacity %llu", k->id,
                    (unsigned long long)k->populated_size,
                    (unsigned long long)k->capacity);
        }
    }
}

int ovfk_ovf_check(const ovfk_ovf_doc *d, const struct ovfk_ovf_check_opts *o,
              ovfk_ovf_diag_fn fn, void *opaque)
{
    struct vctx v = { fn, opaque, o, 0 };

    check_version(d, &v);
    check_files(d, &v);
    check_disks(d, &v);
    for (size_t i = 0; i < d->n_networks; i++) {
        if (!d->networks[i].name || !*d->networks[i].name) {
            problem(&v, ERR, "a Network has no ovf:name");
        }
        for (size_t j = i + 1; j < d->n_networks; j++) {
            if (d->networks[i].name && d->networks[j].name &&
                !strcmp(d->networks[i].name, d->networks[j].name)) {
                problem(&v, ERR, "network '%s' is declared twice",
                        d->networks[i].name);
            }
        }
    }
    check_required(d->extra, "envelope", &v);
    if (!d->has_top) {
        problem(&v, ERR, "the envelope has no VirtualSystem");
    } else {
        check_system(d, &d->top, &v);
    }
    return v.errors;
}

struct errors_only {
    ovfk_ovf_report_fn report;
    void *opaque;
};

static void pass_errors(void *opaque, enum ovfk_ovf_severity sev,
                        const char *msg)
{
    struct errors_only *e = opaque;

    if (sev == OVFK_OVF_ERROR && e->report) {
        e->report(e->opaque, msg);
    }
}

int ovfk_ovf_semantic_check(const ovfk_ovf_doc *d, ovfk_ovf_report_fn report,
                            void *opaque)
{
    struct errors_only e = { report, opaque };

    return ovfk_ovf_check(d, NULL, pass_errors, &e);
}

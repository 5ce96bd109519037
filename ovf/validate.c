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

const char *ovf_schema_dir(void)
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
};

static struct schema_cache cache;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static xmlSchemaPtr load_schema(int version)
{
    int i = version >= 20 ? 1 : 0;
    char path[PATH_MAX];
    xmlSchemaParserCtxtPtr pc;
    xmlExternalEntityLoader old;

    pthread_mutex_lock(&cache_lock);
    if (!cache.tried[i]) {
        cache.tried[i] = true;
        snprintf(path, sizeof(path), "%s/%s", ovf_schema_dir(),
                 i ? "ovf-2.0.1/dsp8023_2.0.1.xsd"
                   : "ovf-1.0.0/ovf-envelope.xsd");
        old = xmlGetExternalEntityLoader();
        xmlSetExternalEntityLoader(local_only);
        pc = xmlSchemaNewParserCtxt(path);
        if (pc) {
            xmlSchemaSetParserStructuredErrors(pc, NULL, NULL);
            cache.schema[i] = xmlSchemaParse(pc);
            xmlSchemaFreeParserCtxt(pc);
        }
        xmlSetExternalEntityLoader(old);
    }
    pthread_mutex_unlock(&cache_lock);
    return cache.schema[i];
}

struct vctx {
    ovf_report_fn report;
    void *opaque;
    int count;
};

static void schema_error(void *opaque, xmlErrorPtr e)
{
    struct vctx *v = opaque;
    char msg[512];

    snprintf(msg, sizeof(msg), "schema: line %d: %s", e->line,
             e->message ? e->message : "invalid");
    msg[strcspn(msg, "\n")] = '\0';
    v->count++;
    if (v->report) {
        v->report(v->opaque, msg);
    }
}

int ovf_schema_check(const char *buf, size_t len, int version,
                     ovf_report_fn report, void *opaque)
{
    struct vctx v = { report, opaque, 0 };
    xmlSchemaPtr schema = load_schema(version);
    xmlSchemaValidCtxtPtr vc;
    xmlDocPtr doc;

    if (!schema) {
        return ovfk_err_last(-ENOENT, "cannot load the DMTF OVF schema from "
                             "'%s' (set OVFKIT_SCHEMA_DIR)",
                             ovf_schema_dir());
    }
    if (len > OVF_MAX_DESCRIPTOR || len > INT32_MAX) {
        return ovfk_err_last(OVFK_ECORRUPT, "descriptor too large");
    }
    doc = xmlReadMemory(buf, (int)len, "descriptor", NULL,
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

static void problem(struct vctx *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(struct vctx *v, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    v->count++;
    if (v->report) {
        v->report(v->opaque, msg);
    }
}

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
 * Do two items with one InstanceID clash?  Both without ovf:configuration,
 * or both naming a common configuration, clash.  One without and one with
 * is how producers (ovftool, Cisco) override a default per configuration.
 */
static bool configs_overlap(const char *a, const char *b)
{
    char ta[512];
    char *save = NULL, *tok;
    bool na = !a || !*a, nb = !b || !*b;

    if (na || nb) {
        return na && nb;
    }
    snprintf(ta, sizeof(ta), "%s", a);
    for (tok = strtok_r(ta, " ", &save); tok; tok = strtok_r(NULL, " ",
                                                               &save)) {
        size_t n = strlen(tok);
        for (const char *p = strstr(b, tok); p; p = strstr(p + 1, tok)) {
            if ((p == b || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) {
                return true;
            }
        }
    }
    return false;
}

static void check_items(const ovf_doc *d, const struct ovf_system *s,
                        struct vctx *v)
{
    for (size_t i = 0; i < s->n_items; i++) {
        const struct ovf_item *it = &s->items[i];
        const char *id = ovf_item_get(it, "InstanceID");
        const char *mac = ovf_item_get(it, "Address");
        if (!id) {
            problem(v, "system '%s': an Item has no InstanceID", sv(s->id));
        }
        for (size_t j = i + 1; id && j < s->n_items; j++) {
            const struct ovf_item *o = &s->items[j];
            const char *oid = ovf_item_get(o, "InstanceID");
            bool same_bound = !it->bound == !o->bound &&
                              (!it->bound || !strcmp(it->bound, o->bound));
            if (oid && strcmp(id, oid) == 0 && same_bound &&
                configs_overlap(it->configuration, o->configuration)) {
                problem(v, "system '%s': InstanceID '%s' is used twice",
                        sv(s->id), id);
            }
        }
        if (!ovf_item_type(it)) {
            problem(v, "system '%s': Item '%s' has no valid ResourceType",
                    sv(s->id), sv(id));
        }
        if (ovf_item_type(it) == OVF_RT_ETHERNET && mac && *mac &&
            !mac_ok(mac)) {
            problem(v, "system '%s': NIC '%s' has a malformed MAC address "
                    "'%s'", sv(s->id), sv(id), mac);
        }
        if (ovf_item_type(it) == OVF_RT_ETHERNET) {
            for (size_t k = 0; k < it->n_props; k++) {
                if (strcmp(it->props[k].name, "Connection") != 0) {
                    continue;
                }
                bool found = false;
                for (size_t w = 0; w < d->n_networks; w++) {
                    found |= d->networks[w].name &&
                             !strcmp(d->networks[w].name, it->props[k].value);
                }
                if (!found && *it->props[k].value) {
                    problem(v, "system '%s': NIC '%s' connects to network "
                            "'%s', which the NetworkSection does not "
                            "declare", sv(s->id), sv(id), it->props[k].value);
                }
            }
        }
        for (size_t k = 0; k < it->n_props; k++) {
            const char *disk;
            if (strcmp(it->props[k].name, "HostResource") != 0) {
                continue;
            }
            disk = ovf_host_resource_disk(it->props[k].value);
            if (disk && !ovf_find_disk(d, disk)) {
                problem(v, "system '%s': Item '%s' names disk '%s', which "
                        "the DiskSection does not declare", sv(s->id), sv(id),
                        disk);
            }
            if (!strncmp(it->props[k].value, "ovf:/file/", 10) &&
                !ovf_find_file(d, it->props[k].value + 10)) {
                problem(v, "system '%s': Item '%s' names file '%s', which "
                        "References does not declare", sv(s->id), sv(id),
                        it->props[k].value + 10);
            }
        }
    }
}

/* Vendor sections must say ovf:required="false" to be ignorable. */
static void check_required(const ovf_extra *x, const char *where,
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
            if (strstr((const char *)nodes[i]->name, "Section")) {
                problem(v, "%s: section <%s> (%s) is required but not "
                        "understood", where, nodes[i]->name, ns);
            }
            xmlFree(req);
        }
    }
}

static void check_system(const ovf_doc *d, const struct ovf_system *s,
                         struct vctx *v)
{
    char where[300];

    if (!s->id) {
        problem(v, "a %s has no ovf:id", s->collection ?
                "VirtualSystemCollection" : "VirtualSystem");
    }
    check_items(d, s, v);
    snprintf(where, sizeof(where), "system '%s'", sv(s->id));
    check_required(s->extra, where, v);
    for (size_t i = 0; i < s->n_children; i++) {
        for (size_t j = i + 1; j < s->n_children; j++) {
            if (s->children[i].id && s->children[j].id &&
                !strcmp(s->children[i].id, s->children[j].id)) {
                problem(v, "system id '%s' is used twice", s->children[i].id);
            }
        }
        check_system(d, &s->children[i], v);
    }
}

int ovf_semantic_check(const ovf_doc *d, ovf_report_fn report, void *opaque)
{
    struct vctx v = { report, opaque, 0 };

    for (size_t i = 0; i < d->n_files; i++) {
        const struct ovf_file *f = &d->files[i];
        if (!f->id || !f->href) {
            problem(&v, "a File lacks ovf:id or ovf:href");
            continue;
        }
        for (size_t j = i + 1; j < d->n_files; j++) {
            if (d->files[j].id && !strcmp(f->id, d->files[j].id)) {
                problem(&v, "file id '%s' is used twice", f->id);
            }
        }
        if (f->compression && strcmp(f->compression, "gzip") != 0 &&
            strcmp(f->compression, "identity") != 0) {
            problem(&v, "file '%s': unknown compression '%s'", f->id,
                    f->compression);
        }
        if (strstr(f->href, "..") || f->href[0] == '/') {
            problem(&v, "file '%s': href '%s' leaves the package directory",
                    f->id, f->href);
        }
    }
    for (size_t i = 0; i < d->n_disks; i++) {
        const struct ovf_disk *k = &d->disks[i];
        if (!k->id) {
            problem(&v, "a Disk has no ovf:diskId");
            continue;
        }
        for (size_t j = i + 1; j < d->n_disks; j++) {
            if (d->disks[j].id && !strcmp(k->id, d->disks[j].id)) {
                problem(&v, "disk id '%s' is used twice", k->id);
            }
        }
        if (k->file_ref && !ovf_find_file(d, k->file_ref)) {
            problem(&v, "disk '%s': fileRef '%s' names no File", k->id,
                    k->file_ref);
        }
        if (k->parent_ref && !ovf_find_disk(d, k->parent_ref)) {
            problem(&v, "disk '%s': parentRef '%s' names no Disk", k->id,
                    k->parent_ref);
        }
        if (!k->capacity_text) {
            problem(&v, "disk '%s' has no capacity", k->id);
        } else if (!k->capacity_known) {
            problem(&v, "disk '%s': capacity '%s' cannot be read", k->id,
                    k->capacity_text);
        } else if (k->capacity == 0) {
            problem(&v, "disk '%s': capacity is zero", k->id);
        }
        if (k->has_populated && k->capacity_known &&
            k->populated_size > k->capacity) {
            problem(&v, "disk '%s': populatedSize %llu is above its capacity "
                    "%llu", k->id, (unsigned long long)k->populated_size,
                    (unsigned long long)k->capacity);
        }
    }
    for (size_t i = 0; i < d->n_networks; i++) {
        for (size_t j = i + 1; j < d->n_networks; j++) {
            if (d->networks[i].name && d->networks[j].name &&
                !strcmp(d->networks[i].name, d->networks[j].name)) {
                problem(&v, "network '%s' is declared twice",
                        d->networks[i].name);
            }
        }
    }
    check_required(d->extra, "envelope", &v);
    if (!d->has_top) {
        problem(&v, "the envelope has no VirtualSystem");
    } else {
        check_system(d, &d->top, &v);
    }
    return v.count;
}

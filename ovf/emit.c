/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/emit.c - write the model as an OVF 1.0 or 2.0 descriptor that the
 * DMTF schemas (DSP8023 1.0.0 / 2.0.1) accept: elements in schema order,
 * CIM class members sorted as the CIM schemas' sequences require, vendor
 * XML put back where it came from.  The same model always gives the same
 * bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ovf/internal.h"

struct ectx {
    xmlDocPtr x;
    xmlNodePtr root;
    xmlNsPtr ovf;       /* the ovf: prefix of the target namespace */
    xmlNsPtr def;       /* the default namespace (same URI) */
    xmlNsPtr rasd, vssd, sasd, epasd;
    const char *ovf_href;
    int version;
    bool oom;
};

static xmlNodePtr el(struct ectx *c, xmlNodePtr parent, const char *name,
                     const char *textv)
{
    xmlNodePtr n = textv ? xmlNewTextChild(parent, c->def, BAD_CAST name,
                                           BAD_CAST textv)
                         : xmlNewChild(parent, c->def, BAD_CAST name, NULL);

    if (!n) {
        c->oom = true;
    }
    return n;
}

static void at(struct ectx *c, xmlNodePtr n, const char *name,
               const char *value)
{
    if (n && value && !xmlNewNsProp(n, c->ovf, BAD_CAST name,
                                    BAD_CAST value)) {
        c->oom = true;
    }
}

static void at_u64(struct ectx *c, xmlNodePtr n, const char *name,
                   uint64_t v)
{
    char num[32];

    snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    at(c, n, name, num);
}

/* Point every OVF-namespace declaration in a copied subtree at the target
 * namespace (0.9 or 1.x vendor XML written into a 2.0 envelope...). */
static void remap_ns(struct ectx *c, xmlNodePtr n)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) {
            continue;
        }
        for (xmlNsPtr ns = n->nsDef; ns; ns = ns->next) {
            if (ovf_is_envelope_ns((const char *)ns->href) &&
                strcmp((const char *)ns->href, c->ovf_href) != 0) {
                xmlFree((xmlChar *)ns->href);
                ns->href = xmlStrdup(BAD_CAST c->ovf_href);
            }
        }
        remap_ns(c, n->children);
    }
}

static void put_nodes(struct ectx *c, xmlNodePtr parent, xmlNodePtr *nodes,
                      size_t n)
{
    for (size_t i = 0; i < n; i++) {
        xmlNodePtr copy = xmlDocCopyNode(nodes[i], c->x, 1);
        if (!copy) {
            c->oom = true;
            return;
        }
        remap_ns(c, copy);
        xmlAddChild(parent, copy);
    }
}

static void put_attrs(struct ectx *c, xmlNodePtr n, const ovfk_ovf_extra *x)
{
    for (size_t i = 0; x && n && i < x->n_attrs; i++) {
        const struct ovf_extra_attr *a = &x->attrs[i];
        xmlNsPtr ns = NULL;
        if (a->ns_href && ovf_is_envelope_ns(a->ns_href)) {
            ns = c->ovf;
        } else if (a->ns_href) {
            ns = xmlSearchNsByHref(c->x, n, BAD_CAST a->ns_href);
            if (!ns) {
                ns = xmlNewNs(c->root, BAD_CAST a->ns_href,
                              BAD_CAST (a->ns_prefix ? a->ns_prefix : "ns"));
            }
            if (!ns) {
                /* prefix taken by another URI: declare on the element */
                ns = xmlNewNs(n, BAD_CAST a->ns_href, NULL);
            }
        }
        if (!xmlNewNsProp(n, ns, BAD_CAST a->name, BAD_CAST a->value)) {
            c->oom = true;
        }
    }
}

static void put_head(struct ectx *c, xmlNodePtr n, const ovfk_ovf_extra *x)
{
    if (x) {
        put_nodes(c, n, x->head, x->n_head);
    }
}

static void put_tail(struct ectx *c, xmlNodePtr n, const ovfk_ovf_extra *x)
{
    if (x) {
        put_nodes(c, n, x->tail, x->n_tail);
    }
}

static int cmp_prop(const void *a, const void *b)
{
    const struct ovfk_ovf_prop *x = *(const struct ovfk_ovf_prop *const *)a;
    const struct ovfk_ovf_prop *y = *(const struct ovfk_ovf_prop *const *)b;
    int r = strcmp(x->name, y->name);

    /* stable: equal names keep document order */
    return r ? r : (x < y ? -1 : x > y);
}

/* CIM class members in the alphabetical order the CIM schemas require. */
static void put_props(struct ectx *c, xmlNodePtr parent, xmlNsPtr ns,
                      const struct ovfk_ovf_prop *props, size_t n)
{
    const struct ovfk_ovf_prop **sorted = calloc(n ? n : 1, sizeof(*sorted));

    if (!sorted) {
        c->oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        sorted[i] = &props[i];
    }
    qsort(sorted, n, sizeof(*sorted), cmp_prop);
    for (size_t i = 0; i < n; i++) {
        if (!xmlNewTextChild(parent, ns, BAD_CAST sorted[i]->name,
                             BAD_CAST sorted[i]->value)) {
            c->oom = true;
        }
    }
    free(sorted);
}

static void emit_references(struct ectx *c, const ovfk_ovf_doc *d)
{
    xmlNodePtr refs = el(c, c->root, "References", NULL);

    for (size_t i = 0; refs && i < d->n_files; i++) {
        const struct ovfk_ovf_file *f = &d->files[i];
        xmlNodePtr n = el(c, refs, "File", NULL);
        at(c, n, "href", f->href);
        at(c, n, "id", f->id);
        if (f->has_size) {
            at_u64(c, n, "size", f->size);
        }
        at(c, n, "compression", f->compression);
        if (f->chunk_size) {
            at_u64(c, n, "chunkSize", f->chunk_size);
        }
        put_attrs(c, n, f->extra);
        put_tail(c, n, f->extra);
    }
}

static void emit_disks(struct ectx *c, const ovfk_ovf_doc *d)
{
    xmlNodePtr sec;

    if (!d->n_disks && !d->disk_info) {
        return;
    }
    sec = el(c, c->root, "DiskSection", NULL);
    put_attrs(c, sec, d->disk_extra);
    el(c, sec, "Info", d->disk_info ? d->disk_info : INFO_DISKS);
    for (size_t i = 0; sec && i < d->n_disks; i++) {
        const struct ovfk_ovf_disk *k = &d->disks[i];
        xmlNodePtr n = el(c, sec, "Disk", NULL);
        if (k->capacity_text) {
            at(c, n, "capacity", k->capacity_text);
        } else {
            at_u64(c, n, "capacity", k->capacity);
        }
        at(c, n, "capacityAllocationUnits", k->capacity_units);
        at(c, n, "diskId", k->id);
        at(c, n, "fileRef", k->file_ref);
        at(c, n, "format", k->format);
        at(c, n, "parentRef", k->parent_ref);
        if (k->has_populated) {
            at_u64(c, n, "populatedSize", k->populated_size);
        }
        put_attrs(c, n, k->extra);
        put_tail(c, n, k->extra);
    }
    put_tail(c, sec, d->disk_extra);
}

static void emit_networks(struct ectx *c, const ovfk_ovf_doc *d)
{
    xmlNodePtr sec;

    if (!d->n_networks && !d->net_info) {
        return;
    }
    sec = el(c, c->root, "NetworkSection", NULL);
    put_attrs(c, sec, d->net_extra);
    el(c, sec, "Info", d->net_info ? d->net_info : INFO_NETWORKS);
    for (size_t i = 0; sec && i < d->n_networks; i++) {
        const struct ovfk_ovf_network *w = &d->networks[i];
        xmlNodePtr n = el(c, sec, "Network", NULL);
        at(c, n, "name", w->name);
        put_attrs(c, n, w->extra);
        if (w->description) {
            el(c, n, "Description", w->description);
        }
        put_tail(c, n, w->extra);
    }
    put_tail(c, sec, d->net_extra);
}

static void emit_options(struct ectx *c, const ovfk_ovf_doc *d)
{
    xmlNodePtr sec;

    if (!d->n_options) {
        return;
    }
    sec = el(c, c->root, "DeploymentOptionSection", NULL);
    el(c, sec, "Info", d->options_info ? d->options_info
                                       : INFO_OPTIONS);
    for (size_t i = 0; sec && i < d->n_options; i++) {
        const struct ovfk_ovf_deploy_option *o = &d->options[i];
        xmlNodePtr n = el(c, sec, "Configuration", NULL);
        at(c, n, "id", o->id);
        if (o->is_default) {
            at(c, n, "default", "true");
        }
        el(c, n, "Label", o->label ? o->label : (o->id ? o->id : ""));
        el(c, n, "Description", o->description ? o->description : "");
    }
}

static void emit_product(struct ectx *c, xmlNodePtr parent,
                         const struct ovfk_ovf_product *p)
{
    xmlNodePtr sec = el(c, parent, "ProductSection", NULL);

    at(c, sec, "class", p->class_);
    at(c, sec, "instance", p->instance);
    put_attrs(c, sec, p->extra);
    el(c, sec, "Info", p->info ? p->info : INFO_PRODUCT);
    for (size_t i = 0; i < ovf_n_product_fields; i++) {
        const struct ovf_product_field *pf = &ovf_product_fields[i];
        char *const *f = (char *const *)((const char *)p + pf->off);
        if (*f) {
            el(c, sec, pf->name, *f);
        }
    }
    put_head(c, sec, p->extra);
    for (size_t i = 0; sec && i < p->n_props; i++) {
        const struct ovfk_ovf_property *q = &p->props[i];
        xmlNodePtr n;
        if (q->is_category) {
            n = el(c, sec, "Category", q->value ? q->value : "");
            put_attrs(c, n, q->extra);
            continue;
        }
        n = el(c, sec, "Property", NULL);
        at(c, n, "key", q->key);
        at(c, n, "type", q->type);
        at(c, n, "qualifiers", q->qualifiers);
        if (q->user_configurable) {
            at(c, n, "userConfigurable", "true");
        }
        at(c, n, "value", q->value);
        if (q->password) {
            at(c, n, "password", "true");
        }
        put_attrs(c, n, q->extra);
        if (q->label) {
            el(c, n, "Label", q->label);
        }
        if (q->description) {
            el(c, n, "Description", q->description);
        }
        put_tail(c, n, q->extra);
    }
    put_tail(c, sec, p->extra);
}

static xmlNsPtr item_ns(struct ectx *c, const char *element)
{
    if (c->version >= 20 && strcmp(element, "StorageItem") == 0) {
        return c->sasd;
    }
    if (c->version >= 20 && strcmp(element, "EthernetPortItem") == 0) {
        return c->epasd;
    }
    return c->rasd;
}

/* OVF 2.0 wants Items, then EthernetPortItems, then StorageItems; 1.0
 * (which calls them all Item) gets the same order, so converting back and
 * forth keeps it. */
static int item_rank(const char *element)
{
    if (strcmp(element, "EthernetPortItem") == 0) {
        return 1;
    }
    return strcmp(element, "StorageItem") == 0 ? 2 : 0;
}

static void emit_hardware(struct ectx *c, xmlNodePtr parent,
                          const struct ovfk_ovf_system *s)
{
    xmlNodePtr sec = el(c, parent, "VirtualHardwareSection", NULL);

    at(c, sec, "transport", s->hw_transport);
    put_attrs(c, sec, s->hw_extra);
    el(c, sec, "Info", s->hw_info ? s->hw_info : INFO_HARDWARE);
    if (s->n_vssd) {
        xmlNodePtr sys = el(c, sec, "System", NULL);
        put_props(c, sys, c->vssd, s->vssd, s->n_vssd);
    }
    for (int rank = 0; rank < 3; rank++) {
        for (size_t i = 0; sec && i < s->n_items; i++) {
            const struct ovfk_ovf_item *it = &s->items[i];
            const char *name = it->element;
            xmlNodePtr n;
            if (c->version < 20) {
                name = "Item";   /* 1.0 has no StorageItem/EthernetPortItem */
            }
            if (item_rank(it->element) != rank) {
                continue;
            }
            n = el(c, sec, name, NULL);
            if (!it->required) {
                at(c, n, "required", "false");
            }
            at(c, n, "configuration", it->configuration);
            at(c, n, "bound", it->bound);
            put_attrs(c, n, it->extra);
            put_props(c, n, item_ns(c, name), it->props, it->n_props);
            put_tail(c, n, it->extra);
        }
    }
    put_tail(c, sec, s->hw_extra);
}

static void emit_system(struct ectx *c, xmlNodePtr parent,
                        const struct ovfk_ovf_system *s)
{
    xmlNodePtr n = el(c, parent, s->collection ? "VirtualSystemCollection"
                                               : "VirtualSystem", NULL);
    char num[16];

    at(c, n, "id", s->id);
    put_attrs(c, n, s->extra);
    el(c, n, "Info", s->info ? s->info : INFO_SYSTEM);
    if (s->name) {
        el(c, n, "Name", s->name);
    }
    for (size_t i = 0; i < s->n_products; i++) {
        emit_product(c, n, &s->products[i]);
    }
    if (s->annotation) {
        xmlNodePtr a = el(c, n, "AnnotationSection", NULL);
        el(c, a, "Info", "A human-readable annotation");
        el(c, a, "Annotation", s->annotation);
    }
    for (size_t i = 0; i < s->n_eulas; i++) {
        xmlNodePtr e = el(c, n, "EulaSection", NULL);
        el(c, e, "Info", "License agreement");
        el(c, e, "License", s->eulas[i]);
    }
    if (s->has_os) {
        xmlNodePtr os = el(c, n, "OperatingSystemSection", NULL);
        snprintf(num, sizeof(num), "%d", s->os_id);
        at(c, os, "id", num);
        at(c, os, "version", s->os_version);
        put_attrs(c, os, s->os_extra);
        el(c, os, "Info", s->os_info ? s->os_info
                                     : INFO_OS);
        if (s->os_description) {
            el(c, os, "Description", s->os_description);
        }
        put_tail(c, os, s->os_extra);
    }
    if (s->has_hardware) {
        emit_hardware(c, n, s);
    }
    put_tail(c, n, s->extra);
    for (size_t i = 0; i < s->n_children; i++) {
        emit_system(c, n, &s->children[i]);
    }
}

int ovfk_ovf_emit(const ovfk_ovf_doc *d, int version, char **out, size_t *len)
{
    struct ectx c = { .version = version >= 20 ? 20 : 10 };
    xmlChar *mem = NULL;
    int size = 0;

    *out = NULL;
    *len = 0;
    c.ovf_href = c.version == 20 ? NS_OVF2 : NS_OVF1;
    c.x = xmlNewDoc(BAD_CAST "1.0");
    c.root = c.x ? xmlNewNode(NULL, BAD_CAST "Envelope") : NULL;
    if (!c.root) {
        xmlFreeDoc(c.x);
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    xmlDocSetRootElement(c.x, c.root);
    c.def = xmlNewNs(c.root, BAD_CAST c.ovf_href, NULL);
    c.ovf = xmlNewNs(c.root, BAD_CAST c.ovf_href, BAD_CAST "ovf");
    c.rasd = xmlNewNs(c.root, BAD_CAST NS_RASD, BAD_CAST "rasd");
    c.vssd = xmlNewNs(c.root, BAD_CAST NS_VSSD, BAD_CAST "vssd");
    if (c.version == 20) {
        c.sasd = xmlNewNs(c.root, BAD_CAST NS_SASD, BAD_CAST "sasd");
        c.epasd = xmlNewNs(c.root, BAD_CAST NS_EPASD, BAD_CAST "epasd");
    }
    xmlNewNs(c.root, BAD_CAST NS_XSI, BAD_CAST "xsi");
    xmlSetNs(c.root, c.def);
    at(&c, c.root, "version", c.version == 20 ? "2.0" : "1.0");
    if (d->lang) {
        xmlNodeSetLang(c.root, BAD_CAST d->lang);
    }
    put_attrs(&c, c.root, d->extra);
    emit_references(&c, d);
    emit_disks(&c, d);
    emit_networks(&c, d);
    emit_options(&c, d);
    put_head(&c, c.root, d->extra);
    if (d->has_top) {
        emit_system(&c, c.root, &d->top);
    }
    put_tail(&c, c.root, d->extra);
    if (!c.oom) {

        xmlDocDumpFormatMemoryEnc(c.x, &mem, &size, "UTF-8", 1);
    }
    xmlFreeDoc(c.x);
    if (c.oom || !mem) {
        xmlFree(mem);
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    *out = malloc((size_t)size + 1);
    if (!*out) {
        xmlFree(mem);
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    memcpy(*out, mem, (size_t)size);
    (*out)[size] = '\0';
    *len = (size_t)size;
    xmlFree(mem);
    return 0;
}

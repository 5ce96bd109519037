/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/dump.c - a canonical text of the model, used to prove that parse ->
 * emit -> parse keeps everything (tests compare two dumps).  Unmodeled XML
 * is written by name, namespace, attributes (sorted) and trimmed text, so
 * where namespace declarations sit does not matter.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ovf/internal.h"

struct out {
    char *buf;
    size_t len, cap;
    bool oom;
};

static void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(o->buf ? o->buf + o->len : NULL,
                      o->buf ? o->cap - o->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->oom = true;
            return;
        }
        if (o->buf && o->len + (size_t)n < o->cap) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = (o->cap ? o->cap * 2 : 4096) + (size_t)n;
        char *nb = realloc(o->buf, cap);
        if (!nb) {
            o->oom = true;
            return;
        }
        o->buf = nb;
        o->cap = cap;
    }
}

static const char *s(const char *v)
{
    return v ? v : "(null)";
}

/* An Info text: the emitter's default counts as none. */
static const char *info(const char *v, const char *dflt)
{
    return v && strcmp(v, dflt) != 0 ? v : "(null)";
}

/* text with surrounding white space trimmed */
static void put_trim(struct out *o, const char *t)
{
    const char *e;

    while (*t && isspace((unsigned char)*t)) {
        t++;
    }
    e = t + strlen(t);
    while (e > t && isspace((unsigned char)e[-1])) {
        e--;
    }
    put(o, "%.*s", (int)(e - t), t);
}

/* OVF envelope namespaces are one vocabulary across versions. */
static const char *ns_name(const xmlNs *ns)
{
    if (!ns) {
        return "ovf";   /* read as OVF (a parse quirk) */
    }
    return ovf_is_envelope_ns((const char *)ns->href) ? "ovf"
                                                      : (const char *)ns->href;
}

static int cmp_attr(const void *a, const void *b)
{
    const xmlAttr *x = *(xmlAttr *const *)a, *y = *(xmlAttr *const *)b;

    return strcmp((const char *)x->name, (const char *)y->name);
}

static void dump_node(struct out *o, xmlNodePtr n, int depth)
{
    xmlAttrPtr attrs[64];
    size_t na = 0;

    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        put(o, "%*s\"", depth * 2, "");
        put_trim(o, (const char *)n->content);
        put(o, "\"\n");
        return;
    }
    if (n->type != XML_ELEMENT_NODE) {
        return;
    }
    put(o, "%*s<{%s}%s", depth * 2, "", ns_name(n->ns), n->name);
    for (xmlAttrPtr a = n->properties; a && na < 64; a = a->next) {
        attrs[na++] = a;
    }
    qsort(attrs, na, sizeof(attrs[0]), cmp_attr);
    for (size_t i = 0; i < na; i++) {
        xmlChar *v = xmlNodeGetContent((xmlNodePtr)attrs[i]);
        put(o, " {%s}%s=\"%s\"", ns_name(attrs[i]->ns), attrs[i]->name,
            v ? (const char *)v : "");
        xmlFree(v);
    }
    put(o, ">\n");
    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (c->type == XML_TEXT_NODE && xmlIsBlankNode(c)) {
            continue;
        }
        dump_node(o, c, depth + 1);
    }
}

static void dump_extra(struct out *o, const ovfk_ovf_extra *x, int depth)
{
    if (!x) {
        return;
    }
    for (size_t i = 0; i < x->n_attrs; i++) {
        const char *ns = x->attrs[i].ns_href;
        put(o, "%*s@{%s}%s=%s\n", depth * 2, "",
            ns && ovf_is_envelope_ns(ns) ? "ovf" : s(ns), x->attrs[i].name,
            x->attrs[i].value);
    }
    for (size_t i = 0; i < x->n_head; i++) {
        put(o, "%*shead:\n", depth * 2, "");
        dump_node(o, x->head[i], depth + 1);
    }
    for (size_t i = 0; i < x->n_tail; i++) {
        put(o, "%*stail:\n", depth * 2, "");
        dump_node(o, x->tail[i], depth + 1);
    }
}

static int cmp_prop(const void *a, const void *b)
{
    const struct ovfk_ovf_prop *x = *(const struct ovfk_ovf_prop *const *)a;
    const struct ovfk_ovf_prop *y = *(const struct ovfk_ovf_prop *const *)b;
    int r = strcmp(x->name, y->name);

    return r ? r : (x < y ? -1 : x > y);
}

/* Properties by name: the emitter writes them in CIM schema order. */
static void dump_props(struct out *o, const struct ovfk_ovf_prop *p, size_t n,
                       int depth)
{
    const struct ovfk_ovf_prop **v = calloc(n ? n : 1, sizeof(*v));

    if (!v) {
        o->oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        v[i] = &p[i];
    }
    qsort(v, n, sizeof(*v), cmp_prop);
    for (size_t i = 0; i < n; i++) {
        put(o, "%*s%s=%s\n", depth * 2, "", v[i]->name, v[i]->value);
    }
    free(v);
}

static void dump_system(struct out *o, const struct ovfk_ovf_system *sy, int d)
{
    put(o, "%*s%s id=%s name=%s info=%s\n", d * 2, "",
        sy->collection ? "collection" : "system", s(sy->id), s(sy->name),
        info(sy->info, INFO_SYSTEM));
    if (sy->has_os) {
        put(o, "%*sos id=%d description=%s version=%s info=%s\n", d * 2, "",
            sy->os_id, s(sy->os_description), s(sy->os_version),
            info(sy->os_info, INFO_OS));
        dump_extra(o, sy->os_extra, d + 1);
    }
    if (sy->has_hardware) {
        put(o, "%*shardware info=%s transport=%s\n", d * 2, "",
            info(sy->hw_info, INFO_HARDWARE), s(sy->hw_transport));
        dump_props(o, sy->vssd, sy->n_vssd, d + 1);
        /* by kind, as OVF 2.0 orders them; OVF 1.0 calls them all Item */
        for (int rank = 0; rank < 3; rank++) {
            for (size_t i = 0; i < sy->n_items; i++) {
                const struct ovfk_ovf_item *it = &sy->items[i];
                int r = !strcmp(it->element, "EthernetPortItem") ? 1 :
                        !strcmp(it->element, "StorageItem") ? 2 : 0;
                if (r != rank) {
                    continue;
                }
                put(o, "%*sitem configuration=%s bound=%s required=%d\n",
                    d * 2 + 2, "", s(it->configuration), s(it->bound),
                    it->required);
                dump_props(o, it->props, it->n_props, d + 2);
                dump_extra(o, it->extra, d + 2);
            }
        }
        dump_extra(o, sy->hw_extra, d + 1);
    }
    for (size_t i = 0; i < sy->n_products; i++) {
        const struct ovfk_ovf_product *p = &sy->products[i];
        put(o, "%*sproduct class=%s instance=%s info=%s product=%s "
            "vendor=%s version=%s full=%s urls=%s,%s,%s\n", d * 2 + 2, "",
            s(p->class_), s(p->instance), info(p->info, INFO_PRODUCT),
            s(p->product),
            s(p->vendor), s(p->version), s(p->full_version),
            s(p->product_url), s(p->vendor_url), s(p->app_url));
        for (size_t j = 0; j < p->n_props; j++) {
            const struct ovfk_ovf_property *q = &p->props[j];
            put(o, "%*s%s key=%s type=%s value=%s qualifiers=%s label=%s "
                "description=%s user=%d password=%d\n", d * 2 + 4, "",
                q->is_category ? "category" : "property", s(q->key),
                s(q->type), s(q->value), s(q->qualifiers), s(q->label),
                s(q->description), q->user_configurable, q->password);
            dump_extra(o, q->extra, d + 3);
        }
        dump_extra(o, p->extra, d + 2);
    }
    if (sy->annotation) {
        put(o, "%*sannotation=%s\n", d * 2 + 2, "", sy->annotation);
    }
    for (size_t i = 0; i < sy->n_eulas; i++) {
        put(o, "%*seula=%s\n", d * 2 + 2, "", sy->eulas[i]);
    }
    dump_extra(o, sy->extra, d + 1);
    for (size_t i = 0; i < sy->n_children; i++) {
        dump_system(o, &sy->children[i], d + 1);
    }
}

char *ovfk_ovf_dump(const ovfk_ovf_doc *d)
{
    struct out o = { 0 };

    put(&o, "lang=%s\n", s(d->lang));
    for (size_t i = 0; i < d->n_files; i++) {
        const struct ovfk_ovf_file *f = &d->files[i];
        put(&o, "file id=%s href=%s size=%llu/%d compression=%s chunk=%llu\n",
            s(f->id), s(f->href), (unsigned long long)f->size, f->has_size,
            s(f->compression), (unsigned long long)f->chunk_size);
        dump_extra(&o, f->extra, 1);
    }
    for (size_t i = 0; i < d->n_disks; i++) {
        const struct ovfk_ovf_disk *k = &d->disks[i];
        put(&o, "disk id=%s file=%s format=%s parent=%s capacity=%s units=%s "
            "bytes=%llu/%d populated=%llu/%d\n", s(k->id), s(k->file_ref),
            s(k->format), s(k->parent_ref), s(k->capacity_text),
            s(k->capacity_units), (unsigned long long)k->capacity,
            k->capacity_known, (unsigned long long)k->populated_size,
            k->has_populated);
        dump_extra(&o, k->extra, 1);
    }
    for (size_t i = 0; i < d->n_networks; i++) {
        put(&o, "network name=%s description=%s\n", s(d->networks[i].name),
            s(d->networks[i].description));
        dump_extra(&o, d->networks[i].extra, 1);
    }
    dump_extra(&o, d->disk_extra, 0);
    dump_extra(&o, d->net_extra, 0);
    for (size_t i = 0; i < d->n_options; i++) {
        put(&o, "option id=%s label=%s description=%s default=%d\n",
            s(d->options[i].id), s(d->options[i].label),
            s(d->options[i].description), d->options[i].is_default);
    }
    dump_extra(&o, d->extra, 0);
    if (d->has_top) {
        dump_system(&o, &d->top, 0);
    }
    if (o.oom) {
        free(o.buf);
        return NULL;
    }
    return o.buf;
}

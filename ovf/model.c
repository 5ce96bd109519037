/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/model.c - the OVF model: allocation, builders, lookups, the hardware
 * summary, and a canonical dump for round-trip comparison.
 */
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ovf/internal.h"

void *ovf_grow(void *arrayp, size_t *n, size_t elem)
{
    void **pa = arrayp;
    char *na = realloc(*pa, (*n + 1) * elem);

    if (!na) {
        return NULL;
    }
    *pa = na;
    memset(na + *n * elem, 0, elem);
    (*n)++;
    return na + (*n - 1) * elem;
}

char *ovf_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

int ovfk_ovf_set_str(char **field, const char *value)
{
    char *v = NULL;

    if (value && !(v = strdup(value))) {
        return -ENOMEM;
    }
    free(*field);
    *field = v;
    return 0;
}

bool ovf_is_envelope_ns(const char *href)
{
    static const char *const known[] = {
        NS_OVF1, NS_OVF2, NS_OVF09, NS_OVF_DRAFT, NS_OVF1_SLASH,
    };

    for (size_t i = 0; href && i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(href, known[i]) == 0) {
            return true;
        }
    }
    return false;
}

ovfk_ovf_extra *ovf_extra_new(ovfk_ovf_doc *d)
{
    struct ovf_priv *p = d->priv;
    ovfk_ovf_extra *x = calloc(1, sizeof(*x));
    ovfk_ovf_extra **slot;

    if (!x) {
        return NULL;
    }
    slot = ovf_grow(&p->extras, &p->n_extras, sizeof(*slot));
    if (!slot) {
        free(x);
        return NULL;
    }
    *slot = x;
    return x;
}

int ovf_extra_add_node(ovfk_ovf_doc *d, ovfk_ovf_extra *x, xmlNodePtr node,
                       bool head)
{
    struct ovf_priv *p = d->priv;
    xmlNodePtr copy = xmlDocCopyNode(node, p->holder, 1);
    xmlNodePtr *slot;

    if (!copy) {
        return -ENOMEM;
    }
    slot = head ? ovf_grow(&x->head, &x->n_head, sizeof(*slot))
                : ovf_grow(&x->tail, &x->n_tail, sizeof(*slot));
    if (!slot) {
        xmlFreeNode(copy);
        return -ENOMEM;
    }
    /* keep it reachable from the holder so xmlFreeDoc frees it */
    xmlAddChild(xmlDocGetRootElement(p->holder), copy);
    *slot = copy;
    return 0;
}

int ovf_extra_add_attr(ovfk_ovf_extra *x, xmlAttrPtr a)
{
    struct ovf_extra_attr *e = ovf_grow(&x->attrs, &x->n_attrs, sizeof(*e));
    xmlChar *v;

    if (!e) {
        return -ENOMEM;
    }
    v = xmlNodeGetContent((xmlNodePtr)a);
    e->name = strdup((const char *)a->name);
    e->value = strdup(v ? (const char *)v : "");
    xmlFree(v);
    if (a->ns) {
        e->ns_href = ovf_strdup((const char *)a->ns->href);
        e->ns_prefix = ovf_strdup((const char *)a->ns->prefix);
    }
    return e->name && e->value ? 0 : -ENOMEM;
}

static void free_extra(ovfk_ovf_extra *x)
{
    if (!x) {
        return;
    }
    for (size_t i = 0; i < x->n_attrs; i++) {
        free(x->attrs[i].ns_href);
        free(x->attrs[i].ns_prefix);
        free(x->attrs[i].name);
        free(x->attrs[i].value);
    }
    free(x->attrs);
    free(x->head);
    free(x->tail);
    free(x);
}

int ovfk_ovf_new(int version, ovfk_ovf_doc **out)
{
    ovfk_ovf_doc *d = calloc(1, sizeof(*d));
    struct ovf_priv *p = calloc(1, sizeof(*p));

    *out = NULL;
    if (!d || !p) {
        free(d);
        free(p);
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    p->holder = xmlNewDoc(BAD_CAST "1.0");
    if (!p->holder) {
        free(d);
        free(p);
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    xmlDocSetRootElement(p->holder, xmlNewNode(NULL, BAD_CAST "holder"));
    d->priv = p;
    d->version = version;
    *out = d;
    return 0;
}

static void free_props(struct ovfk_ovf_prop *props, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(props[i].name);
        free(props[i].value);
    }
    free(props);
}

static void free_system(struct ovfk_ovf_system *s)
{
    free(s->id);
    free(s->info);
    free(s->name);
    free(s->os_description);
    free(s->os_version);
    free(s->os_info);
    free(s->hw_info);
    free(s->hw_transport);
    free_props(s->vssd, s->n_vssd);
    for (size_t i = 0; i < s->n_items; i++) {
        free(s->items[i].element);
        free_props(s->items[i].props, s->items[i].n_props);
        free(s->items[i].configuration);
        free(s->items[i].bound);
    }
    free(s->items);
    for (size_t i = 0; i < s->n_products; i++) {
        struct ovfk_ovf_product *p = &s->products[i];
        free(p->class_);
        free(p->instance);
        free(p->info);
        free(p->product);
        free(p->vendor);
        free(p->version);
        free(p->full_version);
        free(p->product_url);
        free(p->vendor_url);
        free(p->app_url);
        for (size_t j = 0; j < p->n_props; j++) {
            struct ovfk_ovf_property *q = &p->props[j];
            free(q->key);
            free(q->type);
            free(q->value);
            free(q->qualifiers);
            free(q->label);
            free(q->description);
        }
        free(p->props);
    }
    free(s->products);
    free(s->annotation);
    for (size_t i = 0; i < s->n_eulas; i++) {
        free(s->eulas[i]);
    }
    free(s->eulas);
    for (size_t i = 0; i < s->n_children; i++) {
        free_system(&s->children[i]);
    }
    free(s->children);
}

void ovfk_ovf_free(ovfk_ovf_doc *d)
{
    struct ovf_priv *p;

    if (!d) {
        return;
    }
    p = d->priv;
    free(d->version_text);
    free(d->lang);
    for (size_t i = 0; i < d->n_files; i++) {
        free(d->files[i].id);
        free(d->files[i].href);
        free(d->files[i].compression);
    }
    free(d->files);
    free(d->disk_info);
    for (size_t i = 0; i < d->n_disks; i++) {
        struct ovfk_ovf_disk *k = &d->disks[i];
        free(k->id);
        free(k->file_ref);
        free(k->format);
        free(k->parent_ref);
        free(k->capacity_text);
        free(k->capacity_units);
    }
    free(d->disks);
    free(d->net_info);
    free(d->options_info);
    for (size_t i = 0; i < d->n_networks; i++) {
        free(d->networks[i].name);
        free(d->networks[i].description);
    }
    free(d->networks);
    for (size_t i = 0; i < d->n_options; i++) {
        free(d->options[i].id);
        free(d->options[i].label);
        free(d->options[i].description);
    }
    free(d->options);
    free_system(&d->top);
    for (size_t i = 0; i < d->n_warnings; i++) {
        free(d->warnings[i]);
    }
    free(d->warnings);
    if (p) {
        for (size_t i = 0; i < p->n_extras; i++) {
            free_extra(p->extras[i]);
        }
        free(p->extras);
        xmlFreeDoc(p->holder);
        free(p);
    }
    free(d);
}

int ovfk_ovf_warn(ovfk_ovf_doc *d, const char *fmt, ...)
{
    char buf[512];
    char **slot;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    /* one warning per distinct text */
    for (size_t i = 0; i < d->n_warnings; i++) {
        if (strcmp(d->warnings[i], buf) == 0) {
            return 0;
        }
    }
    slot = ovf_grow(&d->warnings, &d->n_warnings, sizeof(*slot));
    if (!slot || !(*slot = strdup(buf))) {
        return -ENOMEM;
    }
    return 0;
}

const struct ovf_product_field ovf_product_fields[] = {
    { "Product", offsetof(struct ovfk_ovf_product, product) },
    { "Vendor", offsetof(struct ovfk_ovf_product, vendor) },
    { "Version", offsetof(struct ovfk_ovf_product, version) },
    { "FullVersion", offsetof(struct ovfk_ovf_product, full_version) },
    { "ProductUrl", offsetof(struct ovfk_ovf_product, product_url) },
    { "VendorUrl", offsetof(struct ovfk_ovf_product, vendor_url) },
    { "AppUrl", offsetof(struct ovfk_ovf_product, app_url) },
};
const size_t ovf_n_product_fields = sizeof(ovf_product_fields) /
                                    sizeof(ovf_product_fields[0]);

struct ovfk_ovf_file *ovfk_ovf_add_file(ovfk_ovf_doc *d, const char *id,
                                        const char *href, uint64_t size)
{
    struct ovfk_ovf_file *f = ovf_grow(&d->files, &d->n_files, sizeof(*f));

    if (!f) {
        return NULL;
    }
    f->id = ovf_strdup(id);
    f->href = ovf_strdup(href);
    f->size = size;
    f->has_size = true;
    return f;
}

struct ovfk_ovf_disk *ovfk_ovf_add_disk(ovfk_ovf_doc *d, const char *id,
                              const char *file_ref, uint64_t capacity,
                              const char *format)
{
    struct ovfk_ovf_disk *k = ovf_grow(&d->disks, &d->n_disks, sizeof(*k));
    char num[32];

    if (!k) {
        return NULL;
    }
    snprintf(num, sizeof(num), "%llu", (unsigned long long)capacity);
    k->id = ovf_strdup(id);
    k->file_ref = ovf_strdup(file_ref);
    k->format = ovf_strdup(format);
    k->capacity = capacity;
    k->capacity_known = true;
    k->capacity_text = strdup(num);
    return k;
}

struct ovfk_ovf_network *ovfk_ovf_add_network(ovfk_ovf_doc *d, const char *name,
                                    const char *description)
{
    struct ovfk_ovf_network *n = ovf_grow(&d->networks, &d->n_networks,
                                     sizeof(*n));

    if (!n) {
        return NULL;
    }
    n->name = ovf_strdup(name);
    n->description = ovf_strdup(description);
    return n;
}

const char *ovfk_ovf_prop_get(const struct ovfk_ovf_prop *props, size_t n,
                         const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(props[i].name, name) == 0) {
            return props[i].value;
        }
    }
    return NULL;
}

int ovfk_ovf_prop_set(struct ovfk_ovf_prop **props, size_t *n, const char *name,
                 const char *value)
{
    struct ovfk_ovf_prop *p;

    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*props)[i].name, name) == 0) {
            return ovfk_ovf_set_str(&(*props)[i].value, value);
        }
    }
    p = ovf_grow(props, n, sizeof(*p));
    if (!p) {
        return -ENOMEM;
    }
    p->name = strdup(name);
    p->value = strdup(value ? value : "");
    return p->name && p->value ? 0 : -ENOMEM;
}

const char *ovfk_ovf_item_get(const struct ovfk_ovf_item *it, const char *name)
{
    return ovfk_ovf_prop_get(it->props, it->n_props, name);
}

int ovfk_ovf_item_set(struct ovfk_ovf_item *it, const char *name,
                      const char *value)
{
    return ovfk_ovf_prop_set(&it->props, &it->n_props, name, value);
}

int ovfk_ovf_item_add(struct ovfk_ovf_item *it, const char *name,
                      const char *value)
{
    struct ovfk_ovf_prop *p = ovf_grow(&it->props, &it->n_props, sizeof(*p));

    if (!p) {
        return -ENOMEM;
    }
    p->name = strdup(name);
    p->value = strdup(value ? value : "");
    return p->name && p->value ? 0 : -ENOMEM;
}

int ovfk_ovf_item_type(const struct ovfk_ovf_item *it)
{
    const char *t = ovfk_ovf_item_get(it, "ResourceType");
    char *end;
    long v;

    if (!t) {
        /* OVF 2.x: an EthernetPortItem is an Ethernet port, a StorageItem
         * that names a disk a disk drive, when ResourceType (optional in
         * their CIM classes) is left out */
        if (it->element && !strcmp(it->element, "EthernetPortItem")) {
            return OVFK_OVF_RT_ETHERNET;
        }
        if (it->element && !strcmp(it->element, "StorageItem") &&
            ovfk_ovf_host_resource_disk(
                ovfk_ovf_item_get(it, "HostResource"))) {
            return OVFK_OVF_RT_DISK;
        }
        return 0;
    }
    v = strtol(t, &end, 10);
    return (end != t && v > 0 && v < 100000) ? (int)v : 0;
}

struct ovfk_ovf_item *ovfk_ovf_add_item(struct ovfk_ovf_system *s, int type,
                              const char *instance_id,
                              const char *element_name)
{
    struct ovfk_ovf_item *it = ovf_grow(&s->items, &s->n_items, sizeof(*it));
    char num[16];

    if (!it) {
        return NULL;
    }
    it->element = strdup("Item");
    it->required = true;
    snprintf(num, sizeof(num), "%d", type);
    if (ovfk_ovf_item_set(it, "ElementName", element_name) < 0 ||
        ovfk_ovf_item_set(it, "InstanceID", instance_id) < 0 ||
        ovfk_ovf_item_set(it, "ResourceType", num) < 0) {
        return NULL;
    }
    return it;
}

struct ovfk_ovf_file *ovfk_ovf_find_file(const ovfk_ovf_doc *d, const char *id)
{
    for (size_t i = 0; id && i < d->n_files; i++) {
        if (d->files[i].id && strcmp(d->files[i].id, id) == 0) {
            return &d->files[i];
        }
    }
    return NULL;
}

struct ovfk_ovf_disk *ovfk_ovf_find_disk(const ovfk_ovf_doc *d, const char *id)
{
    for (size_t i = 0; id && i < d->n_disks; i++) {
        if (d->disks[i].id && strcmp(d->disks[i].id, id) == 0) {
            return &d->disks[i];
        }
    }
    return NULL;
}

/*
 * "ovf:/disk/ID" is the spec's form; 0.9 writes "/disk/ID", some tools
 * "ovf://disk/ID" or "ovf:disk/ID".  Returns a pointer into the argument.
 */
const char *ovfk_ovf_host_resource_disk(const char *hr)
{
    static const char *const prefixes[] = {
        "ovf:/disk/", "ovf://disk/", "ovf:disk/", "/disk/",
    };

    for (size_t i = 0; hr && i < sizeof(prefixes) / sizeof(prefixes[0]);
         i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(hr, prefixes[i], n) == 0) {
            return hr + n;
        }
    }
    return NULL;
}

const char *ovfk_ovf_default_config(const ovfk_ovf_doc *d)
{
    for (size_t i = 0; i < d->n_options; i++) {
        if (d->options[i].is_default) {
            return d->options[i].id;
        }
    }
    return d->n_options ? d->options[0].id : NULL;
}

bool ovfk_ovf_item_in_config(const ovfk_ovf_doc *d,
                             const struct ovfk_ovf_item *it, const char *cfg)
{
    const char *c = it->configuration;
    size_t n;

    if (!c || !*c) {
        return true;
    }
    if (!cfg) {
        cfg = ovfk_ovf_default_config(d);
    }
    if (!cfg) {
        return true;
    }
    n = strlen(cfg);
    /* a space-separated list of configuration ids */
    while (*c) {
        while (*c == ' ') {
            c++;
        }
        if (strncmp(c, cfg, n) == 0 && (c[n] == ' ' || c[n] == '\0')) {
            return true;
        }
        while (*c && *c != ' ') {
            c++;
        }
    }
    return false;
}

static size_t count_systems(const struct ovfk_ovf_system *s)
{
    size_t n = 1;

    for (size_t i = 0; i < s->n_children; i++) {
        n += count_systems(&s->children[i]);
    }
    return n;
}

size_t ovfk_ovf_system_count(const ovfk_ovf_doc *d)
{
    return d->has_top ? count_systems(&d->top) : 0;
}

static const struct ovfk_ovf_system *nth_system(const struct ovfk_ovf_system *s,
                                           size_t *i)
{
    const struct ovfk_ovf_system *r;

    if (*i == 0) {
        return s;
    }
    (*i)--;
    for (size_t c = 0; c < s->n_children; c++) {
        if ((r = nth_system(&s->children[c], i))) {
            return r;
        }
    }
    return NULL;
}

const struct ovfk_ovf_system *ovfk_ovf_system_at(const ovfk_ovf_doc *d,
                                                 size_t i)
{
    return d->has_top ? nth_system(&d->top, &i) : NULL;
}

/*
 * CPUs and memory of a system in a configuration.  Items without
 * ovf:configuration apply to all; an item for the configuration overrides
 * them (the second pass), as ovftool reads them.
 */
int ovfk_ovf_summary(const ovfk_ovf_doc *d, const struct ovfk_ovf_system *s,
                const char *cfg, struct ovfk_ovf_hw_summary *out)
{
    memset(out, 0, sizeof(*out));
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < s->n_items; i++) {
            const struct ovfk_ovf_item *it = &s->items[i];
            const char *q = ovfk_ovf_item_get(it, "VirtualQuantity");
            /* OVF 2.x (CIM 2.2x RASD) gives VirtualQuantity its own
             * VirtualQuantityUnits; 1.x used AllocationUnits for both */
            const char *units = ovfk_ovf_item_get(it, "VirtualQuantityUnits");
            bool specific = it->configuration && *it->configuration;
            if (!units) {
                units = ovfk_ovf_item_get(it, "AllocationUnits");
            }
            uint64_t v;
            if (!q || specific != (pass == 1) ||
                !ovfk_ovf_item_in_config(d, it, cfg) ||
                (it->bound && strcmp(it->bound, "normal") != 0)) {
                continue;
            }
            switch (ovfk_ovf_item_type(it)) {
            case OVFK_OVF_RT_PROCESSOR:
                if (ovfk_ovf_units_to_bytes(q, NULL, &v) == 0) {
                    out->cpus = v;
                }
                break;
            case OVFK_OVF_RT_MEMORY:
                /* memory without units is in MiB (0.9 and 1.0 practice) */
                if (ovfk_ovf_units_to_bytes(q, units ? units : "byte * 2^20",
                                       &v) == 0) {
                    out->memory_mib = v >> 20;
                }
                break;
            default:
                break;
            }
        }
    }
    return 0;
}

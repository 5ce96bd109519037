/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/parse.c - read an OVF descriptor (DSP0243 0.9 .. 2.1) into the model
 * with libxml2: network access off, DTDs refused (so no external entity
 * and no entity expansion can happen), size bounded.
 *
 * Lenient reading: every tolerated producer quirk is listed here and adds
 * a warning to the document, never silence.
 *
 *   quirk                                       seen from
 *   ------------------------------------------  ---------------------------
 *   VMware 0.9 namespace                        ovftool 1.x, VMware Studio,
 *     (www.vmware.com/schema/ovf/1/envelope),   VirtualBox 2.2
 *     <Section xsi:type="ovf:X_Type">,
 *     <Content xsi:type="ovf:VirtualSystem_Type">
 *   pre-1.0 draft namespace (envelope, no /1),  IBM open-ovf
 *     xs:name instead of xsi:type
 *   envelope/1/ with a trailing slash           oVirt (virt-v2v -o rhv)
 *   elements left in no namespace under a       VirtualCenter 2008
 *     prefixed ovf:Envelope
 *   rasd:InstanceId / vssd:InstanceId           OVF 0.9 spelling
 *   RASD children out of schema order           many; read by name
 *   encoding="utf-16" declared on UTF-8 bytes   XenServer XenCenter (.NET)
 *   Disk capacity "${property}"                 VMware (nested ESXi)
 *   non-numeric capacity placeholder            Vagrant box templates
 *   Disk fileRef="" on a blank disk             ova-compose (VMware VCF 9)
 */
#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ovf/internal.h"
#include "util/io.h"

struct pctx {
    ovfk_ovf_doc *d;
    const char *name;
    xmlDocPtr x;
    const char *root_ns;        /* href of the Envelope's namespace */
    bool warned_nons;
    ovfk_err err;
};

static int oom(struct pctx *c)
{
    return ovfk_err_set(&c->err, -ENOMEM, "out of memory");
}

/* The section name of an element: its local name, or for 0.9's generic
 * <Section>/<Content> the xsi:type (or draft xs:name) without prefix and
 * "_Type" suffix. */
static void section_name(xmlNodePtr n, char *buf, size_t len)
{
    const char *name = (const char *)n->name;

    if (strcmp(name, "Section") == 0 || strcmp(name, "Content") == 0) {
        for (xmlAttrPtr a = n->properties; a; a = a->next) {
            if (strcmp((const char *)a->name, "type") == 0 ||
                strcmp((const char *)a->name, "name") == 0) {
                xmlChar *v = xmlNodeGetContent((xmlNodePtr)a);
                const char *t = v ? (const char *)v : "";
                const char *colon = strchr(t, ':');
                size_t l;
                t = colon ? colon + 1 : t;
                l = strlen(t);
                if (l > 5 && strcmp(t + l - 5, "_Type") == 0) {
                    l -= 5;
                }
                snprintf(buf, len, "%.*s", (int)l, t);
                xmlFree(v);
                return;
            }
        }
    }
    snprintf(buf, len, "%s", name);
}

/* Is n an element of the envelope's vocabulary named name? */
static bool is_el(struct pctx *c, xmlNodePtr n, const char *name)
{
    char sec[128];

    if (n->type != XML_ELEMENT_NODE) {
        return false;
    }
    if (n->ns && !ovf_is_envelope_ns((const char *)n->ns->href)) {
        return false;
    }
    section_name(n, sec, sizeof(sec));
    if (strcmp(sec, name) != 0) {
        return false;
    }
    if (!n->ns && c->root_ns && !c->warned_nons) {
        c->warned_nons = true;
        ovfk_ovf_warn(c->d,
                      "%s: elements in no namespace under an OVF envelope "
                      "(read as OVF)",
                      c->name);
    }
    return true;
}

static bool is_envelope_attr(xmlAttrPtr a)
{
    return !a->ns || ovf_is_envelope_ns((const char *)a->ns->href);
}

/* An ovf: attribute, in the envelope namespace or in none. */
static char *attr(xmlNodePtr n, const char *name)
{
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        if (strcmp((const char *)a->name, name) == 0 && is_envelope_attr(a)) {
            xmlChar *v = xmlNodeGetContent((xmlNodePtr)a);
            char *r = strdup(v ? (const char *)v : "");
            xmlFree(v);
            return r;
        }
    }
    return NULL;
}

static bool attr_true(xmlNodePtr n, const char *name, bool dflt)
{
    char *v = attr(n, name);
    bool r = dflt;

    if (v) {
        r = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
    }
    free(v);
    return r;
}

/* Keep attributes that are not in modeled[] (NULL-terminated). */
static int keep_attrs(struct pctx *c, xmlNodePtr n, ovfk_ovf_extra *x,
                      const char *const *modeled)
{
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        bool skip = false;
        if (a->ns && strcmp((const char *)a->ns->href, NS_XSI) == 0 &&
            strcmp((const char *)a->name, "type") == 0) {
            continue;   /* 0.9's xsi:type is structure, not data */
        }
        if (is_envelope_attr(a)) {
            for (size_t i = 0; modeled && modeled[i]; i++) {
                skip |= strcmp((const char *)a->name, modeled[i]) == 0;
            }
            /* the draft's xs:name plays xsi:type's part */
            skip |= a->ns == NULL && strcmp((const char *)a->name, "name") ==
                    0 && strcmp((const char *)n->name, "Section") == 0;
        }
        if (!skip && ovf_extra_add_attr(x, a) < 0) {
            return oom(c);
        }
    }
    return 0;
}

static char *text(xmlNodePtr n)
{
    xmlChar *v = xmlNodeGetContent(n);
    char *r = strdup(v ? (const char *)v : "");

    xmlFree(v);
    return r;
}

/* Text with surrounding white space removed (numbers, ids, names). */
static char *trimmed(xmlNodePtr n)
{
    char *t = text(n), *s, *e;

    if (!t) {
        return NULL;
    }
    for (s = t; isspace((unsigned char)*s); s++) {
    }
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) {
        e--;
    }
    memmove(t, s, (size_t)(e - s));
    t[e - s] = '\0';
    return t;
}

/* Does the element hold only text (no child elements)? */
static bool text_only(xmlNodePtr n)
{
    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            return false;
        }
    }
    return true;
}

static int keep_node(struct pctx *c, ovfk_ovf_extra *x, xmlNodePtr n, bool head)
{
    if (n->type != XML_ELEMENT_NODE) {
        return 0;
    }
    return ovf_extra_add_node(c->d, x, n, head) < 0 ? oom(c) : 0;
}

static int need_extra(struct pctx *c, ovfk_ovf_extra **x)
{
    if (!*x && !(*x = ovf_extra_new(c->d))) {
        return oom(c);
    }
    return 0;
}

static int parse_references(struct pctx *c, xmlNodePtr sec)
{
    static const char *const modeled[] = {
        "id", "href", "size", "compression", "chunkSize", NULL,
    };

    for (xmlNodePtr n = sec->children; n; n = n->next) {
        struct ovfk_ovf_file *f;
        char *v;
        if (n->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (!is_el(c, n, "File")) {
            ovfk_ovf_warn(c->d, "%s:%ld: ignored <%s> in References", c->name,
                     xmlGetLineNo(n), n->name);
            continue;
        }
        f = ovf_grow(&c->d->files, &c->d->n_files, sizeof(*f));
        if (!f || need_extra(c, &f->extra) < 0) {
            return oom(c);
        }
        f->id = attr(n, "id");
        f->href = attr(n, "href");
        f->compression = attr(n, "compression");
        if ((v = attr(n, "size"))) {
            int e = ovfk_ovf_units_to_bytes(v, NULL, &f->size);
            if (e == -ERANGE) {
                e = ovfk_err_set(&c->err, OVFK_ECORRUPT, "%s:%ld: size '%s' "
                                 "of file '%s' overflows 64 bits", c->name,
                                 xmlGetLineNo(n), v, f->id ? f->id : "?");
                free(v);
                return e;
            }
            if (e < 0) {
                /* templates leave placeholders such as "#SIZE#" */
                ovfk_ovf_warn(c->d, "%s:%ld: size '%s' of file '%s' is not a "
                         "number; size unknown", c->name, xmlGetLineNo(n), v,
                         f->id ? f->id : "?");
            }
            f->has_size = e == 0;
            free(v);
        }
        if ((v = attr(n, "chunkSize"))) {
            if (ovfk_ovf_units_to_bytes(v, NULL, &f->chunk_size) < 0 ||
                f->chunk_size == 0) {
                int r = ovfk_err_set(&c->err, OVFK_ECORRUPT, "%s:%ld: File "
                                     "'%s' has an invalid chunkSize '%s'",
                                     c->name, xmlGetLineNo(n),
                                     f->id ? f->id : "?", v);
                free(v);
                return r;
            }
            free(v);
        }
        if (keep_attrs(c, n, f->extra, modeled) < 0) {
            return c->err.code;
        }
        for (xmlNodePtr k = n->children; k; k = k->next) {
            if (keep_node(c, f->extra, k, false) < 0) {
                return c->err.code;
            }
        }
    }
    return 0;
}

static int parse_capacity(struct pctx *c, xmlNodePtr n, struct ovfk_ovf_disk *k)
{
    int r;

    k->capacity_text = attr(n, "capacity");
    k->capacity_units = attr(n, "capacityAllocationUnits");
    if (!k->capacity_text) {
        return 0;   /* reported by validation */
    }
    if (strncmp(k->capacity_text, "${", 2) == 0) {
        return 0;   /* resolved from properties once they are read */
    }
    r = ovfk_ovf_units_to_bytes(k->capacity_text, k->capacity_units,
                                &k->capacity);
    if (r == -ERANGE) {
        return ovfk_err_set(&c->err, OVFK_ECORRUPT, "%s:%ld: capacity '%s' "
                            "'%s' of disk '%s' overflows 64 bits", c->name,
                            xmlGetLineNo(n), k->capacity_text,
                            k->capacity_units ? k->capacity_units : "byte",
                            k->id ? k->id : "?");
    }
    if (r < 0) {
        ovfk_ovf_warn(c->d,
                      "%s:%ld: capacity '%s' of disk '%s' is not a number "
                      "with known units; size unknown",
                      c->name, xmlGetLineNo(n), k->capacity_text,
                      k->id ? k->id : "?");
        return 0;
    }
    k->capacity_known = true;
    return 0;
}

static int parse_disks(struct pctx *c, xmlNodePtr sec)
{
    static const char *const modeled[] = {
        "diskId", "fileRef", "capacity", "capacityAllocationUnits",
        "format", "populatedSize", "parentRef", NULL,
    };
    int r;

    if (need_extra(c, &c->d->disk_extra) < 0 ||
        keep_attrs(c, sec, c->d->disk_extra, NULL) < 0) {
        return c->err.code;
    }
    for (xmlNodePtr n = sec->children; n; n = n->next) {
        struct ovfk_ovf_disk *k;
        char *v;
        if (is_el(c, n, "Info")) {
            free(c->d->disk_info);
            c->d->disk_info = text(n);
            continue;
        }
        if (!is_el(c, n, "Disk")) {
            if (keep_node(c, c->d->disk_extra, n, false) < 0) {
                return c->err.code;
            }
            continue;
        }
        k = ovf_grow(&c->d->disks, &c->d->n_disks, sizeof(*k));
        if (!k || need_extra(c, &k->extra) < 0) {
            return oom(c);
        }
        k->id = attr(n, "diskId");
        k->file_ref = attr(n, "fileRef");
        if (k->file_ref && !*k->file_ref) {
            /* ova-compose (VMware VCF 9 appliances) writes fileRef="" on
             * blank disks */
            ovfk_ovf_warn(c->d, "%s:%ld: empty fileRef of disk '%s' read as a "
                     "blank disk", c->name, xmlGetLineNo(n),
                     k->id ? k->id : "?");
            free(k->file_ref);
            k->file_ref = NULL;
        }
        k->format = attr(n, "format");
        k->parent_ref = attr(n, "parentRef");
        r = parse_capacity(c, n, k);
        if (r < 0) {
            return r;
        }
        if ((v = attr(n, "populatedSize"))) {
            if (ovfk_ovf_units_to_bytes(v, NULL, &k->populated_size) == 0) {
                k->has_populated = true;
            } else {
                ovfk_ovf_warn(c->d, "%s:%ld: populatedSize '%s' of disk '%s' "
                         "ignored", c->name, xmlGetLineNo(n), v,
                         k->id ? k->id : "?");
            }
            free(v);
        }
        if (keep_attrs(c, n, k->extra, modeled) < 0) {
            return c->err.code;
        }
        for (xmlNodePtr ch = n->children; ch; ch = ch->next) {
            if (keep_node(c, k->extra, ch, false) < 0) {
                return c->err.code;
            }
        }
    }
    return 0;
}

static int parse_networks(struct pctx *c, xmlNodePtr sec)
{
    static const char *const modeled[] = { "name", NULL };

    if (need_extra(c, &c->d->net_extra) < 0 ||
        keep_attrs(c, sec, c->d->net_extra, NULL) < 0) {
        return c->err.code;
    }
    for (xmlNodePtr n = sec->children; n; n = n->next) {
        struct ovfk_ovf_network *w;
        if (is_el(c, n, "Info")) {
            free(c->d->net_info);
            c->d->net_info = text(n);
            continue;
        }
        if (!is_el(c, n, "Network")) {
            if (keep_node(c, c->d->net_extra, n, false) < 0) {
                return c->err.code;
            }
            continue;
        }
        w = ovf_grow(&c->d->networks, &c->d->n_networks, sizeof(*w));
        if (!w || need_extra(c, &w->extra) < 0) {
            return oom(c);
        }
        w->name = attr(n, "name");
        if (keep_attrs(c, n, w->extra, modeled) < 0) {
            return c->err.code;
        }
        for (xmlNodePtr ch = n->children; ch; ch = ch->next) {
            if (is_el(c, ch, "Description") && !w->description) {
                w->description = text(ch);
            } else if (keep_node(c, w->extra, ch, false) < 0) {
                return c->err.code;
            }
        }
    }
    return 0;
}

static int parse_options(struct pctx *c, xmlNodePtr sec)
{
    for (xmlNodePtr n = sec->children; n; n = n->next) {
        struct ovfk_ovf_deploy_option *o;
        if (is_el(c, n, "Info")) {
            free(c->d->options_info);
            c->d->options_info = text(n);
            continue;
        }
        if (!is_el(c, n, "Configuration")) {
            continue;
        }
        o = ovf_grow(&c->d->options, &c->d->n_options, sizeof(*o));
        if (!o) {
            return oom(c);
        }
        o->id = attr(n, "id");
        o->is_default = attr_true(n, "default", false);
        for (xmlNodePtr ch = n->children; ch; ch = ch->next) {
            if (is_el(c, ch, "Label") && !o->label) {
                o->label = text(ch);
            } else if (is_el(c, ch, "Description") && !o->description) {
                o->description = text(ch);
            }
        }
    }
    return 0;
}

/*
 * Is ns one of the CIM setting classes an Item or System is?  VirtualBox
 * 6/7 OVF 2.0 exports write the sasd: and epasd: URIs with ".xsd" on the
 * end (a quirk we accept).
 */
static bool setting_ns(struct pctx *c, const xmlNs *ns)
{
    static const char *const known[] = { NS_RASD, NS_VSSD, NS_SASD, NS_EPASD };
    const char *h;
    size_t n;

    if (!ns) {
        return true;
    }
    h = (const char *)ns->href;
    n = strlen(h);
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        size_t k = strlen(known[i]);
        if (strcmp(h, known[i]) == 0) {
            return true;
        }
        if (n == k + 4 && strncmp(h, known[i], k) == 0 &&
            strcmp(h + k, ".xsd") == 0) {
            ovfk_ovf_warn(c->d, "%s: CIM namespace '%s' read without its "
                     "'.xsd' suffix", c->name, h);
            return true;
        }
    }
    return false;
}

/* Name/value children of an Item or System; InstanceId is 0.9's spelling. */
static int parse_props(struct pctx *c, xmlNodePtr n,
                       struct ovfk_ovf_prop **props, size_t *np,
                       ovfk_ovf_extra **x)
{
    for (xmlNodePtr ch = n->children; ch; ch = ch->next) {
        struct ovfk_ovf_prop *p;
        const char *name;
        if (ch->type != XML_ELEMENT_NODE) {
            continue;
        }
        /* properties are members of the classes an Item or System is
         * (rasd:, vssd:, sasd:, epasd:; none in 0.9 practice); members of
         * other classes (pasd:, ...) and vendor elements stay XML */
        if (!text_only(ch) || !setting_ns(c, ch->ns)) {
            if (need_extra(c, x) < 0 || keep_node(c, *x, ch, false) < 0) {
                return c->err.code;
            }
            continue;
        }
        name = (const char *)ch->name;
        if (strcmp(name, "InstanceId") == 0) {
            ovfk_ovf_warn(c->d, "%s: InstanceId read as InstanceID (OVF 0.9 "
                     "spelling)", c->name);
            name = "InstanceID";
        }
        p = ovf_grow(props, np, sizeof(*p));
        if (!p) {
            return oom(c);
        }
        p->name = strdup(name);
        p->value = trimmed(ch);
        if (!p->name || !p->value) {
            return oom(c);
        }
    }
    return 0;
}

static int parse_item(struct pctx *c, xmlNodePtr n, struct ovfk_ovf_system *s)
{
    static const char *const modeled[] = {
        "required", "configuration", "bound", NULL,
    };
    struct ovfk_ovf_item *it = ovf_grow(&s->items, &s->n_items, sizeof(*it));

    if (!it || need_extra(c, &it->extra) < 0) {
        return oom(c);
    }
    it->element = strdup((const char *)n->name);
    it->required = attr_true(n, "required", true);
    it->configuration = attr(n, "configuration");
    it->bound = attr(n, "bound");
    if (!it->element) {
        return oom(c);
    }
    if (keep_attrs(c, n, it->extra, modeled) < 0) {
        return c->err.code;
    }
    if (parse_props(c, n, &it->props, &it->n_props, &it->extra) < 0) {
        return c->err.code;
    }
    /* DSP0243 2.x: ResourceType is optional in the EPASD and SASD classes
     * (DSP8023 2.0.1), and the element names the class.  Record the type
     * it implies, so every reader (and an OVF 1.0 rewrite, which calls
     * them all Item) sees the NIC or disk drive. */
    if (!ovfk_ovf_item_get(it, "ResourceType") && ovfk_ovf_item_type(it) &&
        ovfk_ovf_item_set(
            it, "ResourceType",
            ovfk_ovf_item_type(it) == OVFK_OVF_RT_DISK ? "17" : "10") < 0) {
        return oom(c);
    }
    return 0;
}

static int parse_hardware(struct pctx *c, xmlNodePtr sec,
                          struct ovfk_ovf_system *s)
{
    static const char *const modeled[] = { "transport", NULL };
    int r;

    s->has_hardware = true;
    s->hw_transport = attr(sec, "transport");
    if (need_extra(c, &s->hw_extra) < 0 ||
        keep_attrs(c, sec, s->hw_extra, modeled) < 0) {
        return c->err.code;
    }
    for (xmlNodePtr n = sec->children; n; n = n->next) {
        if (is_el(c, n, "Info")) {
            free(s->hw_info);
            s->hw_info = text(n);
        } else if (is_el(c, n, "System")) {
            r = parse_props(c, n, &s->vssd, &s->n_vssd, &s->hw_extra);
            if (r < 0) {
                return r;
            }
        } else if (is_el(c, n, "Item") || is_el(c, n, "StorageItem") ||
                   is_el(c, n, "EthernetPortItem")) {
            r = parse_item(c, n, s);
            if (r < 0) {
                return r;
            }
        } else if (keep_node(c, s->hw_extra, n, false) < 0) {
            return c->err.code;
        }
    }
    return 0;
}

static int parse_property(struct pctx *c, xmlNodePtr n,
                          struct ovfk_ovf_product *p, bool category)
{
    static const char *const modeled[] = {
        "key", "type", "value", "qualifiers", "userConfigurable", "password",
        NULL,
    };
    struct ovfk_ovf_property *q = ovf_grow(&p->props, &p->n_props, sizeof(*q));

    if (!q || need_extra(c, &q->extra) < 0) {
        return oom(c);
    }
    q->is_category = category;
    if (category) {
        q->value = text(n);
        return keep_attrs(c, n, q->extra, NULL);
    }
    q->key = attr(n, "key");
    q->type = attr(n, "type");
    q->value = attr(n, "value");
    q->qualifiers = attr(n, "qualifiers");
    q->user_configurable = attr_true(n, "userConfigurable", false);
    q->password = attr_true(n, "password", false);
    if (keep_attrs(c, n, q->extra, modeled) < 0) {
        return c->err.code;
    }
    for (xmlNodePtr ch = n->children; ch; ch = ch->next) {
        if (is_el(c, ch, "Label") && !q->label) {
            q->label = text(ch);
        } else if (is_el(c, ch, "Description") && !q->description) {
            q->description = text(ch);
        } else if (keep_node(c, q->extra, ch, false) < 0) {
            return c->err.code;
        }
    }
    return 0;
}

static int parse_product(struct pctx *c, xmlNodePtr sec,
                         struct ovfk_ovf_system *s)
{
    static const char *const modeled[] = { "class", "instance", NULL };
    struct ovfk_ovf_product *p = ovf_grow(&s->products, &s->n_products,
                                     sizeof(*p));
    int r;

    if (!p || need_extra(c, &p->extra) < 0) {
        return oom(c);
    }
    p->class_ = attr(sec, "class");
    p->instance = attr(sec, "instance");
    if (keep_attrs(c, sec, p->extra, modeled) < 0) {
        return c->err.code;
    }
    for (xmlNodePtr n = sec->children; n; n = n->next) {
        bool done = false;
        if (!p->info && is_el(c, n, "Info")) {
            p->info = text(n);
            continue;
        }
        for (size_t i = 0; i < ovf_n_product_fields; i++) {
            const struct ovf_product_field *pf = &ovf_product_fields[i];
            char **f = (char **)((char *)p + pf->off);
            if (!done && !*f && is_el(c, n, pf->name)) {
                *f = text(n);
                done = true;
            }
        }
        if (done) {
            continue;
        }
        if (is_el(c, n, "Property") || is_el(c, n, "Category")) {
            r = parse_property(c, n, p, is_el(c, n, "Category"));
            if (r < 0) {
                return r;
            }
        } else if (keep_node(c, p->extra, n, is_el(c, n, "Icon")) < 0) {
            return c->err.code;
        }
    }
    return 0;
}

static int parse_os(struct pctx *c, xmlNodePtr sec, struct ovfk_ovf_system *s)
{
    static const char *const modeled[] = { "id", "version", NULL };
    char *id = attr(sec, "id");

    s->has_os = true;
    if (id) {
        s->os_id = atoi(id);
        free(id);
    }
    s->os_version = attr(sec, "version");
    if (need_extra(c, &s->os_extra) < 0 ||
        keep_attrs(c, sec, s->os_extra, modeled) < 0) {
        return c->err.code;
    }
    for (xmlNodePtr n = sec->children; n; n = n->next) {
        if (is_el(c, n, "Info") && !s->os_info) {
            s->os_info = text(n);
        } else if (is_el(c, n, "Description") && !s->os_description) {
            s->os_description = text(n);   /* kept exactly */
        } else if (keep_node(c, s->os_extra, n, false) < 0) {
            return c->err.code;
        }
    }
    return 0;
}

static int first_child_text(struct pctx *c, xmlNodePtr sec, const char *name,
                            char **out)
{
    for (xmlNodePtr n = sec->children; n; n = n->next) {
        if (is_el(c, n, name)) {
            *out = text(n);
            return *out ? 0 : oom(c);
        }
    }
    return 0;
}

static int parse_system(struct pctx *c, xmlNodePtr node,
                        struct ovfk_ovf_system *s, int depth);

static bool is_content(struct pctx *c, xmlNodePtr n)
{
    return is_el(c, n, "VirtualSystem") ||
           is_el(c, n, "VirtualSystemCollection");
}

static int parse_section(struct pctx *c, xmlNodePtr n,
                         struct ovfk_ovf_system *s, int depth)
{
    char *t = NULL;

    if (is_el(c, n, "OperatingSystemSection") && !s->has_os) {
        return parse_os(c, n, s);
    }
    if (is_el(c, n, "VirtualHardwareSection") && !s->has_hardware) {
        return parse_hardware(c, n, s);
    }
    if (is_el(c, n, "ProductSection")) {
        return parse_product(c, n, s);
    }
    if (is_el(c, n, "AnnotationSection") && !s->annotation) {
        return first_child_text(c, n, "Annotation", &s->annotation);
    }
    if (is_el(c, n, "EulaSection")) {
        char **slot;
        if (first_child_text(c, n, "License", &t) < 0) {
            return c->err.code;
        }
        slot = ovf_grow(&s->eulas, &s->n_eulas, sizeof(*slot));
        if (!slot) {
            free(t);
            return oom(c);
        }
        *slot = t ? t : strdup("");
        return 0;
    }
    if (s->collection && is_content(c, n)) {
        struct ovfk_ovf_system *ch = ovf_grow(&s->children, &s->n_children,
                                         sizeof(*ch));
        if (!ch) {
            return oom(c);
        }
        return parse_system(c, n, ch, depth + 1);
    }
    return keep_node(c, s->extra, n, false);
}

static int parse_system(struct pctx *c, xmlNodePtr node,
                        struct ovfk_ovf_system *s, int depth)
{
    static const char *const modeled[] = { "id", NULL };
    int r;

    if (depth > 32) {
        return ovfk_err_set(&c->err, OVFK_ECORRUPT, "%s:%ld: systems nested "
                            "more than 32 deep", c->name, xmlGetLineNo(node));
    }
    s->collection = is_el(c, node, "VirtualSystemCollection");
    s->id = attr(node, "id");
    if (need_extra(c, &s->extra) < 0 ||
        keep_attrs(c, node, s->extra, modeled) < 0) {
        return c->err.code;
    }
    for (xmlNodePtr n = node->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (is_el(c, n, "Info") && !s->info) {
            s->info = text(n);
        } else if (is_el(c, n, "Name") && !s->name) {
            s->name = text(n);
        } else {
            r = parse_section(c, n, s, depth);
            if (r < 0) {
                return r;
            }
        }
    }
    return 0;
}

/* Find property key's default value anywhere in the document. */
static const char *find_property(const struct ovfk_ovf_system *s,
                                 const char *key)
{
    const char *v;

    for (size_t i = 0; i < s->n_products; i++) {
        for (size_t j = 0; j < s->products[i].n_props; j++) {
            const struct ovfk_ovf_property *q = &s->products[i].props[j];
            if (q->key && strcmp(q->key, key) == 0) {
                return q->value;
            }
        }
    }
    for (size_t i = 0; i < s->n_children; i++) {
        if ((v = find_property(&s->children[i], key))) {
            return v;
        }
    }
    return NULL;
}

/* Capacities written as "${key}" take the property's default value. */
static int resolve_capacities(struct pctx *c)
{
    for (size_t i = 0; i < c->d->n_disks; i++) {
        struct ovfk_ovf_disk *k = &c->d->disks[i];
        char key[256];
        const char *v;
        size_t l;
        if (!k->capacity_text || strncmp(k->capacity_text, "${", 2) != 0) {
            continue;
        }
        l = strlen(k->capacity_text);
        snprintf(key, sizeof(key), "%.*s", (int)(l > 3 ? l - 3 : 0),
                 k->capacity_text + 2);
        v = c->d->has_top ? find_property(&c->d->top, key) : NULL;
        if (v &&
            ovfk_ovf_units_to_bytes(v, k->capacity_units, &k->capacity) == 0) {
            k->capacity_known = true;
            ovfk_ovf_warn(c->d, "%s: capacity of disk '%s' taken from property "
                     "'%s' (%s)", c->name, k->id ? k->id : "?", key, v);
        } else {
            ovfk_ovf_warn(c->d,
                          "%s: capacity '%s' of disk '%s' names no property "
                          "with a numeric default; size unknown",
                          c->name, k->capacity_text, k->id ? k->id : "?");
        }
    }
    return 0;
}

static int parse_envelope(struct pctx *c, xmlNodePtr root)
{
    static const char *const modeled[] = { "version", NULL };
    bool have_content = false;
    int r;

    c->d->version_text = attr(root, "version");
    if (need_extra(c, &c->d->extra) < 0) {
        return oom(c);
    }
    for (xmlAttrPtr a = root->properties; a; a = a->next) {
        if (a->ns && strcmp((const char *)a->ns->href, NS_XML) == 0 &&
            strcmp((const char *)a->name, "lang") == 0) {
            c->d->lang = text((xmlNodePtr)a);
        }
    }
    {
        /* xml:lang is modeled: keep the rest */
        for (xmlAttrPtr a = root->properties; a; a = a->next) {
            bool skip = a->ns && strcmp((const char *)a->ns->href, NS_XML) ==
                        0 && strcmp((const char *)a->name, "lang") == 0;
            bool modeled_attr = is_envelope_attr(a) &&
                                strcmp((const char *)a->name, modeled[0]) == 0;
            if (!skip && !modeled_attr &&
                ovf_extra_add_attr(c->d->extra, a) < 0) {
                return oom(c);
            }
        }
    }
    for (xmlNodePtr n = root->children; n; n = n->next) {
        r = 0;
        if (n->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (is_el(c, n, "References")) {
            r = parse_references(c, n);
        } else if (is_el(c, n, "DiskSection")) {
            r = parse_disks(c, n);
        } else if (is_el(c, n, "NetworkSection")) {
            r = parse_networks(c, n);
        } else if (is_el(c, n, "DeploymentOptionSection")) {
            r = parse_options(c, n);
        } else if (is_content(c, n) && !have_content) {
            have_content = true;
            c->d->has_top = true;
            r = parse_system(c, n, &c->d->top, 0);
        } else {
            /* unknown sections before the content, Strings after it */
            r = keep_node(c, c->d->extra, n, !have_content);
        }
        if (r < 0) {
            return r;
        }
    }
    if (!have_content) {
        ovfk_ovf_warn(c->d, "%s: the envelope has no VirtualSystem or "
                 "VirtualSystemCollection", c->name);
    }
    return resolve_capacities(c);
}

/* Which envelope dialect is this?  Returns the version, or 0 to refuse. */
static int classify(struct pctx *c, xmlNodePtr root)
{
    const char *ns = root->ns ? (const char *)root->ns->href : NULL;

    if (strcmp((const char *)root->name, "Envelope") != 0) {
        if (strcmp((const char *)root->name, "Environment") == 0) {
            ovfk_err_set(&c->err, OVFK_ECORRUPT, "'%s' is an OVF environment "
                         "document (what a guest reads), not a descriptor",
                         c->name);
        } else {
            ovfk_err_set(&c->err, OVFK_ECORRUPT, "'%s' is not an OVF "
                         "descriptor: its root element is <%s>, not "
                         "<Envelope>", c->name, root->name);
        }
        return 0;
    }
    c->root_ns = ns;
    if (!ns) {
        ovfk_ovf_warn(c->d, "%s: Envelope in no namespace (read as OVF 1.x)",
                 c->name);
        return 10;
    }
    if (strcmp(ns, NS_OVF1) == 0) {
        return 10;
    }
    if (strcmp(ns, NS_OVF2) == 0) {
        return 20;
    }
    if (strcmp(ns, NS_OVF1_SLASH) == 0) {
        ovfk_ovf_warn(c->d, "%s: OVF namespace with a trailing slash (oVirt "
                 "dialect)", c->name);
        return 10;
    }
    if (strcmp(ns, NS_OVF09) == 0) {
        ovfk_ovf_warn(c->d, "%s: OVF 0.9 (VMware namespace)", c->name);
        return 9;
    }
    if (strcmp(ns, NS_OVF_DRAFT) == 0) {
        ovfk_ovf_warn(c->d, "%s: pre-1.0 draft OVF namespace", c->name);
        return 9;
    }
    ovfk_err_set(&c->err, OVFK_EUNSUPPORTED, "'%s': unsupported OVF "
                 "namespace '%s'", c->name, ns);
    return 0;
}

/*
 * XenCenter writes encoding="utf-16" on UTF-8 bytes; libxml2 then fails.
 * Does the declaration say UTF-16 while the bytes start with '<' (no BOM,
 * no NUL bytes)?  Then the text is read as UTF-8.
 */
bool ovf_utf16_label_on_8bit(const char *buf, size_t len)
{
    const char *end = memchr(buf, '>', len < 200 ? len : 200);
    const char *enc;

    if (len < 5 || buf[0] != '<' || buf[1] != '?' || !end) {
        return false;
    }
    /* the buffer need not be NUL-terminated: look only inside <?xml ?> */
    enc = memmem(buf, (size_t)(end - buf), "encoding=", 9);
    if (!enc || end - enc < 16) {
        return false;
    }
    enc += 10;
    return strncasecmp(enc, "utf-16", 6) == 0 ||
           strncasecmp(enc, "utf16", 5) == 0;
}

static const char *encoding_override(struct pctx *c, const char *buf,
                                     size_t len)
{
    if (!ovf_utf16_label_on_8bit(buf, len)) {
        return NULL;
    }
    ovfk_ovf_warn(c->d,
                  "%s: declares encoding UTF-16 but is 8-bit text (read as "
                  "UTF-8)",
                  c->name);
    return "UTF-8";
}

int ovfk_ovf_parse_memory(const char *buf, size_t len, const char *name,
                     ovfk_ovf_doc **out)
{
    struct pctx c = { .name = name ? name : "descriptor" };
    xmlParserCtxtPtr ctxt = NULL;
    xmlNodePtr root;
    int r;

    *out = NULL;
    if (len > OVFK_OVF_MAX_DESCRIPTOR) {
        return ovfk_err_last(OVFK_ECORRUPT, "descriptor '%s' is %zu bytes; "
                             "ovfkit refuses descriptors over %u MiB", c.name,
                             len, OVFK_OVF_MAX_DESCRIPTOR >> 20);
    }
    if (len > INT32_MAX) {
        return ovfk_err_last(OVFK_ECORRUPT, "descriptor too large");
    }
    r = ovfk_ovf_new(10, &c.d);
    if (r < 0) {
        return r;
    }
    ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        ovfk_ovf_free(c.d);
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    /* NONET: no network; no NOENT, no DTDLOAD: entities are never
     * substituted or fetched; documents with a DTD are refused below. */
    c.x = xmlCtxtReadMemory(ctxt, buf, (int)len, c.name,
                            encoding_override(&c, buf, len),
                            XML_PARSE_NONET | XML_PARSE_NOERROR |
                            XML_PARSE_NOWARNING);
    if (!c.x) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char msg[256];
        snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message
                                                         : "unknown error");
        msg[strcspn(msg, "\n")] = '\0';
        r = ovfk_err_set(&c.err, OVFK_ECORRUPT, "'%s' is not well-formed "
                         "XML: line %d: %s", c.name, e ? e->line : 0, msg);
        goto fail;
    }
    if (c.x->intSubset || c.x->extSubset) {
        r = ovfk_err_set(&c.err, OVFK_ECORRUPT, "'%s' has a DTD: OVF "
                         "descriptors have none, and its entities could read "
                         "files or expand without bound; refused", c.name);
        goto fail;
    }
    root = xmlDocGetRootElement(c.x);
    if (!root) {
        r = ovfk_err_set(&c.err, OVFK_ECORRUPT, "'%s' has no root element",
                         c.name);
        goto fail;
    }
    c.d->version = classify(&c, root);
    if (c.d->version == 0) {
        r = c.err.code;
        goto fail;
    }
    r = parse_envelope(&c, root);
    if (r < 0) {
        goto fail;
    }
    xmlFreeDoc(c.x);
    xmlFreeParserCtxt(ctxt);
    *out = c.d;
    return 0;
fail:
    xmlFreeDoc(c.x);
    xmlFreeParserCtxt(ctxt);
    ovfk_ovf_free(c.d);
    return ovfk_err_publish(&c.err);
}

int ovfk_ovf_parse_file(const char *path, ovfk_ovf_doc **out)
{
    ovfk_io *io;
    uint64_t size;
    char *buf;
    int r;

    *out = NULL;
    r = ovfk_io_open_file(path, OVFK_IO_RDONLY, &io);
    if (r < 0) {
        return r;
    }
    r = ovfk_io_size(io, &size);
    if (r == 0 && size > OVFK_OVF_MAX_DESCRIPTOR) {
        ovfk_io_close(io);
        return ovfk_err_last(OVFK_ECORRUPT, "descriptor '%s' is %llu bytes; "
                             "ovfkit refuses descriptors over %u MiB", path,
                             (unsigned long long)size,
                             OVFK_OVF_MAX_DESCRIPTOR >> 20);
    }
    buf = r == 0 ? malloc(size + 1) : NULL;
    if (!buf) {
        ovfk_io_close(io);
        return ovfk_err_last(r < 0 ? r : -ENOMEM, "cannot read '%s'", path);
    }
    r = ovfk_io_pread(io, buf, size, 0);
    ovfk_io_close(io);
    if (r < 0) {
        free(buf);
        return ovfk_err_last(r, "cannot read '%s': %s", path,
                             ovfk_errtext(r));
    }
    buf[size] = '\0';
    r = ovfk_ovf_parse_memory(buf, size, path, out);
    free(buf);
    return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf/vendor.c - vendor settings in a descriptor: writing our own
 * <ovfkit:Config> entries (as VMware writes vmw:Config) and reading the
 * vendor data other producers leave (vmw:Config, vbox:Machine).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ovf/internal.h"

int ovfk_ovf_hw_set_config(ovfk_ovf_doc *d, struct ovfk_ovf_system *s,
                           const char *ns_href, const char *prefix,
                           const char *key, const char *value)
{
    struct ovf_priv *p = d->priv;
    xmlNodePtr n;
    xmlNsPtr ns;
    xmlNodePtr *slot;

    if (!s->hw_extra && !(s->hw_extra = ovf_extra_new(d))) {
        return -ENOMEM;
    }
    n = xmlNewDocNode(p->holder, NULL, BAD_CAST "Config", NULL);
    if (!n) {
        return -ENOMEM;
    }
    ns = xmlNewNs(n, BAD_CAST ns_href, BAD_CAST prefix);
    xmlSetNs(n, ns);
    xmlNewNsProp(n, ns, BAD_CAST "key", BAD_CAST key);
    xmlNewNsProp(n, ns, BAD_CAST "value", BAD_CAST value);
    xmlAddChild(xmlDocGetRootElement(p->holder), n);
    slot = ovf_grow(&s->hw_extra->tail, &s->hw_extra->n_tail, sizeof(*slot));
    if (!slot) {
        return -ENOMEM;
    }
    *slot = n;
    s->has_hardware = true;
    return 0;
}

static char *attr_in(xmlNodePtr n, const char *ns_href, const char *name)
{
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        if (!strcmp((const char *)a->name, name) &&
            (!a->ns || !ns_href ||
             !strcmp((const char *)a->ns->href, ns_href))) {
            xmlChar *v = xmlNodeGetContent((xmlNodePtr)a);
            char *r = v ? strdup((const char *)v) : NULL;
            xmlFree(v);
            return r;
        }
    }
    return NULL;
}

char *ovfk_ovf_hw_get_config(const struct ovfk_ovf_system *s,
                             const char *ns_href, const char *key)
{
    const ovfk_ovf_extra *x = s->hw_extra;

    for (size_t i = 0; x && i < x->n_tail; i++) {
        xmlNodePtr n = x->tail[i];
        char *k;
        if (n->type != XML_ELEMENT_NODE || !n->ns ||
            strcmp((const char *)n->ns->href, ns_href) ||
            strcmp((const char *)n->name, "Config")) {
            continue;
        }
        k = attr_in(n, ns_href, "key");
        if (k && !strcmp(k, key)) {
            free(k);
            return attr_in(n, ns_href, "value");
        }
        free(k);
    }
    return NULL;
}

char *ovfk_ovf_system_vendor_attr(const struct ovfk_ovf_system *s,
                                  const char *ns_href, const char *local,
                                  const char *attr)
{
    const ovfk_ovf_extra *x = s->extra;

    for (size_t i = 0; x && i < x->n_tail; i++) {
        xmlNodePtr n = x->tail[i];
        if (n->type == XML_ELEMENT_NODE && n->ns &&
            !strcmp((const char *)n->ns->href, ns_href) &&
            !strcmp((const char *)n->name, local)) {
            return attr_in(n, NULL, attr);
        }
    }
    return NULL;
}

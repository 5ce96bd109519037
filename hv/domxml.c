/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv/domxml.c - libvirt domain XML in (hv/domxml.h), with libxml2: no
 * network, no entities, no DTD.  libvirt writes what it was given, and a
 * dumpxml file is anyone's: every number is read strictly and bounded,
 * and memory units follow libvirt's formatdomain documentation.
 */
#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "hv/domxml.h"
#include "hv/internal.h"

#define LIBOSINFO_NS "http://libosinfo.org/xmlns/libvirt/domain/1.0"
#define MAX_VCPUS 4096          /* qemu's x86 maximum */
#define MAX_OS_ID 65535         /* CIM OperatingSystem ids are < 200 */

int hv_domxml_number(const char *text, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = text;

    while (p && isspace((unsigned char)*p)) {
        p++;
    }
    if (!p || !isdigit((unsigned char)*p)) {
        return -EINVAL;
    }
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -ERANGE;
        }
        v = v * 10 + d;
    }
    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (*p) {
        return -EINVAL;
    }
    if (v > max) {
        return -ERANGE;
    }
    *out = v;
    return 0;
}

/* libvirt's scale of a unit (virScaleInteger), or 0 when unknown. */
static uint64_t unit_scale(const char *unit)
{
    static const char prefixes[] = "kmgtpe";
    const char *at;
    uint64_t base, scale = 1;

    if (!unit || !*unit) {
        return 1024;
    }
    if (!strcasecmp(unit, "b") || !strcasecmp(unit, "bytes")) {
        return 1;
    }
    at = strchr(prefixes, tolower((unsigned char)unit[0]));
    if (!at || !unit[0]) {
        return 0;
    }
    if (!unit[1] || !strcasecmp(unit + 1, "ib")) {
        base = 1024;
    } else if (!strcasecmp(unit + 1, "b")) {
        base = 1000;
    } else {
        return 0;
    }
    for (const char *p = prefixes; p <= at; p++) {
        scale *= base;
    }
    return scale;
}

int hv_domxml_memory(const char *value, const char *unit, uint64_t *mib)
{
    uint64_t n, scale = unit_scale(unit);
    int r = hv_domxml_number(value, UINT64_MAX, &n);

    if (r < 0) {
        return r;
    }
    if (!scale) {
        return -EINVAL;
    }
    if (n && scale > UINT64_MAX / n) {
        return -ERANGE;
    }
    if ((n * scale) >> 20 > HV_DOMXML_MAX_MEMORY_MIB) {
        return -ERANGE;
    }
    *mib = (n * scale) >> 20;
    return 0;
}

char *hv_xp_str(xmlXPathContextPtr ctx, const char *expr)
{
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    char *s = NULL;

    if (o && o->type == XPATH_STRING && o->stringval && o->stringval[0]) {
        s = strdup((const char *)o->stringval);
    } else if (o && o->type == XPATH_NODESET && o->nodesetval &&
               o->nodesetval->nodeNr > 0) {
        xmlChar *c = xmlNodeGetContent(o->nodesetval->nodeTab[0]);
        if (c && c[0]) {
            s = strdup((const char *)c);
        }
        xmlFree(c);
    }
    xmlXPathFreeObject(o);
    return s;
}

static const char *why(int r)
{
    return r == -ERANGE ? "out of range" : "not a number";
}

/* Memory, vCPUs and our metadata's OS id: strictly, or the call fails. */
static int numbers(xmlXPathContextPtr ctx, struct ovfk_hv_vm *vm,
                   ovfk_err *err)
{
    char *v = hv_xp_str(ctx, "/domain/memory");
    char *u = hv_xp_str(ctx, "string(/domain/memory/@unit)");
    uint64_t n = 1;
    int r = v ? hv_domxml_memory(v, u, &vm->memory_mib) : 0;

    if (!v) {
        vm->memory_mib = 0;     /* libvirt requires it: the limits say so */
    }

    if (r < 0) {
        ovfk_err_set(err, OVFK_ECORRUPT, "has memory '%s'%s%s%s: %s", v,
                     u ? " in unit '" : "", u ? u : "", u ? "'" : "",
                     r == -EINVAL && u && hv_domxml_number(v, UINT64_MAX,
                                                           &n) == 0 ?
                     "unknown unit" : why(r));
    }
    free(v);
    free(u);
    if (r < 0) {
        return OVFK_ECORRUPT;
    }
    v = hv_xp_str(ctx, "/domain/vcpu");
    r = v ? hv_domxml_number(v, MAX_VCPUS, &n) : 0;
    if (r == 0 && n == 0) {
        r = -ERANGE;
    }
    if (r < 0) {
        ovfk_err_set(err, OVFK_ECORRUPT, "has vcpu '%s': %s (1 to %d)", v,
                     why(r), MAX_VCPUS);
        free(v);
        return OVFK_ECORRUPT;
    }
    free(v);
    vm->cpus = (uint32_t)n;
    v = hv_xp_str(ctx, "/domain/metadata/o:vm/@os-id");
    n = 0;
    r = v ? hv_domxml_number(v, MAX_OS_ID, &n) : 0;
    if (r < 0) {
        ovfk_err_set(err, OVFK_ECORRUPT, "has os-id '%s': %s", v, why(r));
        free(v);
        return OVFK_ECORRUPT;
    }
    free(v);
    vm->os_id = (int)n;
    return 0;
}

static void firmware(xmlXPathContextPtr ctx, struct ovfk_hv_vm *vm)
{
    char *v = hv_xp_str(ctx, "string(/domain/os/@firmware)");
    char *loader = hv_xp_str(ctx, "/domain/os/loader");

    /* an older domain names OVMF as its loader instead */
    vm->firmware = strdup((v && !strcmp(v, "efi")) ||
                          (loader && strcasestr(loader, "OVMF")) ? "efi"
                                                                 : "bios");
    free(v);
    free(loader);
}

static int disks(xmlXPathContextPtr ctx, struct ovfk_hv_vm *vm,
                 unsigned flags, ovfk_err *err)
{
    xmlXPathObjectPtr set = xmlXPathEvalExpression(
        BAD_CAST "/domain/devices/disk[@device='disk' or not(@device)]", ctx);
    int r = 0;

    for (int i = 0; set && set->nodesetval && i < set->nodesetval->nodeNr;
         i++) {
        struct ovfk_hv_disk *d;
        char id[32], *path;
        ctx->node = set->nodesetval->nodeTab[i];
        path = hv_xp_str(ctx, "string(source/@file)");
        if (!path) {
            path = hv_xp_str(ctx, "string(source/@dev)");
        }
        if (!path && (flags & HV_DOMXML_LOCAL_DISKS)) {
            continue;
        }
        d = ovfk_hv_vm_add_disk(vm);
        if (!d) {
            free(path);
            r = ovfk_err_set(err, -ENOMEM, "out of memory");
            break;
        }
        d->path = path;
        d->format = hv_xp_str(ctx, "string(driver/@type)");
        d->bus = hv_xp_str(ctx, "string(target/@bus)");
        snprintf(id, sizeof(id), "vmdisk%zu", vm->n_disks);
        d->id = strdup(id);
        d->boot_order = vm->n_disks == 1;
    }
    xmlXPathFreeObject(set);
    ctx->node = NULL;
    return r;
}

/* Disks named by <ovfkit:owns path=.../> in our metadata are ours. */
static void mark_owned(xmlXPathContextPtr ctx, struct ovfk_hv_vm *vm)
{
    xmlXPathObjectPtr set;

    ctx->node = NULL;
    set = xmlXPathEvalExpression(BAD_CAST "/domain/metadata/o:vm/o:owns/"
                                 "@path", ctx);
    for (int i = 0; set && set->nodesetval && i < set->nodesetval->nodeNr;
         i++) {
        xmlChar *v = xmlNodeGetContent(set->nodesetval->nodeTab[i]);
        for (size_t k = 0; v && k < vm->n_disks; k++) {
            vm->disks[k].owned |= vm->disks[k].path &&
                                  !strcmp(vm->disks[k].path, (char *)v);
        }
        xmlFree(v);
    }
    xmlXPathFreeObject(set);
}

static int nics(xmlXPathContextPtr ctx, struct ovfk_hv_vm *vm, ovfk_err *err)
{
    xmlXPathObjectPtr set = xmlXPathEvalExpression(
        BAD_CAST "/domain/devices/interface", ctx);
    int r = 0;

    for (int i = 0; set && set->nodesetval && i < set->nodesetval->nodeNr;
         i++) {
        struct ovfk_hv_nic *n = ovfk_hv_vm_add_nic(vm);
        char *mac;
        if (!n) {
            r = ovfk_err_set(err, -ENOMEM, "out of memory");
            break;
        }
        ctx->node = set->nodesetval->nodeTab[i];
        mac = hv_xp_str(ctx, "string(mac/@address)");
        if (mac && ovfk_hv_mac_normalize(mac, n->mac) < 0) {
            n->mac[0] = '\0';
        }
        free(mac);
        n->network = hv_xp_str(ctx, "string(source/@network)");
        if (!n->network) {
            n->network = hv_xp_str(ctx, "string(source/@bridge)");
        }
        if (!n->network) {
            n->network = strdup("default");
        }
        n->model = hv_xp_str(ctx, "string(model/@type)");
    }
    xmlXPathFreeObject(set);
    ctx->node = NULL;
    return r;
}

/* The fields that are text as written. */
static void texts(xmlXPathContextPtr ctx, struct ovfk_hv_vm *vm)
{
    char *v = hv_xp_str(ctx, "/domain/uuid");

    if (v) {
        ovfk_hv_uuid_parse(v, vm->uuid);
        free(v);
    }
    vm->name = hv_xp_str(ctx, "/domain/name");
    vm->description = hv_xp_str(ctx, "/domain/description");
    vm->kernel = hv_xp_str(ctx, "/domain/os/kernel");
    vm->initrd = hv_xp_str(ctx, "/domain/os/initrd");
    vm->cmdline = hv_xp_str(ctx, "/domain/os/cmdline");
    /* ours as we wrote it; else virt-install's libosinfo id, kept as is
     * (and as the vendor's type: hv.h's os_vendor) */
    vm->os_type = hv_xp_str(ctx, "string(/domain/metadata/o:vm/@os-type)");
    vm->os_vendor = hv_xp_str(ctx, "string(/domain/metadata/o:vm/"
                                   "@os-vendor)");
    if (!vm->os_type) {
        vm->os_type = hv_xp_str(ctx, "string(/domain/metadata/"
                                     "libosinfo:libosinfo/libosinfo:os/@id)");
        if (vm->os_type && !vm->os_vendor &&
            asprintf(&vm->os_vendor, "libosinfo:%s", vm->os_type) < 0) {
            vm->os_vendor = NULL;
        }
    }
}

/* Read doc (taken, freed) into *out. */
static int parse_doc(xmlDocPtr doc, bool too_large, unsigned flags,
                     struct ovfk_hv_vm **out, ovfk_err *err)
{
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    xmlXPathContextPtr ctx = NULL;
    struct ovfk_hv_vm *vm = NULL;
    int r = 0;

    *out = NULL;
    if (!root || strcmp((const char *)root->name, "domain")) {
        r = ovfk_err_set(err, OVFK_ECORRUPT, "is not a libvirt domain XML%s",
                         too_large ? " (larger than 4 MiB)" : "");
        goto out;
    }
    if (doc->intSubset) {
        r = ovfk_err_set(err, OVFK_EUNSUPPORTED, "has a DTD; refused");
        goto out;
    }
    ctx = xmlXPathNewContext(doc);
    vm = ovfk_hv_vm_new();
    if (!ctx || !vm) {
        r = ovfk_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    xmlXPathRegisterNs(ctx, BAD_CAST "o", BAD_CAST OVFKIT_NS);
    xmlXPathRegisterNs(ctx, BAD_CAST "libosinfo", BAD_CAST LIBOSINFO_NS);
    texts(ctx, vm);
    firmware(ctx, vm);
    r = numbers(ctx, vm, err);
    if (r == 0) {
        r = disks(ctx, vm, flags, err);
    }
    if (r == 0) {
        mark_owned(ctx, vm);
        r = nics(ctx, vm, err);
    }
out:
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    if (r < 0) {
        ovfk_hv_vm_free(vm);
        return r;
    }
    *out = vm;
    return 0;
}

#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

int hv_domxml_parse(const char *xml, size_t len, unsigned flags,
                    struct ovfk_hv_vm **out, ovfk_err *err)
{
    bool too_large = len > HV_DOMXML_MAX;

    return parse_doc(too_large ? NULL : xmlReadMemory(xml, (int)len,
                                                      "domain.xml", NULL,
                                                      XML_OPTS),
                     too_large, flags, out, err);
}

int hv_domxml_parse_file(const char *path, unsigned flags,
                         struct ovfk_hv_vm **out, ovfk_err *err)
{
    struct stat st;
    bool too_large = stat(path, &st) == 0 && st.st_size > HV_DOMXML_MAX;

    return parse_doc(too_large ? NULL : xmlReadFile(path, NULL, XML_OPTS),
                     too_large, flags, out, err);
}

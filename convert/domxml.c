/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert/domxml.c - a libvirt domain XML (virsh dumpxml) as a conversion
 * source, read with libxml2 (no DTD, no network, no entities): name,
 * UUID, vCPUs, memory, firmware, the guest OS from libosinfo metadata when
 * present, file- and block-backed disks, and interfaces.
 */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "convert/vmsrc.h"
#include "util/err.h"

#define MAX_XML (4u << 20)

static char *xp_str(xmlXPathContextPtr ctx, const char *expr)
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

static uint64_t to_mib(const char *v, const char *unit)
{
    uint64_t n = v ? strtoull(v, NULL, 10) : 0;

    if (!unit || !strcasecmp(unit, "KiB") || !strcasecmp(unit, "k")) {
        return n / 1024;
    }
    if (!strcasecmp(unit, "MiB") || !strcasecmp(unit, "M")) {
        return n;
    }
    if (!strcasecmp(unit, "GiB") || !strcasecmp(unit, "G")) {
        return n * 1024;
    }
    if (!strcasecmp(unit, "b") || !strcasecmp(unit, "bytes")) {
        return n >> 20;
    }
    if (!strcasecmp(unit, "KB")) {
        return n * 1000 / 1048576;
    }
    if (!strcasecmp(unit, "MB")) {
        return n * 1000000 / 1048576;
    }
    if (!strcasecmp(unit, "GB")) {
        return n * 1000000000 / 1048576;
    }
    return n / 1024;
}

int ovfk_vm_from_domxml(const char *path, struct ovfk_hv_vm **out)
{
    struct stat st;
    xmlDocPtr doc = stat(path, &st) == 0 && st.st_size <= MAX_XML ?
                    xmlReadFile(path, NULL, XML_PARSE_NONET |
                                XML_PARSE_NOERROR | XML_PARSE_NOWARNING) :
                    NULL;
    xmlXPathContextPtr ctx = NULL;
    xmlXPathObjectPtr set = NULL;
    struct ovfk_hv_vm *vm = NULL;
    char *v, *u;
    int r = 0;

    *out = NULL;
    if (!doc || !xmlDocGetRootElement(doc) ||
        strcmp((const char *)xmlDocGetRootElement(doc)->name, "domain")) {
        r = ovfk_err_last(OVFK_ECORRUPT, "'%s' is not a libvirt domain XML",
                          path);
        goto out;
    }
    if (doc->intSubset) {
        /* valid XML, but entities are not expanded here */
        r = ovfk_err_last(OVFK_EUNSUPPORTED, "'%s' has a DTD; refused", path);
        goto out;
    }
    ctx = xmlXPathNewContext(doc);
    vm = ovfk_hv_vm_new();
    if (!ctx || !vm) {
        r = ovfk_err_last(-ENOMEM, "out of memory");
        goto out;
    }
    xmlXPathRegisterNs(ctx, BAD_CAST "libosinfo",
                       BAD_CAST
                       "http://libosinfo.org/xmlns/libvirt/domain/1.0");
    vm->name = xp_str(ctx, "/domain/name");
    if (!vm->name) {
        vm->name = strdup("vm");
    }
    if ((v = xp_str(ctx, "/domain/uuid"))) {
        ovfk_hv_uuid_parse(v, vm->uuid);
        free(v);
    }
    v = xp_str(ctx, "/domain/vcpu");
    vm->cpus = v ? (uint32_t)strtoul(v, NULL, 10) : 1;
    free(v);
    v = xp_str(ctx, "/domain/memory");
    u = xp_str(ctx, "string(/domain/memory/@unit)");
    vm->memory_mib = to_mib(v, u);
    free(v);
    free(u);
    v = xp_str(ctx, "string(/domain/os/@firmware)");
    u = xp_str(ctx, "/domain/os/loader");
    vm->firmware = strdup((v && !strcmp(v, "efi")) ||
                          (u && strcasestr(u, "OVMF")) ? "efi" : "bios");
    free(v);
    free(u);
    /* virt-install records the OS as a libosinfo id: kept as it is */
    vm->os_type = xp_str(ctx, "string(/domain/metadata/libosinfo:libosinfo/"
                              "libosinfo:os/@id)");
    set = xmlXPathEvalExpression(BAD_CAST "/domain/devices/disk[@device='disk'"
                                 " or not(@device)]", ctx);
    for (int i = 0; set && set->nodesetval && i < set->nodesetval->nodeNr;
         i++) {
        xmlNodePtr n = set->nodesetval->nodeTab[i];
        struct ovfk_hv_disk *d;
        char id[32];
        ctx->node = n;
        v = xp_str(ctx, "string(source/@file)");
        if (!v) {
            v = xp_str(ctx, "string(source/@dev)");
        }
        if (!v) {
            continue;   /* network disks are not read */
        }
        d = ovfk_hv_vm_add_disk(vm);
        if (!d) {
            free(v);
            r = ovfk_err_last(-ENOMEM, "out of memory");
            goto out;
        }
        d->path = v;
        u = xp_str(ctx, "string(driver/@type)");
        d->format = u && (!strcmp(u, "raw") || !strcmp(u, "qcow2") ||
                          !strcmp(u, "vmdk") || !strcmp(u, "vhdx")) ? u : NULL;
        if (d->format != u) {
            free(u);
        }
        if (d->format && !strcmp(d->format, "vpc")) {
            free(d->format);
            d->format = strdup("vhd");
        }
        d->bus = xp_str(ctx, "string(target/@bus)");
        snprintf(id, sizeof(id), "vmdisk%zu", vm->n_disks);
        d->id = strdup(id);
        d->boot_order = vm->n_disks == 1;
    }
    xmlXPathFreeObject(set);
    set = xmlXPathEvalExpression(BAD_CAST "/domain/devices/interface", ctx);
    for (int i = 0; set && set->nodesetval && i < set->nodesetval->nodeNr;
         i++) {
        struct ovfk_hv_nic *n = ovfk_hv_vm_add_nic(vm);
        if (!n) {
            r = ovfk_err_last(-ENOMEM, "out of memory");
            goto out;
        }
        ctx->node = set->nodesetval->nodeTab[i];
        v = xp_str(ctx, "string(mac/@address)");
        if (v && ovfk_hv_mac_normalize(v, n->mac) < 0) {
            n->mac[0] = '\0';
        }
        free(v);
        n->network = xp_str(ctx, "string(source/@network)");
        if (!n->network) {
            n->network = xp_str(ctx, "string(source/@bridge)");
        }
        if (!n->network) {
            n->network = strdup("default");
        }
        n->model = xp_str(ctx, "string(model/@type)");
    }
    if (vm->n_disks == 0) {
        /* network and volume disks are valid, but not read here */
        r = ovfk_err_last(OVFK_EUNSUPPORTED, "'%s' has no file or block disk",
                          path);
    }
out:
    xmlXPathFreeObject(set);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    if (r < 0) {
        ovfk_hv_vm_free(vm);
        return r;
    }
    *out = vm;
    return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv/libvirt.c - the libvirt inventory: any libvirt URI (qemu:///system,
 * xen:///, qemu+ssh://host/system, test:///default) through the libvirt C
 * API.  VMs are domains; their XML is written and read with libxml2.
 * What libvirt has no element for (the guest OS type as given, its CIM
 * id) goes in the domain's <metadata> under our namespace.
 */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv/internal.h"
#include "util/fs.h"
#include "hv/virt.h"

struct lv_priv {
    virConnectPtr conn;
    char type[16];              /* the domain type to write */
    char lockdir[PATH_MAX];
    char scratch[PATH_MAX];     /* test driver: its VMs' disks, removed
                                   with the connection (see lv_disk_dir) */
};

static struct lv_priv *P(ovfk_hv_conn *c)
{
    return c->priv;
}

static void silent(void *opaque, virErrorPtr e)
{
    (void)opaque;
    (void)e;
}

/* libxml2's own printing inside libvirt (the test driver reads its file
 * with it: "I/O warning : failed to load external entity"), for this
 * thread while libvirt works; libvirt's error, which we report, says the
 * same in its words. */
static void xml_silent(void *opaque, const char *fmt, ...)
{
    (void)opaque;
    (void)fmt;
}

static void xml_silent_structured(void *opaque, xmlErrorPtr e)
{
    (void)opaque;
    (void)e;
}

static int lv_error(ovfk_hv_conn *c, const char *what)
{
    const char *m = virGetLastErrorMessage();

    return ovfk_err_set(&c->err, -EIO, "%s: %s", what, m ? m : "libvirt "
                        "error");
}

static int lv_open(ovfk_hv_conn *c, const char *uri)
{
    struct lv_priv *p = calloc(1, sizeof(*p));
    const char *t;

    if (!p) {
        return ovfk_err_set(&c->err, -ENOMEM, "out of memory");
    }
    if (hv_virt_load(&c->err) < 0) {
        free(p);
        return c->err.code;
    }
    virSetErrorFunc(NULL, silent);
    {
        xmlGenericErrorFunc old = xmlGenericError;
        void *old_ctx = xmlGenericErrorContext;
        xmlStructuredErrorFunc old_s = xmlStructuredError;
        void *old_sctx = xmlStructuredErrorContext;

        xmlSetGenericErrorFunc(NULL, xml_silent);
        xmlSetStructuredErrorFunc(NULL, xml_silent_structured);
        p->conn = virConnectOpen(uri);
        xmlSetGenericErrorFunc(old_ctx, old);
        xmlSetStructuredErrorFunc(old_sctx, old_s);
    }
    if (!p->conn) {
        free(p);
        return lv_error(c, "cannot connect to libvirt");
    }
    t = virConnectGetType(p->conn);
    if (t && !strcasecmp(t, "test")) {
        snprintf(p->type, sizeof(p->type), "test");
    } else if (t && !strcasecmp(t, "xen")) {
        snprintf(p->type, sizeof(p->type), "xen");
    } else {
        /* KVM when asked for: it is missing or broken on many hosts */
        const char *accel = getenv("OVFKIT_ACCEL");
        snprintf(p->type, sizeof(p->type), "%s",
                 accel && !strcmp(accel, "kvm") ? "kvm" : "qemu");
    }
    snprintf(p->lockdir, sizeof(p->lockdir), "/tmp/ovfkit-locks-%d",
             (int)getuid());
    mkdir(p->lockdir, 0700);
    c->priv = p;
    return 0;
}

static void lv_close(ovfk_hv_conn *c)
{
    if (P(c)) {
        virConnectClose(P(c)->conn);
        if (P(c)->scratch[0]) {
            ovfk_rm_tree(P(c)->scratch);
        }
        free(P(c));
    }
}

/* --- domain XML out --- */

static const char *target_prefix(const char *bus)
{
    if (!bus || !strcmp(bus, "virtio")) {
        return "vd";
    }
    if (!strcmp(bus, "xen")) {
        return "xvd";
    }
    if (!strcmp(bus, "ide")) {
        return "hd";
    }
    return "sd";
}

static const char *libvirt_bus(const char *bus)
{
    return !bus || !strcmp(bus, "virtio") ? "virtio" : bus;
}

static char *domain_xml(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr dom = xmlNewNode(NULL, BAD_CAST "domain"), os, type, devs, n,
               meta, mine;
    xmlNsPtr ns;
    int counts[4] = { 0 };
    char uuid[37], num[32];
    xmlChar *mem = NULL;
    char *out = NULL;
    int size;

    xmlDocSetRootElement(doc, dom);
    xmlNewProp(dom, BAD_CAST "type", BAD_CAST P(c)->type);
    xmlNewTextChild(dom, NULL, BAD_CAST "name", BAD_CAST vm->name);
    ovfk_hv_uuid_str(vm->uuid, uuid);
    xmlNewTextChild(dom, NULL, BAD_CAST "uuid", BAD_CAST uuid);
    if (vm->description) {
        xmlNewTextChild(dom, NULL, BAD_CAST "description",
                        BAD_CAST vm->description);
    }
    meta = xmlNewChild(dom, NULL, BAD_CAST "metadata", NULL);
    mine = xmlNewChild(meta, NULL, BAD_CAST "vm", NULL);
    ns = xmlNewNs(mine, BAD_CAST OVFKIT_NS, BAD_CAST "ovfkit");
    xmlSetNs(mine, ns);
    snprintf(num, sizeof(num), "%d", vm->os_id);
    xmlNewProp(mine, BAD_CAST "os-id", BAD_CAST num);
    if (vm->os_type) {
        xmlNewProp(mine, BAD_CAST "os-type", BAD_CAST vm->os_type);
    }
    /* the disks we made for this VM: removing it removes only those */
    for (size_t i = 0; i < vm->n_disks; i++) {
        if (vm->disks[i].owned && vm->disks[i].path) {
            n = xmlNewChild(mine, ns, BAD_CAST "owns", NULL);
            xmlNewProp(n, BAD_CAST "path", BAD_CAST vm->disks[i].path);
        }
    }
    snprintf(num, sizeof(num), "%llu", (unsigned long long)vm->memory_mib);
    n = xmlNewTextChild(dom, NULL, BAD_CAST "memory", BAD_CAST num);
    xmlNewProp(n, BAD_CAST "unit", BAD_CAST "MiB");
    snprintf(num, sizeof(num), "%u", vm->cpus);
    xmlNewTextChild(dom, NULL, BAD_CAST "vcpu", BAD_CAST num);
    os = xmlNewChild(dom, NULL, BAD_CAST "os", NULL);
    type = xmlNewTextChild(os, NULL, BAD_CAST "type", BAD_CAST "hvm");
    xmlNewProp(type, BAD_CAST "arch", BAD_CAST "x86_64");
    if (vm->firmware && !strcmp(vm->firmware, "efi")) {
        xmlNewProp(os, BAD_CAST "firmware", BAD_CAST "efi");
    }
    if (vm->kernel) {
        xmlNewTextChild(os, NULL, BAD_CAST "kernel", BAD_CAST vm->kernel);
        if (vm->initrd) {
            xmlNewTextChild(os, NULL, BAD_CAST "initrd", BAD_CAST vm->initrd);
        }
        if (vm->cmdline) {
            xmlNewTextChild(os, NULL, BAD_CAST "cmdline",
                            BAD_CAST vm->cmdline);
        }
    }
    xmlNewProp(xmlNewChild(os, NULL, BAD_CAST "boot", NULL), BAD_CAST "dev",
               BAD_CAST "hd");
    devs = xmlNewChild(dom, NULL, BAD_CAST "devices", NULL);
    for (size_t i = 0; i < vm->n_disks; i++) {
        const struct ovfk_hv_disk *d = &vm->disks[i];
        const char *pre = target_prefix(d->bus);
        int *cnt = &counts[pre[0] == 'v' ? 0 : pre[0] == 'x' ? 1
                           : pre[0] == 'h' ? 2 : 3];
        char dev[16];
        xmlNodePtr disk = xmlNewChild(devs, NULL, BAD_CAST "disk", NULL);
        xmlNewProp(disk, BAD_CAST "type", BAD_CAST "file");
        xmlNewProp(disk, BAD_CAST "device", BAD_CAST "disk");
        n = xmlNewChild(disk, NULL, BAD_CAST "driver", NULL);
        xmlNewProp(n, BAD_CAST "name", BAD_CAST "qemu");
        xmlNewProp(n, BAD_CAST "type", BAD_CAST (!d->format ||
                   !strcmp(d->format, "vhd") ? "vpc" : d->format));
        n = xmlNewChild(disk, NULL, BAD_CAST "source", NULL);
        xmlNewProp(n, BAD_CAST "file", BAD_CAST d->path);
        snprintf(dev, sizeof(dev), "%s%c", pre, 'a' + (*cnt)++ % 26);
        n = xmlNewChild(disk, NULL, BAD_CAST "target", NULL);
        xmlNewProp(n, BAD_CAST "dev", BAD_CAST dev);
        xmlNewProp(n, BAD_CAST "bus", BAD_CAST libvirt_bus(d->bus));
    }
    for (size_t i = 0; i < vm->n_nics; i++) {
        xmlNodePtr nic = xmlNewChild(devs, NULL, BAD_CAST "interface", NULL);
        xmlNewProp(nic, BAD_CAST "type", BAD_CAST "network");
        n = xmlNewChild(nic, NULL, BAD_CAST "mac", NULL);
        xmlNewProp(n, BAD_CAST "address", BAD_CAST vm->nics[i].mac);
        n = xmlNewChild(nic, NULL, BAD_CAST "source", NULL);
        xmlNewProp(n, BAD_CAST "network", BAD_CAST vm->nics[i].network);
        n = xmlNewChild(nic, NULL, BAD_CAST "model", NULL);
        xmlNewProp(n, BAD_CAST "type", BAD_CAST (vm->nics[i].model ?
                   vm->nics[i].model : "virtio"));
    }
    xmlDocDumpFormatMemory(doc, &mem, &size, 1);
    if (mem) {
        out = strndup((const char *)mem, (size_t)size);
    }
    xmlFree(mem);
    xmlFreeDoc(doc);
    return out;
}

/* --- domain XML in --- */

static char *xp_str(xmlXPathContextPtr ctx, const char *expr)
{
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    char *r = NULL;

    if (o && o->type == XPATH_NODESET && o->nodesetval &&
        o->nodesetval->nodeNr > 0) {
        xmlChar *v = xmlNodeGetContent(o->nodesetval->nodeTab[0]);
        r = v ? strdup((const char *)v) : NULL;
        xmlFree(v);
    }
    xmlXPathFreeObject(o);
    return r;
}

static uint64_t memory_mib(const char *value, const char *unit)
{
    uint64_t v = value ? strtoull(value, NULL, 10) : 0;

    if (!unit || !strcasecmp(unit, "KiB") || !strcasecmp(unit, "k")) {
        return v / 1024;
    }
    if (!strcasecmp(unit, "MiB") || !strcasecmp(unit, "M")) {
        return v;
    }
    if (!strcasecmp(unit, "GiB") || !strcasecmp(unit, "G")) {
        return v * 1024;
    }
    if (!strcasecmp(unit, "b") || !strcasecmp(unit, "bytes")) {
        return v >> 20;
    }
    return v / 1024;
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

static int parse_domain(const char *xml, struct ovfk_hv_vm **out)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR |
                                  XML_PARSE_NOWARNING);
    xmlXPathContextPtr ctx;
    xmlXPathObjectPtr set;
    struct ovfk_hv_vm *vm;
    char *v, *u;

    *out = NULL;
    if (!doc) {
        return -EINVAL;
    }
    vm = ovfk_hv_vm_new();
    ctx = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(ctx, BAD_CAST "o", BAD_CAST OVFKIT_NS);
    vm->name = xp_str(ctx, "/domain/name");
    v = xp_str(ctx, "/domain/uuid");
    ovfk_hv_uuid_parse(v, vm->uuid);
    free(v);
    vm->description = xp_str(ctx, "/domain/description");
    v = xp_str(ctx, "/domain/memory");
    u = xp_str(ctx, "/domain/memory/@unit");
    vm->memory_mib = memory_mib(v, u);
    free(v);
    free(u);
    v = xp_str(ctx, "/domain/vcpu");
    vm->cpus = v ? (uint32_t)atoi(v) : 1;
    free(v);
    vm->os_type = xp_str(ctx, "/domain/metadata/o:vm/@os-type");
    v = xp_str(ctx, "/domain/metadata/o:vm/@os-id");
    vm->os_id = v ? atoi(v) : 0;
    free(v);
    v = xp_str(ctx, "/domain/os/@firmware");
    vm->firmware = v ? v : strdup("bios");
    vm->kernel = xp_str(ctx, "/domain/os/kernel");
    vm->initrd = xp_str(ctx, "/domain/os/initrd");
    vm->cmdline = xp_str(ctx, "/domain/os/cmdline");
    set = xmlXPathEvalExpression(BAD_CAST
                                 "/domain/devices/disk[@device='disk']", ctx);
    for (int i = 0; set && set->nodesetval && i < set->nodesetval->nodeNr;
         i++) {
        struct ovfk_hv_disk *d = ovfk_hv_vm_add_disk(vm);
        char id[32];
        ctx->node = set->nodesetval->nodeTab[i];
        d->path = xp_str(ctx, "source/@file");
        if (!d->path) {
            d->path = xp_str(ctx, "source/@dev");
        }
        v = xp_str(ctx, "driver/@type");
        d->format = strdup(!v || !strcmp(v, "vpc") ? "vhd" : v);
        free(v);
        d->bus = xp_str(ctx, "target/@bus");
        snprintf(id, sizeof(id), "vmdisk%d", i + 1);
        d->id = strdup(id);
        d->boot_order = i == 0;
        d->capacity = hv_image_capacity(d->path, d->format);
    }
    xmlXPathFreeObject(set);
    mark_owned(ctx, vm);
    set = xmlXPathEvalExpression(BAD_CAST "/domain/devices/interface", ctx);
    for (int i = 0; set && set->nodesetval && i < set->nodesetval->nodeNr;
         i++) {
        struct ovfk_hv_nic *n = ovfk_hv_vm_add_nic(vm);
        ctx->node = set->nodesetval->nodeTab[i];
        v = xp_str(ctx, "mac/@address");
        if (v) {
            ovfk_hv_mac_normalize(v, n->mac);
        }
        free(v);
        n->network = xp_str(ctx, "source/@network");
        if (!n->network) {
            n->network = xp_str(ctx, "source/@bridge");
        }
        if (!n->network) {
            n->network = strdup("default");
        }
        n->model = xp_str(ctx, "model/@type");
    }
    xmlXPathFreeObject(set);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    *out = vm;
    return 0;
}

static int lv_list(ovfk_hv_conn *c, struct ovfk_hv_vm ***out, size_t *n)
{
    virDomainPtr *doms = NULL;
    struct ovfk_hv_vm **vms;
    int count = virConnectListAllDomains(P(c)->conn, &doms, 0);

    if (count < 0) {
        return lv_error(c, "cannot list domains");
    }
    vms = calloc((size_t)count + 1, sizeof(*vms));
    for (int i = 0; i < count; i++) {
        char *xml = virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE);
        if (xml && vms && parse_domain(xml, &vms[*n]) == 0) {
            (*n)++;
        }
        free(xml);
        virDomainFree(doms[i]);
    }
    free(doms);
    *out = vms;
    return vms ? 0 : ovfk_err_set(&c->err, -ENOMEM, "out of memory");
}

static int lv_define(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm)
{
    char *xml = domain_xml(c, vm);
    virDomainPtr d = xml ? virDomainDefineXML(P(c)->conn, xml) : NULL;

    free(xml);
    if (!d) {
        return lv_error(c, "cannot define the domain");
    }
    virDomainFree(d);
    return 0;
}

static virDomainPtr lookup(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm)
{
    return virDomainLookupByUUID(P(c)->conn, vm->uuid);
}

static int lv_replace(ovfk_hv_conn *c, const struct ovfk_hv_vm *old,
                      const struct ovfk_hv_vm *vm)
{
    virDomainPtr d;
    char *saved;
    int r;

    if (!strcmp(old->name, vm->name)) {
        return lv_define(c, vm);    /* same name and UUID: an update */
    }
    d = lookup(c, old);
    if (!d) {
        return lv_define(c, vm);
    }
    saved = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
    if (virDomainUndefine(d) < 0) {
        virDomainFree(d);
        free(saved);
        return lv_error(c, "cannot undefine the old domain");
    }
    virDomainFree(d);
    r = lv_define(c, vm);
    if (r < 0 && saved) {
        virDomainPtr back = virDomainDefineXML(P(c)->conn, saved);
        if (back) {
            virDomainFree(back);
        }
    }
    free(saved);
    return r;
}

static int lv_remove(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm,
                     const struct hv_refs *refs)
{
    virDomainPtr d = lookup(c, vm);

    if (!d) {
        return lv_error(c, "no such domain");
    }
    if (virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                               VIR_DOMAIN_UNDEFINE_NVRAM) < 0 &&
        virDomainUndefine(d) < 0) {
        virDomainFree(d);
        return lv_error(c, "cannot undefine the domain");
    }
    virDomainFree(d);
    for (size_t i = 0; i < vm->n_disks; i++) {
        if (hv_disk_removable(&vm->disks[i], refs)) {
            unlink(vm->disks[i].path);
        }
    }
    return 0;
}

static int lv_networks(ovfk_hv_conn *c, char ***names, size_t *n)
{
    virNetworkPtr *nets = NULL;
    int count = virConnectListAllNetworks(P(c)->conn, &nets, 0);
    int r = 0;

    if (count < 0) {
        return lv_error(c, "cannot list networks");
    }
    for (int i = 0; i < count; i++) {
        if (r == 0) {
            r = hv_strv_add(names, n, virNetworkGetName(nets[i]));
        }
        virNetworkFree(nets[i]);
    }
    free(nets);
    return r;
}

/*
 * New disks go to the "default" storage pool's directory.  libvirt's test
 * driver keeps its VMs in this process only: they are gone when the
 * connection closes, and disks written for them into a real directory
 * (/var/lib/libvirt/images) would stay behind with nothing naming them.
 * Its disks go to a private directory that closing the connection
 * removes, so they live exactly as long as their VMs (an import's
 * --storage still puts them where the user says).
 */
static int lv_disk_dir(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, char *buf,
                       size_t len)
{
    virStoragePoolPtr pool;
    struct stat st;
    char *path = NULL;

    (void)vm;
    if (!strcmp(P(c)->type, "test")) {
        const char *tmp = getenv("TMPDIR");
        if (!P(c)->scratch[0]) {
            snprintf(P(c)->scratch, sizeof(P(c)->scratch),
                     "%s/ovfkit-test-driver-XXXXXX", tmp && *tmp ? tmp :
                     "/var/tmp");
            if (!mkdtemp(P(c)->scratch)) {
                int e = -errno;
                P(c)->scratch[0] = '\0';
                return ovfk_err_set(&c->err, e, "cannot make a directory for "
                                    "the test driver's disks: %s",
                                    strerror(-e));
            }
        }
        snprintf(buf, len, "%s", P(c)->scratch);
        return 0;
    }
    pool = virStoragePoolLookupByName(P(c)->conn, "default");
    if (pool) {
        char *xml = virStoragePoolGetXMLDesc(pool, 0);
        xmlDocPtr doc = xml ? xmlReadMemory(xml, (int)strlen(xml), "pool",
                                            NULL, XML_PARSE_NONET) : NULL;
        if (doc) {
            xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
            path = xp_str(ctx, "/pool/target/path");
            xmlXPathFreeContext(ctx);
            xmlFreeDoc(doc);
        }
        free(xml);
        virStoragePoolFree(pool);
    }
    snprintf(buf, len, "%s", path ? path : "/var/lib/libvirt/images");
    free(path);
    if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode)) {
        return ovfk_err_set(&c->err, -ENOENT, "the storage directory '%s' "
                            "does not exist here; choose one with --storage",
                            buf);
    }
    return 0;
}

static int lv_is_running(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm)
{
    virDomainPtr d = lookup(c, vm);
    int r;

    if (!d) {
        return 0;
    }
    r = virDomainIsActive(d);
    virDomainFree(d);
    return r > 0;
}

static int lv_start(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, bool console)
{
    virDomainPtr d = lookup(c, vm);
    int r;

    (void)console;
    if (!d) {
        return lv_error(c, "no such domain");
    }
    r = virDomainCreate(d) < 0 ? lv_error(c, "cannot start the domain") : 0;
    virDomainFree(d);
    return r;
}

static int lv_stop(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm)
{
    virDomainPtr d = lookup(c, vm);
    int r;

    if (!d) {
        return lv_error(c, "no such domain");
    }
    r = virDomainDestroy(d) < 0 ? lv_error(c, "cannot stop the domain") : 0;
    virDomainFree(d);
    return r;
}

static int lv_lock_path(ovfk_hv_conn *c, const uint8_t *uuid, char *path,
                        size_t len)
{
    char u[37] = "inventory";

    if (uuid) {
        ovfk_hv_uuid_str(uuid, u);
    }
    snprintf(path, len, "%s/%s.lock", P(c)->lockdir, u);
    return 0;
}

static int lv_vm_dir(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, char *buf,
                     size_t len)
{
    (void)vm;
    (void)buf;
    (void)len;
    return ovfk_err_set(&c->err, -ENOTSUP, "snapshots over VHD chains live "
                        "in the dir store; libvirt has its own");
}

const struct hv_driver hv_libvirt_driver = {
    .name = "libvirt",
    .open = lv_open,
    .close = lv_close,
    .list = lv_list,
    .define = lv_define,
    .replace = lv_replace,
    .remove = lv_remove,
    .networks = lv_networks,
    .shared_disk_dir = true,
    .disk_dir = lv_disk_dir,
    .is_running = lv_is_running,
    .start = lv_start,
    .stop = lv_stop,
    .lock_path = lv_lock_path,
    .vm_dir = lv_vm_dir,
};

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv/ovfmap.c - a VM as an OVF VirtualSystem and back.
 *
 * Written: CPU, memory, one controller per disk bus, disks, NICs (Address
 * = MAC, Connection = network), the guest OS (CIM id and its description
 * kept exactly), the UUID in vssd:VirtualSystemIdentifier, and what OVF
 * has no place for (firmware, direct kernel boot) as <ovfkit:Config>
 * entries in the hardware section, where VMware puts its vmw:Config.
 *
 * Read: the same, plus what other producers write: the UUID from
 * vbox:Machine or vmw:Config uuid.bios, EFI from vmw:Config firmware,
 * disk buses from controller types, NIC models from ResourceSubType.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hv/internal.h"

#define NS_VMW "http://www.vmware.com/schema/ovf"
#define NS_VBOX "http://www.virtualbox.org/ovf/machine"

static const struct {
    const char *bus;
    int type;
    const char *subtype;
} buses[] = {
    { "virtio", OVFK_OVF_RT_SCSI, "virtio" },
    { "xen", OVFK_OVF_RT_SCSI, "xen-pv" },
    { "scsi", OVFK_OVF_RT_SCSI, "lsilogic" },
    { "ide", OVFK_OVF_RT_IDE, "PIIX4" },
    { "sata", OVFK_OVF_RT_SATA, "AHCI" },
};

static const struct {
    const char *model;
    const char *subtype;
} nic_models[] = {
    { "virtio", "VirtIO" }, { "e1000e", "E1000e" }, { "e1000", "E1000" },
    { "rtl8139", "RTL8139" }, { "vmxnet3", "VmxNet3" }, { "pcnet", "PCNet32" },
};

static int set_num(struct ovfk_ovf_item *it, const char *name, uint64_t v)
{
    char num[32];

    snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    return ovfk_ovf_item_set(it, name, num);
}

int hv_vm_to_ovf(const struct ovfk_hv_vm *vm, const char *const *hrefs,
                 const uint64_t *sizes, int version, ovfk_ovf_doc **out)
{
    struct ovfk_ovf_system *s;
    struct ovfk_ovf_item *it;
    char id[64], text[128], uuid[37];
    int ctrl[sizeof(buses) / sizeof(buses[0])] = { 0 };
    int used[sizeof(buses) / sizeof(buses[0])] = { 0 };
    int inst = 1, r;
    ovfk_ovf_doc *d;

    r = ovfk_ovf_new(version, &d);
    if (r < 0) {
        return r;
    }
    d->has_top = true;
    s = &d->top;
    ovfk_ovf_set_str(&s->id, vm->name);
    ovfk_ovf_set_str(&s->name, vm->name);
    ovfk_ovf_set_str(&s->annotation, vm->description);
    s->has_os = true;
    s->os_id = vm->os_type || vm->os_id ? vm->os_id : 1;   /* 1: Other */
    ovfk_ovf_set_str(&s->os_description, vm->os_type);
    for (size_t i = 0; i < vm->n_disks; i++) {
        const struct ovfk_hv_disk *k = &vm->disks[i];
        snprintf(id, sizeof(id), "file%zu", i + 1);
        if (hrefs && hrefs[i] &&
            !ovfk_ovf_add_file(d, id, hrefs[i], sizes[i])) {
            goto oom;
        }
        if (!ovfk_ovf_add_disk(d, k->id, hrefs && hrefs[i] ? id : NULL,
                          k->capacity, HV_VHD_FORMAT_URI)) {
            goto oom;
        }
    }
    for (size_t i = 0; i < vm->n_nics; i++) {
        bool seen = false;
        for (size_t j = 0; j < d->n_networks; j++) {
            seen |= !strcmp(d->networks[j].name, vm->nics[i].network);
        }
        snprintf(text, sizeof(text), "The %s network", vm->nics[i].network);
        if (!seen && !ovfk_ovf_add_network(d, vm->nics[i].network, text)) {
            goto oom;
        }
    }
    ovfk_hv_uuid_str(vm->uuid, uuid);
    s->has_hardware = true;
    if (ovfk_ovf_prop_set(&s->vssd, &s->n_vssd, "ElementName",
                          "Virtual Hardware "
                          "Family") < 0 ||
        ovfk_ovf_prop_set(&s->vssd, &s->n_vssd, "InstanceID", "0") < 0 ||
        ovfk_ovf_prop_set(&s->vssd, &s->n_vssd, "VirtualSystemIdentifier",
                          uuid) < 0 ||
        ovfk_ovf_prop_set(&s->vssd, &s->n_vssd, "VirtualSystemType",
                          "ovfkit-1") < 0) {
        goto oom;
    }
    snprintf(text, sizeof(text), "%u virtual CPU(s)", vm->cpus);
    snprintf(id, sizeof(id), "%d", inst++);
    it = ovfk_ovf_add_item(s, OVFK_OVF_RT_PROCESSOR, id, text);
    if (!it || set_num(it, "VirtualQuantity", vm->cpus) < 0 ||
        ovfk_ovf_item_set(it, "AllocationUnits", "hertz * 10^6") < 0) {
        goto oom;
    }
    snprintf(text, sizeof(text), "%llu MB of memory",
             (unsigned long long)vm->memory_mib);
    snprintf(id, sizeof(id), "%d", inst++);
    it = ovfk_ovf_add_item(s, OVFK_OVF_RT_MEMORY, id, text);
    if (!it || set_num(it, "VirtualQuantity", vm->memory_mib) < 0 ||
        ovfk_ovf_item_set(it, "AllocationUnits", "byte * 2^20") < 0) {
        goto oom;
    }
    for (size_t i = 0; i < vm->n_disks; i++) {
        const char *bus = vm->disks[i].bus ? vm->disks[i].bus : "virtio";
        size_t b = 0;
        while (b + 1 < sizeof(buses) / sizeof(buses[0]) &&
               strcmp(buses[b].bus, bus)) {
            b++;
        }
        if (strcmp(buses[b].bus, bus)) {
            b = 0;
        }
        if (!ctrl[b]) {
            ctrl[b] = inst++;
            snprintf(id, sizeof(id), "%d", ctrl[b]);
            snprintf(text, sizeof(text), "%s controller", buses[b].bus);
            it = ovfk_ovf_add_item(s, buses[b].type, id, text);
            if (!it || ovfk_ovf_item_set(it, "ResourceSubType",
                                    buses[b].subtype) < 0) {
                goto oom;
            }
        }
        snprintf(id, sizeof(id), "%d", inst++);
        snprintf(text, sizeof(text), "disk %zu", i + 1);
        it = ovfk_ovf_add_item(s, OVFK_OVF_RT_DISK, id, text);
        snprintf(text, sizeof(text), "ovf:/disk/%s", vm->disks[i].id);
        if (!it || ovfk_ovf_item_set(it, "HostResource", text) < 0 ||
            set_num(it, "Parent", (uint64_t)ctrl[b]) < 0 ||
            set_num(it, "AddressOnParent", (uint64_t)used[b]++) < 0) {
            goto oom;
        }
    }
    for (size_t i = 0; i < vm->n_nics; i++) {
        const char *sub = "VirtIO";
        for (size_t m = 0; m < sizeof(nic_models) / sizeof(nic_models[0]);
             m++) {
            if (vm->nics[i].model && !strcmp(vm->nics[i].model,
                                             nic_models[m].model)) {
                sub = nic_models[m].subtype;
            }
        }
        snprintf(id, sizeof(id), "%d", inst++);
        snprintf(text, sizeof(text), "Ethernet adapter on %s",
                 vm->nics[i].network);
        it = ovfk_ovf_add_item(s, OVFK_OVF_RT_ETHERNET, id, text);
        if (!it || ovfk_ovf_item_set(it, "Address", vm->nics[i].mac) < 0 ||
            ovfk_ovf_item_set(it, "Connection", vm->nics[i].network) < 0 ||
            ovfk_ovf_item_set(it, "ResourceSubType", sub) < 0 ||
            ovfk_ovf_item_set(it, "AutomaticAllocation", "true") < 0) {
            goto oom;
        }
    }
    if ((vm->firmware &&
         ovfk_ovf_hw_set_config(d, s, OVFKIT_NS, "ovfkit", "firmware",
                                vm->firmware) < 0) ||
        (vm->kernel && ovfk_ovf_hw_set_config(d, s, OVFKIT_NS, "ovfkit",
                                              "kernel", vm->kernel) < 0) ||
        (vm->initrd && ovfk_ovf_hw_set_config(d, s, OVFKIT_NS, "ovfkit",
                                              "initrd", vm->initrd) < 0) ||
        (vm->cmdline && ovfk_ovf_hw_set_config(d, s, OVFKIT_NS, "ovfkit",
                                               "cmdline", vm->cmdline) < 0) ||
        ovfk_ovf_hw_set_config(d, s, OVFKIT_NS, "ovfkit", "uuid", uuid) < 0) {
        goto oom;
    }
    *out = d;
    return 0;
oom:
    ovfk_ovf_free(d);
    return ovfk_err_last(-ENOMEM, "out of memory");
}

const struct ovfk_ovf_system *hv_pick_system(const ovfk_ovf_doc *d,
                                             const char *id, ovfk_err *err)
{
    const struct ovfk_ovf_system *pick = NULL;
    char ids[512] = "";
    size_t count = 0;

    for (size_t i = 0; i < ovfk_ovf_system_count(d); i++) {
        const struct ovfk_ovf_system *s = ovfk_ovf_system_at(d, i);
        if (s->collection) {
            continue;
        }
        if (id && s->id && !strcmp(s->id, id)) {
            return s;
        }
        count++;
        pick = pick ? pick : s;
        if (strlen(ids) + (s->id ? strlen(s->id) : 1) + 3 < sizeof(ids)) {
            size_t len = strlen(ids);
            snprintf(ids + len, sizeof(ids) - len, "%s%s",
                     ids[0] ? ", " : "", s->id ? s->id : "?");
        }
    }
    if (id) {
        ovfk_err_set(err, -ENOENT, "the package has no virtual system '%s' "
                     "(it has: %s)", id, ids[0] ? ids : "none");
        return NULL;
    }
    if (count == 0) {
        ovfk_err_set(err, OVFK_ECORRUPT, "the package describes no virtual "
                     "system");
        return NULL;
    }
    if (count > 1) {
        ovfk_err_set(err, -EINVAL, "the package holds %zu virtual systems "
                     "(%s); choose one with --system ID", count, ids);
        return NULL;
    }
    return pick;
}

static const struct ovfk_ovf_item *find_item(const struct ovfk_ovf_system *s,
                                        const char *instance)
{
    for (size_t i = 0; instance && i < s->n_items; i++) {
        const char *id = ovfk_ovf_item_get(&s->items[i], "InstanceID");
        if (id && !strcmp(id, instance)) {
            return &s->items[i];
        }
    }
    return NULL;
}

static const char *bus_of(const struct ovfk_ovf_system *s,
                          const struct ovfk_ovf_item *disk)
{
    const struct ovfk_ovf_item *c =
        find_item(s, ovfk_ovf_item_get(disk, "Parent"));
    const char *sub = c ? ovfk_ovf_item_get(c, "ResourceSubType") : NULL;

    if (!c) {
        return "virtio";
    }
    for (size_t b = 0; sub && b < sizeof(buses) / sizeof(buses[0]); b++) {
        if (!strcasecmp(sub, buses[b].subtype)) {
            return buses[b].bus;
        }
    }
    switch (ovfk_ovf_item_type(c)) {
    case OVFK_OVF_RT_IDE:
        return "ide";
    case OVFK_OVF_RT_SATA:
        return "sata";
    case OVFK_OVF_RT_SCSI:
        return "scsi";
    default:
        return "ide";
    }
}

static char *nic_model(const char *sub)
{
    char low[64];
    size_t i;

    for (i = 0; sub && sub[i] && i < sizeof(low) - 1; i++) {
        low[i] = (char)tolower((unsigned char)sub[i]);
    }
    low[i] = '\0';
    if (strstr(low, "virtio") || strstr(low, "netfront") ||
        strstr(low, "vif")) {
        return strdup("virtio");
    }
    if (strstr(low, "e1000e")) {
        return strdup("e1000e");
    }
    if (strstr(low, "vmxnet")) {
        return strdup("vmxnet3");
    }
    if (strstr(low, "8139")) {
        return strdup("rtl8139");
    }
    if (strstr(low, "pcnet")) {
        return strdup("pcnet");
    }
    return strdup("e1000");
}

static int warnf(char ***w, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int warnf(char ***w, size_t *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return hv_strv_add(w, n, msg);
}

/* The VM's UUID, wherever its producer wrote it. */
static void find_uuid(const struct ovfk_ovf_system *s, uint8_t uuid[16])
{
    char *v = ovfk_ovf_hw_get_config(s, OVFKIT_NS, "uuid");

    if (!v || ovfk_hv_uuid_parse(v, uuid) < 0) {
        free(v);
        v = hv_strdup(ovfk_ovf_prop_get(s->vssd, s->n_vssd,
                                   "VirtualSystemIdentifier"));
    }
    if (!v || ovfk_hv_uuid_parse(v, uuid) < 0) {
        free(v);
        v = ovfk_ovf_system_vendor_attr(s, NS_VBOX, "Machine", "uuid");
    }
    if (!v || ovfk_hv_uuid_parse(v, uuid) < 0) {
        free(v);
        v = ovfk_ovf_hw_get_config(s, NS_VMW, "uuid.bios");
    }
    if (!v || ovfk_hv_uuid_parse(v, uuid) < 0) {
        memset(uuid, 0, 16);
    }
    free(v);
}

int hv_vm_from_ovf(const ovfk_ovf_doc *d, const struct ovfk_ovf_system *s,
                   struct ovfk_hv_vm **out, char ***warn, size_t *nwarn)
{
    struct ovfk_hv_vm *vm = ovfk_hv_vm_new();
    struct ovfk_ovf_hw_summary hw;
    char *v;
    int boot = 1;

    *out = NULL;
    if (!vm) {
        return -ENOMEM;
    }
    ovfk_ovf_summary(d, s, NULL, &hw);
    {
        /* the VM's name: <Name>; else the settings' ElementName, unless it
         * is the "Virtual Hardware Family" VirtualBox and VMware put
         * there; else VirtualSystemIdentifier, unless a UUID; else the id */
        const char *en = ovfk_ovf_prop_get(s->vssd, s->n_vssd, "ElementName");
        const char *vi = ovfk_ovf_prop_get(s->vssd, s->n_vssd,
                                      "VirtualSystemIdentifier");
        uint8_t u[16];
        if (en && strcasestr(en, "Virtual Hardware Family")) {
            en = NULL;
        }
        if (vi && ovfk_hv_uuid_parse(vi, u) == 0) {
            vi = NULL;
        }
        vm->name = hv_strdup(s->name && *s->name ? s->name :
                             en && *en ? en : vi && *vi ? vi : s->id);
    }
    find_uuid(s, vm->uuid);
    vm->description = hv_strdup(s->annotation);
    vm->os_type = hv_strdup(s->os_description);
    vm->os_id = s->os_id;
    vm->cpus = hw.cpus ? (uint32_t)hw.cpus : 1;
    vm->memory_mib = hw.memory_mib;
    v = ovfk_ovf_hw_get_config(s, OVFKIT_NS, "firmware");
    if (!v) {
        v = ovfk_ovf_hw_get_config(s, NS_VMW, "firmware");
    }
    vm->firmware = v ? v : strdup("bios");
    vm->kernel = ovfk_ovf_hw_get_config(s, OVFKIT_NS, "kernel");
    vm->initrd = ovfk_ovf_hw_get_config(s, OVFKIT_NS, "initrd");
    vm->cmdline = ovfk_ovf_hw_get_config(s, OVFKIT_NS, "cmdline");
    for (size_t i = 0; i < s->n_items; i++) {
        const struct ovfk_ovf_item *it = &s->items[i];
        int t = ovfk_ovf_item_type(it);
        if (!ovfk_ovf_item_in_config(d, it, NULL) ||
            (it->bound && strcmp(it->bound, "normal"))) {
            continue;
        }
        /* XenServer writes its disk images as storage extents (19) */
        if (t == OVFK_OVF_RT_DISK || (t == OVFK_OVF_RT_STORAGE_EXTENT &&
                                 ovfk_ovf_host_resource_disk(ovfk_ovf_item_get(
                                     it, "HostResource")))) {
            const char *did = ovfk_ovf_host_resource_disk(
                ovfk_ovf_item_get(it, "HostResource"));
            const struct ovfk_ovf_disk *k = ovfk_ovf_find_disk(d, did);
            struct ovfk_hv_disk *hd;
            if (!k) {
                warnf(warn, nwarn, "disk drive '%s' names no disk; skipped",
                      ovfk_ovf_item_get(it, "ElementName") ?
                      ovfk_ovf_item_get(it, "ElementName") : "?");
                continue;
            }
            hd = ovfk_hv_vm_add_disk(vm);
            if (!hd) {
                ovfk_hv_vm_free(vm);
                return -ENOMEM;
            }
            hd->id = hv_strdup(k->id);
            hd->capacity = k->capacity;
            hd->bus = hv_strdup(bus_of(s, it));
            hd->boot_order = boot++ == 1 ? 1 : 0;
            hd->format = strdup("vhd");
        } else if (t == OVFK_OVF_RT_ETHERNET) {
            struct ovfk_hv_nic *n = ovfk_hv_vm_add_nic(vm);
            const char *mac = ovfk_ovf_item_get(it, "Address");
            const char *net = ovfk_ovf_item_get(it, "Connection");
            if (!n) {
                ovfk_hv_vm_free(vm);
                return -ENOMEM;
            }
            if (mac && *mac && ovfk_hv_mac_normalize(mac, n->mac) < 0) {
                warnf(warn, nwarn, "NIC MAC '%s' is malformed; ignored", mac);
            }
            n->network = strdup(net && *net ? net : "default");
            n->model = nic_model(ovfk_ovf_item_get(it, "ResourceSubType"));
        } else if (t == OVFK_OVF_RT_CDROM || t == OVFK_OVF_RT_DVD ||
                   t == OVFK_OVF_RT_FLOPPY) {
            warnf(warn, nwarn, "%s drive '%s' is not imported",
                  t == OVFK_OVF_RT_FLOPPY ? "floppy" : "CD/DVD",
                  ovfk_ovf_item_get(it, "ElementName") ?
                  ovfk_ovf_item_get(it, "ElementName") : "?");
        }
    }
    *out = vm;
    return 0;
}

/*
 * The image format an OVF Disk's ovf:format URI declares, as an input
 * driver name, when we trust the declaration enough to refuse a file that
 * is not in it: only VHD's URIs.  NULL for the others (VMDK URIs are
 * written for other formats, e.g. by oVirt for qcow2): those are probed.
 *   vhdspec.mspx       ours, Citrix XenServer
 *   LinkId=137171      VirtualBox, bootstrap-vz (the VHD spec's link)
 */
const char *hv_ovf_disk_format(const char *uri)
{
    if (uri && (strcasestr(uri, "/vhdspec.mspx") ||
                strcasestr(uri, "?LinkId=137171"))) {
        return "vhd";
    }
    return NULL;
}

int ovfk_hv_vm_from_package(ovfk_ova_pkg *pkg, const char *system,
                            struct ovfk_hv_vm **out)
{
    ovfk_ovf_doc *doc = ovfk_ova_pkg_doc(pkg);
    ovfk_err err = { 0 };
    const struct ovfk_ovf_system *s = hv_pick_system(doc, system, &err);
    char **warn = NULL;
    size_t nwarn = 0;
    int r;

    *out = NULL;
    if (!s) {
        return ovfk_err_publish(&err);
    }
    r = hv_vm_from_ovf(doc, s, out, &warn, &nwarn);
    for (size_t i = 0; i < nwarn; i++) {
        free(warn[i]);
    }
    free(warn);
    if (r < 0) {
        return ovfk_err_last(r, "cannot read the virtual system");
    }
    for (size_t i = 0; i < (*out)->n_disks; i++) {
        struct ovfk_hv_disk *d = &(*out)->disks[i];
        const struct ovfk_ovf_disk *k = ovfk_ovf_find_disk(doc, d->id);
        const char *file = ovfk_ova_pkg_file(pkg, k ? k->file_ref : NULL, NULL);
        if (!file) {
            ovfk_hv_vm_free(*out);
            *out = NULL;
            return ovfk_err_last(-ENOENT, "the package lacks the file of "
                                 "disk '%s'", d->id);
        }
        free(d->path);
        d->path = strdup(file);
        free(d->format);
        d->format = hv_ovf_disk_format(k ? k->format : NULL) ?
                    strdup(hv_ovf_disk_format(k->format)) : NULL;
    }
    return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests: the one libvirt domain-XML reader (hv/domxml.c), which the
 * libvirt driver and a conversion from `virsh dumpxml` share.  Memory
 * units as libvirt's formatdomain documentation lists them (decimal and
 * binary, any case), and hostile numbers refused with what is wrong
 * instead of wrapping around (strtoull("-1"), atoi("4294967297")).
 * Expected figures are worked out by hand from the units' definitions.
 */
#include <errno.h>
#include <string.h>

#include "hv/domxml.h"
#include "tests/unit/harness.h"

static uint64_t mib(const char *v, const char *unit)
{
    uint64_t m = UINT64_MAX;

    return hv_domxml_memory(v, unit, &m) == 0 ? m : UINT64_MAX;
}

static void t_binary_units(void)
{
    CHECK_EQ(mib("2097152", NULL), 2048);         /* KiB by default */
    CHECK_EQ(mib("2097152", "KiB"), 2048);
    CHECK_EQ(mib("2097152", "k"), 2048);
    CHECK_EQ(mib("2097152", "kib"), 2048);
    CHECK_EQ(mib("512", "M"), 512);
    CHECK_EQ(mib("512", "MiB"), 512);
    CHECK_EQ(mib("3", "G"), 3072);
    CHECK_EQ(mib("3", "GiB"), 3072);
    CHECK_EQ(mib("2", "TiB"), 2097152);
    CHECK_EQ(mib("2", "t"), 2097152);
}

static void t_decimal_units(void)
{
    CHECK_EQ(mib("1048576", "b"), 1);
    CHECK_EQ(mib("3145728", "bytes"), 3);
    CHECK_EQ(mib("1048576", "KB"), 1000);         /* 1048576000 bytes */
    CHECK_EQ(mib("1048576", "kb"), 1000);
    CHECK_EQ(mib("1048576", "MB"), 1000000);
    CHECK_EQ(mib("4", "GB"), 3814);               /* 4e9 / 2^20 = 3814.7 */
    CHECK_EQ(mib("1", "TB"), 953674);             /* 1e12 / 2^20 */
}

static void t_hostile_values(void)
{
    uint64_t m = 7;

    CHECK_EQ(hv_domxml_memory("-1", "KiB", &m), -EINVAL);
    CHECK_EQ(hv_domxml_memory("+5", "KiB", &m), -EINVAL);
    CHECK_EQ(hv_domxml_memory("12abc", "KiB", &m), -EINVAL);
    CHECK_EQ(hv_domxml_memory("0x400", "KiB", &m), -EINVAL);
    CHECK_EQ(hv_domxml_memory("", "KiB", &m), -EINVAL);
    CHECK_EQ(hv_domxml_memory("1 2", "KiB", &m), -EINVAL);
    CHECK_EQ(hv_domxml_memory("18446744073709551616", "b", &m), -ERANGE);
    /* fits in 64 bits, but not once scaled */
    CHECK_EQ(hv_domxml_memory("18446744073709551615", "GiB", &m), -ERANGE);
    CHECK_EQ(hv_domxml_memory("16", "EiB", &m), -ERANGE);
    /* a real size, but above any machine's */
    CHECK_EQ(hv_domxml_memory("1", "PiB", &m), -ERANGE);
    CHECK_EQ(hv_domxml_memory("4", "furlongs", &m), -EINVAL);
    CHECK_EQ(hv_domxml_memory("4", "KiBB", &m), -EINVAL);
    CHECK_EQ(hv_domxml_memory("4", "iB", &m), -EINVAL);
    CHECK_EQ(m, 7);                               /* untouched on error */
    CHECK_EQ(mib(" 512 ", "MiB"), 512);           /* XML text may pad */
    CHECK_EQ(mib("65536", "GiB"), 64ull << 20);   /* the bound itself */
}

static void t_numbers(void)
{
    uint64_t n = 0;

    CHECK_EQ(hv_domxml_number("4096", 4096, &n), 0);
    CHECK_EQ(n, 4096);
    CHECK_EQ(hv_domxml_number("4097", 4096, &n), -ERANGE);
    CHECK_EQ(hv_domxml_number("4294967297", 4096, &n), -ERANGE);
    CHECK_EQ(hv_domxml_number("-1", 4096, &n), -EINVAL);
    CHECK_EQ(hv_domxml_number("2x", 4096, &n), -EINVAL);
    CHECK_EQ(hv_domxml_number(NULL, 4096, &n), -EINVAL);
}

#define DOM(inner) "<domain type='kvm'><name>d</name>" inner "</domain>"

static int parse(const char *xml, unsigned flags, struct ovfk_hv_vm **vm,
                 ovfk_err *err)
{
    memset(err, 0, sizeof(*err));
    return hv_domxml_parse(xml, strlen(xml), flags, vm, err);
}

static void t_refused_documents(void)
{
    struct ovfk_hv_vm *vm = NULL;
    ovfk_err err;

    CHECK_ERR(parse(DOM("<vcpu>0</vcpu>"), 0, &vm, &err), OVFK_ECORRUPT,
              err.msg, "has vcpu '0': out of range (1 to 4096)");
    CHECK_ERR(parse(DOM("<vcpu>4294967297</vcpu>"), 0, &vm, &err),
              OVFK_ECORRUPT, err.msg, "has vcpu '4294967297': out of range");
    CHECK_ERR(parse(DOM("<vcpu>-1</vcpu>"), 0, &vm, &err), OVFK_ECORRUPT,
              err.msg, "has vcpu '-1': not a number");
    CHECK_ERR(parse(DOM("<memory unit='furlongs'>4</memory>"), 0, &vm, &err),
              OVFK_ECORRUPT, err.msg,
              "has memory '4' in unit 'furlongs': unknown unit");
    CHECK_ERR(parse(DOM("<memory unit='GiB'>18446744073709551615</memory>"),
                    0, &vm, &err), OVFK_ECORRUPT, err.msg,
              "in unit 'GiB': out of range");
    CHECK_ERR(parse(DOM("<metadata><o:vm xmlns:o='urn:ovfkit:ovf:1' "
                        "os-id='-3'/></metadata>"), 0, &vm, &err),
              OVFK_ECORRUPT, err.msg, "has os-id '-3': not a number");
    CHECK_ERR(parse("<?xml version='1.0'?>\n<!DOCTYPE domain [\n"
                    "<!ENTITY n 'a'>\n]>\n" DOM(""), 0, &vm, &err),
              OVFK_EUNSUPPORTED, err.msg, "has a DTD; refused");
    CHECK_ERR(parse("<node/>", 0, &vm, &err), OVFK_ECORRUPT, err.msg,
              "is not a libvirt domain XML");
    CHECK(vm == NULL);
}

static void t_domain_read(void)
{
    struct ovfk_hv_vm *vm = NULL;
    ovfk_err err;
    const char *xml = DOM(
        "<memory unit='GB'>4</memory><vcpu placement='static'>2</vcpu>"
        "<metadata><libosinfo:libosinfo xmlns:libosinfo='http://libosinfo."
        "org/xmlns/libvirt/domain/1.0'><libosinfo:os id='http://debian.org/"
        "debian/12'/></libosinfo:libosinfo></metadata>"
        "<os><type>hvm</type><loader>/usr/share/OVMF/OVMF_CODE.fd</loader>"
        "</os><devices>"
        "<disk type='network' device='disk'><source protocol='nbd'/></disk>"
        "<disk type='file'><driver type='qcow2'/><source file='/a.qcow2'/>"
        "<target dev='vda' bus='virtio'/></disk>"
        "<disk type='file' device='cdrom'><source file='/x.iso'/></disk>"
        "<interface type='bridge'><mac address='52:54:00:aa:bb:cc'/>"
        "<source bridge='br0'/></interface></devices>");

    CHECK_OK(parse(xml, HV_DOMXML_LOCAL_DISKS, &vm, &err), err.msg);
    CHECK_EQ(vm->memory_mib, 3814);
    CHECK_EQ(vm->cpus, 2);
    CHECK(!strcmp(vm->firmware, "efi"));
    CHECK(vm->os_type && !strcmp(vm->os_type, "http://debian.org/debian/12"));
    CHECK(vm->os_vendor &&
          !strcmp(vm->os_vendor, "libosinfo:http://debian.org/debian/12"));
    /* the network disk is left out; the one without @device is a disk */
    CHECK_EQ(vm->n_disks, 1);
    CHECK(!strcmp(vm->disks[0].id, "vmdisk1") &&
          !strcmp(vm->disks[0].path, "/a.qcow2") &&
          !strcmp(vm->disks[0].format, "qcow2") &&
          !strcmp(vm->disks[0].bus, "virtio") && vm->disks[0].boot_order);
    CHECK_EQ(vm->n_nics, 1);
    CHECK(!strcmp(vm->nics[0].mac, "52:54:00:AA:BB:CC") &&
          !strcmp(vm->nics[0].network, "br0"));
    ovfk_hv_vm_free(vm);
    /* the libvirt driver keeps every disk, with or without a path */
    CHECK_OK(parse(xml, 0, &vm, &err), err.msg);
    CHECK_EQ(vm->n_disks, 2);
    CHECK(vm->disks[0].path == NULL && !strcmp(vm->disks[1].id, "vmdisk2"));
    ovfk_hv_vm_free(vm);
}

/* What the libvirt driver writes: our metadata, owned disks, no <vcpu>
 * default lost. */
static void t_our_metadata(void)
{
    struct ovfk_hv_vm *vm = NULL;
    ovfk_err err;
    const char *xml = DOM(
        "<description>web tier</description>"
        "<metadata><ovfkit:vm xmlns:ovfkit='urn:ovfkit:ovf:1' os-id='94' "
        "os-type='debian12_64' os-vendor='vmware:debian12_64Guest'>"
        "<ovfkit:owns path='/d/1.vhd'/></ovfkit:vm>"
        "</metadata><memory unit='MiB'>1024</memory>"
        "<os firmware='efi'><type>hvm</type><kernel>/k</kernel></os>"
        "<devices><disk type='file' device='disk'><source file='/d/1.vhd'/>"
        "</disk><disk type='file' device='disk'><source file='/d/2.vhd'/>"
        "</disk></devices>");

    CHECK_OK(parse(xml, 0, &vm, &err), err.msg);
    CHECK_EQ(vm->os_id, 94);
    CHECK(!strcmp(vm->os_type, "debian12_64"));
    CHECK(!strcmp(vm->os_vendor, "vmware:debian12_64Guest"));
    CHECK(!strcmp(vm->description, "web tier"));
    CHECK(!strcmp(vm->kernel, "/k") && !strcmp(vm->firmware, "efi"));
    CHECK_EQ(vm->memory_mib, 1024);
    CHECK_EQ(vm->cpus, 1);
    CHECK(vm->disks[0].owned && !vm->disks[1].owned);
    ovfk_hv_vm_free(vm);
}

TEST_MAIN(T(t_binary_units), T(t_decimal_units), T(t_hostile_values),
          T(t_numbers), T(t_refused_documents), T(t_domain_read),
          T(t_our_metadata))

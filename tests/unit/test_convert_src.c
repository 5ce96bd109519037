/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_convert_src.c - the error codes of ovfk_convert_vm's VM
 * descriptions (convert/vmx.c, convert/domxml.c), as common.h states
 * them: a file that is not what its format says is OVFK_ECORRUPT, a valid
 * one asking for what we do not handle OVFK_EUNSUPPORTED, a bad call
 * -EINVAL; each with its message in ovfk_last_error() (the call has no
 * handle), and nothing written at the target.
 */
#include <errno.h>
#include <unistd.h>

#include "ovfkit/convert.h"
#include "tests/unit/harness.h"

static int put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        return -errno;
    }
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -EIO;
}

static int convert_one(const char *src)
{
    struct ovfk_convert_opts o = { .to = "out" };
    const char *srcs[] = { src };

    return ovfk_convert_vm(srcs, 1, &o, NULL);
}

#define REFUSED(src, code, msg) \
    do { \
        CHECK_ERR(convert_one(src), code, ovfk_last_error(), msg); \
        CHECK(access("out", F_OK) != 0); \
    } while (0)

static void t_vmx_corrupt(void)
{
    CHECK(put("a.vmx", "hello = \"world\"\n") == 0);
    REFUSED("a.vmx", OVFK_ECORRUPT, "'a.vmx' is not a VMware .vmx file");
}

static void t_vmx_no_disk(void)
{
    CHECK(put("a.vmx", ".encoding = \"UTF-8\"\nconfig.version = \"8\"\n"
              "virtualHW.version = \"19\"\ndisplayName = \"a\"\n") == 0);
    REFUSED("a.vmx", OVFK_EUNSUPPORTED, "'a.vmx' names no hard disk");
}

static void t_vmx_missing(void)
{
    REFUSED("gone.vmx", -ENOENT, "'gone.vmx' is missing");
}

static void t_domxml_corrupt(void)
{
    CHECK(put("a.xml", "<domain type='kvm'><name>a</nam></domain>\n") == 0);
    REFUSED("a.xml", OVFK_ECORRUPT, "'a.xml' is not a libvirt domain XML");
}

static void t_domxml_dtd(void)
{
    CHECK(put("a.xml", "<?xml version='1.0'?>\n<!DOCTYPE domain [\n"
              "<!ENTITY n 'a'>\n]>\n<domain type='kvm'><name>&n;</name>"
              "</domain>\n") == 0);
    REFUSED("a.xml", OVFK_EUNSUPPORTED, "'a.xml' has a DTD; refused");
}

static void t_domxml_no_disk(void)
{
    CHECK(put("a.xml", "<domain type='kvm'><name>a</name>"
              "<devices><disk type='network' device='disk'>"
              "<source protocol='nbd' name='x'/><target dev='vda'/>"
              "</disk></devices></domain>\n") == 0);
    REFUSED("a.xml", OVFK_EUNSUPPORTED, "'a.xml' has no file or block disk");
}

static void t_bad_call(void)
{
    struct ovfk_convert_opts o = { .to = "out" };

    CHECK_ERR(ovfk_convert_vm(NULL, 0, &o, NULL), -EINVAL, ovfk_last_error(),
              "nothing to convert, or no target");
}

TEST_MAIN(T(t_vmx_corrupt), T(t_vmx_no_disk), T(t_vmx_missing),
          T(t_domxml_corrupt), T(t_domxml_dtd), T(t_domxml_no_disk),
          T(t_bad_call))

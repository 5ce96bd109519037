/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backup/package.c - a point's descriptor and manifest: the VM's settings
 * at that time as OVF (hv's mapping, so restore reads them back through
 * import), and SHA256 lines for the descriptor and every disk file, so
 * that `ovfkit ova verify` and any OVF tool check a point as a package.
 * The disks are written before (run.c, prune.c); both files are written
 * atomically.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backup/internal.h"
#include "hv/internal.h"
#include "ovf/pkg.h"
#include "util/tmpfile.h"

#define MF_LINE_MAX (PATH_MAX + 200)

static int add_line(ovfk_backup_repo *r, char **mf, size_t *len,
                    const char *dir, const char *name)
{
    char path[PATH_MAX + 300], hex[129], line[MF_LINE_MAX];
    size_t n;
    char *grown;
    int e;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    e = pkg_hash_file(path, OVFK_OVA_DIGEST_SHA256, hex);
    if (e < 0) {
        return bk_err(r, e, "cannot read '%s': %s", path, ovfk_errtext(e));
    }
    n = pkg_manifest_line(OVFK_OVA_DIGEST_SHA256, name, hex, line,
                          sizeof(line));
    grown = realloc(*mf, *len + n + 1);
    if (!grown) {
        return bk_err(r, -ENOMEM, "out of memory");
    }
    memcpy(grown + *len, line, n + 1);
    *mf = grown;
    *len += n;
    return 0;
}

int bk_write_package(ovfk_backup_repo *r, const char *dir,
                     const struct ovfk_hv_vm *vm, const char *const *files)
{
    uint64_t *sizes = calloc(vm->n_disks + 1, sizeof(*sizes));
    char path[PATH_MAX + 300], ovf_name[300], mf_name[300];
    char *xml = NULL, *mf = NULL;
    size_t xml_len = 0, mf_len = 0;
    ovfk_ovf_doc *doc = NULL;
    struct stat st;
    int e = sizes ? 0 : bk_err(r, -ENOMEM, "out of memory");

    snprintf(ovf_name, sizeof(ovf_name), "%s.ovf", vm->name);
    snprintf(mf_name, sizeof(mf_name), "%s.mf", vm->name);
    for (size_t i = 0; e == 0 && i < vm->n_disks; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        if (stat(path, &st) < 0) {
            e = bk_err(r, -errno, "cannot stat '%s': %s", path,
                       ovfk_errtext(-errno));
        } else {
            sizes[i] = (uint64_t)st.st_size;
        }
    }
    if (e == 0 && (e = hv_vm_to_ovf(vm, files, sizes, 10, &doc)) < 0) {
        bk_err(r, e, "%s", ovfk_last_error());
    }
    if (e == 0 && (e = ovfk_ovf_emit(doc, 10, &xml, &xml_len)) < 0) {
        bk_err(r, e, "%s", ovfk_last_error());
    }
    if (e == 0) {
        snprintf(path, sizeof(path), "%s/%s", dir, ovf_name);
        e = ovfk_write_file_atomic(path, xml, xml_len);
        if (e < 0) {
            bk_err(r, e, "cannot write '%s': %s", path, ovfk_errtext(e));
        }
    }
    if (e == 0) {
        e = add_line(r, &mf, &mf_len, dir, ovf_name);
    }
    for (size_t i = 0; e == 0 && i < vm->n_disks; i++) {
        e = add_line(r, &mf, &mf_len, dir, files[i]);
    }
    if (e == 0) {
        snprintf(path, sizeof(path), "%s/%s", dir, mf_name);
        e = ovfk_write_file_atomic(path, mf, mf_len);
        if (e < 0) {
            bk_err(r, e, "cannot write '%s': %s", path, ovfk_errtext(e));
        }
    }
    ovfk_ovf_free(doc);
    free(xml);
    free(mf);
    free(sizes);
    return e;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv/internal.h - the driver interface every inventory implements, and
 * what the files of hv/ share.
 */
#ifndef OVFK_HV_INTERNAL_H
#define OVFK_HV_INTERNAL_H

#include <sys/types.h>

#include "ovfkit/hv.h"
#include "util/err.h"

/*
 * The files other VMs' disks use (their images and, for VHDs, every
 * parent), by device and inode, so that no spelling of a path escapes.
 */
struct hv_file_id {
    dev_t dev;
    ino_t ino;
};

struct hv_refs {
    struct hv_file_id *v;
    size_t n;
};

struct hv_driver {
    const char *name;
    int (*open)(ovfk_hv_conn *c, const char *where);
    void (*close)(ovfk_hv_conn *c);
    int (*list)(ovfk_hv_conn *c, struct ovfk_hv_vm ***vms, size_t *n);
    /* define a new VM / replace the VM with the same UUID */
    int (*define)(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm);
    int (*replace)(ovfk_hv_conn *c, const struct ovfk_hv_vm *old,
                   const struct ovfk_hv_vm *vm);
    /* forget vm; with refs (NULL: keep every disk), also remove each
     * disk that hv_disk_removable allows, and nothing in refs */
    int (*remove)(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm,
                  const struct hv_refs *refs);
    int (*networks)(ovfk_hv_conn *c, char ***names, size_t *n);
    int (*net_add)(ovfk_hv_conn *c, const char *name, const char *bridge);
    /* the directory for a new VM's disks; shared_disk_dir: other VMs'
     * disks (and the user's files) are there too, so a new disk's file
     * name comes from the VM's name */
    bool shared_disk_dir;
    int (*disk_dir)(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, char *buf,
                    size_t len);
    int (*is_running)(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm);
    int (*start)(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, bool console);
    int (*stop)(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm);
    /* the lock file (locks.c) for one VM (by UUID) / for the whole
     * inventory (uuid NULL); its directory exists on return */
    int (*lock_path)(ovfk_hv_conn *c, const uint8_t *uuid, char *buf,
                     size_t len);
    /* forget what was made for a VM that was never defined (optional) */
    void (*discard)(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm);
    /* where this driver keeps per-VM data (snapshots), or -ENOTSUP */
    int (*vm_dir)(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, char *buf,
                  size_t len);
    /* ask the disk server of a running VM (vm start's nbdkit plugin) to
     * act on disk i (verb "switch" PATH: write to PATH from now on); 0 when
     * the VM is not running; NULL: this driver's VMs have no such server
     * (their hypervisor opens the files itself) */
    int (*disk_request)(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, size_t i,
                        const char *verb, const char *path);
};

struct ovfk_hv_conn {
    const struct hv_driver *drv;
    void *priv;
    uint32_t max_cpus;
    int lock_wait;              /* seconds (ovfk_hv_set_lock_wait) */
    char *where;                /* the store, URI or directory as given
                                   (NULL: the default store); import
                                   derives new UUIDs from it */
    ovfk_err err;
};

extern const struct hv_driver hv_dir_driver;
extern const struct hv_driver hv_libvirt_driver;
extern const struct hv_driver hv_xen_driver;

/* driver.c: the virtual size of an image in format ("vhd", "raw",
 * "qcow2", ...; NULL or another name: probed), read through the VHD layer
 * or the image readers without changing it; 0 when it cannot be read. */
uint64_t hv_image_capacity(const char *path, const char *format);

/* driver.c: the files every VM of the inventory but except (by UUID)
 * uses; 0 or negative errno (message on c).  Free with hv_refs_free. */
int hv_refs_collect(ovfk_hv_conn *c, const struct ovfk_hv_vm *except,
                    struct hv_refs *out);
bool hv_refs_has(const struct hv_refs *refs, const char *path);
void hv_refs_free(struct hv_refs *refs);
/* May removing a VM remove this disk's file: ovfkit made it for the VM
 * (owned), it is a regular file, and no other VM uses it (refs)? */
bool hv_disk_removable(const struct ovfk_hv_disk *d,
                       const struct hv_refs *refs);

/* vm.c */
int hv_mac_next(ovfk_hv_conn *c, struct ovfk_hv_vm **vms, size_t n,
                const char *const *taken, size_t ntaken, char out[18]);
bool hv_name_ok(const char *name, const char **why);
char *hv_strdup(const char *s);
int hv_strv_add(char ***v, size_t *n, const char *s);
/* Does any VM but `except` use this MAC? */
const struct ovfk_hv_vm *hv_mac_owner(struct ovfk_hv_vm **vms, size_t n,
                                 const char *mac, const uint8_t *except);

/* ovfmap.c: VM <-> OVF */
#include "ovfkit/ovf.h"
int hv_vm_to_ovf(const struct ovfk_hv_vm *vm, const char *const *hrefs,
                 const uint64_t *sizes, int version, ovfk_ovf_doc **out);
int hv_vm_from_ovf(const ovfk_ovf_doc *d, const struct ovfk_ovf_system *s,
                   struct ovfk_hv_vm **out, char ***warnings, size_t *nwarn);
const struct ovfk_ovf_system *hv_pick_system(const ovfk_ovf_doc *d,
                                             const char *id, ovfk_err *err);
#define HV_VHD_FORMAT_URI \
    "http://www.microsoft.com/technet/virtualserver/downloads/vhdspec.mspx"
/* "vhd" when an ovf:format URI declares VHD, else NULL (probe the file) */
const char *hv_ovf_disk_format(const char *uri);
#define OVFKIT_NS "urn:ovfkit:ovf:1"

/* locks.c: exclusive use of vm (NULL: of the whole inventory, for
 * definition changes), waiting up to c->lock_wait seconds: 0 and *out
 * (release with ovfk_lock_release), or -EAGAIN naming the holder, -EINTR
 * (ovfkit/lock.h), another negative errno; the message on c. */
#include "ovfkit/lock.h"
int hv_lock(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, ovfk_lock **out);

#endif

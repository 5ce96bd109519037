/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovfkit/hv.h - the hypervisor core: one VM model, inventory drivers that
 * store and load VMs (the embedded `dir` store, libvirt, Xen configuration
 * files), and the main job: export a VM as an OVF/OVA package, and bring a
 * package in as a new VM (import: new UUID and MACs) or as the same VM
 * (restore: UUID and MACs kept).  Import and restore share one code path
 * and differ only in identity policy.
 *
 * Errors: 0 or negative (common.h); the message of a call on a
 * connection is in ovfk_hv_error(conn), that of a call without one
 * (ovfk_hv_connect failing, ovfk_hv_vm_from_json, ...) in ovfk_last_error().
 */
#ifndef OVFKIT_HV_H
#define OVFKIT_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ovfkit/common.h"
#include "ovfkit/lock.h"
#include "ovfkit/ova.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OVFK_HV_MAC_POOL_START "02:17:42:2F:00:00"
#define OVFK_HV_MAC_POOL_END "02:17:42:2F:FF:FF"
#define OVFK_HV_NAME_MAX 50
#define OVFK_HV_MIN_MEMORY_MIB 256
#define OVFK_HV_MIN_MEMORY_64_MIB 600
#define OVFK_HV_DEFAULT_MAX_CPUS 8

struct ovfk_hv_disk {
    char *id;               /* OVF disk id ("vmdisk1"), stable across runs */
    char *path;             /* the image (for the dir store: absolute) */
    char *format;           /* "vhd", "raw", "qcow2", ... */
    uint64_t capacity;      /* bytes */
    char *bus;              /* "virtio", "ide", "scsi", "sata", "xen" */
    int boot_order;         /* 1 = first; 0 = not bootable */
    bool owned;             /* ovfkit made the file for this VM: removing
                               the VM removes it (unless another VM uses
                               it); a disk the user gave is never removed */
};

struct ovfk_hv_nic {
    char mac[18];           /* "02:17:42:2F:00:01", upper-case hex */
    char *network;
    char *model;            /* "virtio", "e1000", "rtl8139", ... */
};

struct ovfk_hv_vm {
    char *name;
    uint8_t uuid[16];       /* the hardware UUID */
    char *description;
    char *os_type;          /* the guest OS, kept exactly as given */
    int os_id;              /* CIM OS type (DSP0243 / CIM_OperatingSystem) */
    uint32_t cpus;
    uint64_t memory_mib;
    char *firmware;         /* "bios" or "efi" */
    char *kernel;           /* direct kernel boot (optional) */
    char *initrd;
    char *cmdline;
    struct ovfk_hv_disk *disks;
    size_t n_disks;
    struct ovfk_hv_nic *nics;
    size_t n_nics;
};

/* Model helpers (vm.c).  ovfk_hv_vm_free accepts NULL. */
struct ovfk_hv_vm *ovfk_hv_vm_new(void);
void ovfk_hv_vm_free(struct ovfk_hv_vm *vm);
struct ovfk_hv_vm *ovfk_hv_vm_copy(const struct ovfk_hv_vm *vm);
struct ovfk_hv_disk *ovfk_hv_vm_add_disk(struct ovfk_hv_vm *vm);
struct ovfk_hv_nic *ovfk_hv_vm_add_nic(struct ovfk_hv_vm *vm);
void ovfk_hv_uuid_str(const uint8_t uuid[16], char out[37]);
int ovfk_hv_uuid_parse(const char *text, uint8_t uuid[16]);
void ovfk_hv_uuid_generate(uint8_t uuid[16]);
/* Normalise "2:17:42:2f:0:1" or "02-17-..." to "02:17:42:2F:00:01". */
int ovfk_hv_mac_normalize(const char *in, char out[18]);
bool ovfk_hv_os_is_64bit(const struct ovfk_hv_vm *vm);

/*
 * Check a VM against the limits users know (DESIGN.md 2): name rules
 * (letters, digits, '_', at most 50, not all digits, not "auto" or
 * "scripts", not starting "xmexample"), memory (256 MiB; 600 MiB for a
 * 64-bit guest), vCPUs (max_cpus).  Each problem is reported with how to
 * fix it; returns the number of problems.  Warnings (more than 3 disks
 * without paravirtual drivers) go to warn and are not counted.
 */
typedef void (*ovfk_hv_report_fn)(void *opaque, const char *msg);
int ovfk_hv_vm_check_limits(const struct ovfk_hv_vm *vm, uint32_t max_cpus,
                            ovfk_hv_report_fn error, ovfk_hv_report_fn warn,
                            void *opaque);

/* JSON form (json-c text): what `vm show --json` prints and the dir
 * store keeps.  ovfk_hv_vm_to_json returns malloc'ed text. */
char *ovfk_hv_vm_to_json(const struct ovfk_hv_vm *vm, bool pretty);
int ovfk_hv_vm_from_json(const char *text, struct ovfk_hv_vm **out);

typedef struct ovfk_hv_conn ovfk_hv_conn;

/*
 * Connect to an inventory: uri NULL or "dir:PATH" or a plain store path
 * for the dir store (NULL: $XDG_DATA_HOME/ovfkit or ~/.local/share/
 * ovfkit), "xen:DIR" for Xen configuration files, anything else is a
 * libvirt URI ("qemu:///system", "test:///default", ...).
 */
int ovfk_hv_connect(const char *store, const char *uri, ovfk_hv_conn **out);
void ovfk_hv_disconnect(ovfk_hv_conn *c);
const char *ovfk_hv_error(const ovfk_hv_conn *c);
const char *ovfk_hv_driver_name(const ovfk_hv_conn *c);
/*
 * How long calls on c wait for a VM or the inventory that another process
 * (or another connection) holds: 0 (the default) fails at once with
 * -EAGAIN and a message naming the holder, N > 0 waits up to N seconds,
 * OVFK_LOCK_WAIT_FOREVER as long as it takes (ovfkit/lock.h).  Every
 * call that changes a VM or reads its chain (ovfk_hv_export,
 * ovfk_hv_import over an existing VM, ovfk_hv_vm_remove, the snapshot
 * calls) holds the VM's lock; definition changes (ovfk_hv_vm_create,
 * ovfk_hv_vm_remove, ovfk_hv_import) hold the inventory's.
 */
void ovfk_hv_set_lock_wait(ovfk_hv_conn *c, int seconds);

/* The inventory.  Lists and VMs returned are the caller's to free. */
int ovfk_hv_list(ovfk_hv_conn *c, struct ovfk_hv_vm ***vms, size_t *n);
void ovfk_hv_list_free(struct ovfk_hv_vm **vms, size_t n);
/* Find by name or UUID; -ENOENT with a clear message when absent. */
int ovfk_hv_load(ovfk_hv_conn *c, const char *name_or_uuid,
                 struct ovfk_hv_vm **out);
/* Networks the target knows (store names, libvirt networks, bridges). */
int ovfk_hv_networks(ovfk_hv_conn *c, char ***names, size_t *n);
void ovfk_hv_strv_free(char **v, size_t n);
int ovfk_hv_net_add(ovfk_hv_conn *c, const char *name, const char *bridge);
/* Is the VM running?  1 yes, 0 no, negative on error. */
int ovfk_hv_is_running(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm);

struct ovfk_hv_create_opts {
    const char *name;
    uint32_t cpus;
    uint64_t memory_mib;
    const char *os_type;
    const char *const *disks;   /* "SIZE" (new) or an image path */
    size_t n_disks;
    const char *disk_format;    /* of the image paths; NULL: probed */
    const char *const *nics;    /* "NETWORK[,mac=MAC][,model=M]" */
    size_t n_nics;
    const char *kernel, *initrd, *cmdline;
    uint32_t max_cpus;
};

/* Create a VM (new blank VHDs, or existing images converted into the
 * store).  On failure the inventory is as it was. */
int ovfk_hv_vm_create(ovfk_hv_conn *c, const struct ovfk_hv_create_opts *o,
                 struct ovfk_hv_vm **out);
int ovfk_hv_vm_remove(ovfk_hv_conn *c, const char *name_or_uuid,
                      bool keep_disks);
int ovfk_hv_vm_start(ovfk_hv_conn *c, const char *name_or_uuid, bool console);
int ovfk_hv_vm_stop(ovfk_hv_conn *c, const char *name_or_uuid);

/* For the snapshot layer: replace a VM's definition (same UUID); the
 * directory where the inventory keeps the VM's own files (dir store only,
 * -ENOTSUP elsewhere); exclusive use of one VM (hv_lock's rules above;
 * release with ovfk_lock_release); and, for a running VM of
 * the dir store, ask the server of disk i to "switch" its writes to a new
 * delta (path) or to "reopen" its chain (0 at once when not running;
 * -EIO when the server refused, and then it serves its old file still;
 * another negative errno when it could not be asked or did not answer). */
int ovfk_hv_vm_update(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm);
int ovfk_hv_vm_data_dir(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm, char *buf,
                   size_t len);
int ovfk_hv_vm_lock(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm,
                    ovfk_lock **out);
int ovfk_hv_vm_disk_request(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm,
                            size_t disk, const char *verb, const char *path);

struct ovfk_hv_export_opts {
    const char *to;             /* DIR or FILE.ova */
    int ovf_version;            /* 10 (default) or 20 */
    enum ovfk_ova_digest digest;     /* default SHA256 */
    bool compress;
    bool config_only;
    bool fixed;                 /* fixed VHDs (Azure, some Hyper-V tools) */
    const char *key, *cert;     /* sign */
    bool allow_running;         /* snapshot exports (next layer) */
    ovfk_progress_fn progress;
    void *opaque;
    /* out (NULL: not wanted): what a program opens to read the package
     * back, TO/NAME.ovf for a directory, TO itself for an OVA; malloc'ed,
     * set only on success, the caller frees it */
    char **package;
};

/* Export a VM (stopped) as OVF + one VHD per disk, or one OVA. */
int ovfk_hv_export(ovfk_hv_conn *c, const char *name_or_uuid,
              const struct ovfk_hv_export_opts *o);
/* The same for a VM model whose disks are given (snapshot exports). */
int ovfk_hv_export_vm(ovfk_hv_conn *c, const struct ovfk_hv_vm *vm,
                 const struct ovfk_hv_export_opts *o);
/* The VM an opened package describes (VirtualSystem system, or the
 * first), each disk's path the package's local file for it and its format
 * "vhd" when the descriptor declares VHD, else NULL (to be probed). */
int ovfk_hv_vm_from_package(ovfk_ova_pkg *pkg, const char *system,
                            struct ovfk_hv_vm **out);
/* The same without an inventory (conversions): disks in any format the
 * convert layer reads; the message in ovfk_last_error(). */
int ovfk_hv_export_model(const struct ovfk_hv_vm *vm,
                         const struct ovfk_hv_export_opts *o);

enum ovfk_hv_identity {
    OVFK_HV_IMPORT,      /* new UUID, new MACs */
    OVFK_HV_RESTORE,     /* UUID and MACs from the package */
};

struct ovfk_hv_map {
    const char *from, *to;
};

struct ovfk_hv_import_opts {
    enum ovfk_hv_identity mode;
    const char *name;
    uint32_t cpus;
    uint64_t memory_mib;
    const struct ovfk_hv_map *networks;
    size_t n_networks;
    const char *storage;            /* where new disks go */
    const char *const *skip_disks;  /* OVF disk ids */
    size_t n_skip;
    const char *const *empty_disks;
    size_t n_empty;
    const char *system;             /* VirtualSystem id in a collection */
    bool dry_run;
    bool force;                     /* replace without asking */
    bool keep_guest_config;         /* no net-mac-pins fix on import */
    uint32_t max_cpus;
    /* asked before a restore replaces an existing VM; NULL: refuse
     * unless force */
    bool (*confirm)(void *opaque, const char *question);
    ovfk_hv_report_fn warn;
    ovfk_progress_fn progress;
    void *opaque;
};

/* The plan an import would carry out (what --dry-run prints). */
struct ovfk_hv_plan_disk {
    char *id;
    char *source;           /* href in the package, or NULL */
    char *target;           /* path the disk will have */
    uint64_t capacity;
    /* "import" (the package's disk copied for a new VM), "restore" (the
     * same for the package's own VM), "empty", "skip" */
    const char *action;
    uint64_t space;         /* bytes it may take on the target, at most */
};

/* The guest fixup an import does when it gives new MACs: sysprep's
 * net-mac-pins, through the libguestfs appliance. */
enum ovfk_hv_guest_fix {
    OVFK_HV_GUEST_NONE, /* nothing to fix: a restore, no NIC or disk */
    OVFK_HV_GUEST_KEPT, /* keep_guest_config: the guest is left as is */
    OVFK_HV_GUEST_PLANNED, /* dry run: looked for unless the disks are
                               blank */
    OVFK_HV_GUEST_BLANK, /* no disk holds a partition table, file system
                               or volume signature (libblkid): there is
                               nothing to inspect; no appliance started */
    OVFK_HV_GUEST_CLEANED, /* inspected; guest_changes lists what was
                               changed (none: no MAC pins were found) */
    OVFK_HV_GUEST_FAILED, /* could not inspect or clean (a warning says
                               why) */
};

struct ovfk_hv_guest_change {
    char *kind;             /* sysprep's kinds: "file", "file-removed" */
    char *path;             /* guest path */
    char *old_value;        /* NULL: did not exist */
    char *new_value;        /* NULL: removed */
};

struct ovfk_hv_plan {
    struct ovfk_hv_vm *vm;       /* the VM as it will be defined */
    bool replaces;          /* restore over an existing VM */
    struct ovfk_hv_plan_disk *disks;
    size_t n_disks;
    char **warnings;
    size_t n_warnings;
    /* space: the file system of space_dir must have space_needed free */
    char *space_dir;
    uint64_t space_needed;
    uint64_t space_free;
    enum ovfk_hv_guest_fix guest;
    struct ovfk_hv_guest_change *guest_changes;
    size_t n_guest_changes;
};

/*
 * Import or restore a package.  The plan is computed and every limit,
 * network, identity and space rule checked before anything is written;
 * *plan (optional) receives it (free with ovfk_hv_plan_free) whenever it was
 * made, also when the import then fails or is refused (too little space),
 * so that a caller can show what was refused.  With dry_run nothing else
 * happens.  A plan is what happens: the same package, options and
 * inventory give the same plan, so a dry run shows the UUID, MACs and
 * paths the import then gives (the new UUID is derived from this host,
 * the inventory, the descriptor and the new name, not drawn at random).
 * New MACs are never one the inventory uses, nor any MAC written in the
 * package.  On failure the inventory is as it was: no half-defined VM, no
 * stray disks.
 */
int ovfk_hv_import(ovfk_hv_conn *c, const char *pkg,
                   const struct ovfk_hv_import_opts *o,
                   struct ovfk_hv_plan **plan);
void ovfk_hv_plan_free(struct ovfk_hv_plan *p);
/* "none", "kept", "planned", "blank", "cleaned", "failed" (static) */
const char *ovfk_hv_guest_fix_name(enum ovfk_hv_guest_fix g);
char *ovfk_hv_plan_to_json(const struct ovfk_hv_plan *p);

#ifdef __cplusplus
}
#endif
#endif

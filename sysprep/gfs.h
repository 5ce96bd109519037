/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysprep/gfs.h - libguestfs, loaded on first use (util/dlib.h says why).
 * Include this instead of <guestfs.h>: the calls keep libguestfs's own
 * names and types, and go through a table that sp_gfs_load() fills.  The
 * build cannot drift from it: a call missing from the list is a link
 * error (the library is not linked), a listed name that libguestfs lacks
 * a compile error (its type comes from <guestfs.h>).
 */
#ifndef OVFK_SYSPREP_GFS_H
#define OVFK_SYSPREP_GFS_H

#include <guestfs.h>

#include "util/err.h"

/* Every libguestfs function sysprep/ calls, without its guestfs_ prefix. */
#define SP_GFS_FUNCS(X) \
    X(add_drive_opts) X(case_sensitive_path) X(chmod) X(close) X(command) \
    X(cp) X(create_flags) \
    X(exists) X(free_statns) X(glob_expand) X(hivex_close) X(hivex_commit) \
    X(hivex_node_add_child) X(hivex_node_delete_child) \
    X(hivex_node_get_child) X(hivex_node_get_value) X(hivex_node_name) \
    X(hivex_node_set_value) X(hivex_open) X(hivex_root) X(hivex_value_value) \
    X(inspect_get_arch) X(inspect_get_distro) X(inspect_get_hostname) \
    X(inspect_get_major_version) X(inspect_get_minor_version) \
    X(inspect_get_mountpoints) X(inspect_get_product_name) \
    X(initrd_list) X(inspect_get_type) X(inspect_get_windows_systemroot) \
    X(inspect_os) \
    X(is_dir) X(is_file) X(is_symlink) X(last_error) X(launch) X(ln_s) X(ls) \
    X(mkdir_p) X(download) X(lstatns) \
    X(mount_options) X(mv) X(parse_environment) X(read_file) X(readlink) \
    X(rm) X(set_backend_settings) X(set_error_handler) \
    X(set_event_callback) X(sh) X(shutdown) X(statns) \
    X(umount_all) X(upload) X(write)

enum {
#define SP_GFS_ENUM(n) SP_GFS_##n,
    SP_GFS_FUNCS(SP_GFS_ENUM)
#undef SP_GFS_ENUM
    SP_GFS_COUNT
};

extern void *sp_gfs[SP_GFS_COUNT];

/*
 * Load libguestfs and resolve the table: 0, or a negative errno with e
 * set (the message names the package to install).  Call before the first
 * guestfs_create_flags(); every other call needs a handle, so follows
 * it.
 */
int sp_gfs_load(ovfk_err *e);

#define SP_GFS(n) ((__typeof__(guestfs_##n) *)sp_gfs[SP_GFS_##n])
#define guestfs_add_drive_opts(...) SP_GFS(add_drive_opts)(__VA_ARGS__)
#define guestfs_case_sensitive_path(...) \
    SP_GFS(case_sensitive_path)(__VA_ARGS__)
#define guestfs_chmod(...) SP_GFS(chmod)(__VA_ARGS__)
#define guestfs_close(...) SP_GFS(close)(__VA_ARGS__)
#define guestfs_create_flags(...) SP_GFS(create_flags)(__VA_ARGS__)
#define guestfs_download(...) SP_GFS(download)(__VA_ARGS__)
#define guestfs_exists(...) SP_GFS(exists)(__VA_ARGS__)
#define guestfs_free_statns(...) SP_GFS(free_statns)(__VA_ARGS__)
#define guestfs_lstatns(...) SP_GFS(lstatns)(__VA_ARGS__)
#define guestfs_glob_expand(...) SP_GFS(glob_expand)(__VA_ARGS__)
#define guestfs_hivex_close(...) SP_GFS(hivex_close)(__VA_ARGS__)
#define guestfs_hivex_commit(...) SP_GFS(hivex_commit)(__VA_ARGS__)
#define guestfs_hivex_node_get_child(...) \
    SP_GFS(hivex_node_get_child)(__VA_ARGS__)
#define guestfs_hivex_node_get_value(...) \
    SP_GFS(hivex_node_get_value)(__VA_ARGS__)
#define guestfs_hivex_node_name(...) SP_GFS(hivex_node_name)(__VA_ARGS__)
#define guestfs_hivex_node_set_value(...) \
    SP_GFS(hivex_node_set_value)(__VA_ARGS__)
#define guestfs_hivex_open(...) SP_GFS(hivex_open)(__VA_ARGS__)
#define guestfs_hivex_root(...) SP_GFS(hivex_root)(__VA_ARGS__)
#define guestfs_hivex_value_value(...) SP_GFS(hivex_value_value)(__VA_ARGS__)
#define guestfs_inspect_get_arch(...) SP_GFS(inspect_get_arch)(__VA_ARGS__)
#define guestfs_inspect_get_distro(...) SP_GFS(inspect_get_distro)(__VA_ARGS__)
#define guestfs_inspect_get_hostname(...) \
    SP_GFS(inspect_get_hostname)(__VA_ARGS__)
#define guestfs_inspect_get_major_version(...) \
    SP_GFS(inspect_get_major_version)(__VA_ARGS__)
#define guestfs_inspect_get_minor_version(...) \
    SP_GFS(inspect_get_minor_version)(__VA_ARGS__)
#define guestfs_inspect_get_mountpoints(...) \
    SP_GFS(inspect_get_mountpoints)(__VA_ARGS__)
#define guestfs_inspect_get_product_name(...) \
    SP_GFS(inspect_get_product_name)(__VA_ARGS__)
#define guestfs_inspect_get_type(...) SP_GFS(inspect_get_type)(__VA_ARGS__)
#define guestfs_inspect_get_windows_systemroot(...) \
    SP_GFS(inspect_get_windows_systemroot)(__VA_ARGS__)
#define guestfs_inspect_os(...) SP_GFS(inspect_os)(__VA_ARGS__)
#define guestfs_is_dir(...) SP_GFS(is_dir)(__VA_ARGS__)
#define guestfs_is_file(...) SP_GFS(is_file)(__VA_ARGS__)
#define guestfs_is_symlink(...) SP_GFS(is_symlink)(__VA_ARGS__)
#define guestfs_last_error(...) SP_GFS(last_error)(__VA_ARGS__)
#define guestfs_launch(...) SP_GFS(launch)(__VA_ARGS__)
#define guestfs_ln_s(...) SP_GFS(ln_s)(__VA_ARGS__)
#define guestfs_ls(...) SP_GFS(ls)(__VA_ARGS__)
#define guestfs_mount_options(...) SP_GFS(mount_options)(__VA_ARGS__)
#define guestfs_mv(...) SP_GFS(mv)(__VA_ARGS__)
#define guestfs_parse_environment(...) \
    SP_GFS(parse_environment)(__VA_ARGS__)
#define guestfs_read_file(...) SP_GFS(read_file)(__VA_ARGS__)
#define guestfs_readlink(...) SP_GFS(readlink)(__VA_ARGS__)
#define guestfs_rm(...) SP_GFS(rm)(__VA_ARGS__)
#define guestfs_set_backend_settings(...) \
    SP_GFS(set_backend_settings)(__VA_ARGS__)
#define guestfs_set_error_handler(...) SP_GFS(set_error_handler)(__VA_ARGS__)
#define guestfs_set_event_callback(...) \
    SP_GFS(set_event_callback)(__VA_ARGS__)
#define guestfs_shutdown(...) SP_GFS(shutdown)(__VA_ARGS__)
#define guestfs_statns(...) SP_GFS(statns)(__VA_ARGS__)
#define guestfs_umount_all(...) SP_GFS(umount_all)(__VA_ARGS__)
#define guestfs_write(...) SP_GFS(write)(__VA_ARGS__)

#define guestfs_command(...) SP_GFS(command)(__VA_ARGS__)
#define guestfs_cp(...) SP_GFS(cp)(__VA_ARGS__)
#define guestfs_hivex_node_add_child(...) \
    SP_GFS(hivex_node_add_child)(__VA_ARGS__)
#define guestfs_hivex_node_delete_child(...) \
    SP_GFS(hivex_node_delete_child)(__VA_ARGS__)
#define guestfs_initrd_list(...) SP_GFS(initrd_list)(__VA_ARGS__)
#define guestfs_mkdir_p(...) SP_GFS(mkdir_p)(__VA_ARGS__)
#define guestfs_sh(...) SP_GFS(sh)(__VA_ARGS__)
#define guestfs_upload(...) SP_GFS(upload)(__VA_ARGS__)

#endif

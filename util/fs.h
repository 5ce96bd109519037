/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/fs.h - small file-system helpers every layer needs once.
 */
#ifndef OVFK_UTIL_FS_H
#define OVFK_UTIL_FS_H

/*
 * Remove dir and everything under it, without following symbolic links
 * (a link is removed, never what it points to) and without leaving the
 * file system it is on.  Returns 0, or the negative errno of the first
 * entry that could not be removed (the rest are still tried); a dir that
 * does not exist is 0.
 */
int ovfk_rm_tree(const char *dir);

#endif

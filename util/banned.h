/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/banned.h - string functions ovfkit does not use (STYLE.md 17, after
 * git's banned.h): each copies or scans without a bound the caller can
 * see, or keeps hidden state (strtok; strtok_r, whose state is the
 * caller's, stays allowed).  The Makefile force-includes this
 * file into every compilation, so a use is a compile error that names the
 * function.  Use snprintf, memcpy with a checked length, strsep or
 * strchr loops instead.
 *
 * The C library's headers come first: their own declarations of these
 * names must be seen before the macros exist (their include guards keep
 * later #includes from reading them again).
 */
#ifndef OVFK_BANNED_H
#define OVFK_BANNED_H

#include <stdio.h>
#include <string.h>

#define OVFK_BANNED(fn) sorry_##fn##_is_banned_by_ovfkit_see_util_banned_h

#undef strcpy
#define strcpy(x, y) OVFK_BANNED(strcpy)
#undef strcat
#define strcat(x, y) OVFK_BANNED(strcat)
#undef sprintf
#define sprintf(...) OVFK_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) OVFK_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) OVFK_BANNED(strtok)
#undef gets
#define gets(x) OVFK_BANNED(gets)

#endif

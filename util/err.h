/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/err.h - the error record every handle carries, and the thread-local
 * record for constructors that fail before a handle exists.
 *
 * Messages follow git's style: lower-case, no final period, the subject
 * quoted: "cannot open 'a.vhd': no such file".
 */
#ifndef OVFK_UTIL_ERR_H
#define OVFK_UTIL_ERR_H

#include <stdarg.h>

#include "ovfkit/common.h"

#define OVFK_ERR_MAX 1024

typedef struct ovfk_err {
    int code;                 /* last negative code, 0 when clear */
    char msg[OVFK_ERR_MAX];   /* NUL-terminated, possibly truncated */
} ovfk_err;

/* Record code and a printf-style message; returns code (for tail calls). */
int ovfk_err_set(ovfk_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ovfk_err_vset(ovfk_err *e, int code, const char *fmt, va_list ap);

/* Prefix the existing message with more context: "ctx: old message". */
int ovfk_err_prefix(ovfk_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void ovfk_err_clear(ovfk_err *e);

/* Copy into the thread-local record returned by ovfk_last_error(). */
int ovfk_err_publish(const ovfk_err *e);
int ovfk_err_last(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Hand a warning to the handler of ovfk_set_warn_handler (common.h). */
void ovfk_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* strerror() for a negative errno or ovfkit code, lower-case. */
const char *ovfk_errtext(int code);

#endif

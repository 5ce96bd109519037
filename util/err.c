/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/err.c - error records (see err.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"

static _Thread_local ovfk_err last_error;

int ovfk_err_vset(ovfk_err *e, int code, const char *fmt, va_list ap)
{
    char msg[OVFK_ERR_MAX];

    /* Through a copy: callers wrap the record's own message
     * (ovfk_err_last(r, "ctx: %s", ovfk_last_error())), and vsnprintf
     * into the buffer it reads from garbles it. */
    vsnprintf(msg, sizeof(msg), fmt, ap);
    e->code = code;
    memcpy(e->msg, msg, sizeof(msg));
    return code;
}

int ovfk_err_set(ovfk_err *e, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ovfk_err_vset(e, code, fmt, ap);
    va_end(ap);
    return code;
}

int ovfk_err_prefix(ovfk_err *e, const char *fmt, ...)
{
    char head[OVFK_ERR_MAX];
    char old[OVFK_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof(old));
    snprintf(e->msg, sizeof(e->msg), "%s: %s", head, old);
    return e->code;
}

void ovfk_err_clear(ovfk_err *e)
{
    e->code = 0;
    e->msg[0] = '\0';
}

int ovfk_err_publish(const ovfk_err *e)
{
    if (e != &last_error) {
        last_error = *e;
    }
    return e->code;
}

int ovfk_err_last(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ovfk_err_vset(&last_error, code, fmt, ap);
    va_end(ap);
    return code;
}

const char *ovfk_last_error(void)
{
    return last_error.msg;
}

const char *ovfk_errtext(int code)
{
    static _Thread_local char buf[128];
    const char *s;
    size_t i;

    switch (code) {
    case OVFK_ECORRUPT:
        return "corrupt image or descriptor";
    case OVFK_EUNSUPPORTED:
        return "unsupported feature";
    case OVFK_EMISMATCH:
        return "identity mismatch";
    case -ENOENT:
        return "no such file";
    default:
        break;
    }
    s = strerror(code < 0 ? -code : code);
    snprintf(buf, sizeof(buf), "%s", s);
    /* git style: lower-case first letter */
    for (i = 0; i < 1 && buf[i]; i++) {
        buf[i] = (char)tolower((unsigned char)buf[i]);
    }
    return buf;
}

const char *ovfk_strerror(int code)
{
    return ovfk_errtext(code);
}

static ovfk_warn_fn warn_fn;
static void *warn_opaque;

void ovfk_set_warn_handler(ovfk_warn_fn fn, void *opaque)
{
    warn_fn = fn;
    warn_opaque = opaque;
}

void ovfk_warn(const char *fmt, ...)
{
    char msg[OVFK_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (warn_fn) {
        warn_fn(warn_opaque, msg);
    } else {
        fprintf(stderr, "ovfkit: warning: %s\n", msg);
    }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/report.c - findings through ovfk_report_fn (util/report.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "util/err.h"
#include "util/report.h"

const char *ovfk_severity_str(enum ovfk_severity sev)
{
    static const char *const names[] = {
        [OVFK_SEV_WARNING] = "warning", [OVFK_SEV_ERROR] = "error",
        [OVFK_SEV_LEAK] = "leak", [OVFK_SEV_MERGE] = "merge",
        [OVFK_SEV_REPAIR] = "repair",
    };

    return (unsigned)sev < sizeof(names) / sizeof(names[0]) && names[sev]
           ? names[sev] : "unknown";
}

void ovfk_vsayf(ovfk_report_fn fn, void *opaque, enum ovfk_severity sev,
                const char *fmt, va_list ap)
{
    char msg[OVFK_ERR_MAX];

    if (!fn) {
        return;
    }
    vsnprintf(msg, sizeof(msg), fmt, ap);
    fn(opaque, sev, msg);
}

void ovfk_say(struct ovfk_reporter *r, enum ovfk_severity sev,
              const char *fmt, ...)
{
    va_list ap;

    if ((unsigned)sev <= OVFK_SEV_MAX) {
        r->n[sev]++;
    }
    va_start(ap, fmt);
    ovfk_vsayf(r->fn, r->opaque, sev, fmt, ap);
    va_end(ap);
}

void ovfk_sayf(ovfk_report_fn fn, void *opaque, enum ovfk_severity sev,
               const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ovfk_vsayf(fn, opaque, sev, fmt, ap);
    va_end(ap);
}

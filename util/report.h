/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/report.h - saying a finding through an ovfk_report_fn: one helper
 * for every module that checks, repairs or verifies (they each had a
 * say() of their own).
 */
#ifndef OVFK_UTIL_REPORT_H
#define OVFK_UTIL_REPORT_H

#include <stdarg.h>

#include "ovfkit/common.h"

#define OVFK_SEV_MAX OVFK_SEV_REPAIR

/* Where findings go, and how many of each weight were said. */
struct ovfk_reporter {
    ovfk_report_fn fn;          /* may be NULL: findings are only counted */
    void *opaque;
    int n[OVFK_SEV_MAX + 1];
};

/* Format one finding, count it under sev, pass it on. */
void ovfk_say(struct ovfk_reporter *r, enum ovfk_severity sev,
              const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The same without a count: for callers that keep none or their own. */
void ovfk_sayf(ovfk_report_fn fn, void *opaque, enum ovfk_severity sev,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void ovfk_vsayf(ovfk_report_fn fn, void *opaque, enum ovfk_severity sev,
                const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

#endif

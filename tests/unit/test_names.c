/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests: the words the library gives its enums for printing, which
 * the CLI's text and --json output carry (a script reads "severity":
 * "leak" or "action": "merge"): each value has its word, and a value the
 * library does not know (a program built against a newer header) gets
 * "unknown", never a NULL or a read past a table.
 */
#include <string.h>

#include "ovfkit/common.h"
#include "ovfkit/hv.h"
#include "ovfkit/snapshot.h"
#include "tests/unit/harness.h"

#define SAME(a, b) CHECK_MSG(!strcmp((a), (b)), "'%s' != '%s'", (a), (b))

static void t_severities(void)
{
    SAME(ovfk_severity_str(OVFK_SEV_WARNING), "warning");
    SAME(ovfk_severity_str(OVFK_SEV_ERROR), "error");
    SAME(ovfk_severity_str(OVFK_SEV_LEAK), "leak");
    SAME(ovfk_severity_str(OVFK_SEV_MERGE), "merge");
    SAME(ovfk_severity_str(OVFK_SEV_REPAIR), "repair");
    SAME(ovfk_severity_str((enum ovfk_severity)0), "unknown");
    SAME(ovfk_severity_str((enum ovfk_severity)99), "unknown");
    SAME(ovfk_severity_str((enum ovfk_severity)-1), "unknown");
}

static void t_plan_actions(void)
{
    SAME(ovfk_hv_disk_action_str(OVFK_HV_DISK_IMPORT), "import");
    SAME(ovfk_hv_disk_action_str(OVFK_HV_DISK_RESTORE), "restore");
    SAME(ovfk_hv_disk_action_str(OVFK_HV_DISK_EMPTY), "empty");
    SAME(ovfk_hv_disk_action_str(OVFK_HV_DISK_SKIP), "skip");
    SAME(ovfk_hv_disk_action_str((enum ovfk_hv_disk_action)0), "unknown");
    SAME(ovfk_hv_disk_action_str((enum ovfk_hv_disk_action)77), "unknown");
    SAME(ovfk_hv_guest_fix_str(OVFK_HV_GUEST_CLEANED), "cleaned");
}

static void t_snapshot_actions(void)
{
    SAME(ovfk_snap_action_str(OVFK_SNAP_MERGE), "merge");
    SAME(ovfk_snap_action_str(OVFK_SNAP_REMOVE), "remove");
    SAME(ovfk_snap_action_str(OVFK_SNAP_KEEP), "keep");
    SAME(ovfk_snap_action_str((enum ovfk_snap_action)3), "unknown");
}

TEST_MAIN(T(t_severities), T(t_plan_actions), T(t_snapshot_actions))

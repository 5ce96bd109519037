#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# p2v capture --consistency snapshot of file systems on LVM (issue 18):
# needs device-mapper in the kernel; without it the test is skipped with
# that reason (0103 checks that auto then freezes and says why).
. "$OVFK_SRCDIR/tests/cli/lib.sh"
if ! [ -e /sys/module/dm_mod ] && ! grep -q device-mapper /proc/misc; then
    skip "the kernel has no device-mapper (no dm_mod module, no device-mapper in /proc/misc): LVM snapshots cannot be tested"
fi
. "$OVFK_SRCDIR/tests/cli/p2v.sh"
need pvcreate lvm2
need lvcreate lvm2
need vgcreate lvm2
need vgremove lvm2
need lvs lvm2

truncate -s 300M lvm.img
printf 'label: dos\n,,8e\n' | sfdisk -q lvm.img
attach lvm.img
vg=ovfkp2v$$
pvcreate -q "${DEV}p1" > /dev/null
vgcreate -q "$vg" "${DEV}p1" > /dev/null
trap 'vgremove -fy "$vg" > /dev/null 2>&1; p2v_cleanup' EXIT
lvcreate -q -L 100M -n data "$vg" > /dev/null
mkfs.ext4 -q "/dev/$vg/data"
mkdir data
mount "/dev/$vg/data" data
MOUNTS="$T/data $MOUNTS"
head -c 10000000 /dev/urandom > data/f
ovfkit --json p2v capture "$DEV" --to "$T/out" --consistency snapshot \
    --no-convert > rep.json
[ "$(json 'd["consistency"]' < rep.json)" = snapshot ] || fail "not a snapshot"
[ -z "$(lvs --noheadings -S 'lv_attr=~^s' "$vg")" ] || fail "a snapshot is left"

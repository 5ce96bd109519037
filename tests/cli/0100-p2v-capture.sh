#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# p2v capture of a disk in use (issue 18): two ext4 file systems (one
# mounted, written to all along) and swap.  The capture passes e2fsck on
# both file systems, every file complete before the freeze is there with
# its exact content, swap keeps its signature, the package verifies, and
# the report names the machine's NICs with their MACs.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/p2v.sh"

p2v_machine 400
# some data before the capture starts, then the writer runs throughout
head -c 30000000 /dev/urandom > data/big
start_writer "$T/data/w"
sleep 1
ovfkit --json p2v capture "$DISK" --to "$T/out" --name web --no-convert \
    > rep.json 2> cap.err || { cat cap.err; fail "capture failed"; }
sleep 0.5
stop_writer
cat cap.err

json 'd["consistency"]' < rep.json | grep -qx freeze || fail "not frozen"
json 'd["reason"]' < rep.json | grep -q "device-mapper\|not on LVM" ||
    fail "auto gave no reason for not using LVM snapshots"
[ "$(json 'len(d["passes"]) >= 2' < rep.json)" = True ] ||
    fail "no pre-copy pass before the frozen one"
grep -q "froze 1 file system" cap.err || fail "the data fs was not frozen"
for f in web.ovf web.mf web-disk1.vhd web.p2v.json; do
    [ -f "out/$f" ] || fail "out/$f is missing"
done
ovfkit ova verify out/web.ovf > /dev/null || fail "the package does not verify"
ovfkit ovf validate out/web.ovf > /dev/null || fail "the OVF is not valid"
[ "$(qemu-img info --output=json out/web-disk1.vhd | json 'd["format"]')" = vpc ] ||
    fail "qemu-img does not read a VHD"
[ "$("$PY" -c 'import os; print(os.path.getsize("out/web-disk1.vhd"))')" -lt 300000000 ] ||
    fail "the dynamic VHD holds the unused blocks"

# the NICs of this machine, each MAC in the report
for n in /sys/class/net/*; do
    [ -e "$n/device" ] || continue
    mac=$(tr a-f A-F < "$n/address")
    grep -q "\"$mac\"" rep.json || fail "MAC $mac of ${n##*/} not in the report"
    grep -q "$mac" out/web.ovf || fail "MAC $mac of ${n##*/} not in the OVF"
done

# read the capture through qemu-img (not our reader)
qemu-img convert -f vpc -O raw out/web-disk1.vhd cap.raw
attach cap.raw ro
CAP=$DEV
e2fsck -fn "${CAP}p1" > fsck1.txt 2>&1 || { cat fsck1.txt; fail "e2fsck of p1"; }
e2fsck -fn "${CAP}p2" > fsck2.txt 2>&1 || { cat fsck2.txt; fail "e2fsck of p2"; }
[ "$(blkid -p -s UUID -o value "${CAP}p3")" = "$SWAP_UUID" ] ||
    fail "the swap signature is gone"
mkdir r1 r2
debugfs -R "rdump / $T/r1" "${CAP}p1" 2> /dev/null
cmp r1/bin/blob rootsrc/bin/blob && cmp r1/etc/numbers rootsrc/etc/numbers ||
    fail "the unmounted fs's files differ"
debugfs -R "rdump /w /big $T/r2" "${CAP}p2" 2> /dev/null
cmp r2/big data/big || fail "the data fs's big file differs"
check_files r2/w rep.json || fail "the writer's files"

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# p2v capture's choices and limits (issue 18): the --dry-run plan (disks,
# file systems, used maps, consistency per file system, bytes to send,
# estimated freeze) changes nothing; --consistency none says
# crash-consistent; snapshot explains why it cannot (auto then freezes);
# --max-freeze refuses a freeze estimated longer; partclone's domain map
# for FAT, unknown content in full; only used blocks go on the wire (a
# 2 GiB file system holding 200 MiB, counted outside ovfkit); usage errors.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/p2v.sh"
need dumpe2fs e2fsprogs
need mkfs.vfat dosfstools
need mcopy mtools
need partclone.vfat partclone

p2v_machine 400
head -c 10000000 /dev/urandom > data/some
sync

# the plan
ovfkit --json p2v capture "$DISK" --to "$T/plan-out" --dry-run > plan.json
[ ! -e plan-out ] || fail "--dry-run wrote $T/plan-out"
touch data/still-writable
pj() { json "$1" < plan.json; }
[ "$(pj 'd["disks"][0]["path"]')" = "$DISK" ] || fail "plan: disk"
[ "$(pj '[p["fstype"] for p in d["disks"][0]["partitions"]]')" = \
  "['ext4', 'ext4', 'swap']" ] || fail "plan: file systems $(cat plan.json)"
[ "$(pj '[p["used_map"] for p in d["disks"][0]["partitions"]]')" = \
  "['libext2fs', 'libext2fs', 'swap (hole)']" ] || fail "plan: used maps"
pj 'd["disks"][0]["partitions"][1]["consistency"]' | grep -q "frozen" ||
    fail "plan: the mounted fs is not to be frozen"
pj 'd["disks"][0]["partitions"][0]["consistency"]' | grep -q "not mounted" ||
    fail "plan: the unmounted fs"
[ "$(pj 'd["consistency"]')" = freeze ] || fail "plan: consistency"
# the freeze estimate: what the frozen pass would read at the measured
# scan rate - the writes of a second with change tracking (none here: no
# writer), else every used chunk
case $(pj 'd["estimate_basis"]') in
"the chunks written in 1 s (change tracking)")
    [ "$(pj 'd["estimated_freeze_seconds"]')" = 0.0 ] ||
        fail "plan: a freeze estimated without writes" ;;
"a full rescan of the used chunks (no change tracking: "*)
    [ "$(pj 'd["estimated_freeze_seconds"] > 0')" = True ] ||
        fail "plan: no freeze estimate" ;;
*) fail "plan: estimate basis $(pj 'd["estimate_basis"]')" ;;
esac
# bytes to send: what the two ext4 use (dumpe2fs) plus the partition
# table's MiB and the swap signature's chunk, rounded to 64 KiB chunks
used=$(( $(ext_used "${DISK}p1") + $(ext_used "${DISK}p2") ))
send=$(pj 'd["bytes_to_send"]')
[ "$send" -ge "$used" ] && [ "$send" -le $((used + used / 10 + 2097152)) ] ||
    fail "plan: $send bytes to send, the file systems use $used"
ovfkit p2v capture "$DISK" --to "$T/plan-out" --dry-run > plan.txt
grep -q "^estimated freeze: " plan.txt && grep -q "^bytes to send: $send$" plan.txt ||
    fail "human plan: $(cat plan.txt)"

# none: one pass, no freeze, and the report says so
ovfkit --json p2v capture "$DISK" --to "$T/none" --consistency none \
    --no-convert > none.json 2> none.err
[ "$(json 'd["crash_consistent"]' < none.json)" = True ] || fail "none: report"
[ "$(json 'len(d["passes"])' < none.json)" = 1 ] || fail "none: passes"
! grep -q "froze" none.err || fail "none froze"
ovfkit p2v capture "$DISK" --to "$T/none2" --consistency none --no-convert \
    2> /dev/null | grep -q "crash-consistent" || fail "none: human report"

# FILE.ova: packed from a directory beside it, which goes
ovfkit p2v capture "$DISK" --to "$T/pkg.ova" --name pkg --no-convert \
    > /dev/null 2> ova.err || { cat ova.err; fail "capture to an OVA"; }
ovfkit ova verify pkg.ova > /dev/null || fail "the OVA does not verify"
ovfkit ova list pkg.ova | grep -q "pkg-disk1.vhd" || fail "no disk in the OVA"
[ ! -e pkg.ova.p2v-dir ] || fail "the OVA's staging directory is left"
expect_err "cannot capture to '$T/pkg.ova': it exists" \
    ovfkit p2v capture "$DISK" --to "$T/pkg.ova" --no-convert

# snapshot: LVM needs device-mapper, which this kernel may lack
if [ -e /sys/module/dm_mod ] || grep -q device-mapper /proc/misc; then
    why="is not on LVM"
else
    why="the kernel has no device-mapper"
fi
expect_err "cannot take LVM snapshots: " ovfkit p2v capture "$DISK" \
    --to "$T/snap" --consistency snapshot --dry-run
grep -q "$why" err.txt || fail "snapshot: $(cat err.txt)"
pj 'd["reason"]' | grep -q "$why" || fail "auto: no reason given"

# --max-freeze: under a writer, a last pass reads some chunks, surely for
# longer than 1 us: refused, never frozen
start_writer "$T/data/w"
expect_rc 3 ovfkit p2v capture "$DISK" --to "$T/refused" --no-convert \
    --max-freeze 0.000001 2> refused.err
stop_writer
grep -q "refusing to freeze: the last pass would take about" refused.err ||
    fail "max-freeze: $(cat refused.err)"
! grep -q "froze" refused.err || fail "max-freeze: froze anyway"
[ ! -e refused ] || fail "max-freeze left $T/refused"
touch data/writable-after-refusal

# errors
expect_err "it is on '$T/data', which the capture freezes" \
    ovfkit p2v capture "$DISK" --to "$T/data/out" --no-convert
expect_err "a partition, not a disk" \
    ovfkit p2v capture "${DISK}p1" --to "$T/x" --dry-run
expect_err "cannot open '/dev/no-such-disk'" \
    ovfkit p2v capture /dev/no-such-disk --to "$T/x" --dry-run
expect_rc 64 ovfkit p2v capture "$DISK" --dry-run 2> /dev/null
expect_rc 64 ovfkit p2v capture "$DISK" --to x --consistency sometimes 2> /dev/null
expect_rc 64 ovfkit p2v capture "$DISK" --to x --max-freeze -1 2> /dev/null
mkdir busy && touch busy/x
expect_err "cannot receive into '$T/busy': not empty" \
    ovfkit p2v capture "$DISK" --to "$T/busy" --no-convert
[ -e busy/x ] || fail "a refused target was emptied"

# FAT through partclone's domain map; a partition of unknown content in full
truncate -s 100M fat.img
printf 'label: dos\n,64M,c\n,,83\n' | sfdisk -q fat.img
attach fat.img
FAT=$DEV
# mtools wants a file (a loop partition has no geometry to give it)
mkfs.vfat -C fat.fs 65536 > /dev/null
head -c 3000000 /dev/urandom > blob
mcopy -i fat.fs blob ::blob
dd if=fat.fs of="${FAT}p1" bs=1M conv=notrunc status=none
head -c 1000000 /dev/urandom | dd of="${FAT}p2" bs=1M seek=20 conv=notrunc status=none
ovfkit --json p2v capture "$FAT" --to "$T/fat" --no-convert > fat.json 2> fat.err ||
    { cat fat.err; fail "fat"; }
[ "$(json '[p["used_map"] for p in d["disks"][0]["partitions"]]' < fat.json)" = \
  "['partclone', 'full (unknown content)']" ] || fail "fat: $(cat fat.json)"
fatused=$(json 'd["disks"][0]["partitions"][0]["used_bytes"]' < fat.json)
[ "$fatused" -ge 3000000 ] && [ "$fatused" -le 4000000 ] ||
    fail "fat: partclone says $fatused bytes used"
qemu-img convert -f vpc -O raw fat/*-disk1.vhd fat.raw
attach fat.raw ro
dd if="${DEV}p1" of=fat.back bs=1M status=none
mcopy -i fat.back ::blob blob.back
cmp blob blob.back || fail "fat: the file differs"
dd if="${FAT}p2" of=p2.src bs=1M status=none
dd if="${DEV}p2" of=p2.cap bs=1M status=none
cmp p2.src p2.cap || fail "the partition of unknown content differs"

# only used blocks: 2 GiB holding 200 MiB, the wire counted outside ovfkit
truncate -s 2049M big.img
printf 'label: dos\n,,83\n' | sfdisk -q big.img
attach big.img
BIG=$DEV
mkfs.ext4 -q "${BIG}p1"
mkdir big
mount "${BIG}p1" big
MOUNTS="$T/big $MOUNTS"
for i in 1 2 3 4; do head -c 52428800 /dev/urandom > "big/f$i"; done
sync
fake_ssh
ovfkit --json p2v capture "$BIG" --to "ssh://x$T/big-out" --no-convert \
    --remote-cmd "$OVFKIT" > big.json 2> big.err || { cat big.err; fail "big"; }
wire=$(cat wire.count)
used=$(( $(ext_used "${BIG}p1") + 1048576 ))
[ "$(json 'd["wire_bytes"]' < big.json)" = "$wire" ] ||
    fail "the report says $(json 'd["wire_bytes"]' < big.json) bytes sent, the wire $wire"
# at most 10% over what is used; at least the 200 MiB of data (used blocks
# that read as zeros - journal, inode tables - go as short records)
echo "wire: $wire bytes, used: $used bytes ($((wire * 100 / used))%)"
[ "$wire" -le $((used + used / 10)) ] || fail "sent $wire bytes for $used used"
[ "$wire" -ge 209715200 ] || fail "sent $wire bytes, less than the data"

# the documents match their schemas (data/json-schema, checked by
# python3-jsonschema): plan, reports, and what the receiver wrote
if "$PY" -c "import jsonschema" 2> /dev/null; then
    mkdir docs
    cp plan.json docs/p2v-capture@plan.json
    cp none.json docs/p2v-capture@none.json
    cp big.json docs/p2v-capture@big.json
    cp fat.json docs/p2v-capture@fat.json
    cp big-out/*.p2v.json docs/p2v-receive@big.json
    "$PY" "$OVFK_SRCDIR/tests/cli/jsondoc.py" docs \
        "$OVFK_SRCDIR/data/json-schema" docs > schema.txt ||
        fail "schemas: $(cat schema.txt)"
fi

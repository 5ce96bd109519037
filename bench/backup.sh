#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/backup.sh - an incremental backup and a prune against their peers,
# on a $SIZE (default 16G) mkdisk disk of a dir-store VM with $PERCENT
# (default 2) of its 64 KiB pieces rewritten between two backups:
#   ovfkit backup VM (incremental)  vs  cp --sparse=always of the VM's
#       delta (a file holding exactly the changed bytes) + sync
#   ovfkit backup VM (incremental)  vs  ovfkit export VM (a full package)
#   ovfkit backup prune --keep-last 1 (the increment merged into the full
#       point)  vs  cp --sparse=always of the increment + sync
# One run each (a backup consumes its writes); page cache dropped before
# each timed command when we may.  Data is checked after the backup.
. "$(dirname "$0")/lib.sh"
SIZE=${SIZE:-16G}
PERCENT=${PERCENT:-2}
cd "$WORK"
echo "work dir: $WORK; $SIZE disk, $PERCENT% of its pieces rewritten"
K() { "$OVFKIT" --store "$WORK/st" "$@"; }
cur() { K --json vm show web | sed -n 's/^ *"path": "\(.*\)",$/\1/p' | head -1; }
timed() {   # timed CMD...: seconds, after a sync and the cache drop
    sync; sh -c "$DROP"; sleep "$SETTLE"
    t0=$(now); "$@" > /dev/null; t1=$(now)
    echo "$t1 - $t0" | bc -l | awk '{printf "%.3f", $1}'
}
rm -rf st repo exp cp1 cp2
[ -e base.raw ] || "$MKDISK" base.raw "$SIZE" > /dev/null
cp --sparse=always base.raw model.raw
K vm create web --memory 256 --disk model.raw -f raw > /dev/null
K backup web --repo repo > /dev/null 2>&1
# the writes, replayed into the VM's delta through ovfkit
"$MKDISK" --mutate model.raw --percent "$PERCENT" --list > offsets.txt
"$MKDISK" --mutate model.raw --percent "$PERCENT" > /dev/null
c=$(cur)
while read -r off; do
    dd if=model.raw bs=64K skip=$((off / 65536)) count=1 status=none |
        "$OVFKIT" vhd write "$c" "$off" 65536
done < offsets.txt
delta=$(cur)
t_cp=$(timed sh -c "cp --sparse=always '$delta' cp1 && sync")
t_exp=$(timed K export web --to exp)
t_inc=$(timed K backup web --repo repo)
inc=$(ls -d repo/*/* | tail -1)/web-disk1.vhd
"$OVFKIT" vhd compare model.raw "$inc" > /dev/null || { echo "the point reads other data"; exit 1; }
t_cpi=$(timed sh -c "cp --sparse=always '$inc' cp2 && sync")
t_prune=$(timed K backup prune --repo repo --keep-last 1)
"$OVFKIT" vhd compare model.raw "$(ls -d repo/*/* | tail -1)/web-disk1.vhd" > /dev/null ||
    { echo "the pruned point reads other data"; exit 1; }
printf '%-44s %9s %9s %7s\n' "" ovfkit peer ratio
printf '%-44s %9s %9s %7s\n' "incremental backup vs cp --sparse of delta" "$t_inc" "$t_cp" "$(ratio "$t_inc" "$t_cp")"
printf '%-44s %9s %9s %7s\n' "full export vs incremental backup" "$t_exp" "$t_inc" "$(ratio "$t_exp" "$t_inc")"
printf '%-44s %9s %9s %7s\n' "prune into the full vs cp --sparse of incr" "$t_prune" "$t_cpi" "$(ratio "$t_prune" "$t_cpi")"
echo "delta $(du -k "$delta" | cut -f1) KiB allocated, increment $(du -k cp2 | cut -f1) KiB"

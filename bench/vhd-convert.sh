#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/vhd-convert.sh - ovfkit vhd convert vs qemu-img convert on a 4 GiB
# raw image from ../shared/bench/mkdisk, in the same run:
#   raw -> dynamic VHD       ovfkit vhd convert   vs  qemu-img convert -O vpc
#   dynamic VHD -> raw       ovfkit vhd convert   vs  qemu-img convert -O raw
# Prints times (median of $RUNS), ratios (ovfkit / qemu-img; < 1 is
# faster) and output sizes.  SIZE=16G bench/vhd-convert.sh for another size.
. "$(dirname "$0")/lib.sh"
SIZE=${SIZE:-4G}
cd "$WORK"
echo "work dir: $WORK"
[ -e disk.raw ] || "$MKDISK" disk.raw "$SIZE"

t_ours=$(median_time "rm -f ours.vhd" -- "$OVFKIT" -q vhd convert disk.raw ours.vhd)
t_qemu=$(median_time "rm -f qemu.vhd" -- qemu-img convert -f raw -O vpc -o subformat=dynamic,force_size=on disk.raw qemu.vhd)
t_ours_raw=$(median_time "rm -f ours.raw" -- "$OVFKIT" -q vhd convert --type raw ours.vhd ours.raw)
t_qemu_raw=$(median_time "rm -f qemu.raw" -- qemu-img convert -f vpc -O raw ours.vhd qemu.raw)
# ovfkit fsyncs its output before renaming it into place (a crash must not
# leave a complete-looking file); qemu-img does not sync.  The same
# durability for qemu-img costs a sync of its output:
t_qemu_sync=$(median_time "rm -f qemu.vhd" -- sh -c "qemu-img convert -f raw -O vpc -o subformat=dynamic,force_size=on disk.raw qemu.vhd && sync qemu.vhd")
t_qemu_raw_sync=$(median_time "rm -f qemu.raw" -- sh -c "qemu-img convert -f vpc -O raw ours.vhd qemu.raw && sync qemu.raw")

cmp -s ours.raw disk.raw || { echo "ovfkit's raw output differs from the input"; exit 1; }
qemu-img compare -q -f raw -F vpc disk.raw ours.vhd || { echo "qemu-img disagrees with our VHD"; exit 1; }

sz_ours=$(stat -c %s ours.vhd); sz_qemu=$(stat -c %s qemu.vhd)
du_ours=$(du -k ours.vhd | cut -f1); du_qemu=$(du -k qemu.vhd | cut -f1)
printf '%-28s %10s %10s %8s\n' "$SIZE raw image" ovfkit qemu-img ratio
printf '%-28s %9ss %9ss %8s\n' "raw -> dynamic VHD" "$t_ours" "$t_qemu" "$(ratio "$t_ours" "$t_qemu")"
printf '%-28s %9ss %9ss %8s\n' "dynamic VHD -> raw" "$t_ours_raw" "$t_qemu_raw" "$(ratio "$t_ours_raw" "$t_qemu_raw")"
printf '%-28s %9ss %9ss %8s\n' "raw -> dynamic, both synced" "$t_ours" "$t_qemu_sync" "$(ratio "$t_ours" "$t_qemu_sync")"
printf '%-28s %9ss %9ss %8s\n' "dynamic -> raw, both synced" "$t_ours_raw" "$t_qemu_raw_sync" "$(ratio "$t_ours_raw" "$t_qemu_raw_sync")"
printf '%-28s %10s %10s %8s\n' "VHD size (bytes)" "$sz_ours" "$sz_qemu" "$(ratio "$sz_ours" "$sz_qemu")"
printf '%-28s %10s %10s %8s\n' "VHD allocated (KiB)" "$du_ours" "$du_qemu" "$(ratio "$du_ours" "$du_qemu")"
[ -n "${BENCH_DIR:-}" ] || rm -rf "$WORK"

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/merge.sh - deleting a snapshot: merge a delta holding the writes
# of `mkdisk --mutate --percent 5` into its base, on a 4 GiB disk, then on
# a 16 GiB disk with the same writes (1.25%: the same delta, so the merge
# should cost the same - it follows the delta, not the disk) and with 5%
# of it, in the same run as the peers:
#   ovfkit vhd merge DELTA.vhd        (in place, crash-safe, fsync'ed)
#   cp --sparse=always DELTA.vhd      (copying the delta's bytes; + sync)
#   qemu-img commit DELTA.qcow2       (the same writes on a qcow2 chain)
# Prints times (median of $RUNS; page cache dropped before each run when
# we may), ratios, what removing each tool's delta file costs alone (a
# sparse VHD delta has thousands of extents, a qcow2 overlay a dozen; on
# a file system mounted with online discard that is most of the gap to
# qemu-img commit; the merge less that removal is printed as an estimate),
# and the 16G/4G ratio of the merge (cost should follow
# the delta, not the disk).  Data is checked after every merge.
. "$(dirname "$0")/lib.sh"
# size:percent of the 64 KiB pieces rewritten
CASES=${CASES:-4G:5 16G:1.25 16G:5}
need_tool() { command -v "$1" > /dev/null || { echo "needs $1"; exit 1; }; }
need_tool qemu-img
cd "$WORK"
echo "work dir: $WORK"

# Removal cost depends on the file system: ext4 without a journal and
# mounted with online discard trims each freed extent synchronously, in
# the process that unlinks (one round trip to the disk per extent); with a
# journal, trims are batched at commit and adjacent ones joined.
src=$(findmnt -no SOURCE -T "$WORK" 2>/dev/null || true)
opts=$(findmnt -no FSTYPE,OPTIONS -T "$WORK" 2>/dev/null || true)
journal=""
if [ -d "/proc/fs/ext4/${src##*/}" ]; then
    if ls -d "/proc/fs/jbd2/${src##*/}"-* > /dev/null 2>&1; then
        journal=", journal"
    else
        journal=", no journal"
    fi
fi
echo "file system: $src $opts$journal"
printf '%-34s %10s %10s %8s\n' "merge into a dynamic VHD" ovfkit peer ratio
for case in $CASES; do
    size=${case%:*} PERCENT=${case#*:}
    d=$WORK/$size-$PERCENT
    mkdir -p "$d" && cd "$d"
    # pristine copies live in orig/: every run starts from them
    if [ ! -e orig/delta.qcow2 ]; then
        rm -rf orig pieces && mkdir -p orig pieces
        "$MKDISK" base.raw "$size" > /dev/null
        "$MKDISK" --mutate base.raw --percent "$PERCENT" --list > offsets.txt
        cp --sparse=always base.raw mut.raw
        "$MKDISK" --mutate mut.raw --percent "$PERCENT" > /dev/null
        "$OVFKIT" -q vhd convert base.raw orig/base.vhd
        # qemu-img's: the same 64 KiB pieces replayed with qemu-io
        qemu-img convert -f raw -O qcow2 base.raw orig/base.qcow2
        qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 orig/delta.qcow2
        python3 - mut.raw offsets.txt "$d/pieces" > cmds.txt <<'PYEOF'
import sys
img = open(sys.argv[1], "rb")
for n, line in enumerate(open(sys.argv[2])):
    off = int(line.split()[0], 0)
    img.seek(off)
    path = "%s/%d" % (sys.argv[3], n)
    open(path, "wb").write(img.read(65536))
    print("write -q -s %s %d 65536" % (path, off))
PYEOF
        (cd orig && qemu-io -f qcow2 delta.qcow2 < ../cmds.txt > /dev/null)
        rm -rf pieces cmds.txt base.raw
    fi
    # our delta: what differs from the base (convert with a parent), made
    # anew by the ovfkit measured, in its default block size for a delta
    # (DELTA_BLOCK=N to choose one)
    rm -f orig/delta.vhd
    "$OVFKIT" -q vhd convert -B orig/base.vhd ${DELTA_BLOCK:+--block-size "$DELTA_BLOCK"} \
        mut.raw orig/delta.vhd
    delta_bs=$("$OVFKIT" vhd info orig/delta.vhd | sed -n 's/^block size: *//p')
    reset_vhd="rm -f copy.vhd; cp --sparse=always orig/base.vhd orig/delta.vhd . && $DROP"
    reset_qcow="cp --sparse=always orig/base.qcow2 orig/delta.qcow2 . && $DROP"
    reset_cp="rm -f copy.vhd; cp --sparse=always orig/delta.vhd . && $DROP"

    t_merge=$(median_time "$reset_vhd" -- "$OVFKIT" -q vhd merge delta.vhd)
    # the merged base must read as the mutated image
    "$OVFKIT" -q vhd compare mut.raw base.vhd > /dev/null ||
        { echo "$size: the merged base differs from the mutated image"; exit 1; }
    t_cp=$(median_time "$reset_cp" -- cp --sparse=always delta.vhd copy.vhd)
    t_cp_sync=$(median_time "$reset_cp" -- sh -c "cp --sparse=always delta.vhd copy.vhd && sync copy.vhd")
    t_commit=$(median_time "$reset_qcow" -- qemu-img commit -q delta.qcow2)
    qemu-img compare -q -f raw -F qcow2 mut.raw base.qcow2 ||
        { echo "$size: qemu-img's committed base differs"; exit 1; }

    # what removing each delta file costs by itself (the merge removes
    # ours; qemu-img commit truncates its overlay): file systems free, and
    # with online discard trim, extent by extent (filefrag -v lists the
    # logical extents; its summary merges physically adjacent ones)
    t_rm_vhd=$(median_time "cp --sparse=always orig/delta.vhd rm.me && sync" -- rm rm.me)
    t_rm_qcow=$(median_time "cp --sparse=always orig/delta.qcow2 rm.me && sync" -- rm rm.me)
    cp --sparse=always orig/delta.vhd rm.me && sync
    ext_vhd=$(filefrag -v rm.me | grep -c '^ *[0-9]*:')
    cp --sparse=always orig/delta.qcow2 rm.me && sync
    ext_qcow=$(filefrag -v rm.me | grep -c '^ *[0-9]*:')
    rm -f rm.me
    delta_mib=$(du -m orig/delta.vhd | cut -f1)
    qdelta_mib=$(du -m orig/delta.qcow2 | cut -f1)
    echo "$size disk, $PERCENT% rewritten: delta $delta_mib MiB allocated in $((delta_bs / 1024)) KiB blocks (qcow2 delta $qdelta_mib MiB):"
    printf '  %-32s %9ss %9ss %8s\n' "vs cp --sparse=always" "$t_merge" "$t_cp" "$(ratio "$t_merge" "$t_cp")"
    printf '  %-32s %9ss %9ss %8s\n' "vs cp --sparse=always + sync" "$t_merge" "$t_cp_sync" "$(ratio "$t_merge" "$t_cp_sync")"
    printf '  %-32s %9ss %9ss %8s\n' "vs qemu-img commit (qcow2)" "$t_merge" "$t_commit" "$(ratio "$t_merge" "$t_commit")"
    printf '  %-32s %9ss %9ss %8s\n' "rm of the delta, VHD vs qcow2" "$t_rm_vhd" "$t_rm_qcow" "$(ratio "$t_rm_vhd" "$t_rm_qcow")"
    printf '  %-32s %10s %10s\n' "  its extents" "$ext_vhd" "$ext_qcow"
    # the merge less what removing its delta costs alone, against the
    # whole commit (which keeps its emptied overlay): an estimate, from
    # two medians
    t_rest=$(echo "$t_merge - $t_rm_vhd" | bc -l | awk '{printf "%.3f", $1}')
    printf '  %-32s %9ss %9ss %8s\n' "merge less the rm (estimate)" "$t_rest" "$t_commit" "$(ratio "$t_rest" "$t_commit")"
    eval "t_merge_$(echo "${size}_$PERCENT" | tr . _)=$t_merge"
    cd "$WORK"
done
if [ -n "${t_merge_4G_5:-}" ] && [ -n "${t_merge_16G_1_25:-}" ]; then
    printf '%-34s %10s\n' "merge 16G / 4G, same delta" "$(ratio "$t_merge_16G_1_25" "$t_merge_4G_5")"
fi
[ -n "${BENCH_DIR:-}" ] || rm -rf "$WORK"

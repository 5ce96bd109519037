#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/p2v.sh - live P2V capture of a 4 GiB disk holding ~1.4 GiB of
# files (mkdisk's output written as files onto ext4, mounted as on a
# running server) to a local directory, against the cold-copy baseline
# (dd of the whole device, then qemu-img convert -O vpc) and against
# partclone.ext4 -c (used blocks only, to an image file).  Then the freeze
# time of a capture under a steady writer.  Needs root.
#
#   sh bench/p2v.sh            (RUNS=1 for one run of each)
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "needs root (losetup, mount, fsfreeze)"; exit 1; }
command -v partclone.ext4 > /dev/null || { echo "needs partclone"; exit 1; }
dev=""
wpid=""
cleanup() {
    [ -z "$wpid" ] || kill "$wpid" 2> /dev/null || true
    umount "$WORK/mnt" 2> /dev/null || true
    [ -z "$dev" ] || losetup -d "$dev" 2> /dev/null || true
    rm -f "${dev}p1"
    [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

cd "$WORK"
truncate -s 4G disk.img
printf 'label: dos\n,,83\n' | sfdisk -q disk.img
# direct I/O: no page cache of the image's own, so dropped caches mean
# cold reads for every tool alike
dev=$(losetup --direct-io=on -f --show -P disk.img)
n=${dev#/dev/}
partx -a "$dev" 2> /dev/null || true
rm -f "${dev}p1"
mknod -m 660 "${dev}p1" b $(tr : ' ' < "/sys/block/$n/${n}p1/dev")
mkfs.ext4 -q "${dev}p1"
mkdir mnt
mount "${dev}p1" mnt
for i in 1 2 3 4 5 6 7; do
    "$MKDISK" src.raw 512M --seed "$i" > /dev/null
    cp --sparse=always src.raw "mnt/data$i"
    rm src.raw
done
sync
used=$(df -B1 --output=used mnt | tail -1)
echo "disk: 4 GiB, ext4 holding $(echo "$used / 1048576" | bc) MiB (df)"

t_p2v=$(median_time "rm -rf cap; $DROP" -- \
    "$OVFKIT" -q p2v capture "$dev" --to "$WORK/cap" --no-convert)
t_dd=$(median_time "rm -f dd.raw dd.vhd; $DROP" -- \
    sh -c "dd if=$dev of=dd.raw bs=4M status=none &&
           qemu-img convert -f raw -O vpc -o subformat=dynamic dd.raw dd.vhd")
# partclone copies only an unmounted file system (the server down)
umount mnt
t_pc=$(median_time "rm -f pc.img; $DROP" -- \
    sh -c "partclone.ext4 -c -s ${dev}p1 -O pc.img -L /dev/null 2> /dev/null")
mount "${dev}p1" mnt
echo "p2v capture to DIR:        $t_p2v s  ($(du -B1 cap/*.vhd | awk '{s+=$1} END {printf "%d MiB", s/1048576}'))"
echo "dd + qemu-img convert vpc: $t_dd s"
echo "partclone.ext4 -c:         $t_pc s  (unmounted; $(du -B1 pc.img | awk '{printf "%d MiB", $1/1048576}'))"
echo "ratio p2v / dd pipeline:   $(ratio "$t_p2v" "$t_dd")  (target <= 0.5)"
echo "ratio p2v / partclone:     $(ratio "$t_p2v" "$t_pc")  (target <= 1)"

# the freeze under a steady writer (~8 MiB/s of 256 KiB files, fsynced)
rm -rf cap
mkdir mnt/w
"${PYTHON:-python3}" -c '
import os, sys, time
d = sys.argv[1]; buf = os.urandom(262144); i = 0
while True:
    with open(os.path.join(d, "f%d" % (i % 400)), "wb") as f:
        f.write(buf); f.flush(); os.fsync(f.fileno())
    i += 1
    time.sleep(0.03)
' mnt/w &
wpid=$!
sleep 2
"$OVFKIT" --json p2v capture "$dev" --to "$WORK/cap" --no-convert > rep.json 2> cap.err
kill "$wpid"
wpid=""
python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("under a writer: %d passes (%s MiB sent per pass), estimated freeze %.2f s, frozen %.2f s"
      % (len(r["passes"]), ", ".join("%.1f" % (p["sent_bytes"] / 1048576) for p in r["passes"]),
         r["estimated_freeze_seconds"], r["freeze_seconds"]))' rep.json

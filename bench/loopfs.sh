#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/loopfs.sh - run a benchmark on a fresh ext4 with a journal, the
# file system most hosts have, whatever this machine's root is (the build
# machine's root is ext4 without a journal, mounted with online discard:
# there removing a fragmented file trims it extent by extent, and
# bench/merge.sh's figures are mostly that).  Needs root.
#
#   sh bench/loopfs.sh [SIZE] BENCH.sh   (e.g. 14G bench/merge.sh)
#
# The image lives in $LOOPFS_IMG (/var/tmp/ovfkit-loopfs.img), is attached
# with direct I/O (no second page cache under the file system's own, so
# dropping caches makes runs cold for every tool alike), and mounted at
# $LOOPFS_MNT.  The benchmark's work dir is $LOOPFS_MNT/bench.  An image
# made by this run is removed at its end (KEEP=1 keeps it, with its
# generated disks, for the next run); one that was there is kept.
set -eu
size=14G
case ${1:-} in [0-9]*) size=$1; shift ;; esac
[ $# -ge 1 ] || { echo "usage: $0 [SIZE] BENCH.sh"; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root (losetup, mount)"; exit 1; }
img=${LOOPFS_IMG:-/var/tmp/ovfkit-loopfs.img}
mnt=${LOOPFS_MNT:-/var/tmp/ovfkit-loopfs}
bench=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
made=0      # an image this run made is removed at the end (unless KEEP=1)
dev=""
cleanup() {
    umount "$mnt" 2>/dev/null || true
    [ -z "$dev" ] || losetup -d "$dev" 2>/dev/null || true
    [ "$made" = 0 ] || [ "${KEEP:-0}" = 1 ] || rm -f "$img"
}
trap cleanup EXIT INT TERM
if [ ! -e "$img" ]; then
    made=1
    truncate -s "$size" "$img"
    mkfs.ext4 -q -F "$img"
fi
mkdir -p "$mnt"
dev=$(losetup --direct-io=on -f --show "$img")
mount "$dev" "$mnt"
mkdir -p "$mnt/bench"
BENCH_DIR=$mnt/bench sh "$bench" "$@"

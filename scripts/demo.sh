#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/demo.sh - the main job on the embedded default store, end to end,
# with the ovfkit just built.  Prints each command before it runs.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
ovfkit="$top/build/ovfkit"
work=$(mktemp -d /tmp/ovfkit-demo-XXXXXX)
trap 'rm -rf "$work"' EXIT
run() { echo "+ $*"; "$@"; }

# a sample raw disk: 64 MiB with a little data in it
truncate -s 64M "$work/sample.raw"
printf 'ovfkit demo marker\n' | dd of="$work/sample.raw" bs=1M seek=3 conv=notrunc status=none
head -c 4M /dev/urandom | dd of="$work/sample.raw" bs=1M seek=20 conv=notrunc status=none

run "$ovfkit" vhd convert "$work/sample.raw" "$work/sample.vhd"
run "$ovfkit" vhd check "$work/sample.vhd"
run "$ovfkit" vhd info "$work/sample.vhd"
run "$ovfkit" vhd convert --type raw "$work/sample.vhd" "$work/back.raw"
run cmp "$work/sample.raw" "$work/back.raw"
echo "demo: the VHD reads back byte for byte"

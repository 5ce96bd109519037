#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/demo.sh - the main job on the embedded default store
# ($XDG_DATA_HOME/ovfkit, else ~/.local/share/ovfkit), end to end, with the
# ovfkit just built: create a VM, snapshot it, export it as an OVA, check
# the package, import it as a new VM (new UUID, new MAC) and restore it as
# the same VM, and show that the disk data came through.  The demo's VMs
# are removed at the end; the store itself stays.  Prints each command.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
ovfkit="$top/build/ovfkit"
work=$(mktemp -d /tmp/ovfkit-demo-XXXXXX)
name=demo_$$
copy=${name}_copy
cleanup() {
    "$ovfkit" -q vm remove "$copy" > /dev/null 2>&1 || true
    "$ovfkit" -q vm remove "$name" > /dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
run() { echo "+ ovfkit $*"; "$ovfkit" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# a sample disk: 64 MiB with a marker and some data
truncate -s 64M "$work/sample.raw"
printf 'ovfkit demo marker\n' | dd of="$work/sample.raw" bs=1M seek=3 conv=notrunc status=none
head -c 4M /dev/urandom | dd of="$work/sample.raw" bs=1M seek=20 conv=notrunc status=none

"$ovfkit" net list 2>/dev/null | grep -qw lan || run net add lan
run vm create "$name" --cpus 2 --memory 1024 --disk "$work/sample.raw" --nic lan
run snapshot create "$name" --name before-export
run snapshot list "$name"
run export "$name" --to "$work/$name.ova"
run ova verify "$work/$name.ova"
run import "$work/$name.ova" --name "$copy"
orig_mac=$("$ovfkit" --json vm show "$name" | json 'd["nics"][0]["mac"]')
copy_mac=$("$ovfkit" --json vm show "$copy" | json 'd["nics"][0]["mac"]')
orig_uuid=$("$ovfkit" --json vm show "$name" | json 'd["uuid"]')
copy_uuid=$("$ovfkit" --json vm show "$copy" | json 'd["uuid"]')
echo "original: $orig_uuid $orig_mac"
echo "import:   $copy_uuid $copy_mac   (new identity)"
[ "$orig_uuid" != "$copy_uuid" ] && [ "$orig_mac" != "$copy_mac" ]
disk=$("$ovfkit" --json vm show "$copy" | json 'd["disks"][0]["path"]')
run vhd compare "$work/sample.raw" "$disk"
run vm remove "$name"
run restore "$work/$name.ova" --force
[ "$("$ovfkit" --json vm show "$name" | json 'd["uuid"]')" = "$orig_uuid" ]
echo "restore:  $orig_uuid $("$ovfkit" --json vm show "$name" | json 'd["nics"][0]["mac"]')   (same identity)"
echo "demo: export, import and restore on the default store worked"

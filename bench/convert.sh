#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/convert.sh - V2V of a VMware disk into a VHD-based OVA, in one run:
#   ovfkit convert disk.vmdk --to x.ova        (one pass: inflate, VHD,
#                                               SHA-256, tar, fsync)
#   vs qemu-img convert -O vpc + sha256sum + tar (+ sync of the OVA)
# on a 4 GiB streamOptimized VMDK made by qemu-img from a mkdisk image
# (SIZE=16G for another size).  Ratios are peer / ovfkit: above 1 means
# ovfkit is faster.  The OVAs are checked: the VHD inside ours reads as
# the VMDK does.
. "$(dirname "$0")/lib.sh"
SIZE=${SIZE:-4G}
command -v qemu-img > /dev/null || { echo "needs qemu-img"; exit 1; }
cd "$WORK"
echo "work dir: $WORK"
[ -e convert-disk.raw ] || "$MKDISK" convert-disk.raw "$SIZE" > /dev/null
[ -e disk.vmdk ] || qemu-img convert -f raw -O vmdk -o subformat=streamOptimized \
    convert-disk.raw disk.vmdk

peer() {
    rm -rf peer && mkdir peer && cd peer
    qemu-img convert -f vmdk -O vpc -o subformat=dynamic,force_size=on ../disk.vmdk disk1.vhd
    printf '<?xml version="1.0"?><Envelope/>\n' > vm.ovf
    sha256sum vm.ovf disk1.vhd | awk '{print "SHA256(" $2 ")= " $1}' > vm.mf
    tar cf ../peer.ova vm.ovf vm.mf disk1.vhd
    cd ..
    sync peer.ova
}

t_ours=$(median_time "rm -f ours.ova" -- "$OVFKIT" -q convert disk.vmdk --to ours.ova --name bench)
t_peer=$(median_time "rm -f peer.ova" -- peer)
rss=$(peak_rss_kib "$OVFKIT" -q convert disk.vmdk --to rss.ova --name bench)
rm -f rss.ova

# check: the VHD inside our OVA reads as the VMDK
rm -rf chk && mkdir chk && "$OVFKIT" -q ova unpack ours.ova chk > /dev/null
qemu-img compare -q -f vmdk -F vpc disk.vmdk chk/bench-disk1.vhd ||
    { echo "our OVA's disk differs from the VMDK"; exit 1; }
rm -rf chk peer

printf '%-40s %10s %10s %8s\n' "$SIZE streamOptimized VMDK -> VHD OVA" ovfkit peer "peer/ours"
printf '%-40s %9ss %9ss %8s\n' "vs qemu-img + sha256sum + tar" "$t_ours" "$t_peer" "$(ratio "$t_peer" "$t_ours")"
printf '%-40s %10s\n' "ovfkit peak RSS (KiB)" "$rss"
printf '%-40s %10s %10s\n' "OVA size (bytes)" "$(stat -c %s ours.ova)" "$(stat -c %s peer.ova)"
[ -n "${BENCH_DIR:-}" ] || rm -rf "$WORK"

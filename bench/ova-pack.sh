#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/ova-pack.sh - packing a 4 GiB VHD (from ../shared/bench/mkdisk)
# into an OVA with a SHA-256 manifest, against the pipeline a user would
# otherwise run, in the same run:
#   pack:    ovfkit ova pack          vs  sha256sum > x.mf && tar cf x.ova ...
#   unpack:  ovfkit ova unpack        vs  tar xf x.ova && sha256sum -c x.mf
# Prints median times, ratios (peer / ovfkit: > 1 means ovfkit is faster)
# and ovfkit's peak memory at two disk sizes (flat memory = same figure).
. "$(dirname "$0")/lib.sh"
SIZE=${SIZE:-4G}
cd "$WORK"
echo "work dir: $WORK"
[ -e disk.raw ] || "$MKDISK" disk.raw "$SIZE"
[ -e disk.vhd ] || "$OVFKIT" -q vhd convert disk.raw disk.vhd
cat > vm.ovf <<'EOX'
<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References><File ovf:href="disk.vhd" ovf:id="f1"/></References>
  <VirtualSystem ovf:id="vm"><Info>vm</Info></VirtualSystem>
</Envelope>
EOX

t_pack=$(median_time "rm -f ours.ova" -- "$OVFKIT" -q ova pack vm.ovf ours.ova)
t_pipe=$(median_time "rm -f peer.ova vm.mf" -- sh -c \
    'sha256sum vm.ovf disk.vhd | sed "s/^\([0-9a-f]*\)  \(.*\)$/SHA256(\2)= \1/" > vm.mf && tar cf peer.ova vm.ovf vm.mf disk.vhd && sync peer.ova')
t_unpack=$(median_time "rm -rf out" -- "$OVFKIT" -q ova unpack ours.ova out)
t_untar=$(median_time "rm -rf peer" -- sh -c \
    'mkdir peer && cd peer && tar xf ../peer.ova && sed "s/^SHA256(\(.*\))= \(.*\)$/\2  \1/" vm.mf | sha256sum -c --quiet && sync disk.vhd')
"$OVFKIT" -q ova verify ours.ova
cmp -s out/disk.vhd disk.vhd || { echo "unpacked disk differs"; exit 1; }
m_pack=$(peak_rss_kib "$OVFKIT" -q ova pack vm.ovf mem.ova); rm -f mem.ova
m_unpack=$(peak_rss_kib "$OVFKIT" -q ova unpack ours.ova mem-out); rm -rf mem-out
# the same with a 256 MiB disk: memory should not follow the disk size
mkdir -p small && cd small
[ -e disk.raw ] || "$MKDISK" disk.raw 256M
[ -e disk.vhd ] || "$OVFKIT" -q vhd convert disk.raw disk.vhd
cp ../vm.ovf .
s_pack=$(peak_rss_kib "$OVFKIT" -q ova pack vm.ovf mem.ova); rm -f mem.ova
cd ..

printf '%-34s %9s %9s %7s\n' "$SIZE disk ($(du -h disk.vhd | cut -f1) VHD)" ovfkit pipeline speedup
printf '%-34s %8ss %8ss %6sx\n' "pack + SHA-256 manifest" "$t_pack" "$t_pipe" "$(ratio "$t_pipe" "$t_pack")"
printf '%-34s %8ss %8ss %6sx\n' "verify + unpack" "$t_unpack" "$t_untar" "$(ratio "$t_untar" "$t_unpack")"
printf '%-34s %8s KiB (pack)  %s KiB (unpack)\n' "ovfkit peak memory, $SIZE" "$m_pack" "$m_unpack"
printf '%-34s %8s KiB (pack)\n' "ovfkit peak memory, 256M" "$s_pack"
[ -n "${BENCH_DIR:-}" ] || rm -rf "$WORK"

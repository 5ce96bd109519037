#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A libvirt domain XML given to `convert` is read by the one domain
# reader (hv/domxml.c): libvirt's decimal units (GB) count in powers of
# 1000, and hostile numbers are refused with what is wrong, never wrapped
# around into a VM of 16 EiB or 4 billion vCPUs.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need qemu-img qemu-utils

qemu-img create -q -f raw disk.img 16M
# dom NAME MEMORY UNIT VCPU
dom() {
    cat > "$1.xml" <<EOF
<domain type='kvm'>
  <name>$1</name>
  <memory unit='$3'>$2</memory>
  <vcpu>$4</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$T/disk.img'/><target dev='vda' bus='virtio'/></disk>
  </devices>
</domain>
EOF
}
sys() { json "d['systems'][0]$1"; }

dom gb 4 GB 2
ovfkit convert gb.xml --to gb.ova > /dev/null
ovfkit --json ovf info gb.ova > gb.json
# 4 GB = 4e9 bytes = 3814.7 MiB
[ "$(sys "['memory_mib']" < gb.json)" = 3814 ] && [ "$(sys "['cpus']" < gb.json)" = 2 ] ||
    fail "4 GB, 2 vCPUs: $(cat gb.json)"

dom huge 18446744073709551615 GiB 2
expect_err "'huge.xml' has memory '18446744073709551615' in unit 'GiB': out of range" \
    ovfkit convert huge.xml --to huge.ova
dom neg -1 MiB 2
expect_err "'neg.xml' has memory '-1' in unit 'MiB': not a number" \
    ovfkit convert neg.xml --to neg.ova
dom unit 4 furlongs 2
expect_err "'unit.xml' has memory '4' in unit 'furlongs': unknown unit" \
    ovfkit convert unit.xml --to unit.ova
dom cpus 1024 MiB -1
expect_err "'cpus.xml' has vcpu '-1': not a number" ovfkit convert cpus.xml --to cpus.ova
dom wrap 1024 MiB 4294967297
expect_err "'wrap.xml' has vcpu '4294967297': out of range (1 to 4096)" \
    ovfkit convert wrap.xml --to wrap.ova
for f in huge neg unit cpus wrap; do
    [ ! -e "$f.ova" ] || fail "$f.xml: a package was written"
done
echo "domain XML numbers: units read, hostile values refused"

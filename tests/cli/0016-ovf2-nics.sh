# OVF 2.x hardware as the DMTF examples and VirtualBox write it: NICs as
# EthernetPortItem (epasd:) and disk drives as StorageItem (sasd:), with
# ResourceType left out (optional in those CIM classes) and memory in
# VirtualQuantityUnits.  The NICs must show in `ovf info`, survive an
# import on the dir store and an OVF 1.0 rewrite; the memory must be read
# in its units.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
S=$T/store
o() { ovfkit --store "$S" "$@"; }
src=$OVFK_SRCDIR/testdata/ovf/ovfkit__dmtf2_epasd_sasd.ovf

ovfkit --json ovf info "$src" > info.json
[ "$(json 'len(d["systems"][0]["nics"])' < info.json)" = 2 ] ||
    fail "ovf info shows $(json 'len(d["systems"][0]["nics"])' < info.json) NICs, the descriptor has 2"
[ "$(json '[n["network"] for n in d["systems"][0]["nics"]]' < info.json)" = "['VM Network', 'Backend']" ] ||
    fail "NIC networks: $(json '[n["network"] for n in d["systems"][0]["nics"]]' < info.json)"
[ "$(json 'd["systems"][0]["nics"][0]["mac"]' < info.json)" = "00:16:3E:5A:10:01" ] ||
    fail "first NIC's MAC not read"
[ "$(json 'd["systems"][0]["memory_mib"]' < info.json)" = 1024 ] ||
    fail "memory of 1 byte*2^30 read as $(json 'd["systems"][0]["memory_mib"]' < info.json) MiB"
[ "$(json 'd["systems"][0]["disks"][0]["disk"]' < info.json)" = vmdisk1 ] ||
    fail "the StorageItem's disk drive is not shown"
ovfkit ovf info "$src" | grep -c '^  nic:' | grep -qx 2 || fail "text info lacks NICs"
ovfkit ovf validate "$src" > v.txt || fail "the sample does not validate: $(cat v.txt)"

# an OVF 1.0 rewrite keeps them as Items of ResourceType 10
ovfkit ovf convert --to 1.0 "$src" -o v1.ovf
ovfkit --json ovf info v1.ovf | json 'len(d["systems"][0]["nics"])' | grep -qx 2 ||
    fail "OVF 1.0 rewrite lost NICs"

# import on the dir store: the VM gets both NICs
mkdir pkg
cp "$src" pkg/web.ovf
ovfkit vhd create pkg/disk1.vhd 64M
o net add lan
o net add Backend
o import pkg/web.ovf --network "VM Network=lan" --keep-guest-config > plan.txt
o --json vm show MyWebServer > vm.json
[ "$(json '[n["network"] for n in d["nics"]]' < vm.json)" = "['lan', 'Backend']" ] ||
    fail "imported VM has NICs $(json 'd["nics"]' < vm.json)"
[ "$(json '[n["model"] for n in d["nics"]]' < vm.json)" = "['virtio', 'e1000']" ] ||
    fail "NIC models: $(json '[n["model"] for n in d["nics"]]' < vm.json)"
[ "$(json 'd["memory_mib"]' < vm.json)" = 1024 ] || fail "imported memory"
[ "$(json 'len(d["disks"])' < vm.json)" = 1 ] || fail "imported disks"
echo ok

# The libvirt driver against a real libvirtd (qemu:///system, started here
# when the machine allows): `virsh dumpxml` of an imported VM shows the new
# UUID, MACs and disks; after a restore, the original ones.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
URI=qemu:///system
libvirt_up $URI
net=$(virsh -c $URI net-list --all --name | head -1)
[ -n "$net" ] || skip "libvirtd has no network defined"
name=ovfkit_test_$$
cleanup() {
    for d in "$name" "${name}_r"; do
        virsh -c $URI undefine "$d" > /dev/null 2>&1 || true
    done
    cd /; rm -rf "$T"
}
trap cleanup EXIT
chmod 755 "$T"

# a package from the dir store
S=$T/store
ovfkit --store "$S" vm create src --memory 512 --disk 16M --nic lan,mac=02:17:42:2F:BB:07
head -c 1M /dev/urandom | ovfkit vhd write "$(ovfkit --store "$S" --json vm show src | json 'd["disks"][0]["path"]')" 0
ovfkit --store "$S" export src --to src.ova
uuid=$(ovfkit --store "$S" --json vm show src | json 'd["uuid"]')

mkdir images
ovfkit --connect $URI import src.ova --name "$name" --network lan="$net" \
    --storage "$T/images" --keep-guest-config > /dev/null
virsh -c $URI dumpxml "$name" > imported.xml
grep -q "<uuid>$uuid</uuid>" imported.xml && fail "import kept the UUID"
grep -qi "mac address='02:17:42:2f:bb:07'" imported.xml && fail "import kept the MAC"
grep -qi "mac address='02:17:42:2f:" imported.xml || fail "no pool MAC: $(grep mac imported.xml)"
grep -q "source file='$T/images/" imported.xml || fail "disk: $(grep source imported.xml)"
grep -q "type='vpc'" imported.xml || fail "disk format"
grep -q "source network='$net'" imported.xml || fail "network"

ovfkit --connect $URI restore src.ova --name "${name}_r" --network lan="$net" \
    --storage "$T/images" > /dev/null
virsh -c $URI dumpxml "${name}_r" > restored.xml
grep -q "<uuid>$uuid</uuid>" restored.xml || fail "restore lost the UUID: $(grep uuid restored.xml)"
grep -qi "mac address='02:17:42:2f:bb:07'" restored.xml || fail "restore lost the MAC"
# read back through the driver; qemu-img agrees the disk is there
ovfkit --connect $URI --json vm show "${name}_r" > r.json
[ "$(json 'd["nics"][0]["mac"]' < r.json)" = "02:17:42:2F:BB:07" ] || fail "driver read"
qemu-img info "$(json 'd["disks"][0]["path"]' < r.json)" | grep -q "file format: vpc" || fail "qemu-img"
ovfkit --connect $URI vm remove "$name"
! virsh -c $URI dominfo "$name" > /dev/null 2>&1 || fail "remove"
echo ok

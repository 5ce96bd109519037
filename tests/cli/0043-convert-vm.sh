# Whole-VM conversions: a real VirtualBox OVA (its own descriptor,
# manifest and streamOptimized disk from testdata) and a VMware one (COT's
# descriptor and disk) become VHD packages that the DMTF schema accepts,
# whose disks read as qemu-img reads the VMDKs, with the hardware and the
# guest OS type kept exactly; both import into the dir store.  A .vmx and
# a libvirt domain XML give their hardware too.  Then a P2V: a phony Linux
# server's raw disk, --p2v --import: the imported VM has a new MAC and
# libguestfs finds the hardware agents disabled in its disk, while the
# source disk is untouched.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need qemu-img qemu-utils
need xmllint libxml2-utils
OVF=$SHARED/testdata/ovf
IMG=$SHARED/testdata/images
[ -d "$OVF" ] && [ -d "$IMG" ] || skip "needs ../shared/testdata"
S=$T/store
schema() { # OVF: the DMTF OVF 1.0 schema accepts it
    xmllint --noout --nonet --schema "$OVFK_SRCDIR/data/schema/ovf-1.0.0/ovf-envelope.xsd" \
        "$1" 2> xl.err || fail "the schema rejects $1: $(head -3 xl.err)"
}
sys() { json "d['systems'][0]$1"; }   # a field of the package's VM
ovfkit --store "$S" net add lan > /dev/null

# VirtualBox: the export as VirtualBox wrote it
mkdir vb
cp "$OVF/virtualbox__ubuntu.2.0.ovf" vb/ubuntu.2.0.ovf
cp "$OVF/virtualbox__ubuntu.2.0.mf" vb/ubuntu.2.0.mf
cp "$IMG/vmdk__virtualbox_ubuntu2.0_disk1_streamOptimized.vmdk" vb/ubuntu.2.0-disk1.vmdk
(cd vb && tar cf ../vbox.ova ubuntu.2.0.ovf ubuntu.2.0.mf ubuntu.2.0-disk1.vmdk)
ovfkit convert vbox.ova --to vbox-out > out.txt
ls vbox-out
schema vbox-out/ubuntu.ovf
qemu-img compare -q -f vmdk -F vpc vb/ubuntu.2.0-disk1.vmdk vbox-out/ubuntu-disk1.vhd ||
    fail "the VirtualBox disk reads differently after conversion"
ovfkit --json ovf info vbox-out/ubuntu.ovf > info.json
# VirtualBox's own descriptor says: 1 CPU, 512 MiB, OS id 94 "Ubuntu_64"
[ "$(sys "['os']['description']" < info.json)" = Ubuntu_64 ] || fail "guest OS type not kept"
[ "$(sys "['os']['id']" < info.json)" = 94 ] || fail "guest OS id not kept"
[ "$(sys "['memory_mib']" < info.json)" = 512 ] && [ "$(sys "['cpus']" < info.json)" = 1 ] ||
    fail "hardware not kept: $(cat info.json)"
# 512 MiB is below DESIGN.md's 600 MiB floor for a 64-bit guest: the
# import says so, and takes the package once the user raises it
expect_err "600 MiB" ovfkit --store "$S" import vbox-out/ubuntu.ovf --keep-guest-config --network NAT=lan
ovfkit --store "$S" import vbox-out/ubuntu.ovf --keep-guest-config --network NAT=lan --memory 1024 > /dev/null
ovfkit --store "$S" --json vm show ubuntu > vm.json
[ "$(json 'd["memory_mib"]' < vm.json)" = 1024 ] || fail "imported memory: $(cat vm.json)"
disk=$(json 'd["disks"][0]["path"]' < vm.json)
qemu-img compare -q -f vmdk -F vpc vb/ubuntu.2.0-disk1.vmdk "$disk" || fail "the imported disk differs"
echo "VirtualBox OVA: converted and imported"

# VMware-style (COT's descriptor, a streamOptimized VMDK, its other files)
mkdir vw
cp "$OVF/cot__input.ovf" vw/input.ovf
cp "$IMG/vmdk__cot_input_streamOptimized.vmdk" vw/input.vmdk
truncate -s 360448 vw/input.iso
# the size cot__input.ovf's References gives it (unpack checks sizes)
printf 'sample config\n%63s\n' '' > vw/sample_cfg.txt
(cd vw && tar cf ../vmware.ova input.ovf input.vmdk input.iso sample_cfg.txt)
ovfkit convert vmware.ova --to vmware.ova.out.ova --name cot_vm > out.txt
ovfkit ova verify vmware.ova.out.ova > /dev/null || fail "our OVA does not verify"
mkdir vwu && ovfkit ova unpack vmware.ova.out.ova vwu > /dev/null
schema vwu/cot_vm.ovf
qemu-img compare -q -f vmdk -F vpc vw/input.vmdk vwu/cot_vm-disk1.vhd || fail "the VMware disk differs"
ovfkit --store "$S" import vmware.ova.out.ova --keep-guest-config --network "VM Network=lan" --network default=lan > /dev/null
ovfkit --store "$S" vm show cot_vm > /dev/null || fail "not imported"
echo "VMware OVA: converted and imported"

# a failed conversion leaves nothing that looks complete
expect_err "invalid --memory 'x': not a whole number" ovfkit convert vb/ubuntu.2.0.ovf --to bad.ova --memory x
[ ! -e bad.ova ] || fail "a failed conversion left its output"
cp vb/ubuntu.2.0.ovf vb2.ovf
expect_err "'ubuntu.2.0-disk1.vmdk' (file 'file1' of the descriptor) is \
missing from the package" ovfkit convert vb2.ovf --to bad.ova
[ ! -e bad.ova ] && ! ls -a | grep -q ovfkit-convert || fail "a failed conversion left files: $(ls -a)"

# a .vmx and a libvirt domain: their hardware
qemu-img convert -O vmdk -o subformat=monolithicSparse vb/ubuntu.2.0-disk1.vmdk vm-disk.vmdk
cat > web.vmx <<'EOF'
.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "14"
displayName = "web01"
numvcpus = "2"
memsize = "2048"
guestOS = "windows9srv-64"
scsi0.present = "TRUE"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "vm-disk.vmdk"
ide1:0.present = "TRUE"
ide1:0.deviceType = "cdrom-image"
ide1:0.fileName = "tools.iso"
ethernet0.present = "TRUE"
ethernet0.networkName = "VM Network"
ethernet0.virtualDev = "vmxnet3"
ethernet0.addressType = "generated"
ethernet0.generatedAddress = "00:0c:29:12:34:56"
EOF
ovfkit convert web.vmx --to web > /dev/null
ovfkit --json ovf info web/web01.ovf > w.json
[ "$(sys "['os']['description']" < w.json)" = windows9srv-64 ] || fail ".vmx guest OS not kept"
[ "$(sys "['nics'][0]['mac']" < w.json)" = 00:0C:29:12:34:56 ] || fail ".vmx MAC not kept: $(cat w.json)"
[ "$(sys "['disks'].__len__()" < w.json)" = 1 ] || fail "the CD-ROM became a disk"
# fixed VHDs on request (Azure takes only those), another digest
ovfkit convert web.vmx --to webfixed --fixed --digest sha512 > /dev/null
cap=$(qemu-img info --output=json vm-disk.vmdk | json 'd["virtual-size"]')
[ "$(stat -c %s webfixed/web01-disk1.vhd)" = $((cap + 512)) ] ||
    fail "--fixed: not a fixed VHD (data + footer): $(stat -c %s webfixed/web01-disk1.vhd)"
qemu-img compare -q -f vmdk -F vpc vm-disk.vmdk webfixed/web01-disk1.vhd || fail "the fixed disk differs"
grep -q '^SHA512(web01-disk1.vhd)= ' webfixed/web01.mf || fail "--digest sha512: $(cat webfixed/web01.mf)"
ovfkit ova verify webfixed/web01.ovf > /dev/null || fail "the fixed package does not verify"
ovfkit --store "$S" import web/web01.ovf --keep-guest-config --network "VM Network=lan" > /dev/null
ovfkit --store "$S" --json vm show web01 > w.json
[ "$(json 'd["cpus"]' < w.json)" = 2 ] && [ "$(json 'd["memory_mib"]' < w.json)" = 2048 ] ||
    fail ".vmx hardware lost: $(cat w.json)"
cat > dom.xml <<EOF
<domain type='kvm'>
  <name>kvm01</name>
  <uuid>6f1b0c6e-1d7b-4c8e-9b3e-2a9f1c0d4e51</uuid>
  <memory unit='GiB'>3</memory>
  <vcpu>4</vcpu>
  <metadata><libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0"><libosinfo:os id="http://debian.org/debian/12"/></libosinfo:libosinfo></metadata>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='vmdk'/><source file='$T/vm-disk.vmdk'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><source file='/nonexistent.iso'/><target dev='hdc' bus='ide'/></disk>
    <interface type='network'><mac address='52:54:00:aa:bb:cc'/><source network='default'/><model type='virtio'/></interface>
  </devices>
</domain>
EOF
ovfkit convert dom.xml --to kvm.ova > /dev/null
ovfkit --json ovf info kvm.ova > k.json
[ "$(sys "['os']['description']" < k.json)" = http://debian.org/debian/12 ] || fail "libosinfo id not kept"
[ "$(sys "['cpus']" < k.json)" = 4 ] && [ "$(sys "['memory_mib']" < k.json)" = 3072 ] ||
    fail "domain hardware lost: $(cat k.json)"
[ "$(sys "['nics'][0]['mac']" < k.json)" = 52:54:00:AA:BB:CC ] || fail "domain MAC lost"
echo ".vmx and domain XML: hardware kept"

# P2V of a phony Linux server, straight into the store
if "$PY" -c 'import guestfs' 2>/dev/null && ls /boot/vmlinuz-* > /dev/null 2>&1; then
    "$PY" "$OVFK_SRCDIR/tests/cli/phony.py" linux server.img server.json
    sum=$(sha256sum < server.img)
    ovfkit convert server.img --p2v --name server1 --nic lan --memory 1024 \
        --import --store "$S" --report p2v.json > p2v.txt
    [ "$(sha256sum < server.img)" = "$sum" ] || fail "the source disk was written"
    [ "$(json 'd["os"][0]["distro"]' < p2v.json)" = debian ] || fail "report: $(cat p2v.json)"
    "$PY" - p2v.json <<'PYEOF' || fail "the p2v report lacks the agents"
import json, sys
paths = [c["path"] for c in json.load(open(sys.argv[1]))["changes"]]
assert any(p.endswith("/dataeng.service") for p in paths), paths
assert any(p.endswith("/hp-health.service") for p in paths), paths
assert not any("open-vm-tools" in p for p in paths), paths
PYEOF
    ovfkit --store "$S" --json vm show server1 > s.json
    mac=$(json 'd["nics"][0]["mac"]' < s.json)
    case $mac in 02:17:42:2F:*) ;; *) fail "imported MAC $mac is not from our pool" ;; esac
    d=$(json 'd["disks"][0]["path"]' < s.json)
    ovfkit vhd convert --type raw "$d" imported.raw
    "$PY" "$OVFK_SRCDIR/tests/cli/phony.py" manifest imported.raw m.json
    "$PY" - m.json <<'PYEOF' || fail "the imported guest still starts its agents, or lost its MAC pins cleanup"
import json, sys
m = json.load(open(sys.argv[1]))
W = "/etc/systemd/system/multi-user.target.wants/"
assert W + "dataeng.service" not in m and W + "hp-health.service" not in m
assert W + "ssh.service" in m and W + "open-vm-tools.service" in m
assert "/etc/rc2.d/K20dataeng" in m and "/etc/rc2.d/S20dataeng" not in m
# the import gave new MACs: the old pins are gone
assert "/etc/udev/rules.d/70-persistent-net.rules" not in m
PYEOF
    echo "P2V: agents disabled, imported with a new MAC"
    # nothing declared the OS of a bare disk: inspection's finding is its type
    grep -q "OS 'debian" p2v.txt && grep -q "^inspection found: debian" p2v.txt ||
        fail "P2V: the OS inspection found is not shown: $(cat p2v.txt)"
    # V2V of the same guest, described by a .vmx that declares another OS:
    # the declared type is kept exactly, inspection's finding goes beside it
    # with a warning (VMware Converter's bug was to replace it)
    printf '%s\n' 'config.version = "8"' 'displayName = "odd"' \
        'guestOS = "windows9srv-64"' 'scsi0.present = "TRUE"' 'scsi0:0.present = "TRUE"' \
        'scsi0:0.fileName = "server.img"' > odd.vmx
    ovfkit convert odd.vmx --v2v --to odd.ova > v2v.txt 2> v2v.err
    grep -q "declares OS 'windows9srv-64' but inspection found 'debian" v2v.err ||
        fail "V2V: no warning for a declared OS that inspection contradicts: $(cat v2v.err)"
    ovfkit --json ovf info odd.ova > o.json
    [ "$(sys "['os']['description']" < o.json)" = windows9srv-64 ] ||
        fail "V2V: the declared OS type was replaced: $(cat o.json)"
    echo "V2V: declared OS type kept beside inspection's finding"
else
    echo "SKIP (section): P2V/V2V of a phony guest needs python3-guestfs and a kernel in /boot"
fi

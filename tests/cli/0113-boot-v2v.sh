# Proof by booting, V2V (issue 17): the boot guest of bootguest.sh as
# VMware exports it (an .ovf naming an LSI Logic SCSI controller and a
# VmxNet3 NIC, a streamOptimized VMDK made by qemu-img, a manifest, in an
# OVA) is converted with `convert --v2v --import` and started with
# `vm start --console` under TCG: "BOOTED physrv17 <MAC>" with the imported
# VM's new MAC, root on /dev/vda1 (virtio: the initramfs rebuilt in the
# guest), the VMware agent of the catalog's v2v section disabled (the p2v
# one still starts: the agents' lines are seen).
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/bootguest.sh"
need qemu-img qemu-utils
ls /boot/vmlinuz-* > /dev/null 2>&1 || skip "needs a kernel for the libguestfs appliance (linux-image-amd64)"
boot_guest
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
S=$T/store
o() { ovfkit --store "$S" "$@"; }
o net add lan > /dev/null

mkdir pkg
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$bootimg" pkg/physrv-disk1.vmdk
size=$(stat -c %s pkg/physrv-disk1.vmdk)
cap=$(stat -c %s "$bootimg")
cat > pkg/physrv.ovf <<EOF2
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References><File ovf:href="physrv-disk1.vmdk" ovf:id="file1" ovf:size="$size"/></References>
  <DiskSection><Info>Virtual disk information</Info>
    <Disk ovf:capacity="$cap" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection><Info>The list of logical networks</Info><Network ovf:name="lan"><Description>The lan network</Description></Network></NetworkSection>
  <VirtualSystem ovf:id="physrv">
    <Info>A virtual machine</Info>
    <Name>physrv</Name>
    <OperatingSystemSection ovf:id="96" vmw:osType="debian12_64Guest"><Info>The kind of installed guest operating system</Info></OperatingSystemSection>
    <VirtualHardwareSection><Info>Virtual hardware requirements</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemIdentifier>physrv</vssd:VirtualSystemIdentifier><vssd:VirtualSystemType>vmx-14</vssd:VirtualSystemType></System>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:Description>Number of Virtual CPUs</rasd:Description><rasd:ElementName>1 virtual CPU(s)</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:Description>Memory Size</rasd:Description><rasd:ElementName>1024MB of memory</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>1024</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:Description>SCSI Controller</rasd:Description><rasd:ElementName>SCSI controller 0</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>Hard disk 1</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>7</rasd:AddressOnParent><rasd:AutomaticAllocation>true</rasd:AutomaticAllocation><rasd:Connection>lan</rasd:Connection><rasd:Description>VmxNet3 ethernet adapter on "lan"</rasd:Description><rasd:ElementName>Network adapter 1</rasd:ElementName><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
EOF2
(cd pkg && sha256sum physrv.ovf physrv-disk1.vmdk |
    awk '{print "SHA256(" $2 ")= " $1}' > physrv.mf &&
    tar cf ../vm.ova physrv.ovf physrv.mf physrv-disk1.vmdk)
rm -rf pkg

o convert vm.ova --v2v --name physv2v --import --report v2v.json > out.txt 2> err.txt ||
    fail "convert: $(cat out.txt err.txt)"
json '"\n".join(d["notes"])' < v2v.json > notes.txt
grep -q "disk bus virtio: the initramfs was rebuilt" notes.txt || fail "choice: $(cat notes.txt)"
vmjson() { o --json vm show physv2v | json "$1"; }
[ "$(vmjson 'd["disks"][0]["bus"]')" = virtio ] || fail "bus: $(vmjson 'd["disks"]')"
[ "$(vmjson 'd["nics"][0]["model"]')" = virtio ] || fail "NIC: $(vmjson 'd["nics"]')"
mac=$(vmjson 'd["nics"][0]["mac"]' | tr A-F a-f)
timeout 900 "$OVFKIT" --store "$S" vm start --console physv2v 2>&1 | tr -d '\r' > console.txt || true
grep -q "^BOOTED physrv17 $mac" console.txt || fail "no boot with $mac: $(grep -v '^\s*$' console.txt | tail -15)"
grep -q "^ROOT /dev/vda1" console.txt || fail "root: $(grep ROOT console.txt)"
grep -q "AGENT vmtoolsd STARTED" console.txt && fail "the disabled VMware agent started"
grep -q "AGENT hp-health STARTED" console.txt || fail "the agents' lines are not seen"
echo "v2v: the VMware package booted on virtio with MAC $mac"

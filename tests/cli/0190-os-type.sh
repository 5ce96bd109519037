# The declared guest OS type (CIM ovf:id, Description, VMware's
# vmw:osType, VirtualBox's vbox:OSType) survives convert, and export after
# import, for every sample descriptor of ../shared/testdata/ovf that
# declares one (tests/cli/ostype.py), and a converted VM whose source has
# no real UUID gets a fresh one, never the all-zero UUID.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need qemu-img qemu-utils
[ -d "$SHARED/testdata/ovf" ] || skip "needs ../shared/testdata"
/usr/bin/python3 "$OVFK_SRCDIR/tests/cli/ostype.py" "$OVFKIT" "$SHARED/testdata/ovf" "$T"

# VirtualSystemIdentifier "app01" is not a UUID
mkdir app && ovfkit vhd create app/app01-disk1.vhd 16M > /dev/null
cat > app/app01.ovf <<'XML'
<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References><File ovf:id="f1" ovf:href="app01-disk1.vhd"/></References>
  <DiskSection><Info>disks</Info><Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="16777216" ovf:format="http://technet.microsoft.com/en-us/virtualserver/bb676673.aspx"/></DiskSection>
  <VirtualSystem ovf:id="app01">
    <Info>a VM</Info>
    <OperatingSystemSection ovf:id="96" vmw:osType="debian10_64Guest"><Info>os</Info></OperatingSystemSection>
    <VirtualHardwareSection><Info>hw</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemIdentifier>app01</vssd:VirtualSystemIdentifier></System>
      <Item><rasd:ElementName>1 CPU</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>mem</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>1024</rasd:VirtualQuantity></Item>
      <Item><rasd:ElementName>disk</rasd:ElementName><rasd:HostResource>ovf:/disk/d1</rasd:HostResource><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
XML
ovfkit convert app/app01.ovf --to a1 > a1.txt
ovfkit convert app/app01.ovf --to a2 > /dev/null
grep -q "OS 'vmware:debian10_64Guest'" a1.txt || fail "summary: $(cat a1.txt)"
u2=$(grep -o '[0-9a-f]\{8\}-[0-9a-f-]\{27\}' a2/app01.ovf | head -1)
u1=$(grep -o '[0-9a-f]\{8\}-[0-9a-f-]\{27\}' a1/app01.ovf | head -1)
[ -n "$u1" ] && [ "$u1" != 00000000-0000-0000-0000-000000000000 ] ||
    fail "converted VM has no UUID or the all-zero one: '$u1'"
[ "$u1" != "$u2" ] || fail "two conversions of a UUID-less source share UUID $u1"
grep -q 'vmw:osType="debian10_64Guest"' a1/app01.ovf || fail "vmw:osType lost: $(grep -i operatingsystem -A3 a1/app01.ovf)"
! grep -q '<Description>' a1/app01.ovf || fail "a Description appeared that the source did not have"
echo "no-UUID source: fresh UUIDs $u1, $u2; vmw:osType kept"

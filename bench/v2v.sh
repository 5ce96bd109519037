#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/v2v.sh - the whole V2V of a VMware-style OVA holding a real Debian 12
# guest (debootstrap from Debian's registry: kernel, GRUB configuration,
# systemd, open-vm-tools), in one run:
#   ovfkit convert vm.ova --v2v --to out.ova    (read the OVF, inflate the
#                       streamOptimized VMDK into a VHD, disable VMware
#                       Tools in the guest through libguestfs, write a
#                       signed-off OVA with a SHA-256 manifest)
#   virt-v2v -i ova vm.ova -o local -of raw     (the same input; virt-v2v
#                       also rebuilds the initramfs and checks drivers)
# Both run their libguestfs appliance under TCG on machines where KVM
# does not work (ovfkit by itself, virt-v2v told with force_tcg).  The
# ratio is virt-v2v / ovfkit: above 1 means ovfkit is faster.  Checked
# after: libguestfs finds open-vm-tools disabled in our output's guest.
#
# Needs debootstrap, virt-v2v and libnbd-bin (Debian packages) and
# access to a Debian mirror (MIRROR=) the first time; the guest is kept in
# $BENCH_DIR.  RUNS defaults to 1 here: one virt-v2v run takes minutes.
# one run by default (lib.sh's default is 3): one virt-v2v run takes
# minutes under TCG; set before lib.sh, which keeps a RUNS already set
RUNS=${RUNS:-1}
. "$(dirname "$0")/lib.sh"
MIRROR=${MIRROR:-http://deb.debian.org/debian}
# nbdcopy (libnbd-bin) does virt-v2v's copy, but Debian's virt-v2v 2.2
# does not pull it in: without it virt-v2v fails after its whole
# conversion with "nbdcopy: executable not found"
for t in debootstrap virt-v2v nbdcopy qemu-img mke2fs sfdisk; do
    command -v "$t" > /dev/null || { echo "needs $t"; exit 1; }
done
cd "$WORK"
echo "work dir: $WORK"
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}

# --- the guest: a Debian 12 root, a 3 GiB disk with one ext4 partition ---
if [ ! -e root/.complete ]; then
    # an interrupted debootstrap leaves the chroot's /proc and /sys mounted
    umount root/proc root/sys 2>/dev/null || true
    rm -rf --one-file-system root
    debootstrap --variant=minbase \
        --include=linux-image-amd64,systemd-sysv,grub-pc,initramfs-tools,open-vm-tools,ifupdown,isc-dhcp-client \
        bookworm root "$MIRROR" > debootstrap.log
    touch root/.complete
fi
if [ ! -e guest.raw ]; then
    kver=$(ls root/boot/vmlinuz-* | head -1 | sed 's|.*/vmlinuz-||')
    echo guest > root/etc/hostname
    printf '/dev/sda1 / ext4 errors=remount-ro 0 1\n' > root/etc/fstab
    printf 'auto lo\niface lo inet loopback\nallow-hotplug ens192\niface ens192 inet dhcp\n' \
        > root/etc/network/interfaces
    mkdir -p root/boot/grub
    cat > root/boot/grub/grub.cfg <<EOF
set default=0
set timeout=1
menuentry 'Debian GNU/Linux' {
    insmod ext2
    set root='hd0,msdos1'
    linux /boot/vmlinuz-$kver root=/dev/sda1 ro quiet
    initrd /boot/initrd.img-$kver
}
EOF
    rm -f guest.raw.part
    truncate -s 3G guest.raw.part
    echo 'start=2048, type=83, bootable' | sfdisk -q guest.raw.part
    # the partition's file system, made from the root directory in place
    mke2fs -q -t ext4 -d root -E offset=1048576 guest.raw.part $((3 * 1024 * 1024 - 1024))
    mv guest.raw.part guest.raw
fi

# --- the VMware-style OVA: OVF, manifest, streamOptimized VMDK ---
if [ ! -e vm.ova ]; then
    rm -rf pkg && mkdir pkg
    qemu-img convert -f raw -O vmdk -o subformat=streamOptimized guest.raw pkg/deb12-disk1.vmdk
    size=$(stat -c %s pkg/deb12-disk1.vmdk)
    cat > pkg/deb12.ovf <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References><File ovf:href="deb12-disk1.vmdk" ovf:id="file1" ovf:size="$size"/></References>
  <DiskSection><Info>Virtual disk information</Info>
    <Disk ovf:capacity="3" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection><Info>The list of logical networks</Info><Network ovf:name="VM Network"><Description>The VM Network network</Description></Network></NetworkSection>
  <VirtualSystem ovf:id="deb12">
    <Info>A virtual machine</Info>
    <Name>deb12</Name>
    <OperatingSystemSection ovf:id="96" vmw:osType="debian11_64Guest"><Info>The kind of installed guest operating system</Info></OperatingSystemSection>
    <VirtualHardwareSection><Info>Virtual hardware requirements</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemIdentifier>deb12</vssd:VirtualSystemIdentifier><vssd:VirtualSystemType>vmx-14</vssd:VirtualSystemType></System>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:Description>Number of Virtual CPUs</rasd:Description><rasd:ElementName>2 virtual CPU(s)</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:Description>Memory Size</rasd:Description><rasd:ElementName>2048MB of memory</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>2048</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:Description>SCSI Controller</rasd:Description><rasd:ElementName>SCSI controller 0</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>Hard disk 1</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>7</rasd:AddressOnParent><rasd:AutomaticAllocation>true</rasd:AutomaticAllocation><rasd:Connection>VM Network</rasd:Connection><rasd:Description>VmxNet3 ethernet adapter on "VM Network"</rasd:Description><rasd:ElementName>Network adapter 1</rasd:ElementName><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
EOF
    (cd pkg && sha256sum deb12.ovf deb12-disk1.vmdk |
        awk '{print "SHA256(" $2 ")= " $1}' > deb12.mf &&
        tar cf ../vm.ova deb12.ovf deb12.mf deb12-disk1.vmdk)
    rm -rf pkg
fi

t_ours=$(median_time "rm -f ours.ova ours.ova.sysprep.json" -- \
    "$OVFKIT" -q convert vm.ova --v2v --to ours.ova)
t_v2v=$(median_time "rm -rf v2v; mkdir v2v" -- \
    virt-v2v -q -i ova vm.ova -o local -os v2v -of raw)

# check: our OVA's guest has VMware Tools disabled, as libguestfs sees it
rm -rf chk && mkdir chk && "$OVFKIT" -q ova unpack ours.ova chk > /dev/null
/usr/bin/python3 - chk/deb12-disk1.vhd <<'PYEOF' || { echo "open-vm-tools is still enabled in our output"; exit 1; }
import guestfs, sys
g = guestfs.GuestFS(python_return_dict=True)
g.add_drive_opts(sys.argv[1], format="vpc", readonly=True)
g.launch()
g.mount_ro(g.inspect_os()[0], "/")
wants = "/etc/systemd/system/multi-user.target.wants/open-vm-tools.service"
sys.exit(1 if g.is_symlink(wants) or g.exists(wants) else 0)
PYEOF
rm -rf chk

printf '%-44s %10s %10s %8s\n' "V2V of a Debian 12 VMware OVA" ovfkit virt-v2v "v2v/ours"
printf '%-44s %9ss %9ss %8s\n' "convert --v2v vs virt-v2v -o local" "$t_ours" "$t_v2v" "$(ratio "$t_v2v" "$t_ours")"
printf '%-44s %10s\n' "guest disk allocated (MiB)" "$(($(du -k guest.raw | cut -f1) / 1024))"
[ -n "${BENCH_DIR:-}" ] || rm -rf "$WORK"

# Drivers and bus of a converted Windows guest (issue 17), on the phony
# Windows guest of testdata/hives with four disks: without viostor and
# without --virtio-win, --p2v chooses IDE and e1000 (the OVF's controller
# is IDE, the NIC's ResourceSubType E1000), warns that a guest without
# paravirtual drivers sees at most 3 disks naming the 4th, and says so in
# the report; with a small fake virtio-win tree it installs viostor and
# netkvm as virt-v2v does (windows_virtio.ml): the .sys in
# system32/drivers, the service (Type 1, Start 0, ErrorControl 1, Group
# "SCSI miniport", ImagePath) and CriticalDeviceDatabase entries for
# viostor's PCI ids, checked with hivexget (libhivex-bin) in the hive
# copied out of the packaged VHD (qemu-img reads the VHD); the package has
# a virtio controller and a VirtIO NIC; --undo takes it all back.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
"$PY" -c 'import guestfs' 2>/dev/null || skip "needs python3-guestfs"
need hivexregedit libhivex-bin
need hivexget libhivex-bin
need qemu-img qemu-utils
ls /boot/vmlinuz-* > /dev/null 2>&1 || skip "needs a kernel for the libguestfs appliance (linux-image-amd64)"
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
H=$OVFK_SRCDIR/testdata/hives
phony() { "$PY" "$OVFK_SRCDIR/tests/cli/phony.py" "$@"; }
fetch() { # IMG(raw) DIR GUESTPATH...: the files into DIR (ABSENT when not there), one launch
    "$PY" -c 'import guestfs,sys,os
g=guestfs.GuestFS(python_return_dict=True); g.add_drive_opts(sys.argv[1], readonly=1, format="raw"); g.launch()
g.mount_ro("/dev/sda1", "/")
for p in sys.argv[3:]:
    out=os.path.join(sys.argv[2], os.path.basename(p))
    try: g.download(g.case_sensitive_path(p), out)
    except RuntimeError: open(out, "w").write("ABSENT")' "$@"
}

mkdir hv
cp "$H/minimal-hive" hv/SOFTWARE
hivexregedit --merge hv/SOFTWARE --prefix 'HKEY_LOCAL_MACHINE\SOFTWARE' "$H/windows-software.reg"
cp "$H/minimal-hive" hv/SYSTEM
hivexregedit --merge hv/SYSTEM --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$H/windows-system.reg"
"$H/mkpestub" hv/cmd.exe
phony windows w.img hv
need sfdisk fdisk
for i in 2 3 4; do
    qemu-img create -q -f raw "d$i.raw" 16M
    echo "type=83" | sfdisk -q "d$i.raw"
done

# a virtio-win tree as the ISO lays it out: DRIVER/OS/ARCH/, both arches
for d in viostor netkvm; do
    mkdir -p "vw/$d/2k19/amd64" "vw/$d/2k19/x86"
    printf 'fake %s driver for amd64\n' "$d" > "vw/$d/2k19/amd64/$d.sys"
    printf 'fake %s driver for x86\n' "$d" > "vw/$d/2k19/x86/$d.sys"
done

ovfkit convert -f raw w.img d2.raw d3.raw d4.raw --name win --nic lan --p2v \
    --to emu > out.txt 2> err.txt || fail "convert: $(cat out.txt err.txt)"
grep -q "warning: a guest without paravirtual drivers sees at most 3 disks: it will not see disk 4 ('.*d4.raw')" err.txt ||
    fail "no 3-disk warning: $(cat err.txt)"
grep -q "disk 3" err.txt && fail "disk 3 named as unseen: $(cat err.txt)"
xmllint --xpath 'count(//*[local-name()="Item"][*[local-name()="ResourceType"]="5"])' emu/win.ovf > n.txt
[ "$(cat n.txt)" -ge 1 ] || fail "no IDE controller in the OVF: $(cat emu/win.ovf)"
grep -q '<rasd:ResourceSubType>virtio' emu/win.ovf && fail "a virtio controller without viostor"
grep -q '<rasd:ResourceSubType>E1000</rasd:ResourceSubType>' emu/win.ovf || fail "the NIC is not E1000: $(grep -i subtype emu/win.ovf)"
json '"\n".join(d["notes"])' < emu.sysprep.json > notes.txt
grep -q "disk bus ide: no viostor in the guest" notes.txt || fail "report: $(cat notes.txt)"
grep -q "viostor: absent" notes.txt || fail "report lacks the inspection: $(cat notes.txt)"
grep -q "NIC model e1000" notes.txt || fail "report: $(cat notes.txt)"

ovfkit convert -f raw w.img --name win --nic lan --p2v --virtio-win vw \
    --to pv > out.txt 2> err.txt || fail "convert --virtio-win: $(cat out.txt err.txt)"
grep -q '<rasd:ResourceSubType>virtio</rasd:ResourceSubType>' pv/win.ovf || fail "no virtio controller: $(cat pv/win.ovf)"
grep -q '<rasd:ResourceSubType>VirtIO</rasd:ResourceSubType>' pv/win.ovf || fail "the NIC is not VirtIO"
qemu-img convert -O raw pv/win-disk1.vhd pv.raw
mkdir pvf && fetch pv.raw pvf /Windows/System32/Config/SYSTEM /Windows/System32/drivers/viostor.sys
mv pvf/SYSTEM pv.hive
# the phony cmd.exe is a 32-bit PE: inspection says i386, virtio-win's x86
arch=$(json 'd["os"][0]["arch"]' < pv.sysprep.json)
case $arch in i386) vwarch=x86 ;; x86_64) vwarch=amd64 ;; *) fail "arch '$arch'" ;; esac
cmp -s pvf/viostor.sys "vw/viostor/2k19/$vwarch/viostor.sys" || fail "viostor.sys is not the $vwarch one: $(cat pvf/viostor.sys)"
svc='ControlSet001\Services\viostor'
[ "$(hivexget pv.hive "$svc" Start)" = 0 ] || fail "viostor Start $(hivexget pv.hive "$svc" Start)"
[ "$(hivexget pv.hive "$svc" Type)" = 1 ] || fail "viostor Type"
[ "$(hivexget pv.hive "$svc" ErrorControl)" = 1 ] || fail "viostor ErrorControl"
[ "$(hivexget pv.hive "$svc" Group)" = "SCSI miniport" ] || fail "viostor Group '$(hivexget pv.hive "$svc" Group)'"
[ "$(hivexget pv.hive "$svc" ImagePath)" = 'system32\drivers\viostor.sys' ] || fail "viostor ImagePath"
[ "$(hivexget pv.hive 'ControlSet001\Services\netkvm' Start)" = 3 ] || fail "netkvm service"
cdd='ControlSet001\Control\CriticalDeviceDatabase'
for id in 'pci#ven_1af4&dev_1001&subsys_00021af4&rev_00' 'pci#ven_1af4&dev_1042&subsys_11001af4&rev_01'; do
    [ "$(hivexget pv.hive "$cdd\\$id" Service)" = viostor ] || fail "CriticalDeviceDatabase $id"
    [ "$(hivexget pv.hive "$cdd\\$id" ClassGUID)" = '{4D36E97B-E325-11CE-BFC1-08002BE10318}' ] || fail "ClassGUID of $id"
done
json '"\n".join(d["notes"])' < pv.sysprep.json > notes.txt
grep -q "disk bus virtio: viostor installed from the virtio-win tree" notes.txt || fail "report: $(cat notes.txt)"

# --undo on the packaged disk: no viostor, no .sys, no CriticalDeviceDatabase
ovfkit sysprep --undo pv.sysprep.json pv.raw > /dev/null
mkdir un && fetch pv.raw un /Windows/System32/Config/SYSTEM /Windows/System32/drivers/viostor.sys
hivexget un/SYSTEM "$svc" Start > /dev/null 2>&1 && fail "undo left the viostor service"
hivexget un/SYSTEM "$cdd" > /dev/null 2>&1 && fail "undo left the CriticalDeviceDatabase"
[ "$(cat un/viostor.sys)" = ABSENT ] || fail "undo left viostor.sys"
hivexget un/SYSTEM 'ControlSet001\Services\Tcpip' > /dev/null || fail "undo took too much: no Tcpip"
echo "windows: ide + warning without drivers; viostor/netkvm from virtio-win; undone"

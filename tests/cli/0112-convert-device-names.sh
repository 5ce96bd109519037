# Device names follow the bus (issue 17): a phony Linux guest (phony.py)
# given a kernel tree whose configuration has virtio_blk built in, and
# fstab, crypttab, /etc/default/grub, grub.cfg and menu.lst naming
# /dev/sdX, /dev/hdX and /dev/xvdX, is converted with --p2v: the bus is
# virtio without an initramfs rebuild (built in), every such name becomes
# /dev/vdX with its letter and partition, and nothing else changes
# (/dev/sdcard, /dev/disk/by-id/..., UUID=).  With --bus sata the names
# become /dev/sdX.  libguestfs's python binding, not ovfkit, reads the
# packaged disks (qemu's vpc driver); the report with its notes is valid
# against data/json-schema (python3-jsonschema, when installed).
. "$OVFK_SRCDIR/tests/cli/lib.sh"
"$PY" -c 'import guestfs' 2>/dev/null || skip "needs python3-guestfs"
ls /boot/vmlinuz-* > /dev/null 2>&1 || skip "needs a kernel for the libguestfs appliance (linux-image-amd64)"
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}

cat > fstab <<'EOF2'
/dev/sda1 / ext4 errors=remount-ro 0 1
/dev/sdb2   /srv  xfs defaults 0 2
/dev/hdc1 /old ext3 defaults 0 2
/dev/xvdd /xen ext4 defaults 0 2
/dev/sdcard /media/card auto noauto 0 0
/dev/disk/by-id/ata-X-part1 /data ext4 defaults 0 2
UUID=1234-abcd /boot/efi vfat defaults 0 1
EOF2
printf 'cr /dev/sdb3 none luks\n' > crypttab
printf 'GRUB_CMDLINE_LINUX="resume=/dev/sda2"\n' > default-grub
printf 'linux /vmlinuz root=/dev/sda1 ro\n' > grub.cfg
printf 'kernel /vmlinuz root=/dev/hda1 ro\n' > menu.lst
"$PY" "$OVFK_SRCDIR/tests/cli/phony.py" linux l.img manifest.json
"$PY" - <<'EOF2'
import guestfs
g = guestfs.GuestFS(python_return_dict=True)
g.add_drive_opts("l.img", format="raw"); g.launch(); g.mount("/dev/sda1", "/")
kv = "6.1.0-99-amd64"
for d in ["/boot/grub", "/etc/default", "/lib/modules/" + kv + "/kernel/drivers/net"]:
    g.mkdir_p(d)
g.write("/boot/vmlinuz-" + kv, b"phony kernel")
g.write("/boot/config-" + kv, b"CONFIG_X=y\nCONFIG_VIRTIO_BLK=y\nCONFIG_SCSI_VIRTIO=y\nCONFIG_SATA_AHCI=y\n")
g.write("/lib/modules/" + kv + "/modules.builtin", b"kernel/drivers/block/virtio_blk.ko\n")
g.write("/lib/modules/" + kv + "/modules.dep", b"kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko\n")
for src, dst in [("fstab", "/etc/fstab"), ("crypttab", "/etc/crypttab"), ("default-grub", "/etc/default/grub"),
                 ("grub.cfg", "/boot/grub/grub.cfg"), ("menu.lst", "/boot/grub/menu.lst")]:
    g.upload(src, dst)
g.shutdown(); g.close()
EOF2

ovfkit convert -f raw l.img --name lin --nic lan --p2v --to pv > out.txt 2> err.txt || fail "convert: $(cat out.txt err.txt)"
ovfkit convert -f raw l.img --name lin --nic lan --p2v --bus sata --to sata > out.txt 2> err.txt || fail "convert --bus sata: $(cat out.txt err.txt)"
mkdir a b
"$PY" - <<'EOF2'
import guestfs
g = guestfs.GuestFS(python_return_dict=True)
for d in ["pv/lin-disk1.vhd", "sata/lin-disk1.vhd"]:
    g.add_drive_opts(d, readonly=1, format="vpc")
g.launch()
for dev, out in [("/dev/sda1", "a"), ("/dev/sdb1", "b")]:
    g.mount_ro(dev, "/")
    for p in ["/etc/fstab", "/etc/crypttab", "/etc/default/grub", "/boot/grub/grub.cfg", "/boot/grub/menu.lst"]:
        open(out + "/" + p.split("/")[-1], "w").write(g.cat(p))
    g.umount_all()
EOF2
json '"\n".join(d["notes"])' < pv.sysprep.json > notes.txt
grep -q "disk bus virtio: the guest's initramfs has virtio_blk" notes.txt || fail "choice: $(cat notes.txt)"
grep -q "NIC model virtio" notes.txt || fail "NIC: $(cat notes.txt)"
[ "$(json 'len([c for c in d["changes"] if c["kind"] == "file-backup"])' < pv.sysprep.json)" = 0 ] || fail "an initramfs was rebuilt for a built-in virtio_blk"
sed -e 's#/dev/sda1 /#/dev/vda1 /#; s#/dev/sdb2#/dev/vdb2#; s#/dev/hdc1#/dev/vdc1#; s#/dev/xvdd#/dev/vdd#' fstab > want
diff -u want a/fstab || fail "fstab on virtio"
[ "$(cat a/crypttab)" = "cr /dev/vdb3 none luks" ] || fail "crypttab: $(cat a/crypttab)"
grep -q 'resume=/dev/vda2' a/grub || fail "default/grub: $(cat a/grub)"
grep -q 'root=/dev/vda1' a/grub.cfg || fail "grub.cfg: $(cat a/grub.cfg)"
grep -q 'root=/dev/vda1' a/menu.lst || fail "menu.lst: $(cat a/menu.lst)"
sed -e 's#/dev/hdc1#/dev/sdc1#; s#/dev/xvdd#/dev/sdd#' fstab > want
diff -u want b/fstab || fail "fstab on sata"
grep -q 'root=/dev/sda1' b/menu.lst || fail "menu.lst on sata: $(cat b/menu.lst)"
json '"\n".join(d["notes"])' < sata.sysprep.json | grep -q "disk bus sata: given with --bus" || fail "sata report"
grep -q '<rasd:ResourceSubType>AHCI</rasd:ResourceSubType>' sata/lin.ovf || fail "no AHCI controller in the OVF"
# the report with its notes is what data/json-schema says it is
if "$PY" -c "import jsonschema" 2>/dev/null; then
    mkdir docs && cp pv.sysprep.json docs/sysprep-report@1.json
    "$PY" "$OVFK_SRCDIR/tests/cli/jsondoc.py" docs "$OVFK_SRCDIR/data/json-schema" docs ||
        fail "the report does not match its schema"
fi
echo "device names: vdX on virtio, sdX on sata"

# Proof by booting (issue 17): a real Debian 12 server disk made to look
# physical (tests/cli/bootguest.sh: fstab and GRUB naming /dev/sda1, an
# initramfs built with MODULES=dep on SATA, so without virtio_blk, a fake
# HP agent of the catalog's p2v section and a VMware one of its v2v
# section) is converted with `convert --p2v --import` and started with
# `vm start --console` under TCG.  The guest must print "BOOTED physrv17
# <MAC>" with the imported VM's new MAC, from its root file system on
# /dev/vda1 (the initramfs was rebuilt with virtio in the guest and fstab
# renamed), without the disabled p2v agent (the v2v one still runs: the
# agents do print when they start).  The report holds the choices; --undo
# on the imported disk puts fstab and the initramfs back.  (0114: --no-driver-changes.)
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/bootguest.sh"
need qemu-img qemu-utils
"$PY" -c 'import guestfs' 2>/dev/null || skip "needs python3-guestfs"
ls /boot/vmlinuz-* > /dev/null 2>&1 || skip "needs a kernel for the libguestfs appliance (linux-image-amd64)"
boot_guest
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
S=$T/store
o() { ovfkit --store "$S" "$@"; }
o net add lan > /dev/null

boot() { # VM: start it, its console into console-VM.txt
    timeout 900 "$OVFKIT" --store "$S" vm start --console "$1" 2>&1 |
        tr -d '\r' > "console-$1.txt" || true
    grep -q "^BOOTED " "console-$1.txt" ||
        fail "$1 did not boot: $(grep -v '^\s*$' "console-$1.txt" | tail -15)"
}
vmjson() { o --json vm show "$1" | json "$2"; }
after_undo() { # DISK(VHD): fstab, then whether the kept initramfs is still
    # there and the restored one has virtio_blk (libguestfs's python binding)
    "$PY" -c 'import guestfs,sys
g=guestfs.GuestFS(python_return_dict=True); g.add_drive_opts(sys.argv[1], readonly=1, format="vpc"); g.launch()
g.mount_ro("/dev/sda1", "/"); sys.stdout.write(g.cat("/etc/fstab"))
for i in g.glob_expand("/boot/initrd.img-*"):
    print("INITRD", i, "virtio_blk" if any(f.endswith("/virtio_blk.ko") for f in g.initrd_list(i)) else "no-virtio")' "$1"
}

# --- virtio: the initramfs rebuilt in the guest ---------------------------
o convert -f raw "$bootimg" --name physrv --nic lan --p2v --import \
    --report p2v.json > out.txt 2> err.txt || fail "convert: $(cat out.txt err.txt)"
# the report is where --report says, not in a staging directory
grep -q "reported in '.*pkg.sysprep.json'" out.txt && fail "out: $(cat out.txt)"
json '"\n".join(d["notes"])' < p2v.json > notes.txt
grep -q "kernel 6.*virtio_blk module only" notes.txt || fail "inspection: $(cat notes.txt)"
grep -q "disk bus virtio: the initramfs was rebuilt" notes.txt || fail "choice: $(cat notes.txt)"
grep -q "NIC model virtio" notes.txt || fail "NIC: $(cat notes.txt)"
[ "$(json '[c["path"] for c in d["changes"] if c["kind"] in ("file", "file-backup")]' < p2v.json)" != "[]" ] || fail "no file changes in the report"
json '[c["path"] for c in d["changes"]]' < p2v.json | grep -q "'/etc/fstab'" || fail "fstab not in the report"
json '[c["path"] for c in d["changes"] if c["kind"] == "file-backup"]' < p2v.json | grep -q "/boot/initrd.img-" || fail "the initramfs rebuild is not in the report"
[ "$(vmjson physrv 'd["disks"][0]["bus"]')" = virtio ] || fail "bus $(vmjson physrv 'd["disks"]')"
[ "$(vmjson physrv 'd["nics"][0]["model"]')" = virtio ] || fail "nic $(vmjson physrv 'd["nics"]')"
mac=$(vmjson physrv 'd["nics"][0]["mac"]' | tr A-F a-f)
boot physrv
grep -q "^BOOTED physrv17 $mac" console-physrv.txt || fail "wrong MAC: $(grep BOOTED console-physrv.txt), want $mac"
grep -q "^ROOT /dev/vda1" console-physrv.txt || fail "root: $(grep ROOT console-physrv.txt)"
grep -q "AGENT hp-health STARTED" console-physrv.txt && fail "the disabled p2v agent started"
grep -q "AGENT vmtoolsd STARTED" console-physrv.txt || fail "the agents' lines are not seen: $(cat console-physrv.txt)"

# the report takes it back: fstab names /dev/sda1 again, the old initramfs
disk=$(vmjson physrv 'd["disks"][0]["path"]')
ovfkit sysprep --undo p2v.json "$disk" > /dev/null
after_undo "$disk" > undone.txt
grep -q "^/dev/sda1 " undone.txt || fail "undo: $(cat undone.txt)"
grep -q "^INITRD .*ovfkit-orig" undone.txt && fail "undo left the kept initramfs: $(cat undone.txt)"
grep -q "^INITRD /boot/initrd.img-[^ ]* no-virtio" undone.txt || fail "undo: $(cat undone.txt)"

echo "p2v: booted on virtio (initramfs rebuilt in the guest); undone"

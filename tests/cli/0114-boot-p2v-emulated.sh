# Proof by booting, emulated bus (issue 17; 0110 is the virtio case): the
# Debian 12 server disk of bootguest.sh converted with `convert --p2v
# --no-driver-changes --import` gets the emulated controller its
# initramfs has a driver for (AHCI: built with MODULES=dep on SATA), no
# initramfs rebuild, and boots from /dev/sda1 with the new MAC.
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
# --- --no-driver-changes: the emulated bus the guest has (AHCI) -------------
o convert -f raw "$bootimg" --name physemu --nic lan --p2v --import \
    --no-driver-changes --report emu.json > out.txt 2> err.txt || fail "convert: $(cat out.txt err.txt)"
json '"\n".join(d["notes"])' < emu.json > notes.txt
grep -q "disk bus sata: --no-driver-changes" notes.txt || fail "choice: $(cat notes.txt)"
[ "$(vmjson physemu 'd["disks"][0]["bus"]')" = sata ] || fail "bus $(vmjson physemu 'd["disks"]')"
[ "$(json 'len([c for c in d["changes"] if c["kind"] == "file-backup"])' < emu.json)" = 0 ] || fail "--no-driver-changes rebuilt the initramfs"
mac=$(vmjson physemu 'd["nics"][0]["mac"]' | tr A-F a-f)
boot physemu
grep -q "^BOOTED physrv17 $mac" console-physemu.txt || fail "wrong MAC: $(grep BOOTED console-physemu.txt), want $mac"
grep -q "^ROOT /dev/sda1" console-physemu.txt || fail "root: $(grep ROOT console-physemu.txt)"
grep -q "AGENT hp-health STARTED" console-physemu.txt && fail "the disabled p2v agent started"
echo "p2v --no-driver-changes: booted on SATA"

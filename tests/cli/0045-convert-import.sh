# convert --import imports the package the library says it wrote (the
# descriptor in a directory, or the OVA itself), whether the target is a
# private staging directory, a DIR or FILE.ova; the imported disk holds the
# source's bytes (qemu-img reads both).
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need qemu-img qemu-utils
qemu-img create -q -f raw d.raw 8M
head -c 65536 /dev/urandom > blob
dd if=blob of=d.raw bs=64k seek=3 conv=notrunc status=none
ovfkit --store s net add lan > /dev/null
ovfkit --store s convert -f raw d.raw --name a --nic lan --import \
    --keep-guest-config > out.txt || fail "$(cat out.txt)"
ovfkit --store s convert -f raw d.raw --name b --nic lan --to pkgdir \
    --import --keep-guest-config > out.txt || fail "$(cat out.txt)"
[ -f pkgdir/b.ovf ] || fail "no pkgdir/b.ovf"
ovfkit --store s convert -f raw d.raw --name c --nic lan --to c.ova \
    --import --keep-guest-config > out.txt || fail "$(cat out.txt)"
for vm in a b c; do
    disk=$(ovfkit --store s --json vm show $vm | json 'd["disks"][0]["path"]')
    qemu-img compare -q d.raw "$disk" || fail "$vm's disk differs from d.raw"
done
[ "$(ovfkit --store s vm list | grep -c stopped)" -eq 3 ] ||
    fail "$(ovfkit --store s vm list)"
echo "convert --import: a private package, a directory and an OVA"

# The example programs (examples/), built by make check against the staged
# install through pkg-config, work as a library user expects: export-vm
# writes the package `ovfkit export` would (it validates, its disk reads
# back to the VM's bytes), list-package lists what `ovfkit ova list` does.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
ex="$OVFK_BUILD/examples"
[ -x "$ex/export-vm" ] && [ -x "$ex/list-package" ] ||
    fail "the examples were not built (make check builds them)"
need qemu-img qemu-utils

ovfkit --store store net add lan > /dev/null
ovfkit --store store vm create web --disk 8M --nic lan > /dev/null
disk=$(ovfkit --store store --json vm show web | json 'd["disks"][0]["path"]')
head -c 65536 /dev/urandom | ovfkit vhd write "$disk" 1M 64K > /dev/null

"$ex/export-vm" store web pkg > out.txt || fail "export-vm: $(cat out.txt)"
grep -qF "exported 'web' to 'pkg'" out.txt || fail "export-vm said $(cat out.txt)"
ovfkit ovf validate pkg/web.ovf > /dev/null || fail "its package does not validate"
qemu-img convert -O raw "$disk" vm.raw
vhd=$(ls pkg/*.vhd)
qemu-img convert -O raw "$vhd" pkg.raw
cmp vm.raw pkg.raw || fail "the exported disk differs from the VM's"

expect_err "no VM named 'nosuch'" "$ex/export-vm" store nosuch pkg2
[ ! -e pkg2 ] || fail "a failed export left pkg2"

ovfkit ova pack pkg/web.ovf web.ova > /dev/null
"$ex/list-package" web.ova > list.txt || fail "list-package: $(cat list.txt)"
ovfkit ova list web.ova > ours.txt
[ "$(grep -c . ours.txt)" -ge 3 ] || fail "ova list: $(cat ours.txt)"
head -n -1 list.txt > members.txt
cmp -s members.txt ours.txt ||
    fail "list-package: $(cat list.txt); ovfkit ova list: $(cat ours.txt)"
n=$(grep -c . ours.txt)
[ "$(tail -1 list.txt)" = "$n members" ] ||
    fail "count: '$(tail -1 list.txt)', want $n"
expect_err "cannot read 'nosuch.ova'" "$ex/list-package" nosuch.ova
echo "examples: export-vm and list-package work from the installed library"

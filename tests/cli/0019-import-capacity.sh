# A package whose descriptor declares a capacity other than its VHD's
# virtual size: the import plan (dry run and real) shows the size the VM
# will get (the VHD's), with a warning naming both, for a loose package
# and for an OVA; the VM then has that size.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need qemu-img qemu-utils
o() { ovfkit --store s "$@"; }
o net add lan > /dev/null
o vm create x --disk 64M --nic lan > /dev/null
o export x --to pkg > /dev/null
sed -i 's/ovf:capacity="67108864"/ovf:capacity="1048576"/' pkg/x.ovf
grep -q 'ovf:capacity="1048576"' pkg/x.ovf || fail "the edit did not apply"
rm -f pkg/x.mf
want="the descriptor declares 1048576 bytes, its VHD holds 67108864"

o import pkg/x.ovf --name y --dry-run --keep-guest-config > plan.txt 2>&1 ||
    fail "dry run: $(cat plan.txt)"
grep -qF "$want" plan.txt || fail "no warning in the plan: $(cat plan.txt)"
grep -q "67108864 bytes" plan.txt || fail "plan: $(cat plan.txt)"
! grep -q "(1048576 bytes)" plan.txt || fail "plan keeps 1 MiB: $(cat plan.txt)"

o import pkg/x.ovf --name y --keep-guest-config > out.txt 2>&1 ||
    fail "import: $(cat out.txt)"
grep -qF "$want" out.txt || fail "no warning: $(cat out.txt)"
[ "$(o --json vm show y | json 'd["disks"][0]["capacity"]')" = 67108864 ] ||
    fail "y's capacity: $(o --json vm show y)"

ovfkit ova pack pkg/x.ovf x.ova > /dev/null
o import x.ova --name z --keep-guest-config > out.txt 2>&1 ||
    fail "OVA import: $(cat out.txt)"
grep -qF "$want" out.txt || fail "no warning for the OVA: $(cat out.txt)"
disk=$(o --json vm show z | json 'd["disks"][0]["path"]')
[ "$(qemu-img info --output=json "$disk" | json 'd["virtual-size"]')" = \
  67108864 ] || fail "z's disk: $(qemu-img info "$disk")"
echo "import shows and warns the VHD's size over the declared one"

# An import that does not fit is refused before anything is written, and
# shows its plan first, then the error: the space the disks need and the
# free space where they would go (a 2 MiB tmpfs stands for a full disk).
. "$OVFK_SRCDIR/tests/cli/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to mount a small tmpfs"
mkdir small
mount -t tmpfs -o size=2m tmpfs small 2>/dev/null ||
    skip "cannot mount a tmpfs here"
trap 'cd /; umount "$T/small" 2>/dev/null
      [ -n "${TEST_KEEP:-}" ] || rm -rf "$T"' EXIT
S=$T/store M=$T/small
o() { ovfkit --store "$S" "$@"; }
o net add lan
o vm create web --memory 512 --disk 16M --nic lan > /dev/null
p=$(o --json vm show web | json 'd["disks"][0]["path"]')
head -c 3M /dev/urandom | ovfkit vhd write "$p" 0
o export web --to web.ova > /dev/null

for dry in "" --dry-run; do
    expect_rc 1 o import web.ova --name copy --storage "$M" $dry \
        > plan.txt 2> err.txt
    grep -q "^did not define VM 'copy' (" plan.txt ||
        fail "no plan ($dry): $(cat plan.txt)"
    grep -q "^  disk:    vmdisk1 import (16777216 bytes) from web-disk1.vhd \
-> $M/vmdisk1.vhd" plan.txt || fail "plan ($dry): $(cat plan.txt)"
    grep -q "^  space:   up to [0-9]* KiB in '$M', 2048 KiB free" plan.txt ||
        fail "space line ($dry): $(cat plan.txt)"
    grep -q "not enough space in '$M': the disks need up to [0-9]* KiB, \
only 2048 KiB free; make room or choose another place with --storage" \
        err.txt || fail "error ($dry): $(cat err.txt)"
    [ -z "$(ls -A small)" ] || fail "the refused import wrote: $(ls -A small)"
    ! o vm show copy > /dev/null 2>&1 || fail "the refused import defined it"
done
# --json: the plan with the error, then the error on stderr
expect_rc 1 o --json import web.ova --name copy --storage "$M" \
    > plan.json 2> err.txt
sed -n '/^{$/,$p' plan.json > last.json
[ "$(json 'd["done"]' < last.json)" = False ] || fail "JSON: $(cat plan.json)"
json 'd["error"]' < last.json | grep -q "not enough space" ||
    fail "JSON: $(cat plan.json)"
[ "$(json 'd["space"]["needed"] > d["space"]["free"]' < last.json)" = True ] ||
    fail "JSON space: $(cat plan.json)"
grep -q "not enough space" err.txt || fail "stderr: $(cat err.txt)"
# where it fits, it is done
mkdir big
o import web.ova --name copy --storage "$T/big" > ok.txt
grep -q "^defined VM 'copy'" ok.txt || fail "$(cat ok.txt)"
ovfkit vhd compare "$p" "$T/big/vmdisk1.vhd" > /dev/null || fail "disk differs"

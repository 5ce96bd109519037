# vhd convert: raw <-> fixed <-> dynamic round trips, a chain into a
# standalone disk, -B (only the differences, as qemu-img convert -B), map,
# compare exit codes, and that a failed convert leaves no file.
. "$OVFK_SRCDIR/tests/cli/lib.sh"

truncate -s 40M src.raw
head -c 5M /dev/urandom | dd of=src.raw bs=1M seek=3 conv=notrunc status=none
ovfkit vhd convert src.raw dyn.vhd
ovfkit vhd convert --type fixed dyn.vhd fixed.vhd
ovfkit vhd convert --type dynamic fixed.vhd dyn2.vhd
ovfkit vhd convert --type raw dyn2.vhd back.raw
cmp src.raw back.raw || fail "raw -> dynamic -> fixed -> dynamic -> raw changed data"
# holes stay holes: 5 MiB of data in 40 MiB
[ "$(du -k back.raw | cut -f1)" -lt 8000 ] || fail "raw output is not sparse"
[ "$(ovfkit --json vhd info dyn.vhd | json 'd["allocated_blocks"]')" = 3 ] || fail "allocation"

# a chain with new data in the child becomes one standalone disk
ovfkit vhd snapshot dyn.vhd child.vhd
head -c 1M /dev/urandom > new
# its first byte differs from the zeros below it (compare names that offset)
printf '\377' | dd of=new conv=notrunc status=none
ovfkit vhd write child.vhd 20M < new
ovfkit vhd convert child.vhd standalone.vhd
[ "$(ovfkit --json vhd info standalone.vhd | json 'd["type"]')" = dynamic ] || fail "type"
ovfkit vhd compare child.vhd standalone.vhd > /dev/null || fail "standalone differs"
cp src.raw expect.raw
dd if=new of=expect.raw bs=1M seek=20 conv=notrunc status=none
ovfkit vhd compare expect.raw standalone.vhd > /dev/null || fail "chain contents"

# -B: a child of dyn.vhd holding only what differs from it
ovfkit vhd convert -B dyn.vhd expect.raw delta.vhd
[ "$(ovfkit --json vhd info delta.vhd | json 'd["allocated_blocks"]')" = 1 ] || fail "-B allocated too much"
ovfkit vhd compare expect.raw delta.vhd > /dev/null || fail "-B contents"
ovfkit --json vhd map delta.vhd > map.json
"$PY" - <<'PYEOF'
import json
m = json.load(open("map.json"))
data = [(e["start"], e["length"], e["depth"]) for e in m if e["data"]]
mine = [e for e in data if e[2] == 0]
assert mine == [(20 << 20, 1 << 20, 0)], mine
assert sum(e[1] for e in data if e[2] == 1) >= 5 << 20, data
PYEOF

# compare: 0 same, 1 different (with the offset), 2 error
expect_rc 1 ovfkit vhd compare src.raw standalone.vhd
ovfkit vhd compare src.raw standalone.vhd | grep -q "mismatch at offset 20971520" || fail "offset"
expect_rc 2 ovfkit vhd compare src.raw missing.vhd

# failures leave nothing behind
expect_err "already exists" ovfkit vhd convert src.raw dyn.vhd
expect_err "cannot open 'missing.raw'" ovfkit vhd convert missing.raw x.vhd
[ ! -e x.vhd ] || fail "x.vhd left behind"
ls -A | grep -q part && fail "temporary left behind"
expect_err "2040 GiB" ovfkit vhd create huge.vhd 3T
[ ! -e huge.vhd ] || fail "huge.vhd left behind"
expect_err "invalid size" ovfkit vhd create bad.vhd 12Q
expect_rc 64 ovfkit vhd create --type wobbly w.vhd 1M
echo ok

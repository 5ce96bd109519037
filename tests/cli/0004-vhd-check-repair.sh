# vhd check exit codes (as qemu-img check: 0 good, 2 corrupt, 3 leaks,
# 63 unsupported, 1 could not check) and vhd repair on damaged files.
. "$OVFK_SRCDIR/tests/cli/lib.sh"

ovfkit vhd create d.vhd 32M
head -c 3M /dev/urandom > data
ovfkit vhd write d.vhd 1M < data
ovfkit vhd convert --type raw d.vhd before.raw
expect_rc 0 ovfkit vhd check d.vhd

# a lost trailing footer: corrupt, repaired from the copy at offset 0
size=$(stat -c %s d.vhd)
truncate -s $((size - 512)) d.vhd
expect_rc 2 ovfkit vhd check d.vhd
expect_err "vhd repair" ovfkit vhd info d.vhd
ovfkit vhd repair d.vhd | grep -q "restored the trailing footer" || fail "repair said nothing"
expect_rc 0 ovfkit vhd check d.vhd
ovfkit vhd compare before.raw d.vhd > /dev/null || fail "repair changed the contents"

# trailing garbage after a half-written block (the footer is gone)
head -c 100000 /dev/urandom >> d.vhd
expect_rc 2 ovfkit vhd check d.vhd
ovfkit vhd repair d.vhd > repair.txt
grep -q "dropped 100000 bytes of trailing garbage" repair.txt || fail "$(cat repair.txt)"
[ "$(stat -c %s d.vhd)" = "$size" ] || fail "size after repair $(stat -c %s d.vhd), want $size"
ovfkit vhd compare before.raw d.vhd > /dev/null

# --json findings
truncate -s $((size - 100)) d.vhd
expect_rc 2 ovfkit vhd check --json d.vhd > check.json
[ "$(json 'd["result"]' < check.json)" = corrupt ] || fail "json result"
ovfkit vhd repair d.vhd > /dev/null

# a differencing disk without its parent: could not check (1)
ovfkit vhd snapshot d.vhd child.vhd
expect_rc 0 ovfkit vhd check child.vhd
mv d.vhd elsewhere.vhd
expect_rc 1 ovfkit vhd check child.vhd
# another disk in the parent's place: corrupt link (2)
ovfkit vhd create d.vhd 32M
expect_rc 2 ovfkit vhd check child.vhd
expect_err "but the child expects" ovfkit vhd info child.vhd

# an unsupported disk type (the spec's deprecated 5): 63
ovfkit vhd create --type fixed f.vhd 1M
"$PY" - <<'PYEOF'
import struct
data = bytearray(open("f.vhd", "rb").read())
ft = data[-512:]
ft[60:64] = struct.pack(">I", 5)
ft[64:68] = b"\0\0\0\0"
ft[64:68] = struct.pack(">I", ~sum(ft) & 0xffffffff)
data[-512:] = ft
open("f.vhd", "wb").write(data)
PYEOF
expect_rc 63 ovfkit vhd check f.vhd
# not a VHD at all
head -c 10000 /dev/urandom > junk
expect_rc 2 ovfkit vhd check junk
expect_rc 1 ovfkit vhd check no-such-file
echo ok

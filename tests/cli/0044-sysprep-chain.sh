# Guest fixups on a snapshot's differencing VHD.  qemu's vpc driver (and so
# a libguestfs that is handed the file) opens a differencing disk without
# its parent: it would see no guest, and every block it wrote would hide
# the parent's data under zeros.  ovfkit gives such a disk to libguestfs
# through our nbdkit plugin: the guest is found through the chain, the
# change lands in the child, the parent stays byte-identical, and the
# flattened chain (read by libvhdi, independent of us) shows the change and
# every other file as it was.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
"$PY" -c 'import guestfs' 2>/dev/null || skip "needs python3-guestfs"
"$PY" -c 'import pyvhdi' 2>/dev/null || skip "needs python3-libvhdi"
need nbdkit nbdkit
ls /boot/vmlinuz-* > /dev/null 2>&1 || skip "needs a kernel for the libguestfs appliance (linux-image-amd64)"
phony() { "$PY" "$OVFK_SRCDIR/tests/cli/phony.py" "$@"; }

phony linux g.img orig.json
ovfkit vhd convert --type dynamic g.img base.vhd > /dev/null
ovfkit vhd snapshot base.vhd top.vhd > /dev/null
base_sum=$(sha256sum < base.vhd)

ovfkit --json sysprep top.vhd --operations hostname --hostname chained --report r.json > out.json
[ "$(json 'd["os"][0]["distro"]' < out.json)" = debian ] ||
    fail "the guest was not found through the chain: $(cat out.json)"
[ "$(sha256sum < base.vhd)" = "$base_sum" ] || fail "the parent was written"
! pgrep -f "nbdkit.*file=.*$T/top.vhd" > /dev/null || fail "nbdkit was left running"

# flatten with libvhdi (reads differencing chains), then look inside
"$PY" - top.vhd flat.img <<'PYEOF'
import pyvhdi, sys
parent = pyvhdi.file(); parent.open("base.vhd")
f = pyvhdi.file(); f.open(sys.argv[1]); f.set_parent(parent)
with open(sys.argv[2], "wb") as out:
    size = f.get_media_size()
    off = 0
    while off < size:
        n = min(1 << 20, size - off)
        out.write(f.read_buffer_at_offset(n, off))
        off += n
PYEOF
phony manifest flat.img after.json
"$PY" - orig.json after.json <<'PYEOF' || fail "the chain does not hold exactly the one change"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
diff = sorted(p for p in set(a) | set(b) if a.get(p) != b.get(p))
assert diff == ["/etc/hostname"], diff
PYEOF
ovfkit vhd check top.vhd > /dev/null || fail "the child does not check"

# libvhdi (an independent reader, through Debian's python3-libvhdi) reads
# our fixed, dynamic and differencing VHDs, including a chain three levels
# deep, and returns exactly the bytes we wrote.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
"$PY" -c 'import pyvhdi' 2>/dev/null || skip "needs python3-libvhdi"

# reference contents kept as raw files; the same writes go to both
ovfkit vhd create --type fixed fixed.vhd 24M
ovfkit vhd create base.vhd 24M
truncate -s 24M ref0.raw
put() { # put FILE.vhd REF.raw OFFSET LENGTH SEED
    head -c "$4" /dev/urandom > chunk
    ovfkit vhd write "$1" "$3" < chunk
    dd if=chunk of="$2" bs=1 seek="$3" conv=notrunc status=none 2>/dev/null ||
        dd if=chunk of="$2" oflag=seek_bytes seek="$3" conv=notrunc status=none
}
cp ref0.raw fixedref.raw
for off in 0 4097 2097000 9000000 25165312; do
    put fixed.vhd fixedref.raw $off 512
    put base.vhd ref0.raw $off 512
done
put base.vhd ref0.raw 3000000 2500000

prev=base.vhd
cp ref0.raw ref.raw
for level in 1 2 3; do
    ovfkit vhd snapshot "$prev" d$level.vhd
    # unaligned writes, one crossing a block boundary
    put d$level.vhd ref.raw $((level * 1234567)) 70001
    put d$level.vhd ref.raw $((2097152 - 300)) 600
    put d$level.vhd ref.raw $((level * 3 + 11)) 5
    cp ref.raw ref$level.raw
    prev=d$level.vhd
done

"$PY" - <<'PYEOF'
import pyvhdi, sys

def open_vhd(path):
    f = pyvhdi.file()
    f.open(path)
    return f

def read_all(f):
    return f.read_buffer_at_offset(f.get_media_size(), 0)

def check(name, data, ref):
    want = open(ref, "rb").read()
    if data != want:
        bad = next(i for i in range(len(want)) if data[i:i+1] != want[i:i+1])
        sys.exit("libvhdi reads %s differently at byte %d" % (name, bad))

check("fixed.vhd", read_all(open_vhd("fixed.vhd")), "fixedref.raw")
check("base.vhd", read_all(open_vhd("base.vhd")), "ref0.raw")
chain = [open_vhd("base.vhd")]
for level in (1, 2, 3):
    f = open_vhd("d%d.vhd" % level)
    if f.get_parent_identifier() != chain[-1].get_identifier():
        sys.exit("d%d: parent identifier differs from its parent's" % level)
    f.set_parent(chain[-1])
    chain.append(f)
    check("d%d.vhd" % level, read_all(f), "ref%d.raw" % level)
print("libvhdi agrees on fixed, dynamic and a 3-deep chain")
PYEOF
# and we agree with ourselves and the references
for level in 1 2 3; do
    ovfkit vhd compare ref$level.raw d$level.vhd > /dev/null || fail "d$level differs"
done
ovfkit vhd compare ref0.raw base.vhd > /dev/null

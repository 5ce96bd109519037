# A differencing disk may have smaller blocks than its parent (down to 64
# KiB, `vhd snapshot --block-size`: a delta's scattered writes then lie
# densely in its file, vhd/create.c) or larger ones; by default it takes
# its parent's.  Independent readers read such chains alike (libvhdi the
# chains, qemu-img the parents and flattened copies), and a merge between
# blocks of different sizes, either way round and killed at every crash
# point, leaves exactly the data the chain read.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need qemu-img qemu-utils
"$PY" -c 'import pyvhdi' 2> /dev/null || skip "needs pyvhdi (python3-libvhdi)"

bs() { ovfkit vhd info "$1" | sed -n 's/^block size: *//p'; }

# mkchain DIR PARENT_BS CHILD_BS: base (PARENT_BS) <- d1 (CHILD_BS, or
# the default) <- d2 (d1's, by default), with writes that are unaligned, cross
# blocks of either size, and write zeros over data; every state kept raw
mkchain() {
    rm -rf "$1" && mkdir "$1" && cd "$1"
    ovfkit vhd create --block-size "$2" base.vhd 9M
    head -c 9M /dev/urandom | ovfkit vhd write base.vhd 0
    if [ "$3" = default ]; then
        ovfkit vhd snapshot base.vhd d1.vhd
    else
        ovfkit vhd snapshot --block-size "$3" base.vhd d1.vhd
    fi
    head -c 3000000 /dev/urandom | ovfkit vhd write d1.vhd 1000001
    for off in 65536 2162688 4259840 6400000 9371136; do
        head -c 65536 /dev/urandom | ovfkit vhd write d1.vhd $off
    done
    head -c 8192 /dev/zero | ovfkit vhd write d1.vhd 8000000
    ovfkit vhd snapshot d1.vhd d2.vhd
    head -c 100000 /dev/urandom | ovfkit vhd write d2.vhd 2097000
    for f in base d1 d2; do
        ovfkit vhd convert --type raw $f.vhd ref-$f.raw
    done
    cd ..
}

# vhdi_cmp FILE REF: libvhdi alone reads FILE's chain (parents by their
# names, beside it) as REF, 64 KiB at a time: libvhdi 20210425 returns
# the parent's sectors for some that a differencing disk holds when one
# read spans several of its blocks and these are smaller than 2 MiB
# (which is why deltas keep their parent's block size by default)
vhdi_cmp() {
    "$PY" - "$1" "$2" <<'PYEOF'
import os, sys, pyvhdi
def open_chain(path, keep):
    f = pyvhdi.file(); f.open(path); keep.append(f)
    if f.get_disk_type() == 4:      # differencing
        name = os.path.basename(f.get_parent_filename().replace("\\", "/"))
        p = open_chain(os.path.join(os.path.dirname(path), name), keep)
        if p.get_identifier() != f.get_parent_identifier():
            sys.exit("%s: parent identifier mismatch" % path)
        f.set_parent(p)
    return f
keep = []
f = open_chain(sys.argv[1], keep)
ref = open(sys.argv[2], "rb").read()
size = f.get_media_size()
assert size == len(ref), (size, len(ref))
for off in range(0, size, 65536):
    n = min(65536, size - off)
    if f.read_buffer_at_offset(n, off) != ref[off:off + n]:
        sys.exit("%s differs at %d" % (sys.argv[1], off))
PYEOF
}

# same DIR FILE...: each FILE's chain reads its reference, through us and
# through libvhdi
same() {
    d=$1; shift
    for f in "$@"; do
        ovfkit vhd compare "$d/ref-$f.raw" "$d/$f.vhd" > /dev/null ||
            fail "$d: $f reads other data"
        vhdi_cmp "$d/$f.vhd" "$d/ref-$f.raw" || fail "$d: libvhdi reads $f otherwise"
    done
}

# merged DIR: base now holds d1's data (qemu-img reads it alone), d2 is
# unchanged and points at base, both check clean
merged() {
    [ ! -e "$1/d1.vhd" ] || fail "$1: d1 not removed"
    qemu-img compare -q -f vpc -F raw "$1/base.vhd" "$1/ref-d1.raw" ||
        fail "$1: qemu-img reads the merged base otherwise"
    same "$1" d2
    ovfkit vhd check "$1/base.vhd" > /dev/null || fail "$1: check base"
    ovfkit vhd check "$1/d2.vhd" > /dev/null || fail "$1: check d2"
}

# the default is the parent's; a size below the old 512 KiB floor is taken
mkchain def 2M 64K
[ "$(bs def/base.vhd)" = 2097152 ] || fail "base has block size $(bs def/base.vhd)"
[ "$(bs def/d1.vhd)" = 65536 ] || fail "a 64K delta has block size $(bs def/d1.vhd)"
[ "$(bs def/d2.vhd)" = 65536 ] || fail "a delta of a 64K delta has $(bs def/d2.vhd)"
ovfkit vhd snapshot def/base.vhd def/e1.vhd
[ "$(bs def/e1.vhd)" = 2097152 ] || fail "a delta of a 2M disk has $(bs def/e1.vhd)"
expect_err "not a power of two" ovfkit vhd snapshot --block-size 96K def/d2.vhd x.vhd
expect_err "must be at least 64 KiB" ovfkit vhd create --block-size 32K x.vhd 1M

# chains of mixed block sizes read alike through us and libvhdi; a
# flattened copy (a 2 MiB dynamic disk) reads alike through qemu-img
for combo in 2M:64K 64K:2M 64K:512K 512K:64K 2M:default; do
    d=c-$(echo $combo | tr : -)
    mkchain $d ${combo%:*} ${combo#*:}
    same $d base d1 d2
    ovfkit vhd convert $d/d2.vhd $d/flat.vhd
    qemu-img compare -q -f vpc -F raw $d/flat.vhd $d/ref-d2.raw ||
        fail "$d: qemu-img reads the flattened chain otherwise"
    qemu-img compare -q -f vpc -F raw $d/base.vhd $d/ref-base.raw ||
        fail "$d: qemu-img reads the ${combo%:*} parent otherwise"
    ovfkit vhd merge $d/d1.vhd > /dev/null
    merged $d
    echo "$combo: read alike, merged"
done

# killed at every crash point, small into large and large into small:
# reading leaves the merge unfinished and reads the same; repair
# completes it
for combo in 2M:64K 64K:2M; do
    for point in 1 2 3 4 5 6 7 8; do
        d=k-$(echo $combo | tr : -)
        mkchain $d ${combo%:*} ${combo#*:}
        set +e
        (cd $d && OVFKIT_CRASH_AT=$point "$OVFKIT" vhd merge d1.vhd > /dev/null 2>&1)
        rc=$?
        set -e
        [ $rc -ne 0 ] || fail "$combo: crash point $point was not reached"
        [ -e $d/.d1.vhd.merge.json ] || fail "$combo: no journal at point $point"
        ovfkit vhd compare $d/ref-d2.raw $d/d2.vhd > /dev/null ||
            fail "$combo, point $point: d2 reads other data"
        [ -e $d/.d1.vhd.merge.json ] || fail "$combo: reading completed the merge"
        ovfkit vhd repair $d/base.vhd | grep -q "completed an interrupted merge" ||
            fail "$combo, point $point: repair did not complete the merge"
        [ ! -e $d/.d1.vhd.merge.json ] || fail "$combo: journal left at point $point"
        merged $d
    done
    echo "$combo: every crash point recovered"
done

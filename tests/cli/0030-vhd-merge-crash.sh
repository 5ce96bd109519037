# A merge killed at every numbered crash point, failing with ENOSPC or EIO
# injected through the I/O layer, or running out of space on a real small
# file system, leaves a chain that reads exactly the same data (checked by
# hash for every state that remains), reading leaves it unfinished, and
# the explicit step (vhd repair, or the next write) completes it.
. "$OVFK_SRCDIR/tests/cli/lib.sh"

# base <- d1 <- d2 <- d3 (the newest): 8 MiB disks, deltas with
# unaligned writes that cross blocks, all kept as raw references
build() {
    rm -rf c ref-*.raw && mkdir c && cd c
    ovfkit vhd create base.vhd 8M
    head -c 8M /dev/urandom | ovfkit vhd write base.vhd 0
    ovfkit vhd snapshot base.vhd d1.vhd
    head -c 3000000 /dev/urandom | ovfkit vhd write d1.vhd 1000001
    ovfkit vhd snapshot d1.vhd d2.vhd
    head -c 700000 /dev/urandom | ovfkit vhd write d2.vhd 2000003
    ovfkit vhd snapshot d2.vhd d3.vhd
    head -c 100 /dev/urandom | ovfkit vhd write d3.vhd 5
    for f in base d1 d2 d3; do ovfkit vhd convert --type raw $f.vhd ../ref-$f.raw; done
    cd ..
}
hash() { ovfkit vhd convert --type raw "$1" h.raw 2>/dev/null && sha256sum < h.raw && rm -f h.raw; }
same() { # the states that must survive: d2's and d3's views (and base's when merging d2)
    for f in "$@"; do
        [ "$(hash c/$f.vhd)" = "$(sha256sum < ref-$f.raw)" ] || fail "$f reads other data ($1)"
    done
}

for point in 1 2 3 4 5 6 7 8; do
    build
    set +e
    (cd c && OVFKIT_CRASH_AT=$point "$OVFKIT" vhd merge d1.vhd > /dev/null 2>&1)
    rc=$?
    set -e
    [ $rc -ne 0 ] || fail "crash point $point was not reached"
    # reading finds the merge unfinished and reads correctly; vhd repair
    # (the explicit step, tests/cli/0036) completes it
    same d2 d3
    [ -e c/.d1.vhd.merge.json ] || fail "point $point: reading completed the merge"
    ovfkit vhd repair c/base.vhd | grep -q "completed an interrupted merge" ||
        fail "point $point: repair did not complete the merge"
    same d2 d3
    [ ! -e c/.d1.vhd.merge.json ] || fail "point $point: journal left after recovery"
    [ ! -e c/d1.vhd ] || fail "point $point: d1 not removed after recovery"
    ovfkit vhd compare ref-d1.raw c/base.vhd > /dev/null || fail "point $point: base does not hold d1's data"
    ovfkit vhd check c/d2.vhd > /dev/null || fail "point $point: check d2"
    echo "crash point $point: recovered"
done

# an I/O error in the middle of the copy (ENOSPC, then EIO): the chain
# still reads correctly with the journal in place; the merge completes later
for err in 28 5; do
    build
    set +e
    (cd c && OVFKIT_FAULT=write:3:$err "$OVFKIT" vhd merge d2.vhd > ../merge.out 2>&1)
    rc=$?
    set -e
    [ $rc -ne 0 ] || fail "injected error $err did not fail the merge"
    [ -e c/.d2.vhd.merge.json ] || fail "no journal after a failed merge"
    # an independent reader (libvhdi), which knows nothing of journals,
    # reads the interrupted chain: every state above the merge is intact
    if "$PY" -c 'import pyvhdi' 2>/dev/null; then
        "$PY" - <<'PYEOF' || fail "libvhdi reads the interrupted chain differently"
import hashlib, pyvhdi
files = {}
for n in ("base", "d1", "d2", "d3"):
    f = pyvhdi.file(); f.open("c/%s.vhd" % n); files[n] = f
files["d1"].set_parent(files["base"]); files["d2"].set_parent(files["d1"])
files["d3"].set_parent(files["d2"])
for n in ("d2", "d3"):
    got = files[n].read_buffer_at_offset(files[n].get_media_size(), 0)
    assert got == open("ref-%s.raw" % n, "rb").read(), n
PYEOF
    fi
    # reading does not complete it; the explicit step (a write into the
    # parent, as the next snapshot operation is) does
    same d3
    [ -e c/.d2.vhd.merge.json ] || fail "reading completed the merge after $err"
    head -c 512 ref-d1.raw | ovfkit vhd write c/d1.vhd 0
    same d3
    [ ! -e c/d2.vhd ] && ovfkit vhd compare ref-d2.raw c/d1.vhd > /dev/null || fail "merge not completed after $err"
    ovfkit vhd compare ref-base.raw c/base.vhd > /dev/null || fail "base changed"
done

# a child that cannot be read (its trailing footer destroyed) may build on
# the file merged away: the merge is refused before anything is written,
# rather than remove the parent under it; once repaired, it is re-pointed
build
sz=$(stat -c %s c/d3.vhd)
printf 'XXXXXXXX' | dd of=c/d3.vhd bs=1 seek=$((sz - 512)) conv=notrunc \
    status=none
sums=$(cd c && sha256sum $(ls -A))
expect_err "cannot tell whether 'c/d3.vhd' is a child of 'c/d2.vhd'" \
    ovfkit vhd merge c/d2.vhd
[ "$(cd c && sha256sum $(ls -A))" = "$sums" ] || fail "a refused merge wrote"
ovfkit vhd repair c/d3.vhd > /dev/null
(cd c && ovfkit vhd merge d2.vhd > /dev/null)
[ ! -e c/d2.vhd ] || fail "d2 not merged after the repair"
same d3
if "$PY" -c 'import pyvhdi' 2>/dev/null; then
    vhdi_raw c/d3.vhd got.raw
    cmp -s got.raw ref-d3.raw || fail "libvhdi reads d3 differently"
fi
echo "unreadable child: merge refused"

# a real small file system that runs out of space (root only)
if [ "$(id -u)" = 0 ] && mkdir small && mount -t tmpfs -o size=12M tmpfs small 2>/dev/null; then
    trap 'umount "$T/small" 2>/dev/null; cd /; rm -rf "$T"' EXIT
    ovfkit vhd create small/base.vhd 16M
    head -c 2M /dev/urandom | ovfkit vhd write small/base.vhd 0
    ovfkit vhd snapshot small/base.vhd small/d1.vhd
    head -c 9M /dev/urandom | ovfkit vhd write small/d1.vhd 4M
    ovfkit vhd convert --type raw small/d1.vhd ref-small.raw
    # refused before anything is written: needed vs available
    expect_err "are available" ovfkit vhd merge small/d1.vhd
    [ ! -e small/.d1.vhd.merge.json ] || fail "a refused merge left a journal"
    ovfkit vhd compare ref-small.raw small/d1.vhd > /dev/null || fail "out of space: d1 reads other data"
    # running out of space in the middle (the check bypassed, as if another
    # writer took the space): it fails, the chain reads the same, and the
    # merge completes once there is room
    set +e
    OVFKIT_NO_SPACE_CHECK=1 "$OVFKIT" vhd merge small/d1.vhd > merge.out 2>&1
    rc=$?
    set -e
    [ $rc -ne 0 ] && grep -q "no space left" merge.out || fail "no ENOSPC: $(cat merge.out)"
    [ -e small/.d1.vhd.merge.json ] || fail "no journal after ENOSPC"
    ovfkit vhd compare ref-small.raw small/d1.vhd > /dev/null || fail "ENOSPC: d1 reads other data"
    mount -o remount,size=64M small
    ovfkit vhd repair small/base.vhd | grep -q "completed an interrupted merge" || fail "repair did not complete"
    [ ! -e small/d1.vhd ] || fail "d1 left after completion"
    ovfkit vhd compare ref-small.raw small/base.vhd > /dev/null || fail "base does not hold d1 after completion"
    umount small
    trap 'cd /; rm -rf "$T"' EXIT
    echo "small file system: refused or failed cleanly"
fi
echo ok

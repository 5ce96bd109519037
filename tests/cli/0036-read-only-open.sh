# Reading never writes (STYLE.md 2), also beside a merge cut off at any of
# its crash points (merge.c NOTES 6-8): every read-only command leaves
# every file of the chain byte-identical (content and mtime), reads the
# logical content the chain had before the merge (the parent: what the
# merge leaves in it), and `vhd check` names the unfinished merge.  The
# explicit step (`vhd repair`, or the next write) then completes it, and
# libvhdi, which knows nothing of journals, reads the same.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
"$PY" -c 'import pyvhdi' 2>/dev/null ||
    skip "needs pyvhdi (Debian package python3-libvhdi)"

# base <- d1 <- d2 <- d3, 8 MiB, deltas with unaligned writes across
# blocks; every view saved raw before the merge of d1 into base
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
    for f in base d1 d2 d3; do
        ovfkit vhd convert --type raw $f.vhd ../ref-$f.raw
    done
    cd ..
}

# every file of c/ (the journal included): name, size, mtime (ns), sha256
state() {
    (cd c && for f in $(ls -A | sort); do
        printf '%s %s %s\n' "$f" "$(stat -c '%s %.9Y' "$f")" \
            "$(sha256sum < "$f")"
    done)
}

# what a file of the chain reads as, through ovfkit and through libvhdi
want() {
    case $1 in
        base) echo ref-d1.raw ;;    # the parent: what the merge leaves
        *) echo "ref-$1.raw" ;;
    esac
}

# the read-only commands on every file of the chain there is
read_all() {
    for f in base d1 d2 d3; do
        v=c/$f.vhd
        [ -e "$v" ] || continue
        ovfkit vhd info "$v" > /dev/null || fail "$1: vhd info $f"
        ovfkit --json vhd info "$v" > /dev/null ||
            fail "$1: vhd info --json $f"
        ovfkit vhd map "$v" > /dev/null || fail "$1: vhd map $f"
        ovfkit --json vhd map "$v" > /dev/null || fail "$1: vhd map --json $f"
        ovfkit vhd chain "$v" > /dev/null || fail "$1: vhd chain $f"
        # the content, read by ovfkit
        ovfkit vhd compare "$(want $f)" "$v" > /dev/null ||
            fail "$1: $f does not read as $(want $f)"
        rm -f got.raw && ovfkit vhd convert --type raw "$v" got.raw
        cmp -s got.raw "$(want $f)" || fail "$1: $f converts to other data"
        # check: the unfinished merge is a finding of its own, exit 3
        set +e
        ovfkit vhd check "$v" > check.out 2>&1
        rc=$?
        set -e
        [ $rc -eq 3 ] || fail "$1: vhd check $f exited $rc: $(cat check.out)"
        m="^merge: the merge of '.*d1.vhd' into '.*base.vhd' is unfinished"
        grep -q "$m" check.out || fail "$1: vhd check $f: $(cat check.out)"
    done
}

for point in 1 2 3 4 5 6 7 8; do
    at="crash point $point"
    build
    set +e
    (cd c && OVFKIT_CRASH_AT=$point "$OVFKIT" vhd merge d1.vhd > /dev/null 2>&1)
    rc=$?
    set -e
    [ $rc -ne 0 ] && [ -e c/.d1.vhd.merge.json ] || fail "$at was not reached"
    sleep 0.01      # a write now would show in the mtimes
    state > before.txt
    read_all "$at"
    state > after.txt
    diff before.txt after.txt > /dev/null ||
        fail "$at: reading changed the chain: $(diff before.txt after.txt)"
    # libvhdi on its own reads the views above the merge at every point
    for f in d2 d3; do
        vhdi_raw "c/$f.vhd" v.raw
        cmp -s v.raw "ref-$f.raw" || fail "$at: libvhdi reads $f differently"
    done
    # the explicit step: vhd repair, or the next write (the same bytes
    # again into d2, one of the children the merge re-points)
    if [ $((point % 2)) -eq 1 ]; then
        ovfkit vhd repair c/base.vhd |
            grep -q "completed an interrupted merge" ||
            fail "$at: repair did not complete the merge"
    else
        head -c 4096 ref-d2.raw | ovfkit vhd write c/d2.vhd 0 ||
            fail "$at: write into d2"
    fi
    [ ! -e c/.d1.vhd.merge.json ] || fail "$at: journal left after the step"
    [ ! -e c/d1.vhd ] || fail "$at: d1 left after the explicit step"
    for f in base d2 d3; do
        vhdi_raw "c/$f.vhd" v.raw
        cmp -s v.raw "$(want $f)" ||
            fail "$at: after completion, libvhdi reads $f differently"
    done
    ovfkit vhd check c/d3.vhd > /dev/null || fail "$at: check after completion"
    echo "$at: read without a write, then completed"
done

# a read-write open completes the merge first (ovfk_vhd_open's contract): the
# merge cut off while copying, then a write into the parent itself
build
set +e
(cd c && OVFKIT_CRASH_AT=2 "$OVFKIT" vhd merge d1.vhd > /dev/null 2>&1)
set -e
[ -e c/.d1.vhd.merge.json ] || fail "crash point 2 was not reached"
head -c 4096 ref-d1.raw | ovfkit vhd write c/base.vhd 0
[ ! -e c/.d1.vhd.merge.json ] || fail "a write into the parent left the journal"
vhdi_raw c/base.vhd v.raw
cmp -s v.raw ref-d1.raw || fail "the parent lacks d1's data after the write"
echo ok

# A merge whose allocations fail, one at a time at every allocation point
# of the merge code (OVFKIT_FAIL_ALLOC_AT=N, vhd/merge.c NOTES), fails
# with "out of memory" before it writes anything: no journal, every file
# byte for byte as before, and libvhdi (our code not involved) reads every
# chain as before.  The same for the recovery of an interrupted merge: it
# fails and leaves the chain and its journal as they were; once memory is
# there, the merge or the recovery completes.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
"$PY" -c 'import pyvhdi' 2>/dev/null || skip "needs python3-libvhdi"
need qemu-img qemu-utils

# base <- d1 <- d2 <- d3, and d1 <- d2b: merging d1 re-points two children
build() {
    rm -rf c ref-* && mkdir c && cd c
    ovfkit vhd create base.vhd 8M
    head -c 3M /dev/urandom | ovfkit vhd write base.vhd 0
    ovfkit vhd snapshot base.vhd d1.vhd
    head -c 2000000 /dev/urandom | ovfkit vhd write d1.vhd 1000001
    ovfkit vhd snapshot d1.vhd d2.vhd
    ovfkit vhd snapshot d1.vhd d2b.vhd
    head -c 700000 /dev/urandom | ovfkit vhd write d2.vhd 2000003
    head -c 5000 /dev/urandom | ovfkit vhd write d2b.vhd 7000
    ovfkit vhd snapshot d2.vhd d3.vhd
    head -c 100 /dev/urandom | ovfkit vhd write d3.vhd 5
    cd ..
    for f in d1 d2 d2b d3; do vhdi_raw c/$f.vhd ref-$f.raw; done
    qemu-img convert -O raw c/base.vhd ref-base.raw
}
# every file of the directory, hidden ones (a journal) included
sums() { (cd c && sha256sum $(ls -A)); }
# libvhdi reads each remaining chain as before (one process for the three
# chains: vhdi_raw's reading, each parent found by its name and checked by
# its identifier)
reads_as_before() { # WHEN
    "$PY" - <<'PYEOF' || fail "$1: libvhdi reads other data"
import os, sys, pyvhdi
def open_chain(path, keep):
    f = pyvhdi.file(); f.open(path); keep.append(f)
    if f.get_disk_type() == 4:
        name = f.get_parent_filename().replace("\\", "/")
        p = open_chain(os.path.join("c", os.path.basename(name)), keep)
        if p.get_identifier() != f.get_parent_identifier():
            sys.exit("%s: parent identifier mismatch" % path)
        f.set_parent(p)
    return f
for n in ("d2", "d2b", "d3"):
    keep = []
    f = open_chain("c/%s.vhd" % n, keep)
    got = f.read_buffer_at_offset(f.get_media_size(), 0)
    if got != open("ref-%s.raw" % n, "rb").read():
        sys.exit("%s reads other data" % n)
PYEOF
}

# inject ONE COMMAND...: run COMMAND with allocation N failing, for N = 1,
# 2, ... until the command no longer reaches an allocation N.  Every run
# that reached it must fail with "out of memory" and leave every file as
# it was; the run that did not reach it must succeed.  Prints the count.
inject() {
    what=$1; shift
    before=$(sums)
    n=1
    while :; do
        set +e
        OVFKIT_FAIL_ALLOC_AT=$n "$@" > out.txt 2> err.txt
        rc=$?
        set -e
        ! grep -q "AddressSanitizer\|runtime error" err.txt ||
            fail "$what, allocation $n: sanitizer: $(cat err.txt)"
        if ! grep -q "OVFKIT_FAIL_ALLOC_AT=$n:" err.txt; then
            [ $rc -eq 0 ] ||
                fail "$what: failed with no injected failure: $(cat err.txt)"
            break
        fi
        [ $rc -ne 0 ] || fail "$what: allocation $n failed unnoticed (exit 0)"
        grep -q "out of memory" err.txt ||
            fail "$what, allocation $n: '$(cat err.txt)', not 'out of memory'"
        [ "$(sums)" = "$before" ] ||
            fail "$what, allocation $n: files changed: $(cat err.txt)"
        reads_as_before "$what, allocation $n"
        n=$((n + 1))
        [ $n -lt 500 ] || fail "$what: more than 500 allocations"
    done
    [ $n -gt 1 ] || fail "$what: no allocation point was reached"
    echo "$what: $((n - 1)) allocation points failed cleanly"
}

# a merge: every allocation fails it before its first write
build
inject "vhd merge" sh -c 'cd c && "$OVFKIT" vhd merge d1.vhd'
[ ! -e c/d1.vhd ] && [ ! -e c/.d1.vhd.merge.json ] || fail "merge not done"
reads_as_before "after the merge"
qemu-img convert -O raw c/base.vhd base.raw
cmp -s base.raw ref-d1.raw || fail "qemu-img: base does not hold d1's data"

# the recovery of a merge interrupted in each state: each allocation fails
# it and leaves the journal and the files; then it completes
for point in 1 5 6; do
    build
    set +e
    (cd c && OVFKIT_CRASH_AT=$point "$OVFKIT" vhd merge d1.vhd > /dev/null 2>&1)
    set -e
    [ -e c/.d1.vhd.merge.json ] || fail "crash point $point: no journal"
    reads_as_before "crash point $point"
    # the parent: the journal concerns it whatever the children read
    inject "recovery after crash point $point" "$OVFKIT" vhd repair c/base.vhd
    grep -q "completed an interrupted merge" out.txt ||
        fail "point $point: repair did not complete the merge"
    [ ! -e c/d1.vhd ] && [ ! -e c/.d1.vhd.merge.json ] ||
        fail "point $point: merge not completed"
    reads_as_before "point $point, completed"
done
echo ok

# DESIGN.md's example at MiB scale: a 30 MiB preallocated (fixed) base and
# deltas of 5, 2 and 15 MiB.  The plan must never ask for more than the
# rules users know from VMware (delete the newest: the merged delta's
# size; delete the oldest into a preallocated base: nothing; delete all:
# 2 x 15 + 2 = 32) and asks for less where the in-place merge allows.
# The space really used is checked too: each deletion runs on a file
# system left with only the planned space (plus 256 KiB for the small
# record files) free, so using more fails.
. "$OVFK_SRCDIR/tests/cli/lib.sh"

MiB=1048576
k() { ovfkit --store "$S" "$@"; }
cur() { k --json vm show big | json 'd["disks"][0]["path"]'; }
wr() { head -c "$1" /dev/urandom | ovfkit vhd write "$(cur)" "$2"; }
size() { stat -c %s "$1"; }
snapfile() {
    k snapshot list big --json |
        json "[s for s in d['snapshots'] if s['name'] == '$1'][0]['disks'][0]['file']"
}
plan() { k snapshot delete big "$@" --dry-run --json; }

# a file system of its own when we may mount one (root); else a directory
fs=$T/fs
mkdir -p "$fs"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=160M tmpfs "$fs" 2>/dev/null; then
    trap 'umount "$T/fs" 2>/dev/null; cd /; rm -rf "$T"' EXIT
    mounted=1
else
    mounted=0
    echo "not root: the space really used is checked from file sizes only"
fi

build() {
    rm -rf "$fs/st" "$fs/filler" ref-*.raw
    S=$fs/st
    ovfkit vhd create --type fixed base.vhd 30M
    head -c 30M /dev/urandom | ovfkit vhd write base.vhd 0
    k vm create big --disk "$T/base.vhd" > /dev/null
    rm base.vhd
    k snapshot create big --name A > /dev/null
    wr $((5 * MiB)) 0                       # d1: 5 MiB
    k snapshot create big --name B > /dev/null
    wr $((2 * MiB)) $((20 * MiB))           # d2: 2 MiB
    k snapshot create big --name C > /dev/null
    wr $((15 * MiB)) $((3 * MiB))           # d3: 15 MiB, the current delta
    d1=$(snapfile B) d2=$(snapfile C) d3=$(cur)
    for n in A B C; do ovfkit vhd convert --type raw "$(snapfile $n)" "ref-$n.raw"; done
    ovfkit vhd convert --type raw "$d3" ref-now.raw
}

# leave only need + 256 KiB free (tmpfs), run, compare the space used
run_tight() { # NEED ARGS...
    need=$1; shift
    if [ $mounted = 1 ]; then
        avail=$(df -B1 --output=avail "$fs" | tail -1)
        fallocate -l $((avail - need - 256 * 1024)) "$fs/filler"
    fi
    before=$(du -s -B1 "$S" | cut -f1)
    k snapshot delete big "$@" > out.txt 2>&1 || fail "delete $*: $(cat out.txt)"
    after=$(du -s -B1 "$S" | cut -f1)
    [ "$after" -le $((before + need + 256 * 1024)) ] ||
        fail "delete $*: the store grew by $((after - before)), planned $need"
    rm -f "$fs/filler"
}

same() { # the snapshots named and the current state read their references
    for n in "$@"; do
        ovfkit vhd compare "ref-$n.raw" "$(snapfile $n)" > /dev/null || fail "snapshot $n changed"
    done
    ovfkit vhd compare ref-now.raw "$(cur)" > /dev/null || fail "the current state changed"
}

build
# the base stayed fixed (preallocated), the deltas have their sizes
[ "$(ovfkit --json vhd info "$(snapfile A)" | json 'd["type"]')" = fixed ] || fail "the base is not fixed"
echo "deltas: d1 $(size "$d1") d2 $(size "$d2") d3 $(size "$d3") bytes"

# delete the newest: VMware asks for the merged delta's size (d3)
plan C > p.json
need=$(json 'd["peak_bytes"]' < p.json)
[ "$(json 'len(d["steps"])' < p.json)" = 1 ] || fail "newest: $(cat p.json)"
[ "$(json 'd["steps"][0]["child"]' < p.json)" = "$d3" ] || fail "newest: not d3 merged"
[ "$(json 'd["steps"][0]["file"]' < p.json)" = "$d2" ] || fail "newest: not into d2"
[ "$need" -le "$(size "$d3")" ] || fail "newest: plan $need > VMware's $(size "$d3")"
echo "delete newest: plan $need bytes, VMware rule $(size "$d3")"
run_tight "$need" C
[ "$(cur)" = "$d2" ] || fail "newest: d2 is not current"
same A B

# delete the oldest into the preallocated base: nothing (the journal only)
build
plan A > p.json
need=$(json 'd["peak_bytes"]' < p.json)
[ "$(json 'd["steps"][0]["child"]' < p.json)" = "$d1" ] || fail "oldest: not d1 merged"
[ "$need" -le $((64 * 1024)) ] || fail "oldest: plan $need, expected nothing but the journal"
echo "delete oldest: plan $need bytes, VMware rule 0 (+ journal)"
run_tight "$need" A
same B C

# delete all: VMware's rule is 2 x d3 + d2 (32 MiB in the example); the
# in-place merges into a preallocated base need nothing
build
vmware=$((2 * $(size "$d3") + $(size "$d2")))
plan --all > p.json
need=$(json 'd["peak_bytes"]' < p.json)
[ "$(json 'len(d["steps"])' < p.json)" = 3 ] || fail "all: $(cat p.json)"
[ "$(json '" ".join(s["snapshot"] for s in d["steps"])' < p.json)" = "1 2 3" ] ||
    fail "all: not oldest first: $(cat p.json)"
[ "$need" -le "$vmware" ] || fail "all: plan $need > VMware's $vmware"
[ "$need" -le $((64 * 1024)) ] || fail "all: plan $need; merging into a preallocated base needs nothing"
echo "delete all: plan $need bytes, VMware rule $vmware"
run_tight "$need" --all
same
[ "$(ls "$S"/vms/*/disks | wc -l)" = 1 ] || fail "all: files left: $(ls "$S"/vms/*/disks)"

# not enough room: refused before anything is written, needed vs available
if [ $mounted = 1 ]; then
    build
    need=$(plan C | json 'd["peak_bytes"]')
    avail=$(df -B1 --output=avail "$fs" | tail -1)
    fallocate -l $((avail - need / 2)) "$fs/filler"
    sum=$(cat "$S"/vms/*/disks/*.vhd | sha256sum)
    expect_err "are available" k snapshot delete big C
    [ "$(cat "$S"/vms/*/disks/*.vhd | sha256sum)" = "$sum" ] || fail "a refused deletion wrote"
    rm -f "$fs/filler"
    same A B C
fi

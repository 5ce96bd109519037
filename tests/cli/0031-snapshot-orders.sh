# Snapshot -> write -> snapshot -> write -> snapshot -> write, then delete
# in every order (each of the 6 orders of A, B, C one at a time, and
# --all): after every deletion each remaining snapshot and the current
# state read exactly the raw references kept when they were taken, through
# our reader and through libvhdi alone; merged deltas are gone and the
# chain checks clean.  Then revert: a branch, and deleting the snapshot at
# the branch point keeps both branches.
. "$OVFK_SRCDIR/tests/cli/lib.sh"

k() { ovfkit --store "$T/st" "$@"; }
cur() { k --json vm show web | json 'd["disks"][0]["path"]'; }
snapfile() {
    k snapshot list web --json |
        json "[s for s in d['snapshots'] if s['name'] == '$1'][0]['disks'][0]['file']"
}
names() { k snapshot list web --json | json "' '.join(s['name'] for s in d['snapshots'])"; }
raw_of() { rm -f "$2"; ovfkit vhd convert --type raw "$1" "$2"; }
wr() { ovfkit vhd write "$(cur)" "$@"; }

# base (A) <- d1 (B) <- d2 (C) <- d3 (current): unaligned writes that cross
# 2 MiB blocks, zeros written over the parent's data, a far block
build() {
    rm -rf st ref-*.raw
    k vm create web --disk 8M > /dev/null
    head -c 3M /dev/urandom | wr 0
    raw_of "$(cur)" ref-A.raw
    k snapshot create web --name A --description "first" > /dev/null
    head -c 2500000 /dev/urandom | wr 1500001
    raw_of "$(cur)" ref-B.raw
    k snapshot create web --name B > /dev/null
    head -c 700000 /dev/zero | wr 100
    head -c 1M /dev/urandom | wr 7M
    raw_of "$(cur)" ref-C.raw
    k snapshot create web --name C > /dev/null
    head -c 4097 /dev/urandom | wr 4190000
    raw_of "$(cur)" ref-now.raw
    dir=$(dirname "$(cur)")
}

# how many snapshots the current state descends from
ancestors='
import json, sys
d = json.load(sys.stdin)
parent = {s["id"]: s["parent"] for s in d["snapshots"]}
n, p = 0, d["current"]["parent"]
while p is not None:
    n, p = n + 1, parent.get(p)
print(n)'

# verify: every snapshot that remains and the current state
verify() {
    for n in $(names); do
        f=$(snapfile "$n")
        ovfkit vhd compare "ref-$n.raw" "$f" > /dev/null || fail "$1: snapshot $n reads other data"
        vhdi_raw "$f" v.raw
        cmp -s v.raw "ref-$n.raw" || fail "$1: libvhdi reads snapshot $n differently"
    done
    c=$(cur)
    ovfkit vhd compare ref-now.raw "$c" > /dev/null || fail "$1: the current state changed"
    vhdi_raw "$c" v.raw
    cmp -s v.raw ref-now.raw || fail "$1: libvhdi reads the current state differently"
    ovfkit vhd check "$c" > /dev/null || fail "$1: check of the current chain"
    # one file per snapshot plus the current delta (plus $2 branch points
    # kept without a record); no journal left
    want=$(( $(names | wc -w) + 1 + ${2:-0} ))
    got=$(ls "$dir" | grep -c '\.vhd$')
    [ "$got" -eq "$want" ] || fail "$1: $got disk files, expected $want: $(ls -a "$dir")"
    ! ls -a "$dir" | grep -q 'merge.json' || fail "$1: a merge journal was left"
    # the current chain: one file per snapshot the current state descends from
    depth=$(k snapshot list web --json | "$PY" -c "$ancestors")
    len=$(ovfkit --json vhd chain "$c" | json 'len(d)')
    [ "$len" -eq $((depth + 1 + ${2:-0})) ] || fail "$1: chain of $len files, expected $((depth + 1 + ${2:-0}))"
}

build
verify "before"
[ "$(k snapshot list web | grep -c 'you are here')" -eq 1 ] || fail "list shows no current state"
# a dry run changes nothing
sum=$(cat "$dir"/*.vhd | sha256sum)
k snapshot delete web --all --dry-run > plan.txt
[ "$(cat "$dir"/*.vhd | sha256sum)" = "$sum" ] || fail "--dry-run wrote"
grep -q "would need" plan.txt || fail "no plan printed: $(cat plan.txt)"

for order in "A B C" "A C B" "B A C" "B C A" "C A B" "C B A"; do
    build
    for n in $order; do
        file_before=$(snapfile "$n")
        k snapshot delete web "$n" > /dev/null
        names | grep -qw "$n" && fail "snapshot $n still listed"
        verify "order $order, after $n"
    done
    # every delta merged down: the base is the only file
    [ "$(cur)" = "$dir/disk1.vhd" ] || fail "order $order: current is $(cur), not the base"
    echo "order $order: ok"
done

# deleting the newest merges the current delta into its file, which
# becomes current; deleting the oldest merges into the base
build
cf=$(snapfile C)
k snapshot delete web C > /dev/null
[ "$(cur)" = "$cf" ] || fail "after deleting the newest, current is $(cur), not $cf"
af=$(snapfile A)
k snapshot delete web A > /dev/null
[ "$(snapfile B)" = "$af" ] || fail "after deleting the oldest, B is not on the base"
verify "newest then oldest"

build
k snapshot delete web --all > /dev/null
[ -z "$(names)" ] || fail "--all left snapshots: $(names)"
verify "--all"
[ "$(cur)" = "$dir/disk1.vhd" ] || fail "--all: current is $(cur)"

# revert: the current state is discarded, a branch grows from A
build
expect_err "no snapshot" k snapshot revert web nosuch
k snapshot revert web A > /dev/null
ovfkit vhd compare ref-A.raw "$(cur)" > /dev/null || fail "revert: current is not A"
head -c 300000 /dev/urandom | wr 6000000
raw_of "$(cur)" ref-D.raw
k snapshot create web --name D > /dev/null
head -c 5000 /dev/urandom | wr 12345
raw_of "$(cur)" ref-now.raw
verify "after revert"
# the tree: D is a child of A, as B is
[ "$(k snapshot list web --json | json "[s['parent'] for s in d['snapshots'] if s['name'] == 'D'][0]")" = 1 ] ||
    fail "D's parent is not A"
k snapshot list web > tree.txt
grep -q '^  2 B' tree.txt && grep -q '^  4 D' tree.txt || fail "tree: $(cat tree.txt)"
# A's file has two children now: deleting A keeps it, drops the record
k snapshot delete web A --dry-run > plan.txt
grep -q "record only" plan.txt || fail "branch point planned as a merge: $(cat plan.txt)"
k snapshot delete web A > /dev/null
[ -e "$dir/disk1.vhd" ] || fail "the branch point's file was removed"
verify "branch point deleted" 1
# C's file is a leaf: removed; then B's; then the base has one child left
# and D's delta merges into it
k snapshot delete web C > /dev/null
verify "branch, after C" 1
k snapshot delete web B > /dev/null
verify "branch, after B"
[ "$(snapfile D)" = "$dir/disk1.vhd" ] || fail "D's delta was not merged into the base"
k snapshot delete web D > /dev/null
verify "branch, after D"
[ "$(ls "$dir" | grep -c '\.vhd$')" -eq 1 ] || fail "files left: $(ls "$dir")"

# usage errors and unknown names
expect_rc 64 k snapshot delete web
expect_rc 64 k snapshot delete web A --all
expect_err "no snapshot" k snapshot delete web nosuch
expect_err "already has a snapshot named" sh -c \
    "'$OVFKIT' --store '$T/st' snapshot create web --name X >/dev/null && '$OVFKIT' --store '$T/st' snapshot create web --name X"

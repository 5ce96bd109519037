# Snapshot -> write -> snapshot -> write -> snapshot -> write, then delete
# in every order (each of the 6 orders of A, B, C one at a time, and
# --all): after every deletion each remaining snapshot and the current
# state read exactly the raw references kept when they were taken, through
# our reader and through libvhdi alone; merged deltas are gone and the
# chain checks clean.  Then revert: a branch, and deleting the snapshot at
# the branch point keeps both branches.
. "$OVFK_SRCDIR/tests/cli/lib.sh"

. "$OVFK_SRCDIR/tests/cli/snap.sh"

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

# `ovfkit snapshot delete` killed at every numbered crash point (1-8 in
# the chain merge, 11-13 between the records and the files), or failing
# with ENOSPC or EIO: every snapshot still listed and the current state
# read exactly their references (by hash, through our reader and libvhdi),
# and the next deletion finishes the job and leaves a clean store.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/snap.sh"

# after the interruption: what is listed is intact; then --all completes
after() {
    verify_states "$1"
    k snapshot delete web --all > /dev/null || fail "$1: delete --all after the crash"
    [ -z "$(names)" ] || fail "$1: snapshots left: $(names)"
    verify "$1, then --all"
    [ "$(cur)" = "$dir/disk1.vhd" ] || fail "$1: current is $(cur), not the base"
}

for what in "--all" "B" "C" "A"; do
    for point in 1 2 3 4 5 6 7 8 11 12 13; do
        build
        set +e
        # shellcheck disable=SC2086
        OVFKIT_CRASH_AT=$point "$OVFKIT" --store "$T/st" snapshot delete web $what \
            > /dev/null 2>&1
        rc=$?
        set -e
        if [ $rc -eq 0 ]; then
            # "--all" reaches every point; one deletion may not (no
            # children to re-point: 6 is never reached)
            [ "$what" != "--all" ] || fail "$what: crash point $point was not reached"
        fi
        after "delete $what, crash point $point"
    done
    echo "delete $what: every crash point recovered"
done

# injected I/O errors in the middle of the merge
for err in 28 5; do
    build
    set +e
    OVFKIT_FAULT=write:3:$err "$OVFKIT" --store "$T/st" snapshot delete web --all \
        > out.txt 2>&1
    rc=$?
    set -e
    [ $rc -ne 0 ] || fail "injected error $err did not fail the deletion"
    after "injected error $err"
    echo "injected error $err: recovered"
done

# A backup and a prune killed (SIGKILL) at each numbered crash point
# (backup 21-25, prune 31-34, the chain merge's 1-8) and at random moments
# (24 runs): the points listed afterwards verify and read exactly what the
# VM held when each was taken, the VM's disk reads its data, and the next
# backup (and prune) succeeds.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/bk.sh"
"$PY" -c "import jsonschema" 2>/dev/null || skip "needs python3-jsonschema"

# the point directories (a new point's is named by its id)
ids() { ls "$R"/*/ | grep -v '^\.' | tr '\n' ' '; }

# check LABEL [TMP-OK]: every listed point reads its reference and
# verifies; the VM reads model.raw
check() {
    # read first (reading completes nothing), then verify (which, holding
    # the lock, completes a prune's merge cut off)
    k backup list --repo "$R" --json | doc |
        json '"\n".join("%s %s/%s" % (p["id"], p["package"].rsplit("/", 1)[0], "web-disk1.vhd") for p in d["points"])' > pts.txt
    while read -r id f; do
        [ -f "ref-$id.raw" ] || fail "$1: unknown point $id"
        ovfkit vhd compare "ref-$id.raw" "$f" > /dev/null ||
            fail "$1: point $id reads other data"
    done < pts.txt
    k backup verify --repo "$R" > v.txt 2>&1 || fail "$1: verify: $(cat v.txt)"
    ovfkit vhd compare model.raw "$(cur)" > /dev/null ||
        fail "$1: the VM's disk changed"
    ! ls -a "$R"/*/ | grep -q '^\.tmp-' || [ -n "${2:-}" ] ||
        fail "$1: a temporary point was left: $(ls -a "$R"/*/)"
}

# a backup whose point gets the reference model.raw (even when the kill
# came after its rename)
backup() {
    cp model.raw pending.raw
    before=$(ids)
    set +e
    "$@"
    rc=$?
    set -e
    for id in $(ids); do
        case " $before " in *" $id "*) ;; *) cp pending.raw "ref-$id.raw" ;; esac
    done
    return 0
}
b() { k backup web --repo "$R" > /dev/null 2>&1; }

make_vm 4M 3
n=0
backup b
poke 4096
backup b
[ "$(echo $(ids) | wc -w)" -eq 2 ] || fail "setup: $(ids)"

# backup: each numbered crash point, then at random moments
for p in 21 22 23 24 25; do
    poke $(( (n * 97 % 1000) * 4096 )); n=$((n + 1))
    backup env OVFKIT_CRASH_AT=$p "$OVFKIT" --store "$T/st" backup web --repo "$R"
    [ $rc -ne 0 ] || fail "crash point $p was not reached"
    check "backup, crash point $p" tmp-ok
    backup b
    [ $rc -eq 0 ] || fail "the backup after crash point $p failed"
    check "backup after crash point $p"
done
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
    poke $(( (n * 97 % 1000) * 4096 )); n=$((n + 1))
    cp model.raw pending.raw
    before=$(ids)
    "$OVFKIT" --store "$T/st" backup web --repo "$R" > /dev/null 2>&1 &
    pid=$!
    sleep "0.0$(( $(od -An -N1 -tu1 /dev/urandom) % 10 ))$(( i % 10 ))"
    kill -9 $pid 2> /dev/null || true
    wait $pid 2> /dev/null || true
    for id in $(ids); do
        case " $before " in *" $id "*) ;; *) cp pending.raw "ref-$id.raw" ;; esac
    done
    check "backup killed at random ($i)" tmp-ok
    backup b
    [ $rc -eq 0 ] || fail "the backup after random kill $i failed"
    check "backup after random kill $i"
done
echo "backup: crash points and 12 random kills recovered"

# prune: the points merge into the newest; killed at each crash point of
# ours and of the chain merge, then at random
more() {
    for j in 1 2 3; do
        # both 2 MiB blocks: a merge of two blocks reaches crash point 2
        poke $(( (n * 97 % 500) * 4096 ))
        poke $(( (512 + n * 97 % 500) * 4096 )); n=$((n + 1))
        backup b
    done
}
# A crash point can only be reached by a prune that merges: when the
# backups before it came out full (the VM's anchor did not match the newest
# point after an earlier cut-off prune; issue 15's note), the prune only
# removes, and that crash point is counted as not exercised.  At most 3 of
# the 12 may be.
unexercised=0
for p in 31 32 33 34 1 2 3 4 5 6 7 8; do
    more
    merges=$(k backup prune --repo "$R" --keep-last 2 --dry-run --json | doc |
             json 'sum(1 for x in d["points"] if x["action"] == "merge")')
    set +e
    OVFKIT_CRASH_AT=$p "$OVFKIT" backup prune --repo "$R" --keep-last 2 > /dev/null 2>&1
    rc=$?
    set -e
    if [ "$merges" -eq 0 ] && [ $rc -eq 0 ]; then
        echo "prune crash point $p: not exercised (the prune merged nothing)"
        unexercised=$((unexercised + 1))
    else
        [ $rc -ne 0 ] || [ $p -eq 6 ] || fail "prune: crash point $p was not reached"
    fi
    check "prune, crash point $p"
    k backup prune --repo "$R" --keep-last 2 > out.txt 2>&1 ||
        fail "the prune after crash point $p: $(cat out.txt)"
    [ "$(echo $(ids) | wc -w)" -eq 2 ] || fail "prune after crash point $p left $(ids)"
    check "prune after crash point $p"
done
[ $unexercised -le 3 ] || fail "$unexercised of 12 prune crash points were not exercised"
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
    more
    "$OVFKIT" backup prune --repo "$R" --keep-last 2 > /dev/null 2>&1 &
    pid=$!
    sleep "0.0$(( $(od -An -N1 -tu1 /dev/urandom) % 10 ))$(( i % 10 ))"
    kill -9 $pid 2> /dev/null || true
    wait $pid 2> /dev/null || true
    check "prune killed at random ($i)"
    k backup prune --repo "$R" --keep-last 2 > out.txt 2>&1 ||
        fail "the prune after random kill $i: $(cat out.txt)"
    check "prune after random kill $i"
done
# the survivors restore; the next backup builds on the newest
newest=$(k backup list --repo "$R" --json | doc | json 'd["points"][-1]["id"]')
k backup restore web "$newest" --repo "$R" --as-new --name survivor > /dev/null
ovfkit vhd compare "ref-$newest.raw" "$(cur survivor)" > /dev/null ||
    fail "the newest point restores other data"
poke 8192
k backup web --repo "$R" --json 2> err.txt | doc > last.json
[ "$(json 'd["kind"]' < last.json)" = incremental ] ||
    fail "the backup after the prunes: $(cat last.json) $(cat err.txt)"
echo "prune: crash points and 12 random kills recovered"

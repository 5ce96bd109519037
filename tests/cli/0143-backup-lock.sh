# Two backups of one VM at once: the second fails with exit 75 (the VM's
# points are locked) naming the holder, or with --wait waits and then
# builds on the first one's point; a prune at the same time is refused
# too.  Nothing is corrupted: the points verify and read what the VM held.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/bk.sh"
"$PY" -c "import jsonschema" 2>/dev/null || skip "needs python3-jsonschema"

make_vm 4M 5
k backup web --repo "$R" > /dev/null 2>&1
cp model.raw ref0.raw
poke 8192
cp model.raw ref1.raw
# the first holds the lock while its pre hook sleeps
k backup web --repo "$R" --pre 'touch started; sleep 3' > first.txt 2>&1 &
pid=$!
for i in $(seq 100); do [ -f started ] && break; sleep 0.1; done
[ -f started ] || fail "the first backup never started its hook"
set +e
k backup web --repo "$R" > second.txt 2>&1
rc=$?
k backup prune --repo "$R" --keep-last 1 > prune.txt 2>&1
rcp=$?
set -e
[ $rc -eq 75 ] || fail "the second backup exited $rc: $(cat second.txt)"
grep -q "is in use by process" second.txt || fail "the refusal names no holder: $(cat second.txt)"
[ $rcp -eq 75 ] || fail "the prune exited $rcp: $(cat prune.txt)"
# --wait: waits for the first, then builds on its point
k backup web --repo "$R" --wait --json 2> err.txt | doc > third.json ||
    fail "--wait: $(cat err.txt)"
wait $pid || fail "the first backup failed: $(cat first.txt)"
ids=$(k backup list --repo "$R" --json | doc | json '" ".join(p["id"] for p in d["points"])')
set -- $ids
[ $# -eq 3 ] || fail "points: $ids"
[ "$(json 'd["kind"], d["parent"]' < third.json)" = "incremental $2" ] ||
    fail "the waiting backup did not build on the first: $(cat third.json)"
k backup verify --repo "$R" > /dev/null || fail "verify"
for i in 1 2 3; do
    eval id=\$$i
    want=ref$((i > 1 ? 1 : 0)).raw
    ovfkit vhd compare "$want" "$(point_file "$id")" > /dev/null ||
        fail "point $id reads other data"
done
echo "ok: 75 while locked, --wait waits"

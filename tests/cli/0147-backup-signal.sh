# A backup stopped by SIGINT while it copies (full) or SIGTERM (an
# increment) exits 130/143: no point, no temporary, the VM's data as it
# was, the lock free; the anchor it took stays (after a signal no lock is
# taken) and the next backup, incremental on the last point, drops it.
# A failing post hook takes its anchor away at once.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/bk.sh"
. "$OVFK_SRCDIR/tests/cli/jobs.sh"
"$PY" -c "import jsonschema" 2>/dev/null || skip "needs python3-jsonschema"
mkdir t
make_vm 8M 6
snaps() { k snapshot list web --json | json '[s["name"] for s in d["snapshots"]]'; }
stop_at() {   # stop_at SIGNAL RC [backup options]: stop it mid-copy
    sig=$1 rc=$2; shift 2
    $(slow 300) "$OVFKIT" --store "$T/st" backup web --repo "$R" "$@" \
        > t/out 2> t/err.b & p=$!
    wait_for "$R/*/.tmp-*" "$R/*/..tmp-*"
    kill -"$sig" $p
    finish $p "$rc"
}
stop_at INT 130
[ -z "$(ls "$R"/*/ 2> /dev/null)" ] || fail "a point was left: $(ls -a "$R"/*/)"
! ls -a "$R"/*/ | grep -q 'tmp-' || fail "a temporary was left: $(ls -a "$R"/*/)"
grep -q "stays until the next backup" t/err.b || fail "no word of the anchor: $(cat t/err.b)"
ovfkit vhd compare model.raw "$(cur)" > /dev/null || fail "the VM's data changed"
k backup web --repo "$R" > /dev/null 2>&1 || fail "the backup after SIGINT"
[ "$(k snapshot list web --json | json 'len(d["snapshots"])')" -eq 1 ] ||
    fail "anchors after the next backup: $(snaps)"
before=$(snaps)
poke 8192
expect_err "the post hook 'exit 5' failed (exit 5); no backup was taken" \
    k backup web --repo "$R" --post 'exit 5'
[ "$(snaps)" = "$before" ] || fail "a failed post hook left its anchor: $(snaps)"
stop_at TERM 143
[ "$(k backup list --repo "$R" --json | doc | json 'len(d["points"])')" -eq 1 ] ||
    fail "a point was left: $(k backup list --repo "$R")"
ovfkit vhd compare model.raw "$(cur)" > /dev/null || fail "the VM's data changed"
locks_released "$R"
k backup web --repo "$R" --json 2> t/err | doc > b.json
[ "$(json 'd["kind"]' < b.json)" = incremental ] || fail "after SIGTERM: $(cat b.json) $(cat t/err)"
[ "$(k snapshot list web --json | json 'len(d["snapshots"])')" -eq 1 ] ||
    fail "anchors after the next backup: $(snaps)"
ovfkit vhd compare model.raw "$(point_file "$(json 'd["id"]' < b.json)")" > /dev/null ||
    fail "the backup after SIGTERM reads other data"
echo "ok: SIGINT/SIGTERM leave no point and no anchor"

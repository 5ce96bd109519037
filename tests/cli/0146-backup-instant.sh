# Instant restore: a VM defined on a repository point reads the point's
# data at once, writes go to its own delta (the point's files keep their
# hashes), prune keeps the point it stands on (and what that builds on),
# and after `backup move-storage` the VM reads the same from the store
# and the point can be pruned.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/bk.sh"
"$PY" -c "import jsonschema" 2>/dev/null || skip "needs python3-jsonschema"

make_vm 8M 4
k backup web --repo "$R" > /dev/null 2>&1
cp model.raw ref0.raw
poke 4096
k backup web --repo "$R" > /dev/null 2>&1
cp model.raw ref1.raw
P1=$(k backup list --repo "$R" --json | doc | json 'd["points"][1]["id"]')
expect_err "remove it first, or pass --as-new" k backup restore web "$P1" --repo "$R" --instant
k backup restore web "$P1" --repo "$R" --instant --as-new --name inst --json | doc > i.json
schema backup-restore i.json
[ "$(json 'd["vm"]' < i.json)" = inst ] || fail "$(cat i.json)"
ovfkit vhd compare ref1.raw "$(cur inst)" > /dev/null || fail "the instant VM reads other data"
find "$R" -name '*.vhd' -exec sha256sum {} + | sort > before.txt
head -c 65536 /dev/urandom > w.bin
ovfkit vhd write "$(cur inst)" 1048576 65536 < w.bin
find "$R" -name '*.vhd' -exec sha256sum {} + | sort > after.txt
cmp -s before.txt after.txt || fail "a write of the instant VM reached the repository"
# more points; prune keeps the ones the VM stands on
for i in 1 2 3; do
    poke $((i * 12288))
    OVFKIT_NOW=$(( $(date +%s) + i * 86400 )) k backup web --repo "$R" > /dev/null 2>&1
done
k backup prune --repo "$R" --keep-last 1 --json | doc > p.json
schema backup-prune p.json
json '" ".join(p["id"] for p in d["points"] if p["keep"] and p["reason"] == "a VM stands on it")' < p.json > pinned.txt
[ "$(wc -w < pinned.txt)" -eq 2 ] && grep -q "$P1" pinned.txt ||
    fail "the point the VM stands on (and its parent) were not kept: $(cat p.json)"
ovfkit vhd compare ref1.raw "$(k backup list --repo "$R" --json | doc |
    json "[p['package'] for p in d['points'] if p['id'] == '$P1'][0]" | sed 's|/[^/]*$||')/web-disk1.vhd" > /dev/null ||
    fail "the pinned point changed"
cp ref1.raw want.raw
dd if=w.bin of=want.raw bs=65536 seek=16 conv=notrunc status=none
ovfkit vhd compare want.raw "$(cur inst)" > /dev/null || fail "the instant VM lost its write"
# moved into the store: the same data, no parent in the repository
k backup move-storage inst --json | doc > m.json
schema backup-move-storage m.json
ovfkit vhd compare want.raw "$(cur inst)" > /dev/null || fail "the moved VM reads other data"
case $(ovfkit vhd chain "$(cur inst)") in *"$R"*) fail "the moved VM still reads the repository" ;; esac
k backup prune --repo "$R" --keep-last 1 > /dev/null
[ "$(k backup list --repo "$R" --json | doc | json 'len(d["points"])')" -eq 1 ] ||
    fail "after the move the points could not be pruned: $(k backup list --repo "$R")"
ovfkit vhd compare want.raw "$(cur inst)" > /dev/null || fail "the prune changed the moved VM"
echo "ok: instant restore, pinned, moved, pruned"

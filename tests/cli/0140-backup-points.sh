# `ovfkit backup` on a dir-store VM with a realistic disk: a full point,
# writes, two incremental points, more writes.  Every point reads (libvhdi
# through Python, following the repository's chain), exports and restores
# to exactly the disk the VM had when it was taken (mkdisk's own image is
# the reference); incrementals hold only the writes; the VM keeps one
# backup delta; hooks see the VM and phase, a failing pre hook takes
# nothing; the repository still works when moved; a lost anchor or a
# damaged point makes the next backup full, and says so.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/bk.sh"
"$PY" -c "import pyvhdi, jsonschema" 2>/dev/null ||
    skip "needs python3-libvhdi and python3-jsonschema"

make_vm 32M 1
ref0=$(sha model.raw)
k backup web --repo "$R" --json 2> err0.txt | doc > b0.json
schema backup-create b0.json
[ "$(json 'd["kind"]' < b0.json)" = full ] || fail "first point: $(cat b0.json)"
grep -q "full backup: this is the VM's first backup" err0.txt ||
    fail "the first backup does not say why it is full: $(cat err0.txt)"
P0=$(json 'd["id"]' < b0.json)

mutate 2 3
ref1=$(sha model.raw)
k backup web --repo "$R" --json \
    --pre 'echo "$OVFKIT_PHASE $OVFKIT_VM $OVFKIT_VM_UUID" >> hooks.log' \
    --post 'echo "$OVFKIT_PHASE $OVFKIT_VM" >> hooks.log' | doc > b1.json
schema backup-create b1.json
[ "$(json 'd["kind"], d["parent"]' < b1.json)" = "incremental $P0" ] ||
    fail "second point: $(cat b1.json)"
P1=$(json 'd["id"]' < b1.json)
uuid=$(k --json vm show web | json 'd["uuid"]')
[ "$(cat hooks.log)" = "pre web $uuid
post web" ] || fail "hooks saw: $(cat hooks.log)"
# the increment holds the writes (15 pieces of 64 KiB of 512), not the disk
copied=$(json 'd["copied_bytes"]' < b1.json)
n=$("$MKDISK" --mutate model.raw --percent 3 --seed 2 --list | wc -l)
[ "$copied" -le $((n * 65536)) ] && [ "$copied" -gt 0 ] ||
    fail "the increment copied $copied bytes for $n pieces of 64 KiB"

mutate 3 3
ref2=$(sha model.raw)
k backup web --repo "$R" --json | doc > b2.json
[ "$(json 'd["kind"], d["parent"]' < b2.json)" = "incremental $P1" ] ||
    fail "third point: $(cat b2.json)"
P2=$(json 'd["id"]' < b2.json)
mutate 4 3
ref3=$(sha model.raw)
[ "$ref3" != "$ref2" ] || fail "the last writes changed nothing"

# the VM: its data, one backup anchor, one delta above it
vhdi_raw "$(cur)" now.raw
[ "$(sha now.raw)" = "$ref3" ] || fail "the VM's disk does not read its writes"
[ "$(ovfkit --json vhd chain "$(cur)" | json 'len(d)')" -eq 2 ] ||
    fail "the VM carries more than one backup delta: $(ovfkit vhd chain "$(cur)")"
[ "$(k snapshot list web --json | json 'len(d["snapshots"])')" -eq 1 ] ||
    fail "more than one anchor: $(k snapshot list web)"

# the list
k backup list --repo "$R" web --json | doc > list.json
schema backup-list list.json
[ "$(json '[(p["id"], p["kind"], p["parent"]) for p in d["points"]]' < list.json)" = \
  "[('$P0', 'full', None), ('$P1', 'incremental', '$P0'), ('$P2', 'incremental', '$P1')]" ] ||
    fail "list: $(cat list.json)"
json 'all(p["logical_bytes"] == 32 << 20 for p in d["points"])' < list.json | grep -qx True ||
    fail "logical sizes: $(cat list.json)"
json 'd["points"][1]["stored_bytes"] * 4 < d["points"][0]["stored_bytes"]' < list.json |
    grep -qx True || fail "an increment stores as much as the full point: $(cat list.json)"
k backup list --repo "$R" | grep -q "^web .*$P1 .*incremental .*$P0\$" ||
    fail "list (text): $(k backup list --repo "$R")"

# each point, read by libvhdi alone, exported, as an OVA
i=0
for p in $P0 $P1 $P2; do
    eval want=\$ref$i
    chain_raw "$(point_file "$p")" pt.raw
    [ "$(sha pt.raw)" = "$want" ] || fail "libvhdi reads point $i ($p) differently"
    k backup export web "$p" --repo "$R" --to "ex$i" > /dev/null
    vhdi_raw "ex$i/web-disk1.vhd" ex.raw
    [ "$(sha ex.raw)" = "$want" ] || fail "the export of point $i differs"
    ovfkit ova verify "ex$i/web.ovf" > /dev/null || fail "export $i does not verify"
    ovfkit ova verify "$(dirname "$(point_file "$p")")/web.ovf" > /dev/null ||
        fail "point $i is not a package that verifies"
    i=$((i + 1))
done
k backup export web "$P2" --repo "$R" --to p2.ova --json | doc > ex.json
schema backup-export ex.json
ovfkit ova verify p2.ova > /dev/null || fail "the OVA export does not verify"

# the repository moved as a whole still reads (relative locators)
mv "$R" moved
k backup export web "$P2" --repo moved --to exm > /dev/null ||
    fail "a moved repository cannot be read"
vhdi_raw exm/web-disk1.vhd ex.raw
[ "$(sha ex.raw)" = "$ref2" ] || fail "the moved repository reads other data"
mv moved "$R"

# restore: same identity, replacing the VM; --as-new: a new one
expect_err "pass --force" k backup restore web "$P1" --repo "$R"
k backup restore web "$P1" --repo "$R" --force > /dev/null
vhdi_raw "$(cur)" r.raw
[ "$(sha r.raw)" = "$ref1" ] || fail "restore of $P1 reads other data"
[ "$(k --json vm show web | json 'd["uuid"]')" = "$uuid" ] || fail "restore changed the UUID"
k backup restore web "$P0" --repo "$R" --as-new --name web0 > /dev/null
vhdi_raw "$(cur web0)" r.raw
[ "$(sha r.raw)" = "$ref0" ] || fail "--as-new of $P0 reads other data"
[ "$(k --json vm show web0 | json 'd["uuid"]')" != "$uuid" ] || fail "--as-new kept the UUID"
expect_err "no backup point 'nope'" k backup restore web nope --repo "$R" --force

# the restored VM lost its anchor: the next point is full, and says so
k backup web --repo "$R" --json 2> err3.txt | doc > b3.json
[ "$(json 'd["kind"]' < b3.json)" = full ] || fail "after a restore: $(cat b3.json)"
grep -q "full backup: the backup anchor was lost" err3.txt ||
    fail "no reason given for the full point: $(cat err3.txt)"
vhdi_raw "$(cur)" model.raw

# a failing pre hook: nothing taken, nothing changed
npts=$(k backup list --repo "$R" --json | json 'len(d["points"])')
nsnap=$(k snapshot list web --json | json 'len(d["snapshots"])')
expect_err "the pre hook 'exit 3' failed (exit 3); no backup was taken" \
    k backup web --repo "$R" --pre 'exit 3'
[ "$(k backup list --repo "$R" --json | json 'len(d["points"])')" -eq "$npts" ] ||
    fail "a failed pre hook left a point"
[ "$(k snapshot list web --json | json 'len(d["snapshots"])')" -eq "$nsnap" ] ||
    fail "a failed pre hook took a snapshot"
! ls -a "$R"/*/ | grep -q '^\.tmp-' || fail "a temporary point was left"

# an incremental point damaged on disk: verify names it (exit 2), marks
# it, and the next backup is full
mutate 5 3
k backup web --repo "$R" --json | doc > b4.json
P4=$(json 'd["id"]' < b4.json)
[ "$(json 'd["kind"]' < b4.json)" = incremental ] || fail "after the restore's full: $(cat b4.json)"
k backup verify --repo "$R" > v.txt || fail "verify of intact points: $(cat v.txt)"
f=$(point_file "$P4")
printf 'X' | dd of="$f" bs=1 seek=$(( $(stat -c %s "$f") - 70000 )) conv=notrunc status=none
set +e
k backup verify --repo "$R" --json > v.out
rc=$?
set -e
doc < v.out > v.json
[ $rc -eq 2 ] || fail "verify of a damaged point exited $rc"
schema backup-verify v.json
[ "$(json '[x["id"] for x in d["damaged"]]' < v.json)" = "['$P4']" ] ||
    fail "verify named: $(cat v.json)"
k backup list --repo "$R" | grep -q "$P4 .*DAMAGED" || fail "the damaged point is not marked"
k backup web --repo "$R" --json 2> err5.txt | doc > b5.json
[ "$(json 'd["kind"]' < b5.json)" = full ] || fail "a damaged chain was built on: $(cat b5.json)"
grep -q "cannot be built on" err5.txt || fail "no reason given: $(cat err5.txt)"
expect_err "cannot be read" k backup export web "$P4" --repo "$R" --to exd
# earlier points are untouched by all this
chain_raw "$(point_file "$P2")" pt.raw
[ "$(sha pt.raw)" = "$ref2" ] || fail "point $P2 changed"
echo "ok: 3 points read, exported, restored; anchors, hooks, damage"

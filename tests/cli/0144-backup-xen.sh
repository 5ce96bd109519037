# A VM of the xen driver (configuration files) gets full points only, and
# the output says so; a point restores over the VM (same UUID) with the
# disk as it was.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/bk.sh"
"$PY" -c "import jsonschema" 2>/dev/null || skip "needs python3-jsonschema"
X() { ovfkit --connect "xen:$T/xen" "$@"; }
mkdir xen
"$MKDISK" model.raw 4M --seed 9 > /dev/null
X vm create dom --memory 256 --disk model.raw -f raw > /dev/null
disk=$(X --json vm show dom | sed -n 's/^ *"path": "\(.*\)",$/\1/p' | head -1)
ref0=$(sha model.raw)
X backup dom --repo "$R" --json 2> err.txt | doc > b0.json
schema backup-create b0.json
[ "$(json 'd["kind"]' < b0.json)" = full ] || fail "$(cat b0.json)"
grep -q "full backup: VMs of the xen driver get full backups (incremental backups need the dir store)" err.txt ||
    fail "no word on why: $(cat err.txt)"
ovfkit vhd write "$disk" 8192 4096 < /dev/urandom
X backup dom --repo "$R" --json 2> err.txt | doc > b1.json
[ "$(json 'd["kind"], d["parent"]' < b1.json)" = "full None" ] || fail "$(cat b1.json)"
P0=$(json 'd["id"]' < b0.json)
X backup restore dom "$P0" --repo "$R" --force > /dev/null
disk=$(X --json vm show dom | sed -n 's/^ *"path": "\(.*\)",$/\1/p' | head -1)
vhdi_raw "$disk" r.raw
[ "$(sha r.raw)" = "$ref0" ] || fail "the restored xen VM reads other data"
echo "ok: xen VMs get full points"

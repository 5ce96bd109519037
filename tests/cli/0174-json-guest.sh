# The guest commands' documents (libguestfs under TCG, so a test of its
# own, two appliance launches): sysprep --json, the report sysprep
# --report writes, and sysprep --undo --json, each valid against its
# schema in data/json-schema (python3-jsonschema); inspect --json, whose
# "os" is sysprep's, is checked on a Windows guest by 0042.  The phony
# guest is cached in /var/tmp/ovfkit-cache, keyed by the script that
# builds it.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
"$PY" -c "import jsonschema" 2>/dev/null || skip "needs python3-jsonschema"
"$PY" -c 'import guestfs' 2>/dev/null || skip "needs python3-guestfs"
ls /boot/vmlinuz-* > /dev/null 2>&1 || skip "needs a kernel for the libguestfs appliance (linux-image-amd64)"
export LIBGUESTFS_BACKEND_SETTINGS=force_tcg
SCHEMAS=$OVFK_SRCDIR/data/json-schema
cache=/var/tmp/ovfkit-cache
key=$(sha256sum < "$OVFK_SRCDIR/tests/cli/phony.py" | cut -c1-16)
img=$cache/phony-linux-$key.img
if [ ! -f "$img" ]; then
    mkdir -p "$cache"
    "$PY" "$OVFK_SRCDIR/tests/cli/phony.py" linux g.img orig.json > /dev/null
    cp --sparse=always g.img "$img.$$" && mv "$img.$$" "$img"
else
    cp --sparse=always "$img" g.img
fi
mkdir docs
ovfkit sysprep g.img --operations machine-id,hostname --hostname jsonhost \
    --report r.json --json > docs/sysprep@1.json
cp r.json docs/sysprep-report@1.json
json 'd["os"][0]["distro"], len(d["changes"]) > 0, d["report"], d["dry_run"]' \
    < docs/sysprep@1.json | grep -qx "debian True r.json False" ||
    fail "sysprep: $(cat docs/sysprep@1.json)"
ovfkit --json sysprep --undo r.json g.img > docs/sysprep@2.json
json 'd["restored"] > 0' < docs/sysprep@2.json | grep -qx True ||
    fail "sysprep --undo: $(cat docs/sysprep@2.json)"
"$PY" "$OVFK_SRCDIR/tests/cli/jsondoc.py" docs "$SCHEMAS" docs ||
    fail "a guest document does not match its schema"

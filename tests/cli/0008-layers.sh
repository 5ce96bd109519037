# Each layer includes only the layers below it (DESIGN.md section 1), and
# the CLI and the nbdkit plugin only the public headers (issue 14): the
# check is scripts/check-layers.py; here it must pass, and it must catch a
# lower layer that includes an upper one.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
"$PY" "$OVFK_SRCDIR/scripts/check-layers.py" > out.txt ||
    fail "layers: $(cat out.txt)"
grep -q '^check-layers: 0 violations$' out.txt || fail "$(cat out.txt)"

# the check itself: a copy of the tree where vhd/ includes hv's header
mkdir -p tree/scripts tree/vhd tree/include/ovfkit
cp "$OVFK_SRCDIR/scripts/check-layers.py" tree/scripts/
printf '#include "ovfkit/hv.h"\n' > tree/vhd/bad.c
printf '#include "hv/internal.h"\n' > tree/vhd/bad2.c
mkdir -p tree/cli && printf '#include "vhd/internal.h"\n' > tree/cli/bad.c
expect_rc 1 "$PY" tree/scripts/check-layers.py > bad.txt
grep -q "vhd/bad.c:1: vhd includes 'ovfkit/hv.h' of hv, a layer above it" \
    bad.txt || fail "not caught: $(cat bad.txt)"
grep -q "vhd/bad2.c:1: vhd includes 'hv/internal.h' of hv" bad.txt ||
    fail "not caught: $(cat bad.txt)"
grep -q "cli/bad.c:1: cli includes the internal header 'vhd/internal.h'" \
    bad.txt || fail "not caught: $(cat bad.txt)"
echo "layers point one way"

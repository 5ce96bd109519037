# The shared library exports exactly the functions the public headers
# declare (issue 14): libovfkit.map is what scripts/public-symbols.py makes
# of include/ovfkit/*.h, and the dynamic symbol table of libovfkit.so
# holds those names, under the map's version, and no others.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need nm binutils
need cpp cpp
so="$OVFK_BUILD/libovfkit.so.0"
[ -f "$so" ] || fail "no $so"

"$OVFK_SRCDIR/scripts/public-symbols.py" > declared.txt
[ "$(wc -l < declared.txt)" -gt 100 ] ||
    fail "only $(wc -l < declared.txt) declarations found in the headers"
"$OVFK_SRCDIR/scripts/public-symbols.py" --map > map.txt
diff -u "$OVFK_SRCDIR/libovfkit.map" map.txt > map.diff ||
    fail "libovfkit.map is not what the headers declare (regenerate it with
scripts/public-symbols.py --map > libovfkit.map): $(cat map.diff)"

# defined dynamic symbols: name@@VERSION for ours
nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVWi]$/ { print $3 }' |
    sort > exported.txt
sed 's/@@OVFKIT_0.1$//' exported.txt | grep -v '^OVFKIT_0.1$' |
    sort > names.txt
grep -v '@@OVFKIT_0.1$' exported.txt | grep -v '^OVFKIT_0.1$' > unversioned.txt || :
[ ! -s unversioned.txt ] ||
    fail "exported without the map's version: $(cat unversioned.txt)"
comm -23 names.txt declared.txt > extra.txt
comm -13 names.txt declared.txt > missing.txt
[ ! -s extra.txt ] ||
    fail "libovfkit.so exports what no header declares: $(cat extra.txt)"
[ ! -s missing.txt ] ||
    fail "declared in a header but not exported (no definition?): $(cat missing.txt)"
echo "libovfkit.so exports the $(wc -l < names.txt) declared names"

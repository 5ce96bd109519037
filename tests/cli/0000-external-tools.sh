# Every program the tests and the library run is installed by
# scripts/deps.sh (or is in every Debian), or the test that runs it skips
# naming it (`need TOOL PACKAGE`): a fresh Debian 12 that ran deps.sh runs
# every test.  scripts/check-tools.py says what it does not see.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need dpkg-query dpkg
"$PY" "$OVFK_SRCDIR/scripts/check-tools.py" ||
    fail "a program is neither installed by scripts/deps.sh nor guarded"

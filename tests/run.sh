#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/run.sh - run every unit test (C), command-line test (shell) and
# fuzz-corpus replay; end with one line "N passed, N failed, N skipped".
#
#   BUILD=build tests/run.sh [PATTERN]     only tests whose name has PATTERN
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build="$top/$build" ;; esac
pattern=${1:-}
export OVFK_SRCDIR="$top" OVFKIT="$build/ovfkit" OVFK_BUILD="$build"
export PATH="$build:$PATH"
# sanitized builds: an nbdkit that loads the sanitizer runtimes first
[ -d "$build/wrap" ] && export PATH="$build/wrap:$PATH"
# leaks in other projects' code that the fuzz corpus reaches (sanitizer builds)
export LSAN_OPTIONS="suppressions=$top/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
log="$build/test-log"
mkdir -p "$log"
pass=0 fail=0 skip=0

note() { printf '%s\n' "$*"; }

# LeakSanitizer's own stop-the-world tracer sometimes dies at exit under
# load ("Tracer caught signal 11", google/sanitizers#1353): a crash of the
# checker, not a leak report.  In a sanitizer build a cli test that failed
# with that signature and no sanitizer report is run once more, and says so.
lsan_tracer_crash() {
    [ -d "$build/wrap" ] || return 1
    grep -q 'Tracer caught signal' "$1" || return 1
    ! grep -q 'ERROR: \(LeakSanitizer: detected\|AddressSanitizer\)\|runtime error:' "$1"
}

for t in "$build"/tests/unit/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    case $name in *"$pattern"*) ;; *) continue ;; esac
    "$t" > "$log/$name.out" 2>&1
    rc=$?
    p=$(grep -c '^PASS:' "$log/$name.out")
    f=$(grep -c '^FAIL:' "$log/$name.out")
    s=$(grep -c '^SKIP:' "$log/$name.out")
    grep -E '^(FAIL|SKIP):' "$log/$name.out"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        note "FAIL: $name crashed (exit $rc); see $log/$name.out"
        tail -5 "$log/$name.out"
        f=1
    fi
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
done

for t in "$build"/tests/fuzz/replay_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    case $name in *"$pattern"*) ;; *) continue ;; esac
    corpus="$top/tests/fuzz/corpus/${name#replay_}"
    if "$t" "$corpus" > "$log/$name.out" 2>&1; then
        pass=$((pass + 1))
    else
        note "FAIL: $name (corpus $corpus); see $log/$name.out"
        tail -5 "$log/$name.out"
        fail=$((fail + 1))
    fi
done

for t in "$top"/tests/cli/[0-9]*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    case $name in *"$pattern"*) ;; *) continue ;; esac
    start=$(date +%s)
    timeout "${TEST_TIMEOUT:-900}" sh "$t" > "$log/$name.out" 2>&1
    rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 77 ] && lsan_tracer_crash "$log/$name.out"; then
        note "RETRY: $name: LeakSanitizer's tracer crashed (no leak reported)"
        mv "$log/$name.out" "$log/$name.tracer-crash.out"
        timeout "${TEST_TIMEOUT:-900}" sh "$t" > "$log/$name.out" 2>&1
        rc=$?
    fi
    secs=$(( $(date +%s) - start ))
    case $rc in
    0) pass=$((pass + 1)); note "PASS: $name (${secs}s)" ;;
    77) skip=$((skip + 1)); note "SKIP: $name: $(tail -1 "$log/$name.out")" ;;
    *) fail=$((fail + 1)); note "FAIL: $name (exit $rc, ${secs}s); last lines:"
       tail -15 "$log/$name.out" | sed 's/^/    /' ;;
    esac
done

note "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

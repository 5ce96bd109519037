# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/cli/lib.sh - helpers for command-line tests (qemu-iotests, git t/).
# A test runs in a fresh directory, exits 0 to pass, 77 to skip (only when
# a tool it needs is truly absent, saying which), anything else to fail.
set -eu
: "${OVFKIT:?run through tests/run.sh (make check)}"
: "${OVFK_SRCDIR:?}"
T=$(mktemp -d /tmp/ovfk-cli-XXXXXX)
trap 'cd /; [ -n "${TEST_KEEP:-}" ] || rm -rf "$T"' EXIT
cd "$T"
SHARED=${OVFK_SHARED:-$OVFK_SRCDIR/../shared}

ovfkit() { "$OVFKIT" "$@"; }

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "$*"; exit 77; }

# need TOOL [PACKAGE]: skip when the tool is not installed
need() {
    command -v "$1" >/dev/null 2>&1 || skip "needs $1 (Debian package ${2:-$1})"
}

# expect_rc RC CMD...: run CMD, fail unless it exits with RC
expect_rc() {
    want=$1; shift
    set +e
    "$@"
    got=$?
    set -e
    [ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want"
}

# expect_err SUBSTRING CMD...: CMD must fail and say SUBSTRING on stderr
expect_err() {
    want=$1; shift
    set +e
    "$@" 2> err.txt
    got=$?
    set -e
    [ "$got" -ne 0 ] || fail "'$*' succeeded, expected an error"
    grep -qF -- "$want" err.txt || fail "'$*' said '$(cat err.txt)', expected '$want'"
    ! grep -q "AddressSanitizer\|runtime error" err.txt || fail "sanitizer: $(cat err.txt)"
}

# the Python that has Debian's python3-libvhdi / python3-guestfs
PY=/usr/bin/python3

json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

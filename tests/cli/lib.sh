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

# libvirt_up URI: make sure a libvirtd answers at URI, starting one when
# none runs (root only); skip the test, with the reason, when it cannot
libvirt_up() {
    need virsh libvirt-clients
    virsh -c "$1" list > /dev/null 2>&1 && return 0
    [ "$(id -u)" = 0 ] ||
        skip "libvirtd is not running and starting it needs root"
    command -v libvirtd > /dev/null ||
        skip "needs libvirtd (libvirt-daemon-system)"
    mkdir -p /var/log/libvirt /var/run/libvirt
    libvirtd -d > /dev/null 2>&1 || true
    for i in 1 2 3 4 5 6 7 8 9 10; do
        virsh -c "$1" list > /dev/null 2>&1 && return 0
        sleep 1
    done
    skip "libvirtd cannot be started on this machine"
}

# the Python that has Debian's python3-libvhdi / python3-guestfs
PY=/usr/bin/python3

json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# vhdi_raw FILE OUT: libvhdi alone (our code not involved) reads FILE's
# chain into OUT: each parent is found from the child's own parent name,
# next to it, and its identifier must match what the child records.
vhdi_raw() {
    "$PY" - "$1" "$2" <<'PYEOF'
import os, sys, pyvhdi
def open_chain(path, keep):
    f = pyvhdi.file(); f.open(path); keep.append(f)
    if f.get_disk_type() == 4:      # differencing
        name = f.get_parent_filename().replace("\\", "/")
        p = open_chain(os.path.join(os.path.dirname(path), os.path.basename(name)), keep)
        if p.get_identifier() != f.get_parent_identifier():
            sys.exit("%s: parent identifier mismatch" % path)
        f.set_parent(p)
    return f
keep = []
f = open_chain(sys.argv[1], keep)
with open(sys.argv[2], "wb") as out:
    size, off = f.get_media_size(), 0
    while off < size:
        n = min(1 << 20, size - off)
        out.write(f.read_buffer_at_offset(n, off)); off += n
PYEOF
}

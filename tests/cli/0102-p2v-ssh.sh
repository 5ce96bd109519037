#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# p2v capture to ssh://root@127.0.0.1:PORT/DIR through the test's own sshd
# (issue 18): `ovfkit p2v receive` runs there and writes the same disk,
# byte for byte, as a capture to a local DIR, plain and compressed (zlib,
# zstd); the package verifies.  (The data fs is read-only meanwhile: a
# freeze of a writable ext4 stamps its superblock and journal, so two
# captures of it differ there.)  ssh dying
# while the file systems are frozen thaws them, and the receiver removes
# what it wrote.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/p2v.sh"
start_sshd

p2v_machine 300
head -c 20000000 /dev/urandom > data/some
mount -o remount,ro data
cap() {
    ovfkit p2v capture "$DISK" --name srv --no-convert \
        --remote-cmd "$OVFKIT" "$@" > /dev/null 2> cap.err ||
        { cat cap.err; fail "capture $*"; }
}
cap --to "$T/local"
cap --to "$SSH_URL$T/remote"
grep -q "froze 1 file system" cap.err || fail "the ssh capture did not freeze"
ovfkit ova verify remote/srv.ovf > /dev/null || fail "the received package"
same_vhd local/srv-disk1.vhd remote/srv-disk1.vhd
for z in zlib zstd; do
    cap --to "$SSH_URL$T/remote-$z" --compress "$z"
    same_vhd local/srv-disk1.vhd "remote-$z/srv-disk1.vhd"
    ovfkit ova verify "remote-$z/srv.ovf" > /dev/null || fail "$z package"
done
# zstd and zlib sent less than the plain stream (random data aside, the
# file systems' metadata compresses)
plain=$(json 'd["wire_bytes"]' < remote/srv.p2v.json)
for z in zlib zstd; do
    c=$(json 'd["wire_bytes"]' < "remote-$z/srv.p2v.json")
    [ "$c" -lt "$plain" ] || fail "$z sent $c bytes, plain $plain"
done

mount -o remount,rw data

# errors: a bad URL, a receiver that cannot write
expect_err "expected ssh://[USER@]HOST[:PORT]/DIR" \
    ovfkit p2v capture "$DISK" --to "ssh://127.0.0.1" --no-convert
mkdir full && touch full/x
expect_err "not empty" ovfkit p2v capture "$DISK" --no-convert \
    --remote-cmd "$OVFKIT" --to "$SSH_URL$T/full"
mountpoint -q data || fail "data unmounted?"
touch data/writable || fail "left frozen after the receiver failed"

# ssh dies while frozen: thawed at once, the capture fails, nothing left
OVFK_P2V_TEST_HOLD=30 "$OVFKIT" p2v capture "$DISK" --no-convert \
    --remote-cmd "$OVFKIT" --to "$SSH_URL$T/cut" > /dev/null 2> cut.err &
pid=$!
wait_line cut.err "froze the file systems (test hold)"
probe_write "$T/data"
assert_frozen "before ssh dies"
sshpid=$(pgrep -P "$pid" -f "ssh" | head -1)
[ -n "$sshpid" ] || fail "no ssh process under the capture"
kill -KILL "$sshpid"
assert_thawed "after ssh died"
set +e
wait "$pid"
rc=$?
set -e
[ "$rc" = 1 ] || fail "ssh died: exit $rc"
grep -q "the receiver is gone" cut.err || fail "ssh died: $(cat cut.err)"
for i in $(seq 30); do [ -e cut ] || break; sleep 0.1; done
[ ! -e cut ] || fail "the receiver left $(ls cut) after ssh died"

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A frozen file system is thawed on every exit of p2v capture (issue 18):
# SIGKILL (the watchdog process thaws), SIGTERM and SIGINT (the handler
# thaws; the capture fails and leaves no DIR), and the watchdog's deadline
# when the main flow is stuck (the capture then fails, not consistent).
# OVFK_P2V_TEST_HOLD keeps the capture frozen so the test can act.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/p2v.sh"

p2v_machine 300
head -c 5000000 /dev/urandom > data/some

for sig in KILL TERM INT; do
    OVFK_P2V_TEST_HOLD=30 "$OVFKIT" p2v capture "$DISK" --to "$T/out-$sig" \
        --no-convert > /dev/null 2> "cap-$sig.err" &
    pid=$!
    wait_line "cap-$sig.err" "froze the file systems (test hold)"
    probe_write "$T/data"
    assert_frozen "before SIG$sig"
    kill -"$sig" "$pid"
    assert_thawed "after SIG$sig"
    set +e
    wait "$pid"
    rc=$?
    set -e
    case $sig in KILL) want=137 ;; TERM) want=143 ;; INT) want=130 ;; esac
    [ "$rc" = "$want" ] || fail "SIG$sig: exit $rc, expected $want"
    if [ "$sig" != KILL ]; then
        grep -q "interrupted by SIG$sig: canceled by signal" "cap-$sig.err" ||
            fail "SIG$sig: $(cat "cap-$sig.err")"
        [ ! -e "out-$sig" ] || fail "SIG$sig left out-$sig behind"
    fi
done
pgrep -f "ovfkit p2v capture $DISK" > /dev/null &&
    fail "a capture process (the watchdog?) is left"

# the main flow stuck past the watchdog's deadline (2 x --max-freeze + 5 s)
OVFK_P2V_TEST_HOLD=9 "$OVFKIT" p2v capture "$DISK" --to "$T/out-late" \
    --no-convert --max-freeze 1 > /dev/null 2> cap-late.err &
pid=$!
wait_line cap-late.err "froze the file systems (test hold)"
probe_write "$T/data"
assert_frozen "deadline"
sleep 6.5
assert_thawed "at the watchdog's deadline"
set +e
wait "$pid"
rc=$?
set -e
[ "$rc" = 1 ] || fail "deadline: exit $rc, expected 1"
grep -q "outlived the watchdog's deadline" cap-late.err ||
    fail "deadline: $(cat cap-late.err)"
[ ! -e out-late ] || fail "a capture that was not consistent left out-late"

# the capture's stderr on a file system it freezes: its lines wait for the
# thaw instead of the capture waiting on them (until the watchdog)
"$OVFKIT" p2v capture "$DISK" --to "$T/out-log" --no-convert --max-freeze 1 \
    > /dev/null 2> data/cap.log || fail "stderr on the frozen fs: $(cat data/cap.log)"
grep -q "froze 1 file system" data/cap.log || fail "log: $(cat data/cap.log)"

# the SIGKILLed capture's trace instance (change tracking) was removed by
# the next capture: none of a dead process is left
for d in $(awk '$3 == "tracefs" { print $2 }' /proc/self/mounts); do
    for i in "$d"/instances/ovfkit-p2v-*; do
        [ -d "$i" ] || continue
        kill -0 "${i##*-}" 2> /dev/null ||
            fail "the trace instance $i of a dead capture is left"
    done
done

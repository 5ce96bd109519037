# `snapshot create` of a running VM whose disk server refuses the switch
# to the new delta: the server keeps writing to its old file, the command
# fails with the server's reason, no snapshot is recorded, the VM's
# definition names the old file again, and the unused delta is gone.  The
# same for `snapshot delete`, which first moves the VM's writes aside to a
# new delta: refused, nothing is merged and the definition names the file
# the server writes to.  The
# "VM" is a stand-in process (no guest needed): what is checked is the
# snapshot code's side of the control channel (nbdkit/ovfkit.c).
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need nbdkit nbdkit
need qemu-io qemu-utils
need bash
plugin=$OVFK_BUILD/nbdkit-ovfkit-plugin.so
[ -e "$plugin" ] || fail "the nbdkit plugin was not built"

S=$T/store
o() { ovfkit --store "$S" "$@"; }
o vm create sw --memory 256 --disk 16M > /dev/null
# a snapshot taken while stopped, for the deletion below
o snapshot create sw --name s0 > /dev/null
uuid=$(o --json vm show sw | json 'd["uuid"]')
disk=$(o --json vm show sw | json 'd["disks"][0]["path"]')
run=$S/vms/$uuid/run
mkdir -p "$run"
# the VM's qemu, as `vm start` finds it (a process named qemu...)
bash -c 'exec -a qemu-standin sleep 600' &
echo $! > "$run/qemu.pid"
cleanup() {
    kill "$(cat "$run/qemu.pid")" 2>/dev/null
    ovfk_stop
    cd /
    [ -n "${TEST_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
ovfk_stop() { # stop the disk server; it flushes and closes on the way
    p=$(cat "$run/nbdkit-0.pid" 2>/dev/null) || return 0
    kill "$p" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    rm -f "$run/nbdkit-0.pid"
}
# its disk server serves another file of the disk's size: a delta on the
# VM's disk is not a delta on what it serves, and it refuses the switch
ovfkit vhd create "$T/other.vhd" 16M
nbdkit --unix "$run/disk-0.sock" --pidfile "$run/nbdkit-0.pid" "$plugin" \
    file="$T/other.vhd" control="$run/disk-0.ctl"
before=$(ls "$S/vms/$uuid/disks")

expect_err "is not a delta on" o snapshot create sw --name s1
grep -q "no snapshot was taken" err.txt ||
    fail "no outcome said: $(cat err.txt)"
[ "$(o --json vm show sw | json 'd["disks"][0]["path"]')" = "$disk" ] ||
    fail "the definition does not name the old disk file"
[ "$(ls "$S/vms/$uuid/disks")" = "$before" ] ||
    fail "the unused delta was left: $(ls "$S/vms/$uuid/disks")"
! o snapshot list sw | grep -q s1 || fail "a snapshot was recorded"

# (the record goes first, by design: snapshot/delete.c NOTES)
expect_err "is not a delta on" o snapshot delete sw s0
grep -q "nothing was merged" err.txt || fail "no outcome said: $(cat err.txt)"
[ "$(o --json vm show sw | json 'd["disks"][0]["path"]')" = "$disk" ] ||
    fail "delete: the definition does not name the old disk file"
[ "$(ls "$S/vms/$uuid/disks")" = "$before" ] ||
    fail "delete: files changed: $(ls "$S/vms/$uuid/disks")"
# the server still writes to the file it served
qemu-io -f raw -c "write -P 0x6b 4096 512" \
    "nbd+unix:///?socket=$run/disk-0.sock" > /dev/null
ovfk_stop
ovfkit vhd convert --type raw "$T/other.vhd" other.raw
[ "$(od -An -tx1 -j4096 -N1 other.raw | tr -d ' ')" = 6b ] ||
    fail "the write did not reach the file the server served"
echo ok

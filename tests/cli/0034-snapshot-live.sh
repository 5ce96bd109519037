# Snapshots of a running VM: a tiny guest writes a numbered record to
# sector 8+i of its disk, i = 0, 1, 2 ..., each with a flush, and prints
# "OVFKIT-W i+1" once it is done.  While it writes, the test takes a
# snapshot (its disk server switches to the new delta between two
# requests), exports that snapshot, takes another, and deletes both (the
# merges run under the running guest).  Then:
#   - the frozen state holds records 0..k-1 exactly, with k between the
#     count printed before and after `snapshot create`, and its file never
#     changed afterwards;
#   - the export read while the guest kept writing is that state, exactly;
#   - the final state holds every record the guest finished, in order, and
#     the guest never saw an I/O error; libvhdi reads the same.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/guest.sh"
need nbdkit nbdkit
[ -e "$OVFK_BUILD/nbdkit-ovfkit-plugin.so" ] || fail "the nbdkit plugin was not built"

guest_initrd initrd.gz <<'EOX'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in /mods/*.ko; do insmod "$m"; done
for i in 1 2 3 4 5 6 7 8 9 10; do
    [ -e /dev/vda ] && break
    sleep 1
done
i=0
while [ $i -lt 100000 ]; do
    printf 'LOG%07d' $i | dd of=/dev/vda bs=512 seek=$((i + 8)) count=1 \
        conv=sync,notrunc,fsync 2>/dev/null || echo "OVFKIT-IOERR $i"
    i=$((i + 1))
    echo "OVFKIT-W $i"
done
poweroff -f
EOX

S=$T/store
o() { ovfkit --store "$S" "$@"; }
o vm create live --memory 256 --disk 16M \
    --kernel "$kernel" --initrd "$T/initrd.gz" --cmdline "console=ttyS0 panic=-1 quiet"
uuid=$(o --json vm show live | json 'd["uuid"]')
log=$S/vms/$uuid/run/console.log
trap 'o vm stop live > /dev/null 2>&1 || true; cd /; [ -n "${TEST_KEEP:-}" ] || rm -rf "$T"' EXIT

written() { # the last record the guest reported done
    tr -d '\r' < "$log" 2>/dev/null | sed -n 's/^OVFKIT-W \([0-9]*\)$/\1/p' | tail -1
}
wait_for() { # N: until the guest has finished N records (at most 10 min)
    for _ in $(seq 1200); do
        w=$(written)
        [ "${w:-0}" -ge "$1" ] && return 0
        sleep 0.5
    done
    fail "the guest did not reach $1 records (at ${w:-none}): $(tail -5 "$log")"
}
# records N RAW: RAW holds records 0..N-1 exactly, then zeros
records() {
    "$PY" - "$2" "$1" <<'PYEOF'
import sys
data = open(sys.argv[1], "rb").read()
want = int(sys.argv[2])
n = 0
while True:
    s = data[(8 + n) * 512:(9 + n) * 512]
    if s != b"LOG%07d" % n + b"\0" * 502:
        break
    n += 1
if n != want:
    sys.exit("holds %d records, expected %d" % (n, want))
if data[(8 + n) * 512:].strip(b"\0"):
    sys.exit("data after record %d" % n)
PYEOF
}
count() { # RAW: how many records it holds in order
    "$PY" - "$1" <<'PYEOF'
import sys
data = open(sys.argv[1], "rb").read()
n = 0
while data[(8 + n) * 512:(8 + n) * 512 + 10] == b"LOG%07d" % n:
    n += 1
print(n)
PYEOF
}
snapfile() {
    o snapshot list live --json |
        json "[s for s in d['snapshots'] if s['name'] == '$1'][0]['disks'][0]['file']"
}

o vm start live
wait_for 20

# a snapshot while the guest writes
before=$(written)
o snapshot create live --name s1 > /dev/null
after=$(written)
f1=$(snapfile s1)
ovfkit vhd convert --type raw "$f1" s1.raw
k=$(count s1.raw)
records "$k" s1.raw || fail "the frozen state is not a prefix of the records"
[ "$k" -ge "$before" ] && [ "$k" -le $((after + 1)) ] ||
    fail "the frozen state holds $k records; the guest had done $before before and $after after"
sum1=$(sha256sum < "$f1")
echo "snapshot s1 froze $k records ($before done before, $after after)"

# export s1 while the guest keeps writing its newest delta
wait_for $((after + 30))
o snapshot export live s1 --to s1.ova > /dev/null
mkdir pkg && ovfkit ova unpack s1.ova pkg > /dev/null
ovfkit vhd compare s1.raw pkg/*.vhd > /dev/null || fail "the export is not the snapshot's state"
[ "$(written)" -gt $((after + 30)) ] || fail "the guest stopped writing during the export"

wait_for $(($(written) + 30))
o snapshot create live --name s2 > /dev/null
f2=$(snapfile s2)
wait_for $(($(written) + 30))
[ "$(sha256sum < "$f1")" = "$sum1" ] || fail "the frozen file of s1 changed"

# delete the oldest (merge into the base under the running guest), then
# the other: the current delta merges down while the guest writes on
o snapshot delete live s1 > /dev/null
wait_for $(($(written) + 30))
o snapshot delete live s2 > /dev/null
wait_for $(($(written) + 30))
[ -z "$(o snapshot list live --json | json '" ".join(s["name"] for s in d["snapshots"])')" ] ||
    fail "snapshots left"
o vm stop live
done_n=$(written)
! grep -q OVFKIT-IOERR "$log" || fail "the guest saw I/O errors: $(grep OVFKIT-IOERR "$log" | head -3)"

cur=$(o --json vm show live | json 'd["disks"][0]["path"]')
ovfkit vhd convert --type raw "$cur" now.raw
n=$(count now.raw)
[ "$n" -ge "$done_n" ] || fail "the final state holds $n records; the guest finished $done_n"
records "$n" now.raw || fail "the final state is not a prefix of the records"
vhdi_raw "$cur" v.raw
cmp -s v.raw now.raw || fail "libvhdi reads the final state differently"
ovfkit vhd check "$cur" > /dev/null || fail "check of the final chain"
echo "final state: $n records in order ($done_n reported done); chain of $(ovfkit --json vhd chain "$cur" | json 'len(d)')"

# the running guest kept a step-aside delta on the base; stopped, a
# deletion with nothing left to delete flattens the chain
o snapshot delete live --all > /dev/null
cur=$(o --json vm show live | json 'd["disks"][0]["path"]')
[ "$(ovfkit --json vhd chain "$cur" | json 'len(d)')" = 1 ] || fail "the chain was not flattened"
ovfkit vhd compare now.raw "$cur" > /dev/null || fail "flattening changed the data"

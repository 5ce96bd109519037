# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/cli/p2v.sh - the live P2V tests' machine (after lib.sh): a loop
# disk with a partition table, made without udev (losetup -P, partx -a,
# mknod from /sys/block/loopN/loopNpM/dev), a writer that keeps creating
# and rewriting files with known content, and a cleanup that thaws,
# unmounts and detaches whatever the test made, on every exit.
[ "$(id -u)" = 0 ] || skip "needs root (loop devices, mount, fsfreeze)"
need losetup util-linux
need partx util-linux
need sfdisk fdisk
need mkfs.ext4 e2fsprogs
need e2fsck e2fsprogs
need debugfs e2fsprogs
need mkswap util-linux
need blkid util-linux
need qemu-img qemu-utils

LOOPS=""
MOUNTS=""
PIDS=""
NODES=""
p2v_cleanup() {
    for p in $PIDS; do kill "$p" 2> /dev/null || true; done
    for m in $MOUNTS; do
        fsfreeze -u "$m" 2> /dev/null || true
        umount "$m" 2> /dev/null || umount -l "$m" 2> /dev/null || true
    done
    for l in $LOOPS; do losetup -d "$l" 2> /dev/null || true; done
    for n in $NODES; do rm -f "$n"; done
    cd /
    [ -n "${TEST_KEEP:-}" ] || rm -rf "$T"
}
trap p2v_cleanup EXIT
trap 'exit 1' INT TERM

# attach FILE [ro]: a loop device for FILE with its partitions' nodes
# (remade from sysfs: a node left by an earlier user may be stale); DEV
attach() {
    DEV=$(losetup -f --show -P ${2:+-r} "$1")
    LOOPS="$DEV $LOOPS"
    n=${DEV#/dev/}
    partx -a "$DEV" 2> /dev/null || true
    for d in /sys/block/$n/${n}p*; do
        [ -e "$d/dev" ] || continue
        node=/dev/${d##*/}
        rm -f "$node"
        mknod -m 660 "$node" b $(tr : ' ' < "$d/dev")
        NODES="$NODES $node"
    done
}

# p2v_machine [SIZE_MIB]: disk.img with p1 ext4 "root" (unmounted, files
# from $T/rootsrc), p2 ext4 "data" mounted on $T/data, p3 swap; DISK is its
# loop device, SWAP_UUID the swap's UUID
p2v_machine() {
    size=${1:-400}
    rm -f disk.img
    truncate -s "${size}M" disk.img
    printf 'label: dos\n,160M,83\n,%sM,83\n,,82\n' $((size - 200)) |
        sfdisk -q disk.img
    mkdir -p rootsrc/etc rootsrc/bin
    head -c 3000000 /dev/urandom > rootsrc/bin/blob
    echo "p2vtest" > rootsrc/etc/hostname
    seq 1 20000 > rootsrc/etc/numbers
    attach disk.img
    DISK=$DEV
    mkfs.ext4 -q -d rootsrc "${DISK}p1"
    mkfs.ext4 -q "${DISK}p2"
    mkswap "${DISK}p3" > /dev/null
    SWAP_UUID=$(blkid -p -s UUID -o value "${DISK}p3")
    mkdir -p data
    mount "${DISK}p2" data
    MOUNTS="$T/data $MOUNTS"
    mkdir data/w
}

# start_writer DIR: files w/fN with content that says its name and version,
# created and rewritten (temporary + fsync + rename) until $T/stop exists;
# each completion logged as "N V CLOCK_MONOTONIC" in $T/writer.log
start_writer() {
    cat > writer.py <<'PYEOF'
import os, sys, time
d, log, stop = sys.argv[1], sys.argv[2], sys.argv[3]
def body(n, v):
    head = ("file %d version %d\n" % (n, v)).encode()
    size = 4096 * (1 + (n * 7 + v) % 48)
    return head + bytes((n * 31 + v * 7 + i) % 251 for i in range(256)) * (size // 256)
i = made = 0
with open(log, "w", buffering=1) as lg:
    ver = {}
    while not os.path.exists(stop):
        if made > 4 and i % 3 == 2:
            n = (i * 5) % made
        else:
            n = made
            made += 1
        v = ver.get(n, -1) + 1
        tmp = os.path.join(d, ".tmp")
        with open(tmp, "wb") as f:
            f.write(body(n, v))
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(d, "f%d" % n))
        ver[n] = v
        lg.write("%d %d %.6f\n" % (n, v, time.monotonic()))
        i += 1
        time.sleep(0.005)
PYEOF
    rm -f stop
    "$PY" writer.py "$1" writer.log stop &
    WRITER=$!
    PIDS="$WRITER $PIDS"
    for i in $(seq 50); do [ -s writer.log ] && break; sleep 0.1; done
}

stop_writer() {
    touch stop
    wait "$WRITER" || fail "the writer failed"
}

# check_files DIR REPORT: every file in DIR (rdumped from the capture) has
# the exact content of a version the writer completed, and none is older
# than the last version completed before the freeze began; prints the
# writer's longest stall, which spans the freeze
check_files() {
    "$PY" - "$1" writer.log "$2" <<'PYEOF'
import json, os, sys
d, log, rep = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
def body(n, v):
    head = ("file %d version %d\n" % (n, v)).encode()
    size = 4096 * (1 + (n * 7 + v) % 48)
    return head + bytes((n * 31 + v * 7 + i) % 251 for i in range(256)) * (size // 256)
t0 = rep["freeze_started_monotonic"]
done, before, times = {}, {}, []
for line in open(log):
    n, v, t = line.split()
    n, v, t = int(n), int(v), float(t)
    done.setdefault(n, set()).add(v)
    times.append(t)
    if t < t0:
        before[n] = v
names = [f for f in os.listdir(d) if f.startswith("f")]
for f in names:
    data = open(os.path.join(d, f), "rb").read()
    n = int(f[1:])
    v = int(data.split(b"\n")[0].split()[3])
    if v not in done.get(n, ()) or data != body(n, v):
        sys.exit("%s: content is not a version the writer completed" % f)
    if n in before and v < before[n]:
        sys.exit("%s: version %d, but %d was complete before the freeze" % (f, v, before[n]))
for n in before:
    if "f%d" % n not in names:
        sys.exit("f%d was complete before the freeze but is missing" % n)
gaps = [b - a for a, b in zip(times, times[1:]) if b > t0 and a < rep["thawed_monotonic"] + 1]
print("files: %d checked, %d complete before the freeze; freeze: %.3f s by the tool, writer stalled %.3f s"
      % (len(names), len(before), rep["freeze_seconds"], max(gaps) if gaps else 0))
PYEOF
}

# wait_line FILE TEXT: until FILE has TEXT (20 s at most)
wait_line() {
    for i in $(seq 200); do
        grep -q "$2" "$1" 2> /dev/null && return 0
        sleep 0.1
    done
    cat "$1" >&2
    fail "no '$2' in $1"
}

# probe_write DIR: start a write into DIR in the background; PROBE is its
# pid.  A frozen file system holds it until thawed.
probe_write() {
    ( echo x > "$1/probe.$$.$(date +%s%N)" ) &
    PROBE=$!
}

# assert_frozen: the probe is still waiting after half a second
assert_frozen() {
    sleep 0.5
    kill -0 "$PROBE" 2> /dev/null || fail "$1: the file system was not frozen"
}

# assert_thawed WHAT: the probe's write completes within 5 s, and a new
# write works
assert_thawed() {
    for i in $(seq 50); do
        kill -0 "$PROBE" 2> /dev/null || break
        sleep 0.1
    done
    kill -0 "$PROBE" 2> /dev/null && fail "$1: still frozen 5 s later"
    wait "$PROBE" || fail "$1: the write failed after the thaw"
    touch "$T/data/after" || fail "$1: not writable"
}

# start_sshd: an sshd of the test's own on 127.0.0.1:$PORT with throw-away
# host and user keys; $T/ssh/ssh runs ssh with a config that knows only
# them (a temporary known_hosts, StrictHostKeyChecking) - OVFK_P2V_SSH
start_sshd() {
    need sshd openssh-server
    need ssh openssh-client
    need ssh-keygen openssh-client
    mkdir -p ssh /run/sshd
    ssh-keygen -q -t ed25519 -N '' -f ssh/host_key
    ssh-keygen -q -t ed25519 -N '' -f ssh/id
    cp ssh/id.pub ssh/authorized_keys
    PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat > ssh/sshd_config <<CONF
Port $PORT
ListenAddress 127.0.0.1
HostKey $T/ssh/host_key
AuthorizedKeysFile $T/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $T/ssh/sshd.pid
SetEnv LIBGUESTFS_BACKEND_SETTINGS=force_tcg
CONF
    echo "[127.0.0.1]:$PORT $(cat ssh/host_key.pub)" > ssh/known_hosts
    cat > ssh/config <<CONF
Host 127.0.0.1
    IdentityFile $T/ssh/id
    IdentitiesOnly yes
    UserKnownHostsFile $T/ssh/known_hosts
    StrictHostKeyChecking yes
    BatchMode yes
CONF
    printf '#!/bin/sh\nexec ssh -F %s/ssh/config "$@"\n' "$T" > ssh/ssh
    chmod +x ssh/ssh
    "$(command -v sshd)" -f "$T/ssh/sshd_config" -D -e 2> ssh/sshd.log &
    PIDS="$! $PIDS"
    for i in $(seq 50); do
        ssh/ssh -p "$PORT" root@127.0.0.1 true 2> /dev/null && break
        sleep 0.2
    done
    ssh/ssh -p "$PORT" root@127.0.0.1 true ||
        fail "the test's sshd does not answer: $(cat ssh/sshd.log)"
    export OVFK_P2V_SSH="$T/ssh/ssh"
    SSH_URL="ssh://root@127.0.0.1:$PORT"
}

# same_vhd A B: the two captures hold the same disk, byte for byte
# (qemu-img reads both to the same raw image, with the same allocation),
# in the same VHD layout (size, map of allocated data).  The files
# themselves differ in the footer's time and unique id.
same_vhd() {
    [ "$(stat -c %s "$1")" = "$(stat -c %s "$2")" ] ||
        fail "$1 and $2 differ in size"
    for f in "$1" "$2"; do
        ovfkit --json vhd map "$f" |
            json '[(e["start"], e["length"], e["data"], e["zero"]) for e in d]'
    done > maps.txt
    [ "$(sed -n 1p maps.txt)" = "$(sed -n 2p maps.txt)" ] ||
        fail "$1 and $2 allocate differently"
    qemu-img compare -s -q -f vpc -F vpc "$1" "$2" ||
        fail "$1 and $2 read differently (qemu-img compare -s)"
    qemu-img convert -f vpc -O raw "$1" a.raw
    qemu-img convert -f vpc -O raw "$2" b.raw
    cmp a.raw b.raw || fail "$1 and $2 are not the same disk"
    rm -f a.raw b.raw
}

# ext_used DEV: bytes an ext file system uses (dumpe2fs, not our code):
# the block count less the free blocks of every group's descriptor, which
# a mounted ext4 keeps current (the superblock's total lags)
ext_used() {
    dumpe2fs "$1" 2> /dev/null | awk -F: '
        /^Block count/ { n = $2 } /^Block size/ { b = $2 }
        /^  [0-9]+ free blocks, / { split($0, w, " "); f += w[1] }
        END { printf "%d\n", (n - f) * b }'
}

# fake_ssh: OVFK_P2V_SSH runs the remote command here, counting the bytes
# of the stream on its way in ($T/wire.count): the wire, measured outside
# ovfkit
fake_ssh() {
    cat > counter.py <<'PYEOF'
import sys
n = 0
while True:
    b = sys.stdin.buffer.read1(1 << 20)
    if not b:
        break
    n += len(b)
    sys.stdout.buffer.write(b)
open(sys.argv[1], "w").write("%d\n" % n)
PYEOF
    cat > fake-ssh <<EOF2
#!/bin/sh
while [ "\$1" != "--" ]; do shift; done
"$PY" "$T/counter.py" "$T/wire.count" | sh -c "\$3"
EOF2
    chmod +x fake-ssh
    export OVFK_P2V_SSH="$T/fake-ssh"
}

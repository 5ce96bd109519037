#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# p2v capture of a (phony) Linux server over ssh, converted on the
# receiving side (issue 18): `ovfkit p2v receive` runs `convert --p2v`
# after writing the capture, which disables the hardware agents in the
# guest (libguestfs, about a minute under TCG: the one converting test).
. "$OVFK_SRCDIR/tests/cli/lib.sh"
"$PY" -c 'import guestfs' 2> /dev/null || skip "needs python3-guestfs"
ls /boot/vmlinuz-* > /dev/null 2>&1 || skip "needs a kernel in /boot (linux-image-amd64)"
. "$OVFK_SRCDIR/tests/cli/p2v.sh"
start_sshd

# the phony server's disk (MBR, ext4 root), built once per phony.py
cache=/var/tmp/ovfkit-cache
key=$(sha256sum < "$OVFK_SRCDIR/tests/cli/phony.py" | cut -c1-16)
mkdir -p "$cache"
if [ ! -s "$cache/p2v-phony-$key.img" ]; then
    "$PY" "$OVFK_SRCDIR/tests/cli/phony.py" linux server.img server.json
    mv server.img "$cache/p2v-phony-$key.img.tmp"
    mv "$cache/p2v-phony-$key.img.tmp" "$cache/p2v-phony-$key.img"
fi
cp "$cache/p2v-phony-$key.img" server.img
attach server.img
mkdir root
mount "${DEV}p1" root
MOUNTS="$T/root $MOUNTS"

ovfkit p2v capture "$DEV" --name server --remote-cmd "$OVFKIT" \
    --to "$SSH_URL$T/recv" > cap.txt 2> cap.err ||
    { cat cap.err; fail "capture and convert"; }
grep -q "froze 1 file system" cap.err || fail "the root fs was not frozen"
grep -q "receiver: converting" cap.err || fail "no conversion: $(cat cap.err)"
ovfkit ova verify recv/server.ovf > /dev/null || fail "the capture"
ovfkit ova verify recv/converted/server.ovf > /dev/null ||
    fail "the converted package"
"$PY" - recv/converted.sysprep.json <<'PYEOF' || fail "the agents were not disabled"
import json, sys
paths = [c["path"] for c in json.load(open(sys.argv[1]))["changes"]]
assert any(p.endswith("/dataeng.service") for p in paths), paths
assert any(p.endswith("/hp-health.service") for p in paths), paths
PYEOF

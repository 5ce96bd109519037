# Guest fixups on a phony Linux guest (built here through libguestfs):
# --disable-services v2v, then p2v plus every identity operation; after
# each, libguestfs (python3-guestfs, our oracle) shows exactly the
# expected changes under /etc and /var/lib - the catalog's systemd links
# gone, its SysV start links turned into stop links, identity files reset -
# and nothing else; a dry run changes nothing; --undo of both reports gives
# back the guest exactly as it was.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
"$PY" -c 'import guestfs' 2>/dev/null || skip "needs python3-guestfs"
ls /boot/vmlinuz-* > /dev/null 2>&1 || skip "needs a kernel for the libguestfs appliance (linux-image-amd64)"
phony() { "$PY" "$OVFK_SRCDIR/tests/cli/phony.py" "$@"; }
# diff A B: the paths that differ, one "removed|added|changed PATH" a line
diff_m() {
    "$PY" - "$1" "$2" <<'PYEOF'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for p in sorted(set(a) | set(b)):
    if p not in b:
        print("removed", p)
    elif p not in a:
        print("added", p)
    elif a[p] != b[p]:
        print("changed", p)
PYEOF
}
W=/etc/systemd/system/multi-user.target.wants

phony linux g.img orig.json
echo "built the guest: $(json 'len(d)' < orig.json) paths"

# a dry run: the plan, nothing written
sum=$(sha256sum < g.img)
ovfkit --json sysprep g.img --disable-services v2v,p2v --operations machine-id,ssh-hostkeys --dry-run > dry.json
[ "$(sha256sum < g.img)" = "$sum" ] || fail "--dry-run wrote to the disk"
[ "$(json 'd["os"][0]["distro"]' < dry.json)" = debian ] || fail "inspection: $(cat dry.json)"
[ "$(json 'd["os"][0]["major"]' < dry.json)" = 12 ] || fail "inspection: $(cat dry.json)"
[ "$(json 'len(d["changes"])' < dry.json)" -ge 10 ] || fail "dry run planned too little: $(cat dry.json)"

# v2v: VMware Tools and Hyper-V daemons only
ovfkit sysprep g.img --disable-services v2v --report r1.json > out1.txt
phony manifest g.img m1.json
diff_m orig.json m1.json > d1.txt
cat > want1.txt <<EOF
removed $W/hyperv-daemons.hv-kvp-daemon.service
removed $W/open-vm-tools.service
removed $W/vgauth.service
EOF
diff -u want1.txt d1.txt || fail "v2v changed other things than the catalog's services"

# p2v and identity
ovfkit sysprep g.img --disable-services p2v --hostname newhost \
    --operations machine-id,ssh-hostkeys,hostname,net-mac-pins,dhcp-leases --report r2.json > out2.txt
phony manifest g.img m2.json
diff_m orig.json m2.json | sort > d2.txt
sort > want2.txt <<EOF
removed $W/hyperv-daemons.hv-kvp-daemon.service
removed $W/open-vm-tools.service
removed $W/vgauth.service
removed $W/dataeng.service
removed $W/hp-health.service
removed /etc/systemd/system/graphical.target.wants/hp-health.service
removed /etc/rc2.d/S20dataeng
added /etc/rc2.d/K20dataeng
removed /etc/rc3.d/S20dataeng
added /etc/rc3.d/K20dataeng
changed /etc/machine-id
removed /etc/ssh/ssh_host_ed25519_key
removed /etc/ssh/ssh_host_ed25519_key.pub
changed /etc/hostname
removed /etc/udev/rules.d/70-persistent-net.rules
changed /etc/sysconfig/network-scripts/ifcfg-eth0
changed /etc/NetworkManager/system-connections/eth0.nmconnection
removed /var/lib/dhcp/dhclient.eth0.leases
EOF
diff -u want2.txt d2.txt || fail "p2v and identity changed other things"
# the report says what changed (one entry per path the guest shows
# changed, the v2v ones being in r1.json), with old values
"$PY" - r2.json d2.txt <<'PYEOF' || fail "the report does not match the guest: $(cat r2.json)"
import json, sys
r = json.load(open(sys.argv[1]))
c = {x["path"]: x for x in r["changes"]}
seen = {l.split()[1] for l in open(sys.argv[2]) if not l.startswith("added ")}
seen -= {l.split()[1] for l in open(sys.argv[2]) if "hv-kvp" in l or "vm-tools" in l or "vgauth" in l}
assert set(c) == seen, (sorted(c), sorted(seen))
assert c["/etc/hostname"]["old"] == "srv1\n" and c["/etc/hostname"]["new"] == "newhost\n"
assert c["/etc/ssh/ssh_host_ed25519_key"]["mode"] == 0o600
assert c["/etc/rc2.d/S20dataeng"]["new"] == "/etc/rc2.d/K20dataeng"
PYEOF

# undo, newest first: the guest as it was, to the last mode bit
ovfkit sysprep --undo r2.json g.img
ovfkit sysprep --undo r1.json g.img
phony manifest g.img m3.json
diff_m orig.json m3.json > d3.txt
[ ! -s d3.txt ] || fail "undo left differences: $(cat d3.txt)"
# undoing again finds everything as it was: nothing to do, nothing broken
ovfkit sysprep --undo r1.json g.img > again.txt
grep -q "^0 changes put back" again.txt || fail "second undo: $(cat again.txt)"

expect_rc 64 ovfkit sysprep g.img --operations no-such-op
expect_err "not an ovfkit sysprep report" ovfkit sysprep --undo orig.json g.img

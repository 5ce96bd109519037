# The import's guest fixup is reported: a Linux guest whose network
# settings pin its old MAC (udev rule, ifcfg HWADDR=, NetworkManager
# mac-address=) gets new MACs on import, so the pins are removed, and the
# import says so, each file by name, on the terminal and in --json (with
# the old contents, which are what the guest held).
. "$OVFK_SRCDIR/tests/cli/lib.sh"
"$PY" -c 'import guestfs' 2>/dev/null || skip "needs python3-guestfs"
ls /boot/vmlinuz-* > /dev/null 2>&1 ||
    skip "needs a kernel for the libguestfs appliance (linux-image-amd64)"
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
S=$T/store
o() { ovfkit --store "$S" "$@"; }
o net add lan
"$PY" "$OVFK_SRCDIR/tests/cli/phony.py" linux g.img orig.json
o vm create srv --memory 512 --disk g.img --nic lan > /dev/null
o export srv --to srv.ova > /dev/null

R=/etc/udev/rules.d/70-persistent-net.rules
I=/etc/sysconfig/network-scripts/ifcfg-eth0
N=/etc/NetworkManager/system-connections/eth0.nmconnection
o import srv.ova --name copy > out.txt
cat > want.txt <<EOT
  guest:   removed $R (MAC pin)
  guest:   changed $I (MAC pin)
  guest:   changed $N (MAC pin)
EOT
grep '^  guest:' out.txt | sort > got.txt
sort want.txt | diff -u - got.txt ||
    fail "the guest fixup report: $(cat out.txt)"

o --json import srv.ova --name copy2 | sed -n '/^{$/,$p' > out.json
[ "$(json 'd["guest"]["status"]' < out.json)" = cleaned ] ||
    fail "status: $(cat out.json)"
json '"\n".join(sorted(c["path"] for c in d["guest"]["changes"]))' \
    < out.json > paths.txt
printf '%s\n' "$N" "$I" "$R" | sort | diff -u - paths.txt ||
    fail "JSON paths: $(cat out.json)"
# the old values are the guest's: the udev rule phony.py wrote, removed
rule='[c for c in d["guest"]["changes"] if c["path"] == "'$R'"][0]'
json "$rule[\"old\"]" < out.json |
    grep -F 'ATTR{address}=="00:50:56:aa:bb:cc"' > /dev/null ||
    fail "old value: $(cat out.json)"
[ "$(json "$rule[\"new\"]" < out.json)" = None ] ||
    fail "the rule was not removed: $(cat out.json)"

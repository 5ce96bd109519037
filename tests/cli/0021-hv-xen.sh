# The xen driver reads and writes Xen configuration files; exporting a Xen
# domain and restoring it into an empty directory reproduces the file's
# uuid and vif MACs (and disk contents); an import gets new ones.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need ip iproute2
[ "$(id -u)" = 0 ] || skip "needs root to create a bridge (Xen networks are bridges)"
br=ovfkbr$$
ip link add "$br" type bridge 2>/dev/null || skip "cannot create a bridge here"
trap 'ip link del "$br" 2>/dev/null; cd /; rm -rf "$T"' EXIT

mkdir -p xen/images empty
truncate -s 32M xen/images/db.img
head -c 2M /dev/urandom | dd of=xen/images/db.img bs=1M seek=4 conv=notrunc status=none
cat > xen/db.cfg <<EOX
# a hand-written domain
name = "db01"
uuid = "8d9b3a1e-1f2c-4c55-9a1e-5b6f7a8c9d0e"
memory = 1024
maxmem = 2048
vcpus = 2
builder = "hvm"
disk = [ "tap:aio:$T/xen/images/db.img,xvda,w" ]
vif = [ "mac=00:16:3e:2f:01:01,bridge=$br",
        'mac=00:16:3E:2F:01:02, bridge=$br' ]
EOX
ovfkit --connect "xen:$T/xen" --json vm show db01 > db.json
[ "$(json 'd["uuid"], d["memory_mib"], d["cpus"], [n["mac"] for n in d["nics"]]' < db.json)" = \
  "8d9b3a1e-1f2c-4c55-9a1e-5b6f7a8c9d0e 1024 2 ['00:16:3E:2F:01:01', '00:16:3E:2F:01:02']" ] ||
    fail "read: $(cat db.json)"
ovfkit --connect "xen:$T/xen" export db01 --to db.ova
ovfkit vhd convert --type raw "$T/xen/images/db.img" ref.raw 2>/dev/null || cp xen/images/db.img ref.raw

# restore into an empty directory: the same uuid and vif MACs
ovfkit --connect "xen:$T/empty" restore db.ova --storage "$T/empty" > /dev/null
cfg=$(ls empty/*.cfg)
grep -q '^uuid = "8d9b3a1e-1f2c-4c55-9a1e-5b6f7a8c9d0e"$' "$cfg" || fail "uuid: $(cat "$cfg")"
grep -q "mac=00:16:3E:2F:01:01,bridge=$br" "$cfg" && grep -q "mac=00:16:3E:2F:01:02" "$cfg" ||
    fail "vif MACs: $(cat "$cfg")"
grep -q '^memory = 1024$' "$cfg" && grep -q '^vcpus = 2$' "$cfg" || fail "settings"
disk=$(sed -n 's/.*tap:vhd:\([^,]*\),xvda.*/\1/p' "$cfg")
[ -f "$disk" ] || fail "disk line: $(grep disk "$cfg")"
ovfkit vhd compare ref.raw "$disk" > /dev/null || fail "disk contents differ"
# and it reads back through the driver
ovfkit --connect "xen:$T/empty" --json vm show db01 | json 'd["uuid"]' | grep -q 8d9b3a1e || fail "reread"

# an import gets a new uuid and pool MACs
ovfkit --connect "xen:$T/empty" import db.ova --name db02 --storage "$T/empty" --keep-guest-config > /dev/null
grep -q 8d9b3a1e empty/db02.cfg && fail "import kept the uuid"
grep -q 'mac=02:17:42:2F:' empty/db02.cfg || fail "import MACs: $(grep vif empty/db02.cfg)"
# Xen's naming rules hold
expect_err "may not start with \"xmexample\"" ovfkit --connect "xen:$T/empty" import db.ova \
    --name xmexample2 --storage "$T/empty" --keep-guest-config
echo ok

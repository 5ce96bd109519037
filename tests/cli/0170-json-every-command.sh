# Every command with a result gives one JSON document on stdout with
# --json, valid against its schema in data/json-schema (checked by
# python3-jsonschema, not by us): several VMs with two NICs on the dir
# store and on xen:DIR; --json after the command is the same as before it;
# nothing but the document reaches stdout.  The guest commands (sysprep,
# inspect, convert --p2v) need libguestfs: tests/cli/0174.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
"$PY" -c "import jsonschema" 2>/dev/null || skip "needs python3-jsonschema"
need ip iproute2
need openssl
[ "$(id -u)" = 0 ] || skip "needs root to create a bridge (Xen networks are bridges)"
br=ovfkj$$
ip link add "$br" type bridge 2>/dev/null || skip "cannot create a bridge here"
trap 'ip link del "$br" 2>/dev/null; cd /; [ -n "${TEST_KEEP:-}" ] || rm -rf "$T"' EXIT
export OVFKIT_ACCEL=tcg
SCHEMAS=$OVFK_SRCDIR/data/json-schema
S=$T/store
X=xen:$T/xen
K=--keep-guest-config
mkdir docs xen
n=0
# doc NAME CMD...: run CMD (ovfkit arguments), keep its stdout as a
# document of schema NAME; stderr must hold no JSON
doc() {
    name=$1; shift
    n=$((n + 1))
    ovfkit "$@" > "docs/$name@$n.json" 2> err.txt ||
        fail "'ovfkit $*' failed: $(cat err.txt)"
    ! grep -q '^[[{]' err.txt || fail "'ovfkit $*' wrote JSON on stderr"
}
o() { ovfkit --store "$S" "$@"; }

# the dir store: networks, three VMs, two NICs each for two of them
doc net-add --store "$S" --json net add lan
doc net-add --store "$S" net add dmz --json
doc net-list --store "$S" --json net list
o vm create web --cpus 2 --memory 512 --disk 32M --disk 8M --nic lan \
    --nic dmz,mac=02:17:42:2F:10:01 > /dev/null
doc vm-create --store "$S" --json vm create db --cpus 1 --memory 256 \
    --disk 16M --nic lan --nic dmz
doc vm-create --store "$S" vm create tmp --memory 256 --disk 4M --json
web1=$(o --json vm show web | json 'd["disks"][0]["path"]')
head -c 3M /dev/urandom > data
ovfkit vhd write "$web1" 1M < data
doc vm-list --store "$S" --json vm list
doc vm-show --store "$S" --json vm show web
doc vm-show --store "$S" vm show db --json
# a per-command --json and the global one give the same document
o vm show --json web > a.json; o --json vm show web > b.json
cmp -s a.json b.json || fail "vm show: --json after the command differs"
doc vm-remove --store "$S" --json vm remove tmp

# export, import, restore
doc export --store "$S" --json export web --to web.ova
doc export --store "$S" export web --to webdir --ovf 2.0 --digest sha512 --json
json '[(f["name"], f["size"], f.get("digest", {}).get("algorithm")) for f in d["files"]]' \
    < "docs/export@$n.json" | grep -q "('web-disk1.vhd', [0-9]*, 'SHA512')" ||
    fail "export --json: no disk with its SHA512 digest"
# the sizes and digests are the files' own
"$PY" - "docs/export@$n.json" <<'PYEOF' || fail "export --json does not describe the files"
import hashlib, json, os, sys
d = json.load(open(sys.argv[1]))
top = os.path.dirname(d["package"])
names = [f["name"] for f in d["files"]]
assert sorted(names) == sorted(os.listdir(top)), (names, os.listdir(top))
for f in d["files"]:
    p = os.path.join(top, f["name"])
    assert os.path.getsize(p) == f["size"], f
    if "digest" in f:
        h = hashlib.new(f["digest"]["algorithm"].lower(), open(p, "rb").read())
        assert h.hexdigest() == f["digest"]["value"], f
PYEOF
doc import --store "$S" --json import web.ova --name web2 $K
json 'd["vm"]["name"], len(d["vm"]["nics"]), len(d["vm"]["disks"])' \
    < "docs/import@$n.json" | grep -qx "web2 2 2" || fail "import --json: $(cat "docs/import@$n.json")"
ovfkit --store "$T/store2" net add lan; ovfkit --store "$T/store2" net add dmz
doc restore --store "$T/store2" --json restore web.ova $K
json 'd["vm"]["nics"][1]["mac"]' < "docs/restore@$n.json" | grep -qx "02:17:42:2F:10:01" ||
    fail "restore --json: not the package's MAC"
doc import --store "$S" --json import web.ova --name dry --dry-run

# the same on xen:DIR (its networks are bridges)
doc net-list --connect "$X" --json net list
doc vm-create --connect "$X" --json vm create xweb --memory 256 --disk 8M \
    --nic "$br" --nic "$br"
doc vm-list --connect "$X" --json vm list
doc vm-show --connect "$X" --json vm show xweb
doc export --connect "$X" --json export xweb --to xweb.ova
doc import --connect "$X" --json import xweb.ova --name xweb2 --storage "$T/xen" $K
mkdir xen2
doc restore --connect "xen:$T/xen2" --json restore web.ova --storage "$T/xen2" \
    --network lan="$br" --network dmz="$br" $K

# vhd
doc vhd-create --json vhd create a.vhd 16M
doc vhd-create vhd create --type fixed f.vhd 2M --json
doc vhd-snapshot --json vhd snapshot a.vhd b.vhd
echo hello | ovfkit vhd write b.vhd 0
doc vhd-write --json vhd write b.vhd 1M < data
doc vhd-info --json vhd info b.vhd
doc vhd-info vhd info --json f.vhd
doc vhd-check --json vhd check b.vhd
doc vhd-map --json vhd map b.vhd
doc vhd-chain --json vhd chain b.vhd
doc vhd-convert --json vhd convert b.vhd c.vhd
doc vhd-convert --json vhd convert --type raw b.vhd c.raw
doc vhd-compare --json vhd compare c.vhd c.raw
json 'd["identical"]' < "docs/vhd-compare@$n.json" | grep -qx True || fail "compare: not identical"
doc vhd-repair --json vhd repair c.vhd
doc vhd-merge --json vhd merge --dry-run b.vhd
doc vhd-merge --json vhd merge b.vhd
ovfkit vhd compare a.vhd c.raw > /dev/null || fail "merge changed the contents"
# vhd compare of different images still gives its document, and exit 1
expect_rc 1 ovfkit --json vhd compare a.vhd f.vhd > "docs/vhd-compare@diff.json"
json 'd["identical"]' < "docs/vhd-compare@diff.json" | grep -qx False || fail "compare: same"

# ovf, ova
doc ovf-info --json ovf info web.ova
doc ovf-info ovf info webdir/web.ovf --json
doc ovf-validate --json ovf validate web.ova
doc ovf-validate --json ovf validate --strict webdir/web.ovf
doc ovf-convert --json ovf convert --to 1.0 webdir/web.ovf -o v1.ovf
doc ova-list --json ova list web.ova
doc ova-verify --json ova verify web.ova
doc ova-unpack --json ova unpack web.ova unpacked
doc ova-pack --json ova pack unpacked/web.ovf repacked.ova
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem \
    -days 2 -subj /CN=ovfkit-test > /dev/null 2>&1
doc ova-sign --json ova sign --key key.pem --cert cert.pem repacked.ova
json '[f["name"] for f in d["files"]]' < "docs/ova-sign@$n.json" | grep -q "web.cert" ||
    fail "ova sign --json: no certificate listed"
doc ova-verify --json ova verify --ca cert.pem --require-signature repacked.ova
# a damaged package: exit 2 and the problems in the document
printf 'SHA256(web-disk1.vhd)= %064d\n' 0 > unpacked/web.mf
expect_rc 2 ovfkit --json ova verify unpacked/web.ovf > "docs/ova-verify@bad.json"
json 'd["verified"], len(d["problems"]) > 0' < "docs/ova-verify@bad.json" |
    grep -qx "False True" || fail "verify of a bad package: $(cat docs/ova-verify@bad.json)"

# snapshots
doc snapshot-create --store "$S" --json snapshot create web --name before
doc snapshot-create --store "$S" snapshot create web --name after --json
doc snapshot-list --store "$S" --json snapshot list web
doc snapshot-export --store "$S" --json snapshot export web before --to snap.ova
doc snapshot-revert --store "$S" --json snapshot revert web before
doc snapshot-delete --store "$S" --json snapshot delete web after --dry-run
doc snapshot-delete --store "$S" --json snapshot delete web --all

# convert (disk images; no guest changes)
doc convert --json convert c.raw --to conv.ova --name conv --memory 256
doc convert --store "$S" --json convert c.vhd --name conv2 --memory 256 --import $K
json 'd["imported"]["name"]' < "docs/convert@$n.json" | grep -qx conv2 ||
    fail "convert --import --json: $(cat "docs/convert@$n.json")"

# vm start and stop (qemu under TCG for the dir store; nothing to boot)
if command -v qemu-system-x86_64 > /dev/null; then
    doc vm-start --store "$S" --json vm start db
    doc vm-stop --store "$S" --json vm stop db
fi

"$PY" "$OVFK_SRCDIR/tests/cli/jsondoc.py" docs "$SCHEMAS" docs > checked.txt ||
    fail "a document does not match its schema"
cat checked.txt
# every schema of a command was exercised (the guest ones by 0174, p2v's,
# which need loop devices, by 0103)
for s in "$SCHEMAS"/*.json; do
    b=$(basename "$s" .json)
    case $b in progress-event|defs|sysprep|sysprep-report|inspect|backup-*|p2v-*) continue ;; esac
    grep -q "^$b " checked.txt || fail "no document checked against $b.json"
done

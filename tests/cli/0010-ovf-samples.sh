# Every real descriptor in testdata/ovf (the whole folder: new samples are
# covered) parses, and `ovf info --json` reports the counts of systems,
# disks and NICs the XML holds (counted independently by Python's XML
# parser); every broken one is refused with a clear message, never a crash.
. "$OVFK_SRCDIR/tests/cli/lib.sh"

count() {   # python: systems, disks, nics in the XML of $1
    "$PY" - "$1" <<'PYEOF'
import sys, re, tarfile, xml.etree.ElementTree as ET
path = sys.argv[1]
data = None
if path.endswith(".ova"):
    with tarfile.open(path) as t:
        for m in t.getmembers():
            if m.name.endswith(".ovf"):
                data = t.extractfile(m).read()
                break
else:
    data = open(path, "rb").read()
# XenCenter declares utf-16 on 8-bit text
data = re.sub(rb'encoding="utf-16"', b'encoding="utf-8"', data, count=1)
root = ET.fromstring(data)
local = lambda t: t.split("}")[-1]
def kind(e):
    n = local(e.tag)
    if n in ("Section", "Content"):
        for k, v in e.attrib.items():
            if local(k) in ("type", "name"):
                n = v.split(":")[-1].replace("_Type", "")
    return n
systems = disks = nics = 0
def walk(e, in_disks=False, in_hw=False):
    global systems, disks, nics
    k = kind(e)
    if k in ("VirtualSystem", "VirtualSystemCollection"):
        systems += 1
    if k == "Disk" and in_disks:
        disks += 1
    if k in ("Item", "EthernetPortItem") and in_hw:
        types = [(c.text or "").strip() for c in e if local(c.tag) == "ResourceType"]
        # an OVF 2.x EthernetPortItem is a NIC when it leaves ResourceType out
        if "10" in types or (k == "EthernetPortItem" and not types):
            nics += 1
    for c in e:
        walk(c, in_disks or k == "DiskSection", in_hw or k == "VirtualHardwareSection")
walk(root)
print(systems, disks, nics)
PYEOF
}

n=0
for f in "$OVFK_SRCDIR"/testdata/ovf/*.ovf "$OVFK_SRCDIR"/testdata/ovf/*.ova \
         "$OVFK_SRCDIR"/testdata/ovf/*.xml "$OVFK_SRCDIR"/testdata/ovf/govmomi/*.ovf \
         "$OVFK_SRCDIR"/testdata/ovf/govmomi/*/*.ovf; do
    name=$(basename "$f")
    n=$((n + 1))
    set +e
    ovfkit --json ovf info "$f" > info.json 2> err.txt
    rc=$?
    set -e
    ! grep -q "AddressSanitizer\|runtime error" err.txt || fail "$name: $(cat err.txt)"
    if [ $rc -ne 0 ]; then
        # refused: the message names the file and says why
        grep -q "^ovfkit: .*\(not well-formed\|not an OVF\|unsupported OVF namespace\|not a tar\|no OVF descriptor\|environment document\)" err.txt ||
            fail "$name refused unclearly: $(cat err.txt)"
        echo "refused: $name: $(cat err.txt)"
        continue
    fi
    ours=$(json 'len(d["systems"]), len(d["disks"]), sum(len(s["nics"]) for s in d["systems"])' < info.json | tr -d '(),')
    theirs=$(count "$f")
    [ "$ours" = "$theirs" ] || fail "$name: ovfkit counts $ours, the XML holds $theirs (systems disks nics)"
done
[ $n -gt 60 ] || fail "only $n samples"
echo "$n samples"

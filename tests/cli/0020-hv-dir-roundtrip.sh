# The main job on the embedded dir store: export -> import gives a VM equal
# in everything but name, UUID and MACs; export -> restore gives an equal
# VM including UUID and MACs; disk contents equal (hashed); two imports get
# distinct UUIDs and MACs; --dry-run changes nothing; networks, limits and
# overrides are checked before anything is written; a failed import leaves
# the inventory as it was.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
export OVFKIT_ACCEL=tcg
S=$T/store
o() { ovfkit --store "$S" "$@"; }
# guest fixups run libguestfs; these disks hold no guest, so skip them
K=--keep-guest-config

o vm create web --cpus 2 --memory 1024 --disk 64M --disk 8M --nic lan \
    --nic dmz,mac=02:17:42:2F:10:01 --os-type "Microsoft Windows Server 2003, Enterprise Edition (32-bit)"
o --json vm show web > web.json
d1=$(json 'd["disks"][0]["path"]' < web.json)
d2=$(json 'd["disks"][1]["path"]' < web.json)
head -c 5M /dev/urandom > data1; head -c 300K /dev/urandom > data2
ovfkit vhd write "$d1" 1M < data1
ovfkit vhd write "$d2" 7M < data2
ovfkit vhd convert --type raw "$d1" ref1.raw
ovfkit vhd convert --type raw "$d2" ref2.raw

o export web --to web.ova
o export web --to webdir --ovf 2.0 --digest sha512
ovfkit ova verify web.ova > /dev/null && ovfkit ova verify webdir/web.ovf > /dev/null
need xmllint libxml2-utils
xmllint --nonet --noout --schema "$OVFK_SRCDIR/data/schema/ovf-1.0.0/ovf-envelope.xsd" \
    "$(mkdir x && cd x && tar xf ../web.ova && pwd)/web.ovf" || fail "exported OVF 1.0 invalid"
xmllint --nonet --noout --schema "$OVFK_SRCDIR/data/schema/ovf-2.0.1/dsp8023_2.0.1.xsd" webdir/web.ovf ||
    fail "exported OVF 2.0 invalid"
grep -q "SHA512(web-disk1.vhd)" webdir/web.mf || fail "digest choice"

# compare two `vm show --json` views: fields that must match, and those that must not
same() { # same A.json B.json FIELDS...
    a=$1 b=$2; shift 2
    "$PY" - "$a" "$b" "$@" <<'PYEOF'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for f in sys.argv[3:]:
    if f == "nets":
        va, vb = [n["network"] for n in a["nics"]], [n["network"] for n in b["nics"]]
    elif f == "macs":
        va, vb = [n["mac"] for n in a["nics"]], [n["mac"] for n in b["nics"]]
    elif f == "caps":
        va, vb = [d["capacity"] for d in a["disks"]], [d["capacity"] for d in b["disks"]]
    else:
        va, vb = a.get(f), b.get(f)
    if va != vb:
        sys.exit("%s: %r != %r" % (f, va, vb))
PYEOF
}
differ() {
    a=$1 b=$2; shift 2
    for f in "$@"; do
        ! same "$a" "$b" "$f" 2>/dev/null || fail "$f should differ between $a and $b"
    done
}
disk_same() { # disk_same VM.json N REF
    p=$(json "d['disks'][$2]['path']" < "$1")
    ovfkit vhd compare "$3" "$p" > /dev/null || fail "disk $2 of $1 differs"
}

# import: a new VM, equal but for name, UUID and MACs
o import web.ova --name web_copy $K > /dev/null
o --json vm show web_copy > copy.json
same web.json copy.json cpus memory_mib os_type os_id firmware nets caps || fail "import changed the VM"
differ web.json copy.json name uuid macs
disk_same copy.json 0 ref1.raw; disk_same copy.json 1 ref2.raw
json '[n["mac"] for n in d["nics"]]' < copy.json | grep -q "02:17:42:2F:" || fail "MACs not from the pool"
# import twice: distinct identities
o import webdir/web.ovf --name web_copy2 $K > /dev/null
o --json vm show web_copy2 > copy2.json
# the user's package directory is left as it was
ovfkit ova verify webdir/web.ovf > /dev/null || fail "import changed the package directory"
differ copy.json copy2.json uuid macs
disk_same copy2.json 0 ref1.raw

# restore over the original: refused without --force (no terminal), then done
expect_err "pass --force" o restore web.ova
printf 'changed' | ovfkit vhd write "$d1" 0
o restore web.ova --force > /dev/null
o --json vm show web > restored.json
same web.json restored.json name uuid macs cpus memory_mib os_type nets caps || fail "restore changed identity"
disk_same restored.json 0 ref1.raw; disk_same restored.json 1 ref2.raw
[ "$(o --json vm list | json 'len(d)')" = 3 ] || fail "restore duplicated the VM"
# restore of a removed VM recreates it with its UUID and MACs
o vm remove web
o restore web.ova > /dev/null
o --json vm show web > recreated.json
same web.json recreated.json uuid macs name || fail "recreate"

# a restore whose MAC belongs to a different VM fails and changes nothing
o vm remove web
o vm create thief --memory 512 --nic lan,mac=02:17:42:2F:10:01
o vm list > before.txt; ls -R "$S" > before.ls
expect_err "belongs to VM 'thief'" o restore web.ova
o vm list > after.txt; ls -R "$S" > after.ls
cmp -s before.txt after.txt && cmp -s before.ls after.ls || fail "failed restore changed the store"
o vm remove thief
o restore web.ova > /dev/null

# --dry-run prints the plan and changes nothing
ls -R "$S" > before.ls
o import web.ova --name dry --dry-run $K > plan.txt
grep -q "would define VM 'dry'" plan.txt && grep -q "nic:.*on lan" plan.txt || fail "plan: $(cat plan.txt)"
o --json import web.ova --name dry --dry-run $K > plan.json
[ "$(json 'd["dry_run"] and d["vm"]["name"]' < plan.json)" = dry ] || fail "json plan"
ls -R "$S" > after.ls
cmp -s before.ls after.ls || fail "--dry-run changed the store"

# networks: missing is an error unless mapped
o export web --to web2.ova
expect_err "network 'lan' does not exist on the target; map it with --network 'lan'=NAME" \
    ovfkit --store "$T/other" import web.ova $K
ovfkit --store "$T/other" net add prod
ovfkit --store "$T/other" import web.ova --network lan=prod --network dmz=prod --cpus 4 \
    --memory 2048 --name moved $K > /dev/null
ovfkit --store "$T/other" --json vm show moved > moved.json
[ "$(json '[n["network"] for n in d["nics"]], d["cpus"], d["memory_mib"]' < moved.json)" = \
  "['prod', 'prod'] 4 2048" ] || fail "overrides: $(cat moved.json)"

# limits, checked before writing, with how to fix them
expect_err "may use only letters, digits and '_'" o import web.ova --name "bad name" $K
expect_err "may not be all digits" o import web.ova --name 1234 $K
expect_err "is reserved" o import web.ova --name auto $K
expect_err "may not start with \"xmexample\"" o import web.ova --name xmexample1 $K
expect_err "is longer than 50" o import web.ova --name aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa $K
expect_err "invalid --memory '128': must be at least 256 MiB" o import web.ova --name small --memory 128 $K
expect_err "1 to 8" o import web.ova --name wide --cpus 16 $K
o import web.ova --name wide --cpus 16 --max-cpus 32 $K > /dev/null
o vm create big64 --memory 512 --os-type "Ubuntu (64-bit)" 2> err.txt && fail "64-bit guest with 512 MiB"
grep -q "600 MiB a 64-bit guest needs" err.txt || fail "$(cat err.txt)"
o vm create many --memory 512 --disk 1M --disk 1M --disk 1M --disk 1M
o export many --to many.ova
o import many.ova --name many2 $K 2> warn.txt > /dev/null
o vm remove many2
# (the 3-disk warning is about emulated buses: make them IDE and re-import)
mkdir m && (cd m && tar xf ../many.ova && sed -i 's/>virtio</>PIIX4</' many.ovf &&
    sed -n 's/^SHA256(\(.*\))= .*/\1/p' many.mf > /dev/null && rm many.mf)
o import m/many.ovf --name many3 $K 2> warn.txt > /dev/null
grep -q "sees at most 3" warn.txt || fail "no 3-disk warning: $(cat warn.txt)"

# --skip-disk and --empty-disk
o import web.ova --name partial --skip-disk vmdisk2 --empty-disk vmdisk1 $K > /dev/null
o --json vm show partial > partial.json
[ "$(json 'len(d["disks"])' < partial.json)" = 1 ] || fail "--skip-disk"
p=$(json 'd["disks"][0]["path"]' < partial.json)
[ "$(ovfkit --json vhd info "$p" | json 'd["allocated_blocks"]')" = 0 ] || fail "--empty-disk restored data"

# a failed import leaves nothing: a package whose disk is damaged
mkdir bad && (cd bad && tar xf ../web.ova && rm web.mf && truncate -s 100000 web-disk1.vhd)
ls -R "$S" > before.ls
expect_rc 1 o import bad/web.ovf --name broken $K
ls -R "$S" > after.ls
cmp -s before.ls after.ls || fail "failed import left files: $(diff before.ls after.ls)"
! o vm show broken > /dev/null 2>&1 || fail "half-defined VM"
# a package whose manifest does not match is refused
cp -r webdir tampered && printf 'X' | dd of=tampered/web-disk1.vhd bs=1 seek=3000000 conv=notrunc status=none
expect_err "does not match" o import tampered/web.ovf --name tampered $K
! o vm show tampered > /dev/null 2>&1 || fail "tampered package imported"

# export of a VM with compressed disks, and --config-only
o export web --to z.ova --compress
o import z.ova --name unzipped $K > /dev/null
o --json vm show unzipped > unz.json; disk_same unz.json 0 ref1.raw
o export web --to conf --config-only
[ "$(ls conf | tr '\n' ' ')" = "web.mf web.ovf " ] || fail "--config-only wrote $(ls conf)"
ovfkit --json ovf info conf/web.ovf | json 'd["disks"][0]["file"]' | grep -q None || fail "config-only disks"
# nothing half-written survives a failure: exporting over an existing name
expect_err "already exists" o export web --to web.ova
echo ok

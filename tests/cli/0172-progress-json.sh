# --progress=json: every long operation writes progress events on stdout,
# one JSON object a line, valid against progress-event.json; within a step
# done never goes back, the step ends with one final event at its total;
# the result document (--json, implied) is the last line; nothing else
# reaches stdout, even with -q; no bar or event on stderr.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
"$PY" -c "import jsonschema" 2>/dev/null || skip "needs python3-jsonschema"
export OVFKIT_ACCEL=tcg
# an event at every report of the library: many events, not two
export OVFKIT_PROGRESS_EVERY=0
SCHEMAS=$OVFK_SRCDIR/data/json-schema
S=$T/store
K=--keep-guest-config
# stream RESULT-SCHEMA CMD...: run ovfkit CMD with --progress=json, check
# what it printed; the events are left in ev.txt
stream() {
    res=$1; shift
    ovfkit --progress=json "$@" > ev.txt 2> err.txt || fail "'ovfkit --progress=json $*': $(cat err.txt)"
    ! grep -q '"event"' err.txt || fail "events on stderr"
    ! grep -q "$(printf '\r')" err.txt || fail "a bar on stderr (not a terminal)"
    "$PY" "$OVFK_SRCDIR/tests/cli/jsondoc.py" stream "$SCHEMAS" ev.txt "$res" > chk.txt ||
        fail "'ovfkit --progress=json $*' output is wrong: $(cat ev.txt)"
    echo "$*: $(cat chk.txt)"
}
o() { ovfkit --store "$S" "$@"; }
o net add lan; o net add dmz
o vm create web --memory 256 --disk 24M --disk 4M --nic lan --nic dmz > /dev/null
d1=$(o --json vm show web | json 'd["disks"][0]["path"]')
head -c 9M /dev/urandom > data
ovfkit vhd write "$d1" 2M < data

stream export --store "$S" export web --to web.ova
# the final event of the export is at the bytes the package holds
"$PY" - ev.txt <<'PYEOF' || fail "the export's final total is not the package's data"
import json, os, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
fin = [e for e in lines if e.get("final")]
res = lines[-1]
assert len(fin) >= 1
data = sum(f["size"] for f in res["files"] if f["name"].endswith(".vhd"))
assert fin[-1]["total"] >= data, (fin[-1], data)
assert fin[-1]["total"] <= os.path.getsize(res["package"]), fin[-1]
PYEOF
[ "$(grep -c '"event"' ev.txt)" -gt 5 ] || fail "too few events: $(cat ev.txt)"
stream export -q --store "$S" export web --to webdir --ovf 2.0
stream import --store "$S" import web.ova --name web2 $K
stream ova-unpack ova unpack web.ova un
stream ova-pack ova pack un/web.ovf re.ova
stream vhd-convert vhd convert --type raw "$d1" d1.raw
stream vhd-convert vhd convert d1.raw d1.vhd
stream vhd-compare vhd compare d1.vhd d1.raw
ovfkit vhd snapshot d1.vhd kid.vhd
ovfkit vhd write kid.vhd 0 < data
stream vhd-merge vhd merge kid.vhd
o snapshot create web --name s1 > /dev/null
ovfkit vhd write "$(o --json vm show web | json 'd["disks"][0]["path"]')" 0 < data
stream snapshot-delete --store "$S" snapshot delete web s1
stream convert convert d1.raw --to conv.ova --name conv --memory 256

# a warning in the middle of a step (the guest of a partitioned disk
# cannot be cleaned: an appliance that fails at once) goes to stderr; the
# events on stdout go on in the same step
o vm create part --memory 512 --disk 8M --nic lan > /dev/null
p=$(o --json vm show part | json 'd["disks"][0]["path"]')
printf '\000\040\041\000\203\000\000\000\000\010\000\000\000\030\000\000' > pe
printf '\125\252' > sig
ovfkit vhd write "$p" 446 < pe && ovfkit vhd write "$p" 510 < sig
o export part --to part.ova
LIBGUESTFS_HV=/bin/false stream import --store "$S" import part.ova --name part2
grep -q "warning: could not clean the guest" err.txt || fail "no warning: $(cat err.txt)"

# the per-command spelling is the same option
ovfkit vhd convert --progress=json --type raw d1.vhd again.raw > ev.txt
"$PY" "$OVFK_SRCDIR/tests/cli/jsondoc.py" stream "$SCHEMAS" ev.txt vhd-convert > /dev/null ||
    fail "--progress=json after the command: $(cat ev.txt)"
expect_err "invalid --progress 'yes'" ovfkit --progress=yes vhd info d1.vhd
# without --progress=json stdout holds the result only, and no event
ovfkit --json vhd convert d1.vhd other.raw > res.txt
! grep -q '"event"' res.txt || fail "--json alone printed events"

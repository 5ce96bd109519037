# Guest fixups on a phony Windows guest (NTFS, real registry hives built
# from libguestfs's phony-guest data with hivexregedit): `ovfkit inspect`
# sees Windows; --disable-services v2v sets Start=4 for the catalog's
# services in every control set Select names (Current 1, LastKnownGood 2)
# and nowhere else (not ControlSet003, not Spooler or Tcpip); hivexget
# (libhivex-bin) reading the hive copied out of the guest is the oracle;
# --undo puts every value back; inspection reports the same OS after.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
"$PY" -c 'import guestfs' 2>/dev/null || skip "needs python3-guestfs"
need hivexregedit libhivex-bin
need hivexget libhivex-bin
ls /boot/vmlinuz-* > /dev/null 2>&1 || skip "needs a kernel for the libguestfs appliance (linux-image-amd64)"
H=$OVFK_SRCDIR/testdata/hives
phony() { "$PY" "$OVFK_SRCDIR/tests/cli/phony.py" "$@"; }

mkdir hv
cp "$H/minimal-hive" hv/SOFTWARE
hivexregedit --merge hv/SOFTWARE --prefix 'HKEY_LOCAL_MACHINE\SOFTWARE' "$H/windows-software.reg"
cp "$H/minimal-hive" hv/SYSTEM
hivexregedit --merge hv/SYSTEM --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$H/windows-system.reg"
S='HKEY_LOCAL_MACHINE\SYSTEM'
{
    for cs in 1 2 3; do
        # hivexregedit creates a key only under one that exists
        printf '[%s\\ControlSet00%s]\n\n[%s\\ControlSet00%s\\Services]\n\n' "$S" "$cs" "$S" "$cs"
        for svc in VMTools:2 vmicheartbeat:3 vmictimesync:3 dcstor64:2 Spooler:2 Tcpip:1; do
            printf '[%s\\ControlSet00%s\\Services\\%s]\n"Start"=dword:0000000%s\n\n' \
                "$S" "$cs" "${svc%:*}" "${svc#*:}"
        done
    done
} > services.reg
hivexregedit --merge hv/SYSTEM --prefix "$S" services.reg
"$H/mkpestub" hv/cmd.exe
phony windows w.img hv

start() { # HIVE CS SERVICE: the Start value hivexget reads
    hivexget "$1" "ControlSet00$2\\Services\\$3" Start
}

ovfkit --json inspect w.img > os1.json
[ "$(json 'd["os"][0]["type"]' < os1.json)" = windows ] || fail "inspect: $(cat os1.json)"
json 'd["os"][0]["product"]' < os1.json | grep -q "Phony" || fail "inspect: $(cat os1.json)"
# the document matches data/json-schema/inspect.json (python3-jsonschema)
if "$PY" -c "import jsonschema" 2>/dev/null; then
    mkdir docs && cp os1.json docs/inspect@1.json
    "$PY" "$OVFK_SRCDIR/tests/cli/jsondoc.py" docs \
        "$OVFK_SRCDIR/data/json-schema" docs > /dev/null ||
        fail "inspect --json does not match its schema"
fi

ovfkit sysprep w.img --disable-services v2v --report r.json > out.txt
phony download w.img /Windows/System32/Config/SYSTEM after.hive
for cs in 1 2; do
    for svc in VMTools vmicheartbeat vmictimesync; do
        [ "$(start after.hive $cs $svc)" = 4 ] || fail "$svc in ControlSet00$cs: Start $(start after.hive $cs $svc)"
    done
    [ "$(start after.hive $cs dcstor64)" = 2 ] || fail "v2v touched the p2v service dcstor64"
    [ "$(start after.hive $cs Spooler)" = 2 ] || fail "Spooler changed"
    [ "$(start after.hive $cs Tcpip)" = 1 ] || fail "Tcpip changed"
done
[ "$(start after.hive 3 VMTools)" = 2 ] || fail "ControlSet003 (not in use) was changed"
[ "$(json 'len(d["changes"])' < r.json)" = 6 ] || fail "report: $(cat r.json)"
grep -q 'ControlSet002\\\\Services\\\\VMTools|Start' r.json || fail "report lacks ControlSet002: $(cat r.json)"

ovfkit sysprep --undo r.json w.img
phony download w.img /Windows/System32/Config/SYSTEM undone.hive
for cs in 1 2 3; do
    for svc in VMTools:2 vmicheartbeat:3 vmictimesync:3 dcstor64:2 Spooler:2 Tcpip:1; do
        [ "$(start undone.hive $cs "${svc%:*}")" = "${svc#*:}" ] ||
            fail "undo: ${svc%:*} in ControlSet00$cs is $(start undone.hive $cs "${svc%:*}")"
    done
done
ovfkit --json inspect w.img > os2.json
[ "$(json 'd["os"]' < os1.json)" = "$(json 'd["os"]' < os2.json)" ] || fail "the OS changed: $(cat os2.json)"

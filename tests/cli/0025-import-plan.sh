# import's plan is what happens, as the user sees it: `import --dry-run`
# shows the UUID, MACs and paths the import then gives; new MACs are never
# the package's own; disks are said to be imported, not restored;
# --no-verify is gone (the manifest is always checked); vm create's error
# does not point at an option it lacks; a VM of data disks only does not
# start the libguestfs appliance (the loader's own trace shows libguestfs
# is never loaded) and says why, while a disk with a partition table is
# inspected; libvirt's test driver leaves no disk behind.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
S=$T/store D=$T/dst
o() { ovfkit --store "$S" "$@"; }
d() { ovfkit --store "$D" "$@"; }
for n in lan dmz; do o net add $n; d net add $n; done

o vm create web --memory 512 --disk 16M --disk 8M \
    --nic lan,mac=02:17:42:2F:00:01 --nic dmz,mac=02:17:42:2F:00:02 > /dev/null
head -c 1M /dev/urandom > data
p=$(o --json vm show web | json 'd["disks"][0]["path"]')
ovfkit vhd write "$p" 2M < data
o export web --to web.ova > /dev/null

# the dry run and the import: the same VM, UUID, MACs and disk paths
d import web.ova --name copy --dry-run > dry.txt
d import web.ova --name copy > done.txt
grep -q "^would define VM 'copy' (" dry.txt || fail "dry run: $(cat dry.txt)"
sed 's/^would define/defined/' dry.txt | grep -v '^  guest:' > want.txt
grep -v '^  guest:\|^  space:' done.txt > got.txt
grep -v '^  space:' want.txt > want2.txt
diff -u want2.txt got.txt || fail "the import did not do what the dry run said"
uuid=$(d --json vm show copy | json 'd["uuid"]')
grep -q "($uuid)" dry.txt || fail "dry run showed another UUID than $uuid"
# new MACs: from the pool, never the package's 01 and 02
d --json vm show copy | json '" ".join(n["mac"] for n in d["nics"])' > macs.txt
[ "$(cat macs.txt)" = "02:17:42:2F:00:03 02:17:42:2F:00:04" ] ||
    fail "new MACs $(cat macs.txt); the package has 02:17:42:2F:00:01 and :02"
# imported disks are imported
grep -q "disk:    vmdisk1 import (" done.txt || fail "wording: $(cat done.txt)"
! grep -q " restore (" done.txt ||
    fail "an import says restore: $(cat done.txt)"
d restore web.ova --dry-run > rdry.txt
grep -q "disk:    vmdisk1 restore (" rdry.txt || fail "restore: $(cat rdry.txt)"

# data disks only: no appliance; the loader's trace is the oracle
grep -q "^  guest:   no disk holds a partition table or file system" \
    done.txt || fail "no word on the skipped guest fixup: $(cat done.txt)"
LD_DEBUG=files ovfkit --store "$D" import web.ova --name copy2 \
    > c2.txt 2> trace.txt
grep -q "needed by" trace.txt || fail "LD_DEBUG=files printed no trace"
! grep -q "file=libguestfs.so.0 \[0\]; *dynamically loaded" trace.txt ||
    fail "the import of data disks loaded libguestfs"
# (the plan is the last, pretty-printed object after the progress events)
ovfkit --store "$D" --json import web.ova --name copy3 |
    sed -n '/^{$/,$p' > c3.json
[ "$(json 'd["guest"]["status"]' < c3.json)" = blank ] ||
    fail "JSON guest status: $(cat c3.json)"
[ "$(json 'd["done"]' < c3.json)" = True ] || fail "JSON done: $(cat c3.json)"

# a partition table: the guest is inspected (an appliance that fails at
# once stands for the real one; the import still succeeds, and says so)
o vm create part --memory 512 --disk 8M --nic lan > /dev/null
p=$(o --json vm show part | json 'd["disks"][0]["path"]')
printf '\000\040\041\000\203\000\000\000\000\010\000\000\000\030\000\000' > pe
printf '\125\252' > sig
ovfkit vhd write "$p" 446 < pe && ovfkit vhd write "$p" 510 < sig
o export part --to part.ova > /dev/null
LIBGUESTFS_HV=/bin/false LD_DEBUG=files ovfkit --store "$D" import part.ova \
    > part.txt 2> trace.txt
grep -q "file=libguestfs.so.0 \[0\]; *dynamically loaded" trace.txt ||
    fail "a partitioned disk was not inspected"
grep -q "could not clean the guest's MAC-pinned" trace.txt ||
    fail "no warning: $(grep ovfkit: trace.txt)"
grep -q "^  guest:   MAC pins not removed" part.txt || fail "$(cat part.txt)"

# --no-verify is no option (the manifest is always checked)
expect_rc 64 d import web.ova --name copy4 --no-verify 2> err.txt
grep -q "invalid option" err.txt || fail "--no-verify: $(cat err.txt)"
! d vm show copy4 > /dev/null 2>&1 || fail "--no-verify imported"

# vm create takes NAME, not --name
expect_err "VM name 'bad-name' may use only letters, digits and '_'; \
choose another name" d vm create bad-name
! grep -q -- "--name" err.txt ||
    fail "vm create hints at --name: $(cat err.txt)"
expect_err "choose another name with --name" d import web.ova --name bad-name

# a --network target that does not exist: the mapping is named, not
# "map 'nope' with --network" (the user did map it)
expect_err "network 'nope' (from --network dmz=nope) does not exist on \
the target (available: " d import web.ova --name mapped \
    --network dmz=nope --dry-run
! grep -q -- "--network 'nope'=" err.txt || fail "hint: $(cat err.txt)"

# libvirt's test driver: the disks go with its in-memory VM
if ovfkit --connect test:///default vm list > /dev/null 2>&1; then
    ovfkit --connect test:///default import web.ova --name lvt \
        --network lan=default --network dmz=default > lv.txt
    sed -n 's/^  disk:    vmdisk[12] .* -> //p' lv.txt > targets.txt
    [ "$(wc -l < targets.txt)" = 2 ] || fail "no targets in $(cat lv.txt)"
    while read -r t; do
        if [ -e "$t" ]; then
            rm -f "$t"      # not left where it was put
            fail "'$t' outlived the test driver's VM"
        fi
        case $t in /var/lib/libvirt/*) fail "test driver disk in $t" ;; esac
    done < targets.txt
else
    echo "libvirt's test driver is not available: its part not run"
fi

# SIGINT and SIGTERM, sent while a command is in the middle of its work
# (the test waits for its partial output to appear, or to grow, never
# guessing with sleep), stop export, import, restore, convert and snapshot
# export within moments: the exit code is 130/143, the partial output is
# gone, and the store, the chains and the target directory hash as before.
# A snapshot delete stopped inside a merge cannot give the deleted
# snapshot back (a merge only goes forward): it says so, everything else
# reads as before, and the next snapshot command finishes the merge.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/jobs.sh"

k() { ovfkit --store "$T/st" "$@"; }
K="$OVFKIT --store $T/st"
mkdir t
k vm create web --disk 64M > /dev/null
disk=$(k --json vm show web | json 'd["disks"][0]["path"]')
head -c 16M /dev/urandom | ovfkit vhd write "$disk" 0
k -q export web --to a.ova
k -q export web --to adir
head -c 16M /dev/urandom > src.raw
truncate -s 64M src.raw

# interrupt SIG WHEN CMD...: run CMD slowed; once WHEN holds (a GLOB, or
# GLOB:BYTES for a partial file that has grown that far) send SIG; CMD
# must exit 128 + SIG's number, say so, and leave st/ and ./ as they were
interrupt() {
    sig=$1 when=$2
    shift 2
    before=$(state st .)
    # shellcheck disable=SC2046
    $(slow 150) "$@" > t/out 2> t/err & p=$!
    case $when in
    *:*) wait_for "${when%:*}"; wait_size "${when%:*}" "${when##*:}" ;;
    *) wait_for "$when" ;;
    esac
    kill -"$sig" $p
    code=130
    [ "$sig" = INT ] || code=143
    finish $p $code
    grep -q "^ovfkit: interrupted by SIG$sig: " t/err ||
        fail "$*: SIG$sig: $(cat t/err)"
    [ "$(state st .)" = "$before" ] || {
        ls -la . st/vms/*/disks >&2
        fail "$*: SIG$sig left changes"
    }
    locks_released st
    echo "$(date +%T) SIG$sig at $when: $* left everything as before"
}

# export: OVA as soon as it starts, and half-way; a directory half-way
interrupt INT ".b.ova.part-*" $K export web --to b.ova
interrupt TERM ".b.ova.part-*:8388608" $K export web --to b.ova
interrupt INT ".bdir.part-*/web-disk1.vhd:4194304" $K export web --to bdir
# --compress: the disk is first gzip'ed into a temporary beside the OVA
interrupt TERM ".bz.ova*" $K export web --to bz.ova --compress

# import: an OVA while it is unpacked (the .ovfkit-pkg- folder), later
# on; a directory package while its disk is converted (a .part file)
interrupt INT "st/vms/*/disks/.ovfkit-pkg-*/members/web-disk1.vhd" \
    $K import a.ova --name w2
interrupt TERM "st/vms/*/disks/.ovfkit-pkg-*/members/web-disk1.vhd:8388608" \
    $K import a.ova --name w2
interrupt TERM "st/vms/*/disks/.vmdisk1.vhd.part-*:4194304" \
    $K import adir/web.ovf --name w3

# restore over the VM itself: the old VM stays whole
interrupt INT "st/vms/*/disks/.ovfkit-pkg-*/members/web-disk1.vhd:4194304" \
    $K restore a.ova --force

# convert: into a directory and into an OVA (convert --import is an
# import once the package is made: above)
interrupt INT ".c.part-*/cv-disk1.vhd" $K convert src.raw --to c --name cv
interrupt TERM ".c.ova.part-*:8388608" $K convert src.raw --to c.ova --name cv

# snapshot export: the VM's chain is only read
k snapshot create web --name A > /dev/null
interrupt TERM ".s.ova.part-*:4194304" $K snapshot export web A --to s.ova

# snapshot delete, stopped while it waits for the VM (another job
# holds it): nothing has changed yet
head -c 8M /dev/urandom | ovfkit vhd write "$(k --json vm show web | json 'd["disks"][0]["path"]')" 2M
k snapshot create web --name B > /dev/null
cur=$(k --json vm show web | json 'd["disks"][0]["path"]')
head -c 4M /dev/urandom | ovfkit vhd write "$cur" 20M
before=$(state st .)
$(slow 300) "$OVFKIT" --store "$T/st" export web --to h.ova 2> t/err.h &
h=$!
wait_for ".h.ova.part-*"
"$OVFKIT" --store "$T/st" --wait 60 snapshot delete web A 2> t/err & p=$!
wait_lock_open $p
kill -TERM $p
finish $p 143
kill -TERM $h
finish $h 143
[ "$(state st .)" = "$before" ] || fail "a snapshot delete stopped before it began changed something"
echo "SIGTERM while snapshot delete waits: everything as before"

# ... and stopped inside its merge: A is gone, B and the VM read as before
b_file=$(k --json snapshot list web | json '[s for s in d["snapshots"] if s["name"] == "B"][0]["disks"][0]["file"]')
ovfkit vhd convert --type raw "$b_file" t/b-before.raw
ovfkit vhd convert --type raw "$cur" t/cur-before.raw
interrupt_merge() {
    $(slow 150) "$OVFKIT" --store "$T/st" snapshot delete web A \
        > t/out 2> t/err & p=$!
    wait_for "st/vms/*/disks/.*.merge.json"
    kill -INT $p
    finish $p 130
}
interrupt_merge
grep -q "^ovfkit: interrupted by SIGINT: canceled while merging '.*': the deleted snapshot is gone, every other snapshot and the VM read as before; the next snapshot command completes the merge" t/err ||
    fail "snapshot delete: $(cat t/err)"
ovfkit vhd convert --type raw "$b_file" t/b-after.raw
ovfkit vhd convert --type raw "$cur" t/cur-after.raw
cmp -s t/b-before.raw t/b-after.raw || fail "snapshot B reads differently"
cmp -s t/cur-before.raw t/cur-after.raw || fail "the VM reads differently"
[ "$(k --json snapshot list web | json '[s["name"] for s in d["snapshots"]]')" = "['B']" ] ||
    fail "snapshots after the interrupted delete: $(k snapshot list web)"
expect_rc 3 ovfkit vhd check "$cur" > /dev/null    # the merge: a finding
k snapshot create web --name C > /dev/null          # a writer completes it
ovfkit vhd check "$cur" > /dev/null || fail "the merge was not completed"
ovfkit vhd convert --type raw "$b_file" t/b-done.raw
cmp -s t/b-before.raw t/b-done.raw || fail "snapshot B changed when the merge completed"
locks_released st
echo "SIGINT inside a merge: A gone, B and the VM as before, completed later"

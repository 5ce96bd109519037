# Locks per VM and per store (util/lock.c through hv/locks.c): two
# exports of one VM started together: without --wait the second fails at
# once with 75 and a message naming the holder (pid, command, since when);
# with --wait it waits and both succeed; --wait N gives up after N
# seconds.  A lock left by a killed job is taken over, with a warning
# naming it.  A definition change (vm create) meets an import's store
# lock the same way.  SIGINT ends a wait for a lock at once (130), with
# nothing changed.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/jobs.sh"

k() { ovfkit --store "$T/st" "$@"; }
mkdir t
k vm create web --disk 64M > /dev/null
disk=$(k --json vm show web | json 'd["disks"][0]["path"]')
head -c 16M /dev/urandom | ovfkit vhd write "$disk" 0

# -- two exports together: the second refused with 75, naming the first
$(slow 400) "$OVFKIT" --store "$T/st" export web --to a.ova \
    2> t/err.a & a=$!
wait_for ".a.ova.part-*"                # a holds the VM's lock now
set +e
k export web --to b.ova 2> t/err.b
rc=$?
set -e
[ $rc -eq 75 ] || fail "a second export exited $rc, expected 75: $(cat t/err.b)"
grep -q "VM 'web' is in use by process $a (.*ovfkit --store $T/st export web --to a.ova) since 20[0-9-]* [0-9:]* UTC" t/err.b ||
    fail "the refusal does not name the holder: $(cat t/err.b)"
grep -qF -- "--wait SECONDS" t/err.b || fail "no hint at --wait: $(cat t/err.b)"
[ ! -e b.ova ] && ! ls -a | grep -q '^\.b\.ova' || fail "the refused export left files"

# -- --wait 1 gives up while a still holds it
set +e
k --wait 1 export web --to b.ova 2> t/err.b
rc=$?
set -e
[ $rc -eq 75 ] || fail "--wait 1 exited $rc, expected 75"
grep -qF "(waited 1 s)" t/err.b || fail "--wait 1: $(cat t/err.b)"

# -- with --wait the second waits for the first, and both succeed
"$OVFKIT" --store "$T/st" --wait 60 export web --to c.ova 2> t/err.c &
c=$!
wait_lock_open $c
kill -0 $a || fail "the first export ended before the second started waiting"
finish $a 0
finish $c 0
[ ! -s t/err.c ] || fail "the waiting export said: $(cat t/err.c)"
ovfkit ova verify a.ova > /dev/null || fail "a.ova does not verify"
ovfkit ova verify c.ova > /dev/null || fail "c.ova does not verify"
locks_released st

# -- a holder killed with -9 leaves its record; the next job takes over
$(slow 400) "$OVFKIT" --store "$T/st" export web --to d.ova \
    2> t/err.d & d=$!
wait_for ".d.ova.part-*"
kill -KILL $d
finish $d 137
rm -f .d.ova.part-*                      # SIGKILL cannot clean up
k export web --to e.ova 2> t/err.e || fail "export after a killed holder: $(cat t/err.e)"
grep -q "warning: VM 'web': taking over the lock left by process $d (.*export web --to d.ova) since .*, which ended without releasing it" t/err.e ||
    fail "no takeover warning naming the dead holder: $(cat t/err.e)"
k export web --to f.ova 2> t/err.f
[ ! -s t/err.f ] || fail "a cleanly released lock was taken over: $(cat t/err.f)"
locks_released st

# -- the store: an import holds it; a definition change gets 75
$(slow 400) "$OVFKIT" --store "$T/st" import a.ova --name web2 \
    > /dev/null 2> t/err.i & i=$!
wait_for "st/vms/*/disks/.ovfkit-pkg-*/members/*.vhd"
set +e
k vm create other --disk 1M > /dev/null 2> t/err.v
rc=$?
set -e
[ $rc -eq 75 ] || fail "vm create during an import exited $rc, expected 75"
grep -q "inventory '$T/st' is in use by process $i (.*import a.ova --name web2)" t/err.v ||
    fail "vm create: $(cat t/err.v)"
finish $i 0
k vm show web2 > /dev/null || fail "the import did not finish"

# -- SIGINT while waiting for a lock: 130 at once, nothing changed
before=$(state st .)
$(slow 400) "$OVFKIT" --store "$T/st" export web --to g.ova \
    2> t/err.g & g=$!
wait_for ".g.ova.part-*"
"$OVFKIT" --store "$T/st" --wait 60 snapshot create web --name S \
    2> t/err.s & s=$!
wait_lock_open $s
kill -INT $s
finish $s 130
grep -q "interrupted by SIGINT: interrupted before taking VM 'web'" t/err.s ||
    fail "the interrupted wait said: $(cat t/err.s)"
kill -TERM $g
finish $g 143
[ "$(state st .)" = "$before" ] || fail "an interrupted wait changed something"
[ "$(k --json snapshot list web | json 'len(d["snapshots"])')" = 0 ] || fail "a snapshot was taken"
locks_released st
echo "locks: ok"

# The systemd templates (issue 16): ovfkit-backup@.service runs
# `ovfkit backup create --repo ... VM` unattended with --progress=json, the
# timer runs it nightly (RandomizedDelaySec, Persistent=true).  Installed by `make
# install` (here into PREFIX=$T/usr, so that the ExecStart binary and the
# Documentation= man pages are where the unit says: verify checks both),
# `systemd-analyze verify` must pass with no output at all (it exits 0 on
# unknown keys, only printing them: a unit with one proves it is seen).
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need systemd-analyze systemd
need scdoc scdoc
need man man-db
need make make

# does verify work on this machine at all?  A minimal good unit must pass
mkdir -p probe
printf '[Unit]\nDescription=probe\n[Service]\nType=exec\nExecStart=/bin/true\n' \
    > probe/ovfk-probe.service
systemd-analyze verify "$T/probe/ovfk-probe.service" > probe.txt 2>&1 ||
    skip "systemd-analyze verify does not work here: $(head -3 probe.txt)"

u="$T/usr/lib/systemd/system"
make -s -C "$OVFK_SRCDIR" BUILD="$T/b" PREFIX="$T/usr" \
    install-systemd install-man > make.txt 2>&1 ||
    fail "make install-systemd install-man: $(cat make.txt)"
mkdir -p "$T/usr/bin"
cp "$OVFKIT" "$T/usr/bin/ovfkit"     # what `make install` puts in BINDIR
export MANPATH="$T/usr/share/man"

# what the units say
grep -q "^ExecStart=$T/usr/bin/ovfkit .*--progress=json backup create --repo \${OVFKIT_REPO} .*%i\$" \
    "$u/ovfkit-backup@.service" || fail "ExecStart: $(grep Exec "$u/ovfkit-backup@.service")"
for k in "OnCalendar=" "RandomizedDelaySec=" "Persistent=true" \
         "WantedBy=timers.target"; do
    grep -q "^$k" "$u/ovfkit-backup@.timer" || fail "the timer lacks $k"
done

# verify: an instance of each template, no output
systemd-analyze verify "$u/ovfkit-backup@web.service" "$u/ovfkit-backup@web.timer" \
    > verify.txt 2>&1 || fail "systemd-analyze verify: $(cat verify.txt)"
[ ! -s verify.txt ] || fail "systemd-analyze verify said: $(cat verify.txt)"

# and the check sees a fault: an unknown key, a binary that is not there
sed 's/^Nice=/Nicee=/' "$u/ovfkit-backup@.service" > "$u/ovfk-bad@.service"
systemd-analyze verify "$u/ovfk-bad@x.service" > bad.txt 2>&1 || true
grep -q "Nicee" bad.txt || fail "verify did not report an unknown key: $(cat bad.txt)"
rm "$u/ovfk-bad@.service" "$T/usr/bin/ovfkit"
if systemd-analyze verify "$u/ovfkit-backup@web.service" > bad.txt 2>&1; then
    fail "verify passed without the ExecStart binary"
fi
grep -q "not executable" bad.txt || fail "verify without the binary: $(cat bad.txt)"

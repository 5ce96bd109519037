# The man pages (issue 16): ovfkit(1) and one page per command group, made
# by `make` from doc/*.1.scd with scdoc, render without a single groff or
# man warning (`man --warnings -l`, which reports on stderr and exits 0
# either way: any output is a failure; a page with a known fault proves
# the check sees warnings), every page the help names exists, and `make
# install` puts them, the bash completion and the systemd units where
# PREFIX and DESTDIR say.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need man man-db
need scdoc scdoc
need make make

pages=$(ls "$OVFK_BUILD"/man/*.1 2>/dev/null) ||
    fail "no man pages in $OVFK_BUILD/man (make builds them)"
[ "$(echo "$pages" | wc -l)" -ge 9 ] || fail "man pages: $pages"

# the check itself: a fault must be seen
printf '.TH BAD 1\n.SH NAME\nbad \\- x\n.NOSUCHMACRO\n' > bad.1
man --warnings -l bad.1 > /dev/null 2> warn.txt
grep -q "NOSUCHMACRO" warn.txt || fail "man --warnings saw nothing in bad.1"

for p in $pages; do
    for w in 80 60; do
        MANWIDTH=$w man --warnings -l "$p" > out.txt 2> warn.txt ||
            fail "man -l $p failed: $(cat warn.txt)"
        [ ! -s warn.txt ] || fail "$p (width $w): $(cat warn.txt)"
    done
    grep -q "^NAME" out.txt || fail "$p has no NAME section"
done
# every page the help points to, for every command: ovfkit-vhd, ...
for c in $(ovfkit help --commands); do
    for s in $(ovfkit help --commands "$c") ""; do
        # shellcheck disable=SC2086
        page=$(ovfkit help $c $s 2>/dev/null | sed -n "s/.*'man \(ovfkit[a-z-]*\)'.*/\1/p")
        [ -z "$page" ] || [ -f "$OVFK_BUILD/man/$page.1" ] ||
            fail "'ovfkit help $c $s' names the page $page, which make did not build"
    done
done
# the options of a page are its help's: a sample of each kind
man -l "$OVFK_BUILD/man/ovfkit-export.1" 2>/dev/null > export.txt
grep -q -- "--keep-guest-config" export.txt || fail "ovfkit-export(1) lacks --keep-guest-config"
# ovfkit(1)'s EXIT STATUS is the table --help prints (one source): every
# row of --help, its meaning joined, is in the page
MANWIDTH=2000 man -l "$OVFK_BUILD/man/ovfkit.1" 2>/dev/null > ovfkit.txt
ovfkit --help > help.txt
"$PY" - <<'PYEOF' || fail "ovfkit(1) and --help's exit codes differ (above)"
import re, sys
text = open("help.txt").read().split("exit codes:\n", 1)[1]
rows, cur = [], None
for line in text.splitlines():
    m = re.match(r"^ +(\d+) +(.*)$", line)
    if m:
        cur = [m.group(1), m.group(2)]
        rows.append(cur)
    elif cur and re.match(r"^ {7,}\S", line):
        cur[1] += " " + line.strip()
    else:
        cur = None
page = [l.strip() for l in open("ovfkit.txt")]
bad = [r for r in rows if not any(page[i] == r[0] and page[i + 1] == r[1]
                                  for i in range(len(page) - 1))]
for r in bad:
    print("FAIL: not in ovfkit(1): %s %s" % tuple(r))
print("%d exit codes in ovfkit(1)" % len(rows))
sys.exit(1 if bad or len(rows) < 15 else 0)
PYEOF

# make install: man pages, completion, units under DESTDIR + PREFIX (a
# build directory of its own: the real one is not touched)
make -s -C "$OVFK_SRCDIR" BUILD="$T/b" PREFIX=/usr DESTDIR="$T/root" \
    install-man install-completion install-systemd > make.txt 2>&1 ||
    fail "make install-*: $(cat make.txt)"
for p in $pages; do
    [ -f "$T/root/usr/share/man/man1/$(basename "$p")" ] ||
        fail "$(basename "$p") not installed in /usr/share/man/man1"
done
compdir=/usr/share/bash-completion/completions     # for PREFIX=/usr
[ -f "$T/root$compdir/ovfkit" ] || fail "completion not in $compdir: $(find "$T/root")"
cmp -s "$T/root$compdir/ovfkit" "$OVFK_SRCDIR/completion/ovfkit.bash" ||
    fail "the installed completion is not completion/ovfkit.bash"
for u in ovfkit-backup@.service ovfkit-backup@.timer; do
    [ -f "$T/root/usr/lib/systemd/system/$u" ] || fail "$u not installed"
done
grep -q "^ExecStart=/usr/bin/ovfkit " "$T/root/usr/lib/systemd/system/ovfkit-backup@.service" ||
    fail "the service does not run /usr/bin/ovfkit (PREFIX=/usr)"
# another PREFIX: everything under it (bash-completion's .pc names /usr
# outright, which must not leak into a /opt installation)
make -s -C "$OVFK_SRCDIR" BUILD="$T/b" PREFIX=/opt/ovfk DESTDIR="$T/opt" \
    install-man install-completion install-systemd > make.txt 2>&1 ||
    fail "make install-* PREFIX=/opt/ovfk: $(cat make.txt)"
for f in share/bash-completion/completions/ovfkit share/man/man1/ovfkit.1 \
         lib/systemd/system/ovfkit-backup@.timer; do
    [ -f "$T/opt/opt/ovfk/$f" ] || fail "PREFIX=/opt/ovfk: no $f; $(find "$T/opt" -type f)"
done
[ "$(find "$T/opt" -type f | grep -vc "^$T/opt/opt/ovfk/")" -eq 0 ] ||
    fail "installed outside PREFIX: $(find "$T/opt" -type f | grep -v "^$T/opt/opt/ovfk/")"

# One exit-code table (cli/exit.c): `ovfkit --help` prints it, README.md
# carries the same rows (checked here, so the two cannot drift), and the
# commands keep it: 64 for usage errors, 2 for damage found by ova verify
# and ovf validate (1 when they could not check), qemu-img's codes for
# vhd check.  No prompt without a terminal: a restore over an existing VM
# says which option answers the question; on a terminal it asks.
. "$OVFK_SRCDIR/tests/cli/lib.sh"

ovfkit --help > help.txt
grep -q "^exit codes:" help.txt || fail "--help has no exit codes"
# the rows of --help (wrapped lines joined) and of README's two tables
"$PY" - help.txt "$OVFK_SRCDIR/README.md" <<'PYEOF' || fail "README and --help disagree"
import re, sys
rows, group, cur = set(), "", None
text = open(sys.argv[1]).read().split("exit codes:\n", 1)[1]
for line in text.splitlines():
    m = re.match(r"^  ([a-z][a-z0-9 ]*):$", line)
    if m:
        group = m.group(1)
        continue
    m = re.match(r"^ +(\d+) +(.*)$", line)
    if m:
        cur = [group, m.group(1), m.group(2)]
        rows.add(tuple(cur))
    elif cur and line.strip():
        rows.discard(tuple(cur))
        cur[2] += " " + line.strip()
        rows.add(tuple(cur))
readme = set()
for line in open(sys.argv[2]):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) == 2 and cells[0].isdigit():
        readme.add(("", cells[0], cells[1]))
    elif len(cells) == 3 and cells[1].isdigit():
        readme.add((cells[0], cells[1], cells[2]))
for codes in ("0", "1", "2", "64", "75", "130", "143"):
    if not any(r[0] == "" and r[1] == codes for r in rows):
        sys.exit("--help lacks code %s" % codes)
if rows != readme:
    print("only in --help:", sorted(rows - readme))
    print("only in README:", sorted(readme - rows))
    sys.exit(1)
PYEOF

# usage errors: 64
expect_rc 64 ovfkit
expect_rc 64 ovfkit nosuch
expect_rc 64 ovfkit export
expect_err "invalid --wait 'soon'" ovfkit --wait soon vm list
expect_rc 64 ovfkit --wait soon vm list

# damage found: 2; could not check: 1
k() { ovfkit --store "$T/st" "$@"; }
k vm create web --disk 4M > /dev/null
k -q export web --to pkg
ovfkit ova verify pkg/web.ovf > /dev/null
printf 'x' >> pkg/web-disk1.vhd
expect_rc 2 ovfkit ova verify pkg/web.ovf
expect_rc 1 ovfkit ova verify nosuch.ova
expect_rc 1 ovfkit ovf validate nosuch.ovf
printf '<Envelope' > broken.ovf
expect_rc 2 ovfkit ovf validate broken.ovf
# vhd check keeps qemu-img's: 0 good, 2 corrupt, 1 cannot check
ovfkit vhd create good.vhd 4M
expect_rc 0 ovfkit vhd check good.vhd
expect_rc 1 ovfkit vhd check nosuch.vhd
cp good.vhd bad.vhd
printf 'garbage!' | dd of=bad.vhd bs=1 seek=512 conv=notrunc 2> /dev/null
expect_rc 2 ovfkit vhd check bad.vhd

# no terminal, no question: restore over web names --force, changes nothing
k -q export web --to again.ova
k --json vm show web > before.json
expect_err "pass --force" k restore again.ova < /dev/null
k --json vm show web > after.json
cmp -s before.json after.json || fail "a refused restore changed the VM"
# on a terminal it asks (script(1) gives it one); "n" keeps the VM
if command -v script > /dev/null; then
    echo n | script -qec "$OVFKIT --store $T/st restore again.ova" \
        /dev/null > tty.txt 2>&1 || true
    grep -q "\[y/N\]" tty.txt || fail "no question on a terminal: $(cat tty.txt)"
    k --json vm show web > after.json
    cmp -s before.json after.json || fail "'n' on a terminal changed the VM"
fi
k -q restore again.ova --force < /dev/null || fail "restore --force"
echo "exit codes: ok"

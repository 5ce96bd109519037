# Every option a command accepts is described in its help (issue 16): the
# option tables are read from the running program, not from the C source
# (tests/cli/optdump.c, preloaded, writes the table each getopt_long()
# call site parses with), so a new option without a line in its man page
# source (doc/*.1.scd, which the help is made from) fails here.  A table
# that several subcommands share (one call site: vhd's, vm's, ova's) must
# be described across their helps.  Also: every command and subcommand
# has a help entry with an example, `ovfkit help X Y` is `ovfkit X Y
# --help`, unknown topics are usage errors, and sysprep's help names every
# operation the library has.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need cc build-essential

cc -shared -fPIC -o optdump.so "$OVFK_SRCDIR/tests/cli/optdump.c" -ldl ||
    fail "cannot build the getopt_long spy"
# sanitized builds: the spy comes before the sanitizer runtime, by design
export ASAN_OPTIONS="verify_asan_link_order=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

# dump NAME ARGS...: the option tables ovfkit ARGS parses with, in NAME.opts
dump() {
    n=$1; shift
    rm -f "$n.opts"
    set +e
    OVFK_OPTDUMP="$T/$n.opts" LD_PRELOAD="$T/optdump.so" \
        "$OVFKIT" --store "$T/st" "$@" --ovfk-no-such-option > /dev/null 2>&1
    set -e
    touch "$n.opts"
}

# the commands, and the subcommands of the groups, as the program lists them
ovfkit --help > top.txt
sed -n '/^commands:/,/^$/p' top.txt | awk 'NF > 1 { print $1 }' > cmds.txt
[ "$(wc -l < cmds.txt)" -ge 12 ] || fail "ovfkit --help lists: $(cat cmds.txt)"
: > paths.txt
while read -r c; do
    ovfkit "$c" --help > h.txt || fail "'ovfkit $c --help' failed"
    if grep -q '^commands:' h.txt; then
        sed -n '/^commands:/,/^$/p' h.txt | awk 'NF > 1 { print $1 }' |
            sed "s/^/$c /" >> paths.txt
    else
        echo "$c" >> paths.txt
    fi
done < cmds.txt
[ "$(wc -l < paths.txt)" -ge 38 ] || fail "commands found: $(cat paths.txt)"
# and no help for a command that is not there (a page left after a rename):
# each entry of the man page sources names a command or subcommand
grep -h '^## ' "$OVFK_SRCDIR"/doc/*.1.scd | sed 's/^## //' > entries.txt
[ "$(wc -l < entries.txt)" -ge 38 ] || fail "entries: $(cat entries.txt)"
while read -r e; do
    grep -qx "$e" paths.txt ||
        fail "doc/ has a help entry for 'ovfkit $e', which ovfkit does not have"
done < entries.txt

# each has its help: usage, options, an example; `help X Y` == `X Y --help`
i=0
while read -r p; do
    i=$((i + 1))
    # shellcheck disable=SC2086
    ovfkit help --options $p > "opts.$i" 2> /dev/null ||
        fail "no help entry for '$p' (a '## $p' section in doc/ovfkit-*.1.scd)"
    ovfkit help $p > "help.$i" || fail "'ovfkit help $p' failed"
    ovfkit $p --help > h.txt || fail "'ovfkit $p --help' failed"
    cmp -s h.txt "help.$i" || fail "'ovfkit $p --help' is not 'ovfkit help $p'"
    head -1 "help.$i" | grep -q "^usage: ovfkit.*$(echo "$p" | sed 's/.* //')" ||
        fail "'ovfkit help $p' starts: $(head -1 "help.$i")"
    grep -A1 '^example' "help.$i" | grep -q '^  .*ovfkit ' ||
        fail "'ovfkit help $p' has no example"
    dump "$i" $p
    printf '%s\t%s\n' "$i" "$p" >> index.txt
done < paths.txt
dump global
ovfkit help --options > opts.global

# every option of every table in its commands' help; the global table in
# ovfkit's; each option there described on its line
"$PY" - <<'PYEOF' || fail "options without help (above)"
import collections, sys

def read_dump(name):
    sites, cur = collections.OrderedDict(), None
    for line in open(name + ".opts"):
        kind, val = line.split()
        if kind == "site":
            cur = sites.setdefault(val, set())
        elif val not in ("-h", "--help"):
            cur.add(val)
    return sites

def documented(name):
    return {l.split("\t")[0] for l in open("opts." + name) if l.strip()}

glob = read_dump("global")
paths = dict(l.rstrip("\n").split("\t") for l in open("index.txt"))
bad, by_site = [], collections.defaultdict(lambda: (set(), []))
for i, p in paths.items():
    for site, opts in read_dump(i).items():
        if site in glob:
            continue        # the global options, parsed before the command
        by_site[site][0].update(opts)
        by_site[site][1].append(i)
if len(by_site) < 12:
    bad.append("only %d option tables seen: the spy does not work" % len(by_site))
for site, (opts, users) in by_site.items():
    doc = set().union(*(documented(i) for i in users))
    for o in sorted(opts - doc):
        bad.append("%s: accepted by 'ovfkit %s' but in no help of %s" % (
            o, paths[users[0]], ", ".join("'%s'" % paths[i] for i in users)))
for site, opts in glob.items():
    for o in sorted(opts - documented("global")):
        bad.append("%s: a global option not in 'ovfkit --help'" % o)
print("%d commands, %d option tables checked" % (len(paths), len(by_site)))
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
PYEOF

# no help for what does not exist: a usage error that says so
expect_rc 64 ovfkit help no-such-command 2> err.txt
grep -q "no help for 'no-such-command'" err.txt || fail "help: $(cat err.txt)"
expect_rc 64 ovfkit help vhd no-such 2> err.txt
grep -q "'no-such' is not an 'ovfkit vhd' command" err.txt ||
    fail "help vhd no-such: $(cat err.txt)"
expect_rc 64 ovfkit help --options vhd no-such 2> err.txt
grep -q "no help for 'vhd no-such'" err.txt || fail "--options: $(cat err.txt)"
ovfkit help > help.txt
cmp -s help.txt top.txt || fail "'ovfkit help' is not 'ovfkit --help'"

# the exit-code table (made from ovfkit(1)'s EXIT STATUS) ends ovfkit
# --help; tests/cli/0162 compares its rows with README's, 0121 with the
# man page's
grep -q '^exit codes:' top.txt || fail "ovfkit --help has no exit codes"
for o in --json --progress=.*json -q --wait; do
    grep -q "^  .*$o" top.txt || fail "global option $o not in ovfkit --help"
done

# sysprep's help names each operation the library runs
ovfkit help sysprep > sp.txt
for op in $(sed -n 's/.*{ \.name = "\([a-z-]*\)", \.fn = op_.*/\1/p' \
            "$OVFK_SRCDIR/sysprep/identity.c"); do
    grep -q -- "$op" sp.txt || fail "sysprep's help does not name '$op'"
done
grep -q machine-id sp.txt || fail "no sysprep operations found"

# the generator refuses a command documented by halves: no example, an
# option described on two lines, no synopsis
page() { printf 'x(1)\n\n# COMMANDS\n\n## x\n\n%s\n' "$1" > bad.1.scd; }
gen() { "$PY" "$OVFK_SRCDIR/scripts/scd2help.py" bad.1.scd > /dev/null; }
page '*ovfkit x* _A_

Do x.

*--y*
	why
'
expect_err "entry 'x' has no example" gen
page '*ovfkit x* _A_

*--y*
	why
	and more

Example:

```
ovfkit x a
```
'
expect_err "'--y' is described on 2 lines" gen
page 'Do x.

Example:

```
ovfkit x a
```
'
expect_err "the first paragraph is not its synopsis" gen
page '*ovfkit x* _A_

*--y* _N_
	why

Example:

```
ovfkit x a
```
'
gen > /dev/null || fail "a good entry was refused"

# On a terminal (script(1) gives the command a pseudo-terminal) export,
# vhd convert and ova unpack draw a bar on stderr: redrawn in place with
# \r, bytes done and total, a rate and the time left, each line no wider
# than the terminal; the same command on a pipe draws nothing; -q and
# --progress=none silence the bar, --progress=bar draws it on a pipe.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need script util-linux
export OVFKIT_ACCEL=tcg
# redraw at every report of the library: several frames, not one
export OVFKIT_PROGRESS_EVERY=0
S=$T/store
o() { ovfkit --store "$S" "$@"; }
o net add lan
o vm create web --memory 256 --disk 24M --nic lan --nic lan > /dev/null
d1=$(o --json vm show web | json 'd["disks"][0]["path"]')
head -c 9M /dev/urandom | ovfkit vhd write "$d1" 1M

# tty CMD: run CMD on a 60-column terminal; what it wrote is in tty.txt
tty() {
    script -qec "stty cols 60 rows 20; $*" tty.txt > /dev/null ||
        fail "'$*' failed on a terminal: $(cat tty.txt)"
}
# frames FILE: the bar frames the command drew, one a line, without the
# clear-to-end-of-line that follows each
frames() { "$PY" -c "
import re, sys
t = open(sys.argv[1], 'rb').read().decode('utf-8', 'replace')
for f in t.split('\r'):
    f = f.replace('\x1b[K', '').strip('\n')
    if '/s ' in f and 'ETA' in f:
        print(f)
" "$1"; }
check_bar() { # check_bar PHASE
    frames tty.txt > frames.txt
    [ "$(wc -l < frames.txt)" -ge 3 ] || fail "no bar redrawn in place: $(od -c tty.txt | head)"
    grep -q "^$1 " frames.txt || fail "no '$1' phase: $(cat frames.txt)"
    grep -Eq " [0-9]+ (KiB|MiB|GiB)/s " frames.txt || fail "no rate: $(cat frames.txt)"
    grep -Eq "ETA [0-9]+:[0-9]{2}$" frames.txt || fail "no time left: $(cat frames.txt)"
    grep -Eq "100% [0-9]+ MiB/[0-9]+ MiB" frames.txt || fail "no done/total at the end: $(cat frames.txt)"
    awk 'length($0) > 59 { exit 1 }' frames.txt || fail "a frame wider than the terminal: $(cat frames.txt)"
}
tty "$OVFKIT --store $S export web --to web.ova"
check_bar exporting
grep -q "exported 'web'" tty.txt || fail "the result line is missing: $(cat tty.txt)"
tty "$OVFKIT vhd convert --type raw $d1 d1.raw"
check_bar converting
tty "$OVFKIT ova unpack web.ova un"
frames tty.txt | grep -q "^unpacking " || fail "no unpack bar: $(cat tty.txt)"

# a pipe: no bar; -q and --progress=none on a terminal: no bar either
o export web --to web2.ova 2> err.txt
! grep -q "$(printf '\r')" err.txt || fail "a bar on a pipe: $(od -c err.txt | head)"
[ ! -s err.txt ] || fail "stderr on a pipe: $(cat err.txt)"
for quiet in -q --progress=none; do
    rm -f web3.ova
    tty "$OVFKIT $quiet --store $S export web --to web3.ova"
    [ -z "$(frames tty.txt)" ] || fail "$quiet drew a bar: $(cat tty.txt)"
done
# asked for: a bar on a pipe
o --progress=bar export web --to web4.ova 2> err.txt
frames err.txt | grep -q "^exporting .*100%" || fail "--progress=bar on a pipe: $(cat err.txt)"

# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/cli/snap.sh - the snapshot tests' VM (after lib.sh): "web" in the
# dir store $T/st with one 8 MiB disk and snapshots A, B, C, each state
# kept as a raw reference (ref-A.raw ... ref-now.raw), and verify, which
# checks every remaining snapshot and the current state against them.

k() { ovfkit --store "$T/st" "$@"; }
cur() { k --json vm show web | json 'd["disks"][0]["path"]'; }
snapfile() {
    k snapshot list web --json |
        json "[s for s in d['snapshots'] if s['name'] == '$1'][0]['disks'][0]['file']"
}
names() { k snapshot list web --json | json "' '.join(s['name'] for s in d['snapshots'])"; }
raw_of() { rm -f "$2"; ovfkit vhd convert --type raw "$1" "$2"; }
wr() { ovfkit vhd write "$(cur)" "$@"; }

# base (A) <- d1 (B) <- d2 (C) <- d3 (current): unaligned writes that cross
# 2 MiB blocks, zeros written over the parent's data, a far block
build() {
    rm -rf st ref-*.raw
    k vm create web --disk 8M > /dev/null
    head -c 3M /dev/urandom | wr 0
    raw_of "$(cur)" ref-A.raw
    k snapshot create web --name A --description "first" > /dev/null
    head -c 2500000 /dev/urandom | wr 1500001
    raw_of "$(cur)" ref-B.raw
    k snapshot create web --name B > /dev/null
    head -c 700000 /dev/zero | wr 100
    head -c 1M /dev/urandom | wr 7M
    raw_of "$(cur)" ref-C.raw
    k snapshot create web --name C > /dev/null
    head -c 4097 /dev/urandom | wr 4190000
    raw_of "$(cur)" ref-now.raw
    dir=$(dirname "$(cur)")
}

# how many snapshots the current state descends from
ancestors='
import json, sys
d = json.load(sys.stdin)
parent = {s["id"]: s["parent"] for s in d["snapshots"]}
n, p = 0, d["current"]["parent"]
while p is not None:
    n, p = n + 1, parent.get(p)
print(n)'

# verify_states LABEL: every snapshot listed and the current state read
# their references
verify_states() {
    for n in $(names); do
        f=$(snapfile "$n")
        ovfkit vhd compare "ref-$n.raw" "$f" > /dev/null || fail "$1: snapshot $n reads other data"
        vhdi_raw "$f" v.raw
        cmp -s v.raw "ref-$n.raw" || fail "$1: libvhdi reads snapshot $n differently"
    done
    c=$(cur)
    ovfkit vhd compare ref-now.raw "$c" > /dev/null || fail "$1: the current state changed"
    vhdi_raw "$c" v.raw
    cmp -s v.raw ref-now.raw || fail "$1: libvhdi reads the current state differently"
    # clean (0), or, while a merge cut off is left for the next write to
    # complete, exit 3 with that merge as the only finding (merge.c NOTES 8)
    set +e
    ovfkit vhd check "$c" > check.out 2>&1
    rc=$?
    set -e
    if [ $rc -eq 3 ] && ls -a "$dir" | grep -q 'merge\.json$'; then
        ! grep -v "^merge: the merge of .* is unfinished" check.out | grep -q . ||
            fail "$1: check of the current chain: $(cat check.out)"
    else
        [ $rc -eq 0 ] || fail "$1: check of the current chain: $(cat check.out)"
    fi
}

# verify LABEL [KEPT]: verify_states, and the files are exactly one per
# snapshot, the current delta and KEPT branch points; no journal left
verify() {
    verify_states "$1"
    c=$(cur)
    # one file per snapshot plus the current delta (plus $2 branch points
    # kept without a record); no journal left
    want=$(( $(names | wc -w) + 1 + ${2:-0} ))
    got=$(ls "$dir" | grep -c '\.vhd$')
    [ "$got" -eq "$want" ] || fail "$1: $got disk files, expected $want: $(ls -a "$dir")"
    ! ls -a "$dir" | grep -q 'merge.json' || fail "$1: a merge journal was left"
    # the current chain: one file per snapshot the current state descends from
    depth=$(k snapshot list web --json | "$PY" -c "$ancestors")
    len=$(ovfkit --json vhd chain "$c" | json 'len(d)')
    [ "$len" -eq $((depth + 1 + ${2:-0})) ] || fail "$1: chain of $len files, expected $((depth + 1 + ${2:-0}))"
}


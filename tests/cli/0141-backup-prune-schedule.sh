# `ovfkit backup prune` keeps exactly what Proxmox Backup Server's rules
# keep: 40 points over three months across a new year (fake clock
# OVFKIT_NOW, several points on some days, ISO weeks), keep-daily 7,
# keep-weekly 4, keep-monthly 3.  The expected set is computed here in
# Python from PBS's documented rules ("Maintenance Tasks: Pruning": the
# options in order, newest first, each covering only the points the
# earlier ones have not, the newest point of each period, periods without
# points not counted).  --dry-run changes nothing; the prune merges the
# pruned points into the kept ones, and every kept point still reads,
# exports and restores exactly the disk the VM had then.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/bk.sh"
"$PY" -c "import pyvhdi, jsonschema" 2>/dev/null ||
    skip "needs python3-libvhdi and python3-jsonschema"
export TZ=UTC

# 40 times from 2026-10-20 to 2027-01-19: irregular, some days twice
"$PY" - > times.txt <<'PYEOF'
import random
from datetime import datetime, timedelta, timezone
rnd = random.Random(15)
t = datetime(2026, 10, 20, 1, 0, tzinfo=timezone.utc)
out = []
while len(out) < 40:
    out.append(int(t.timestamp()))
    # mostly a day or two, sometimes the same day, sometimes a week gap
    t += rnd.choice([timedelta(hours=5), timedelta(days=1, hours=3),
                     timedelta(days=2), timedelta(days=2, hours=7),
                     timedelta(days=5)])
print("\n".join(map(str, out)))
PYEOF
[ "$(wc -l < times.txt)" -eq 40 ] || fail "schedule"

make_vm 8M 7
i=0
for t in $(cat times.txt); do
    poke $(( (i * 1237 % 2048) * 4096 ))
    OVFKIT_NOW=$t k backup web --repo "$R" --json 2> err.txt | doc > b.json ||
        fail "backup $i: $(cat err.txt)"
    id=$(json 'd["id"]' < b.json)
    echo "$id $(sha model.raw)" >> refs.txt
    i=$((i + 1))
done
k backup list --repo "$R" --json | doc > before.json
[ "$(json 'len(d["points"])' < before.json)" -eq 40 ] || fail "40 points expected"
[ "$(json 'sum(p["kind"] == "full" for p in d["points"])' < before.json)" -eq 1 ] ||
    fail "more than one full point: $(k backup list --repo "$R")"

# what PBS keeps, computed from its documentation
"$PY" - times.txt > expected.txt <<'PYEOF'
import sys
from datetime import datetime, timezone
times = sorted((int(x) for x in open(sys.argv[1])), reverse=True)
def period(kind, t):
    d = datetime.fromtimestamp(t, timezone.utc)
    if kind == "daily":
        return (d.year, d.month, d.day)
    if kind == "weekly":
        y, w, _ = d.isocalendar()       # ISO 8601 week, Monday first
        return (y, w)
    return (d.year, d.month)            # monthly
mark = {}
for kind, n in (("daily", 7), ("weekly", 4), ("monthly", 3)):
    covered = {period(kind, t) for t in times if mark.get(t) == "keep"}
    kept = []
    for t in times:
        if t in mark or period(kind, t) in covered:
            continue
        if period(kind, t) in kept:
            mark[t] = "remove"          # an older point of a kept period
            continue
        if len(kept) == n:
            break
        kept.append(period(kind, t))
        mark[t] = "keep"
for t in sorted(t for t in times if mark.get(t) == "keep"):
    print(datetime.fromtimestamp(t, timezone.utc).strftime("%Y%m%dT%H%M%SZ"))
PYEOF
nkeep=$(wc -l < expected.txt)
[ "$nkeep" -ge 10 ] && [ "$nkeep" -le 14 ] || fail "expected set of $nkeep: $(cat expected.txt)"

# the dry run: the same set, nothing touched
k backup prune --repo "$R" web --keep-daily 7 --keep-weekly 4 --keep-monthly 3 \
    --dry-run --json | doc > dry.json
schema backup-prune dry.json
json '"\n".join(sorted(p["id"] for p in d["points"] if p["keep"]))' < dry.json > got.txt
cmp -s got.txt expected.txt || fail "dry run keeps $(cat got.txt | tr '\n' ' '), PBS keeps $(cat expected.txt | tr '\n' ' ')"
json 'all((p["action"] is None) == p["keep"] for p in d["points"])' < dry.json | grep -qx True ||
    fail "a kept point with an action, or a pruned one without: $(cat dry.json)"
k backup list --repo "$R" --json | doc > after-dry.json
cmp -s before.json after-dry.json || fail "--dry-run changed the repository"
k backup prune --repo "$R" web --keep-daily 7 --keep-weekly 4 --keep-monthly 3 \
    --dry-run | grep -q "^space: needs" || fail "the dry run prints no space plan"

# the prune
k backup prune --repo "$R" web --keep-daily 7 --keep-weekly 4 --keep-monthly 3 \
    --json | doc > prune.json
schema backup-prune prune.json
k backup list --repo "$R" --json | doc > after.json
json '"\n".join(p["id"] for p in d["points"])' < after.json > got.txt
cmp -s got.txt expected.txt || fail "after the prune: $(cat got.txt | tr '\n' ' ')"
# one chain: the oldest kept point is full, each other builds on the one before
"$PY" - after.json <<'PYEOF' || fail "the chain after the prune: $(k backup list --repo "$R")"
import json, sys
p = json.load(open(sys.argv[1]))["points"]
assert p[0]["kind"] == "full" and p[0]["parent"] is None, p[0]
for a, b in zip(p, p[1:]):
    assert b["kind"] == "incremental" and b["parent"] == a["id"], (a, b)
PYEOF
[ "$(ls "$R"/*/ | wc -l)" -eq "$nkeep" ] || fail "directories left: $(ls -a "$R"/*/)"
! ls -a "$R"/*/ | grep -q '^\.\(tmp\|del\|prune\)' || fail "leftovers: $(ls -a "$R"/*/)"

# every kept point reads its own state (libvhdi), the oldest and newest
# also through export and restore
for id in $(cat expected.txt); do
    want=$(grep "^$id " refs.txt | cut -d' ' -f2)
    chain_raw "$(point_file "$id")" pt.raw
    [ "$(sha pt.raw)" = "$want" ] || fail "kept point $id reads other data"
done
for id in $(head -1 expected.txt) $(tail -1 expected.txt); do
    want=$(grep "^$id " refs.txt | cut -d' ' -f2)
    rm -rf ex
    k backup export web "$id" --repo "$R" --to ex > /dev/null
    vhdi_raw ex/web-disk1.vhd ex.raw
    [ "$(sha ex.raw)" = "$want" ] || fail "export of kept point $id differs"
done
k backup restore web "$(head -1 expected.txt)" --repo "$R" --as-new --name old > /dev/null
vhdi_raw "$(cur old)" r.raw
[ "$(sha r.raw)" = "$(grep "^$(head -1 expected.txt) " refs.txt | cut -d' ' -f2)" ] ||
    fail "restore of the oldest kept point differs"
k backup verify --repo "$R" > /dev/null || fail "verify after the prune"
# the VM's anchor still names the newest point: the next one is incremental
OVFKIT_NOW=$(( $(tail -1 times.txt) + 86400 )) k backup web --repo "$R" --json | doc > b.json
[ "$(json 'd["kind"]' < b.json)" = incremental ] || fail "after the prune: $(cat b.json)"
echo "ok: prune kept PBS's $nkeep of 40, each reads its state"

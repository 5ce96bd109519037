# Every command that `ovfkit --help` and each group's --help list has a
# JSON Schema for its --json document, data/json-schema/<group>-<command>
# .json (or <command>.json), a valid draft-7 schema whose $id names its
# file: adding a command without one fails here.  And the schemas are
# strict: a document with a misspelt key or a wrong type is refused.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
"$PY" -c "import jsonschema" 2>/dev/null || skip "needs python3-jsonschema"
SCHEMAS=$OVFK_SRCDIR/data/json-schema
# commands with no result to describe (help prints text by definition)
NONE=" help "

# the names of a dispatch table's commands, from its help
names() { sed -n '/^commands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p'; }
ovfkit --help | names > top.txt
[ "$(wc -l < top.txt)" -ge 10 ] || fail "cannot read the command table: $(cat top.txt)"
: > leaves.txt
for c in $(cat top.txt); do
    case $NONE in *" $c "*) continue ;; esac
    # a group answers --help with its own table
    if ovfkit "$c" --help 2>/dev/null | grep -q "^usage: ovfkit $c <command>"; then
        for s in $(ovfkit "$c" --help | names); do
            echo "$c-$s" >> leaves.txt
        done
    else
        echo "$c" >> leaves.txt
    fi
done
grep -qx vhd-info leaves.txt && grep -qx export leaves.txt && grep -qx snapshot-delete leaves.txt ||
    fail "command list incomplete: $(cat leaves.txt)"
missing=""
for l in $(cat leaves.txt); do
    [ -f "$SCHEMAS/$l.json" ] || missing="$missing $l"
done
[ -z "$missing" ] || fail "commands without a schema in data/json-schema:$missing"

"$PY" - "$SCHEMAS" <<'PYEOF' || fail "schemas"
import json, os, sys, jsonschema
d = sys.argv[1]
for fn in sorted(os.listdir(d)):
    s = json.load(open(os.path.join(d, fn)))
    jsonschema.Draft7Validator.check_schema(s)
    assert s.get("$schema") == "http://json-schema.org/draft-07/schema#", fn
    assert s.get("$id", "").endswith("/" + fn), (fn, s.get("$id"))
    assert s.get("title"), fn
PYEOF

# strict: a real document passes, then each mutation is refused
ovfkit vhd create a.vhd 4M
ovfkit --json vhd info a.vhd > docs_ok.json
mkdir docs
cp docs_ok.json "docs/vhd-info@ok.json"
"$PY" "$OVFK_SRCDIR/tests/cli/jsondoc.py" docs "$SCHEMAS" docs > /dev/null ||
    fail "a real vhd info document refused"
mutate() { # mutate PYTHON-STATEMENT-ON-d
    rm -f docs/*
    "$PY" -c "import json,sys; d=json.load(open('docs_ok.json')); $1; json.dump(d, open('docs/vhd-info@bad.json','w'))"
    if "$PY" "$OVFK_SRCDIR/tests/cli/jsondoc.py" docs "$SCHEMAS" docs > out.txt 2>&1; then
        fail "the schema accepts a document with: $1"
    fi
    grep -q "vhd-info@bad.json" out.txt || fail "no message naming the document: $(cat out.txt)"
}
mutate 'd["virtual_sise"] = 1'
mutate 'd["virtual_size"] = "4M"'
mutate 'del d["uuid"]'
mutate 'd["type"] = "sparse"'
mutate 'd["uuid"] = "not-a-uuid"'

# make install puts them in DATADIR/json-schema (the staged install that
# make check builds for the examples)
stage=$OVFK_BUILD/stage/share/ovfkit/json-schema
# (make check stages it anew when a schema changed; a stage older than
# the schemas is a build not yet redone, not a fault of the install)
if [ -d "$OVFK_BUILD/stage" ] &&
   [ -z "$(find "$SCHEMAS" -newer "$OVFK_BUILD/stage/.installed")" ]; then
    for s in "$SCHEMAS"/*.json; do
        cmp -s "$s" "$stage/$(basename "$s")" ||
            fail "make install did not install $(basename "$s") in $stage"
    done
fi

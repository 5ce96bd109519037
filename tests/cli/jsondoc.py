# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/cli/jsondoc.py - check ovfkit's JSON output against the schemas of
# data/json-schema with python3-jsonschema (an oracle that is not ours).
#
#   jsondoc.py docs SCHEMADIR DOCDIR
#       every DOCDIR/NAME@TAG.json is valid against SCHEMADIR/NAME.json
#       (cross-file "$ref"s resolve next to the schema); prints one line
#       per schema with how many documents it checked
#   jsondoc.py stream SCHEMADIR FILE RESULT-SCHEMA
#       FILE is what one command printed on stdout with --progress=json
#       --json: progress events (progress-event.json), each step's done
#       never going back and its last event final and at its total, then
#       exactly one result document, valid against RESULT-SCHEMA, last
import json
import os
import sys

import jsonschema


def store(schemadir):
    """every schema of the directory by its $id: "$ref"s between them
    resolve here, never over the network"""
    out = {}
    for fn in os.listdir(schemadir):
        if fn.endswith(".json"):
            with open(os.path.join(schemadir, fn)) as f:
                s = json.load(f)
            if "$id" not in s:
                sys.exit("%s: no $id" % fn)
            out[s["$id"]] = s
    return out


def validator(schemadir, name):
    path = os.path.join(schemadir, name + ".json")
    with open(path) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    resolver = jsonschema.RefResolver.from_schema(schema,
                                                  store=store(schemadir))
    return cls(schema, resolver=resolver,
               format_checker=jsonschema.FormatChecker())


def check(v, doc, what):
    errs = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    if errs:
        e = errs[0]
        sys.exit("%s: %s at /%s" % (what, e.message,
                                    "/".join(str(p) for p in e.path)))


def docs(schemadir, docdir):
    seen = {}
    for fn in sorted(os.listdir(docdir)):
        if not fn.endswith(".json") or "@" not in fn:
            continue
        name = fn.split("@")[0]
        with open(os.path.join(docdir, fn)) as f:
            text = f.read()
        try:
            doc = json.loads(text)
        except ValueError as e:
            sys.exit("%s: not one JSON document: %s" % (fn, e))
        check(validator(schemadir, name), doc, fn)
        seen[name] = seen.get(name, 0) + 1
    for name in sorted(seen):
        print("%-20s %d document(s) valid" % (name, seen[name]))


def stream(schemadir, path, result):
    ev = validator(schemadir, "progress-event")
    rv = validator(schemadir, result)
    with open(path) as f:
        lines = f.read().splitlines()
    if not lines:
        sys.exit("%s: empty" % path)
    objs = []
    for n, line in enumerate(lines, 1):
        try:
            objs.append(json.loads(line))
        except ValueError as e:
            sys.exit("%s:%d: not a JSON line (%s): %r" % (path, n, e, line))
    *events, res = objs
    if not events:
        sys.exit("%s: no progress event before the result" % path)
    check(rv, res, "%s: result" % path)
    last = None
    finals = 0
    for n, e in enumerate(events, 1):
        check(ev, e, "%s: event %d" % (path, n))
        key = (e["phase"], e["step"])
        if last and last["final"] is False and (last["phase"],
                                                last["step"]) != key:
            sys.exit("%s: event %d starts %s before %s ended" %
                     (path, n, key, (last["phase"], last["step"])))
        if last and (last["phase"], last["step"]) == key:
            if last["final"]:
                sys.exit("%s: event %d after the final one of %s" %
                         (path, n, key))
            if e["done"] < last["done"]:
                sys.exit("%s: event %d goes back: %d after %d" %
                         (path, n, e["done"], last["done"]))
            if e["elapsed"] < last["elapsed"]:
                sys.exit("%s: event %d: time goes back" % (path, n))
        if e["final"]:
            finals += 1
            if e["done"] != e["total"]:
                sys.exit("%s: step %s ends at %d of %d" %
                         (path, key, e["done"], e["total"]))
        last = e
    if not last["final"]:
        sys.exit("%s: the last event is not final" % path)
    print("%d events, %d step(s), result valid" % (len(events), finals))


if __name__ == "__main__":
    if sys.argv[1] == "docs":
        docs(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "stream":
        stream(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: jsondoc.py docs|stream ...")

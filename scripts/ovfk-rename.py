#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""scripts/ovfk-rename.py - move C code onto libovfkit's one-prefix API.

    scripts/ovfk-rename.py [DIR|FILE...]     rewrite in place (default: .)
    scripts/ovfk-rename.py --list            print the table, old -> new

Until 0.1 the public API had seven prefixes (vhd_, hv_, ovf_, ova_, snap_,
sysprep_, ovfk_), and vhd_open/vhd_close collided with Xen's libvhd, which
backup products on Xen hosts link beside us.  Every public name now starts
with ovfk_ (functions, types, struct and enum tags) or OVFK_ (macros, enum
constants), the module after it: vhd_open -> ovfk_vhd_open, VHD_TYPE_FIXED
-> OVFK_VHD_TYPE_FIXED.  Handles are named after their module: vhd_t ->
ovfk_vhd, sysprep_t -> ovfk_sysprep, hv_conn -> ovfk_hv_conn.

A program written against the old names is moved with this script (it is
what moved ovfkit itself).  The table is fixed below rather than read from
the headers, so the script keeps working after the headers changed and can
be run again on code that already uses the new names (it changes nothing
there: a whole identifier is matched, and ovfk_vhd_open does not contain
the identifier vhd_open).  The table is scripts/ovfk-rename.tsv.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE_FILE = os.path.join(ROOT, "scripts", "ovfk-rename.tsv")
EXTS = (".c", ".h", ".md", ".sh", ".py", ".map", ".in", ".txt", ".scd")
SKIP_DIRS = {".git", "build", "testdata"}


def load_table():
    """Identifiers (replaced as whole words) and struct/enum tags (only
    after "struct "/"enum ": "vhd" and "snap" are everyday variable names).
    """
    names, tags = {}, {}
    with open(TABLE_FILE) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            old, new = line.split("\t")
            if old.startswith("struct "):
                tags[old.split()[1]] = new.split()[1]
            else:
                names[old] = new
    return names, tags


def rewrite(text, names, tags, word_re, tag_re):
    text = tag_re.sub(lambda m: m.group(1) + tags[m.group(2)], text)
    return word_re.sub(lambda m: names[m.group(0)], text)


def files(args):
    for a in args:
        if os.path.isfile(a):
            yield a
            continue
        for top, dirs, fs in os.walk(a):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
            for f in fs:
                if f.endswith(EXTS) and f != os.path.basename(TABLE_FILE):
                    yield os.path.join(top, f)


def main():
    names, tags = load_table()
    if sys.argv[1:] == ["--list"]:
        for old in sorted(names):
            print(old, "->", names[old])
        for t in sorted(tags):
            print("struct/enum", t, "->", tags[t])
        return 0
    word_re = re.compile(r"\b(?:%s)\b" % "|".join(
        re.escape(n) for n in sorted(names, key=len, reverse=True)))
    tag_re = re.compile(r"\b((?:struct|enum|union)\s+)(%s)\b" % "|".join(
        re.escape(t) for t in sorted(tags, key=len, reverse=True)))
    me = os.path.abspath(__file__)
    changed = 0
    for path in files(sys.argv[1:] or ["."]):
        if os.path.abspath(path) == me:
            continue
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        out = rewrite(text, names, tags, word_re, tag_re)
        if out != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(out)
            changed += 1
    print("%d files changed" % changed, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

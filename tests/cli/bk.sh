# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/cli/bk.sh - the backup tests' helpers (after lib.sh): a dir-store
# VM "web" whose disk comes from ../shared/bench/mkdisk (model.raw), writes
# made by mkdisk --mutate on model.raw and replayed into the VM through
# `ovfkit vhd write`, so model.raw is always what the VM's disk must read
# (an oracle that is not ovfkit), and an independent reader of repository
# chains (libvhdi through Python).

MKDISK=$SHARED/bench/mkdisk
[ -x "$MKDISK" ] || skip "needs $MKDISK (../shared beside the source)"
R=$T/repo
k() { ovfkit --store "$T/st" "$@"; }
# the VM's first disk (sed, not Python: the tests call it often)
cur() {
    k --json vm show "${1:-web}" | sed -n 's/^ *"path": "\(.*\)",$/\1/p' | head -1
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
# doc: a --json run's stdout without its progress events (one line each)
doc() { grep -v '^{"' || true; }

# make_vm SIZE SEED: the VM "web" with one disk holding mkdisk's image
make_vm() {
    "$MKDISK" model.raw "$1" --seed "$2" > /dev/null
    k vm create web --memory 256 --disk model.raw -f raw > /dev/null
}

# mutate SEED PERCENT: mkdisk rewrites PERCENT of model.raw's 64 KiB
# pieces; the same pieces go into the VM's current delta through ovfkit
mutate() {
    offs=$("$MKDISK" --mutate model.raw --percent "$2" --seed "$1" --list)
    "$MKDISK" --mutate model.raw --percent "$2" --seed "$1" > /dev/null
    c=$(cur)
    for off in $offs; do
        dd if=model.raw bs=64K skip=$((off / 65536)) count=1 status=none |
            ovfkit vhd write "$c" "$off" 65536
    done
}

# poke OFFSET: 4 KiB of new random bytes at OFFSET, into model.raw and
# into the VM through ovfkit (a cheap write for tests that take many points)
poke() {
    head -c 4096 /dev/urandom > piece
    dd if=piece of=model.raw bs=4096 seek=$(($1 / 4096)) conv=notrunc status=none
    ovfkit vhd write "$(cur)" "$1" 4096 < piece
}

# chain_raw VHD OUT: libvhdi alone reads a repository point's disk: each
# parent is looked for among the sibling point directories by the parent
# name the child records, and must carry the identifier the child records
chain_raw() {
    "$PY" - "$1" "$2" <<'PYEOF'
import os, sys, pyvhdi
def ident(path):
    f = pyvhdi.file(); f.open(path)
    try:
        return f.get_identifier()
    finally:
        f.close()
def open_chain(path, keep):
    f = pyvhdi.file(); f.open(path); keep.append(f)
    if f.get_disk_type() == 4:      # differencing
        name = os.path.basename(f.get_parent_filename().replace("\\", "/"))
        vmdir = os.path.dirname(os.path.dirname(os.path.abspath(path)))
        found = [os.path.join(vmdir, d, name) for d in sorted(os.listdir(vmdir))
                 if os.path.isfile(os.path.join(vmdir, d, name))
                 and os.path.join(vmdir, d, name) != os.path.abspath(path)
                 and ident(os.path.join(vmdir, d, name)) == f.get_parent_identifier()]
        if len(found) != 1:
            sys.exit("%s: %d parents with identifier %s" % (path, len(found),
                                                          f.get_parent_identifier()))
        f.set_parent(open_chain(found[0], keep))
    return f
keep = []
f = open_chain(sys.argv[1], keep)
with open(sys.argv[2], "wb") as out:
    size, off = f.get_media_size(), 0
    while off < size:
        n = min(1 << 20, size - off)
        out.write(f.read_buffer_at_offset(n, off)); off += n
PYEOF
}

# point_file ID: the first disk of point ID (any VM)
point_file() {
    ovfkit backup list --repo "$R" --json |
        json "[p['package'] for p in d['points'] if p['id'] == '$1'][0]" |
        sed 's|/[^/]*\.ovf$||' | { read -r d; ls "$d"/*.vhd | head -1; }
}

# schema NAME FILE: FILE is valid against data/json-schema/NAME.json
# (python3-jsonschema: not our code)
schema() {
    "$PY" - "$OVFK_SRCDIR/data/json-schema/$1.json" "$2" <<'PYEOF' ||
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))
PYEOF
    fail "$2 does not follow data/json-schema/$1.json"
}

# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/cli/scenario.py - the checks of the scenario suite (scenario.sh),
# run after every step against every driver.  What it reads it reads
# through oracles independent of ovfkit where they exist: disk contents and
# virtual sizes through qemu-img (fixed and dynamic VHDs) or libvhdi
# (pyvhdi, for differencing chains, which qemu cannot read), definitions as
# the hypervisor keeps them (the dir store's vm.json, the Xen .cfg file,
# `virsh dumpxml --inactive`).
#
#   scenario.py expect NAME REF.raw...   NAME's disks must have these
#                                        capacities and contents (raw files)
#   scenario.py expect NEW --as OLD      NEW's disks are expected as OLD's
#   scenario.py check STEP [--new A,B] [--changed A,B] [--replaced A,B]
#                          [--gone A,B]
#       every VM of ours (the name prefix) not named is as the last check
#       saw it (definition and disk bytes hashed); the named ones appeared,
#       changed (allowed to), were replaced (no disk file they named before
#       and name no more is left) or are gone with their disk files; MACs,
#       UUIDs and disk files are unique across the whole inventory; each disk's
#       capacity (vm show, and the image's own virtual size) and contents
#       are what `expect` said
#   scenario.py package PKG NAME         an exported OVF/OVA describes NAME
#                                        as the last check saw it: its MACs,
#                                        the declared capacities and the
#                                        contents of its VHDs
#
# Environment: SCEN_OVFKIT SCEN_CONN (the connection options, split on
# blanks) SCEN_DRIVER (dir, xen, libvirt) SCEN_PREFIX SCEN_WHERE (store
# directory, Xen directory or libvirt URI) SCEN_STATE (a directory).
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET

import pyvhdi

ENV = os.environ
DRIVER = ENV["SCEN_DRIVER"]
PREFIX = ENV["SCEN_PREFIX"]
WHERE = ENV["SCEN_WHERE"]
STATE = ENV["SCEN_STATE"]
OVFKIT = [ENV["SCEN_OVFKIT"]] + ENV["SCEN_CONN"].split()
VHD_DIFFERENCING = 4

errors = []


def bad(msg):
    errors.append(msg)


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("'%s' exited %d: %s" % (" ".join(cmd), p.returncode,
                                                   p.stderr.decode().strip()))
    return p.stdout


def sha(data):
    return hashlib.sha256(data).hexdigest()


def load(name, default):
    try:
        with open(os.path.join(STATE, name)) as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def save(name, obj):
    path = os.path.join(STATE, name)
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
    os.rename(path + ".tmp", path)


def hash_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest(), os.path.getsize(path)


def open_chain(path, keep):
    f = pyvhdi.file()
    f.open(path)
    keep.append(f)
    if f.get_disk_type() == VHD_DIFFERENCING:
        name = f.get_parent_filename().replace("\\", "/")
        parent = os.path.join(os.path.dirname(path), os.path.basename(name))
        p = open_chain(parent, keep)
        if p.get_identifier() != f.get_parent_identifier():
            raise RuntimeError("%s: parent identifier mismatch" % path)
        f.set_parent(p)
    return f


def read_image(path, fmt):
    """(sha256 of the guest-visible bytes, virtual size, how it was read)"""
    if fmt == "vhd":
        keep = []
        try:
            top = open_chain(path, keep)
        except (IOError, OSError, RuntimeError) as e:
            raise RuntimeError("libvhdi cannot open '%s': %s" % (path, e))
        if top.get_disk_type() == VHD_DIFFERENCING:
            h, size, off = hashlib.sha256(), top.get_media_size(), 0
            while off < size:
                n = min(1 << 20, size - off)
                h.update(top.read_buffer_at_offset(n, off))
                off += n
            return h.hexdigest(), size, "libvhdi (chain)"
        for f in keep:
            f.close()
    qfmt = {"vhd": "vpc", "raw": "raw"}.get(fmt, fmt)
    info = json.loads(run(["qemu-img", "info", "-U", "--output=json", "-f",
                           qfmt, path]))
    with tempfile.NamedTemporaryFile(dir=STATE) as tmp:
        run(["qemu-img", "convert", "-U", "-f", qfmt, "-O", "raw", path,
             tmp.name])
        digest, raw_size = hash_file(tmp.name)
    if raw_size != info["virtual-size"]:
        raise RuntimeError("qemu-img: '%s' converts to %d bytes, virtual "
                           "size %d" % (path, raw_size, info["virtual-size"]))
    return digest, info["virtual-size"], "qemu-img"


def native_definition(name, show):
    """The definition as the hypervisor keeps it, not as ovfkit shows it."""
    if DRIVER == "dir":
        path = os.path.join(WHERE, "vms", show["uuid"], "vm.json")
        with open(path, "rb") as f:
            return f.read()
    if DRIVER == "xen":
        found = []
        for e in sorted(os.listdir(WHERE)):
            p = os.path.join(WHERE, e)
            if os.path.isfile(p) and not e.startswith("."):
                with open(p, "rb") as f:
                    text = f.read()
                if re.search(rb'^name\s*=\s*"%s"\s*$' % name.encode(), text,
                             re.M):
                    found.append(text)
        if len(found) != 1:
            raise RuntimeError("%d Xen configuration files name '%s'"
                               % (len(found), name))
        return found[0]
    return run(["virsh", "-c", WHERE, "dumpxml", "--inactive", name])


def observe(name):
    show_text = run(OVFKIT + ["--json", "vm", "show", name])
    show = json.loads(show_text)
    vm = {
        "uuid": show.get("uuid"),
        "show": sha(json.dumps(show, sort_keys=True).encode()),
        "native": sha(native_definition(name, show)),
        "nets": [n.get("network") for n in show.get("nics", [])],
        "macs": [n.get("mac") for n in show.get("nics", [])],
        "disks": [],
        "view": show,
    }
    for d in show.get("disks", []):
        disk = {"path": d.get("path"), "shown_capacity": d.get("capacity")}
        if not d.get("path") or not os.path.exists(d["path"]):
            disk["missing"] = True
        else:
            try:
                disk["sha"], disk["size"], disk["reader"] = \
                    read_image(d["path"], d.get("format") or "raw")
            except RuntimeError as e:
                disk["unreadable"] = str(e)
        vm["disks"].append(disk)
    return vm


def names(arg):
    return [PREFIX + n if not n.startswith(PREFIX) else n
            for n in arg.split(",") if n]


def check_unique(inventory, step):
    """MACs, UUIDs and disk files, each once in the whole inventory (any
    pair that involves a VM of ours: other users' VMs share libvirtd)."""
    seen = {"MAC": {}, "UUID": {}, "disk file": {}}
    for vm in inventory:
        keys = [("UUID", (vm.get("uuid") or "").lower())]
        keys += [("MAC", (n.get("mac") or "").upper())
                 for n in vm.get("nics", [])]
        keys += [("disk file", os.path.realpath(d["path"]))
                 for d in vm.get("disks", []) if d.get("path")]
        for kind, key in keys:
            seen[kind].setdefault(key, []).append(vm["name"])
    for kind, table in seen.items():
        for key, owners in sorted(table.items()):
            if len(owners) > 1 and any(o.startswith(PREFIX) for o in owners):
                if len(set(owners)) == 1:
                    bad("%s %s appears %d times in VM '%s'"
                        % (kind, key, len(owners), owners[0]))
                else:
                    bad("%s %s is shared by VMs %s"
                        % (kind, key, ", ".join(sorted(owners))))


def check_expected(name, vm, expect):
    exp = expect.get(name)
    if exp is None:
        bad("VM '%s': the scenario states no expectation for it" % name)
        return
    if len(vm["disks"]) != len(exp):
        bad("VM '%s' has %d disks, expected %d" % (name, len(vm["disks"]),
                                                   len(exp)))
        return
    for i, (d, e) in enumerate(zip(vm["disks"], exp)):
        what = "VM '%s' disk %d ('%s')" % (name, i + 1, d["path"])
        if d["shown_capacity"] != e["capacity"]:
            bad("%s: vm show says capacity %s, expected %d"
                % (what, d["shown_capacity"], e["capacity"]))
        if d.get("missing"):
            bad("%s: the file does not exist" % what)
        elif d.get("unreadable"):
            bad("%s: %s" % (what, d["unreadable"]))
        else:
            if d["size"] != e["capacity"]:
                bad("%s: %s reads a virtual size of %d, expected %d"
                    % (what, d["reader"], d["size"], e["capacity"]))
            if d["sha"] != e["sha"]:
                bad("%s: contents differ from what the scenario wrote "
                    "(read by %s)" % (what, d["reader"]))


def diff_views(a, b):
    out = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            out.append("%s: %s -> %s" % (k, json.dumps(a.get(k),
                                                    sort_keys=True),
                                         json.dumps(b.get(k),
                                                    sort_keys=True)))
    return "; ".join(out)


def cmd_check(argv):
    step = argv[0]
    opts = {"--new": [], "--changed": [], "--gone": [], "--replaced": []}
    for i in range(1, len(argv), 2):
        opts[argv[i]] = names(argv[i + 1])
    prev = load("state.json", {})
    expect = load("expect.json", {})
    inventory = json.loads(run(OVFKIT + ["--json", "vm", "list"]))
    ours = sorted(v["name"] for v in inventory if v["name"].startswith(PREFIX))
    want = sorted((set(prev) - set(opts["--gone"])) | set(opts["--new"]))
    for n in sorted(set(want) - set(ours)):
        bad("VM '%s' is missing from the inventory" % n)
    for n in sorted(set(ours) - set(want)):
        bad("VM '%s' appeared in the inventory" % n)
    for n in opts["--new"]:
        if n in prev:
            bad("VM '%s' was already there" % n)
    now = {}
    for n in ours:
        try:
            now[n] = observe(n)
        except RuntimeError as e:
            bad("VM '%s': %s" % (n, e))
    for n, old in sorted(prev.items()):
        if n in opts["--gone"] or n in opts["--replaced"]:
            for d in old["disks"]:
                if d.get("path") and os.path.exists(d["path"]) and \
                   not any(os.path.realpath(x["path"]) ==
                           os.path.realpath(d["path"])
                           for v in now.values() for x in v["disks"]):
                    bad("VM '%s' is %s but its disk '%s' is left"
                        % (n, "gone" if n in opts["--gone"] else "replaced",
                           d["path"]))
            continue
        if n in opts["--changed"] or n not in now:
            continue
        cur = now[n]
        if cur["show"] != old["show"]:
            bad("VM '%s' changed (vm show): %s"
                % (n, diff_views(old["view"], cur["view"])))
        elif cur["native"] != old["native"]:
            bad("VM '%s': its %s definition changed" % (n, DRIVER))
        for i, (a, b) in enumerate(zip(old["disks"], cur["disks"])):
            if a == b:
                continue
            if b.get("missing"):
                bad("VM '%s' disk %d ('%s') was deleted" % (n, i + 1,
                                                            b["path"]))
            elif a.get("sha") != b.get("sha"):
                bad("VM '%s' disk %d ('%s'): its bytes changed"
                    % (n, i + 1, b["path"]))
            else:
                bad("VM '%s' disk %d: %s -> %s" % (n, i + 1, a, b))
    check_unique(inventory, step)
    for n, vm in sorted(now.items()):
        check_expected(n, vm, expect)
    save("state.json", now)
    for e in errors:
        print("FAIL: %s: %s" % (step, e), file=sys.stderr)
    if not errors:
        print("ok: %s (%d VMs of ours, %d in the inventory)"
              % (step, len(now), len(inventory)))
    return 1 if errors else 0


def cmd_expect(argv):
    expect = load("expect.json", {})
    name = names(argv[0])[0]
    if argv[1:2] == ["--as"]:
        expect[name] = expect[names(argv[2])[0]]
    else:
        expect[name] = []
        for ref in argv[1:]:
            digest, size = hash_file(ref)
            expect[name].append({"capacity": size, "sha": digest,
                                 "ref": ref})
    save("expect.json", expect)
    return 0


UNIT = re.compile(r"^byte(?:\s*\*\s*2\^(\d+))?$")
OVF_NS = ("http://schemas.dmtf.org/ovf/envelope/1",
          "http://schemas.dmtf.org/ovf/envelope/2")


def attr(el, name):
    for ns in OVF_NS:
        v = el.get("{%s}%s" % (ns, name))
        if v is not None:
            return v
    return el.get(name)


def cmd_package(argv):
    pkg, name = argv[0], names(argv[1])[0]
    state = load("state.json", {})
    expect = load("expect.json", {})
    vm, exp = state.get(name), expect.get(name)
    if vm is None or exp is None:
        print("FAIL: package: no state for VM '%s'" % name, file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(dir=STATE) as tmp:
        if pkg.endswith(".ova"):
            with tarfile.open(pkg) as t:
                for m in t.getmembers():
                    if m.isfile() and "/" not in m.name:
                        t.extract(m, tmp)
            base = tmp
            ovf = [os.path.join(tmp, f) for f in os.listdir(tmp)
                   if f.endswith(".ovf")]
        else:
            base = os.path.dirname(pkg)
            ovf = [pkg]
        if len(ovf) != 1:
            print("FAIL: package: %d descriptors in '%s'" % (len(ovf), pkg),
                  file=sys.stderr)
            return 1
        root = ET.parse(ovf[0]).getroot()
        files = {attr(f, "id"): attr(f, "href")
                 for f in root.iter() if f.tag.endswith("}File")}
        disks = [d for d in root.iter() if d.tag.endswith("}Disk")]
        if len(disks) != len(exp):
            bad("'%s' declares %d disks, VM '%s' has %d"
                % (pkg, len(disks), name, len(exp)))
        for i, (d, e) in enumerate(zip(disks, exp)):
            units = attr(d, "capacityAllocationUnits") or "byte"
            m = UNIT.match(units.strip())
            if not m:
                bad("'%s' disk %d: units '%s'" % (pkg, i + 1, units))
                continue
            cap = int(attr(d, "capacity")) << int(m.group(1) or 0)
            if cap != e["capacity"]:
                bad("'%s' disk %d declares capacity %d, expected %d"
                    % (pkg, i + 1, cap, e["capacity"]))
            href = files.get(attr(d, "fileRef"))
            if not href:
                bad("'%s' disk %d has no file" % (pkg, i + 1))
                continue
            try:
                digest, size, reader = read_image(os.path.join(base, href),
                                                  "vhd")
            except RuntimeError as err:
                bad("'%s' disk %d: %s" % (pkg, i + 1, err))
                continue
            if size != e["capacity"] or digest != e["sha"]:
                bad("'%s' disk %d ('%s'): %s reads %d bytes %s, expected %d "
                    "bytes as written" % (pkg, i + 1, href, reader, size,
                                          "that differ" if digest != e["sha"]
                                          else "(same bytes)",
                                          e["capacity"]))
        macs = []
        for item in root.iter():
            kids = {c.tag.rsplit("}", 1)[-1]: (c.text or "").strip()
                    for c in item}
            if kids.get("ResourceType") == "10":
                macs.append(kids.get("Address", "").upper())
        if sorted(macs) != sorted(m.upper() for m in vm["macs"]):
            bad("'%s' has MACs %s, VM '%s' has %s"
                % (pkg, macs, name, vm["macs"]))
        if len(set(macs)) != len(macs):
            bad("'%s' has a MAC on two NICs: %s" % (pkg, macs))
    for e in errors:
        print("FAIL: package %s: %s" % (pkg, e), file=sys.stderr)
    if not errors:
        print("ok: package %s describes %s" % (os.path.basename(pkg), name))
    return 1 if errors else 0


def main():
    cmd, argv = sys.argv[1], sys.argv[2:]
    try:
        return {"check": cmd_check, "expect": cmd_expect,
                "package": cmd_package}[cmd](argv)
    except RuntimeError as e:
        print("FAIL: %s: %s" % (cmd, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

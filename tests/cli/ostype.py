#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tests/cli/ostype.py - the declared guest OS type survives convert, and
export after import (issue 17; VMware Converter turned "Windows 2000
Server" into "Advanced Server", and ovfkit turned debian10_64Guest into
"12.5").

For every sample descriptor of ../shared/testdata/ovf that declares an OS
(CIM ovf:id, Description, vmw:osType or vbox:OSType) and holds one VM, the
test makes the disks its References name (empty, of the declared format),
converts it, imports the result into a fresh store, exports that VM
again, and compares the OS fields of the three descriptors.  Samples it
cannot stage (a collection, a compressed or chunked file, a disk format
we do not read) are listed with the reason; at least MIN must get through.

    ostype.py OVFKIT SAMPLES_DIR WORKDIR
"""
import json
import os
import shutil
import subprocess
import sys

MIN = 25


def run(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True,
                          errors="replace", **kw)


def info(ovfkit, path):
    p = run(ovfkit, "ovf", "info", "--json", path)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)


VMW = "{http://www.vmware.com/schema/ovf}"
VBOX = "{http://www.virtualbox.org/ovf/machine}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def local(tag):
    return tag.rsplit("}", 1)[-1]


def os_fields(path):
    """The OS fields of the first OperatingSystemSection, read with
    Python's own XML parser (not ovfkit's): ovf:id, Description,
    vmw:osType, vbox:OSType."""
    import xml.etree.ElementTree as ET
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        with open(path, "rb") as f:    # a declaration that lies about
            data = f.read()            # its encoding: parse the bytes
        root = ET.fromstring(data.split(b"?>", 1)[1])
    for e in root.iter():
        kind = local(e.get(XSI + "type", "")) if local(e.tag) == "Section" \
            else local(e.tag)
        if not kind.startswith("OperatingSystemSection"):
            continue
        oid = next((v for k, v in e.attrib.items() if local(k) == "id"),
                   None)
        desc = next((c.text for c in e if local(c.tag) == "Description"),
                    None)
        vbox = next((c.text for c in e if c.tag == VBOX + "OSType"), None)
        return (oid, desc, e.get(VMW + "osType"), vbox)
    return (None, None, None, None)


def stage(ovfkit, src, doc, work):
    """Copy the descriptor and make its disks; None, or why not."""
    if len(doc["systems"]) != 1 or doc["systems"][0]["collection"]:
        return "not one VM"
    caps = {d.get("file"): d.get("capacity") for d in doc["disks"]}
    shutil.copy(src, work)
    for f in doc["files"]:
        href = f["href"]
        if "/" in href or f.get("compression") or f.get("chunk_size"):
            return "file '%s' is remote, compressed or chunked" % href
        if f["id"] not in caps:        # an ISO, a README: not a disk
            with open(os.path.join(work, href), "wb") as fh:
                fh.write(b"not a disk\n")
            continue
        cap = caps.get(f["id"]) or (64 << 20)
        if cap > (1 << 40):
            cap = 64 << 20
        dst = os.path.join(work, href)
        if href.endswith(".vmdk"):
            p = run("qemu-img", "create", "-q", "-f", "vmdk", "-o",
                    "subformat=streamOptimized", dst, str(cap))
        elif href.endswith(".vhd"):
            p = run(ovfkit, "vhd", "create", dst, str(cap))
        elif href.endswith((".img", ".raw")):
            with open(dst, "wb") as fh:
                fh.truncate(cap)
            continue
        else:
            return "file '%s' of a format we do not make here" % href
        if p.returncode != 0:
            return "cannot make '%s': %s" % (href, p.stderr.strip())
    return None


def main():
    ovfkit, samples, work = sys.argv[1:4]
    passed, failed = [], []
    for name in sorted(os.listdir(samples)):
        if not name.endswith(".ovf"):
            continue
        src = os.path.join(samples, name)
        doc = info(ovfkit, src)
        if not doc or not doc["systems"]:
            continue
        want = os_fields(src)
        if not any(want[1:]) and want[0] in (None, "0"):
            continue                   # declares no OS
        d = os.path.join(work, name[:-4])
        os.makedirs(d)
        why = stage(ovfkit, src, doc, d)
        if why:
            print("not staged: %s: %s" % (name, why))
            continue
        out1 = os.path.join(d, "conv")
        # one NIC on a network the store has, memory any guest accepts:
        # the OS type is what is looked at here
        p = run(ovfkit, "convert", os.path.join(d, name), "--to", out1,
                "--name", "vm", "--nic", "lan", "--memory", "2048")
        if p.returncode < 0 or "Sanitizer" in p.stderr:
            failed.append("%s: convert crashed: %s" % (name, p.stderr))
            continue
        if p.returncode != 0:
            print("not converted: %s: exit %d: %s" % (name, p.returncode,
                                                      p.stderr.strip()))
            continue
        got1 = os_fields(os.path.join(out1, "vm.ovf"))
        store = os.path.join(d, "store")
        run(ovfkit, "--store", store, "net", "add", "lan", check=True)
        p = run(ovfkit, "--store", store, "import",
                os.path.join(out1, "vm.ovf"))
        if p.returncode != 0:
            failed.append("%s: import: %s" % (name, p.stderr.strip()))
            continue
        out2 = os.path.join(d, "exp")
        p = run(ovfkit, "--store", store, "export", "vm", "--to", out2,
                "--config-only")
        if p.returncode != 0:
            failed.append("%s: export: %s" % (name, p.stderr.strip()))
            continue
        got2 = os_fields(os.path.join(out2, "vm.ovf"))
        if got1 != want or got2 != want:
            failed.append("%s: declared %s, convert %s, import+export %s"
                          % (name, want, got1, got2))
        else:
            passed.append(name)
        shutil.rmtree(d)
    for f in failed:
        print("FAIL:", f)
    print("%d samples kept their OS type through convert and "
          "import+export" % len(passed))
    if failed or len(passed) < MIN:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

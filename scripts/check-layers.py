#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""scripts/check-layers.py - each layer uses only the layers below it
(DESIGN.md section 1), judged from the #include lines of every .c and .h
file of the library, the CLI and the nbdkit plugin.

A file belongs to the layer of its top-level folder.  An include names a
layer by its folder ("vhd/internal.h") or, for a public header, by the
header ("ovfkit/vhd.h" is vhd's, "ovfkit/common.h" util's).  The CLI and
the plugin may include only public headers and their own.  Prints one line per violation and exits 1 when there is any.
"""
import glob
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# lowest first; a layer may include its own and any earlier one
ORDER = ["util", "vhd", "image", "ovf", "sysprep", "hv", "snapshot",
         "convert", "p2v", "backup", "nbdkit", "cli"]
RANK = {name: i for i, name in enumerate(ORDER)}
PUBLIC = {"common": "util", "source": "util", "lock": "util", "vhd": "vhd", "image": "image", "ovf": "ovf",
          "ova": "ovf", "sysprep": "sysprep", "hv": "hv",
          "snapshot": "snapshot", "convert": "convert", "p2v": "p2v",
          "backup": "backup"}
# the CLI and the plugin see the library through its headers only
PUBLIC_ONLY = {"cli", "nbdkit"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of_header(inc):
    parts = inc.split("/")
    if parts[0] == "ovfkit" and len(parts) == 2:
        return PUBLIC.get(parts[1][:-2]), True
    return (parts[0] if parts[0] in RANK else None), False


def main():
    bad = []
    for layer in ORDER:
        for path in sorted(glob.glob(os.path.join(TOP, layer, "*.[ch]"))):
            rel = os.path.relpath(path, TOP)
            with open(path, encoding="utf-8") as f:
                src = f.read()
            for m in INCLUDE.finditer(src):
                inc = m.group(1)
                line = src.count("\n", 0, m.start()) + 1
                target, public = layer_of_header(inc)
                if target is None:
                    if "/" in inc:
                        bad.append("%s:%d: includes '%s', which belongs to "
                                   "no layer" % (rel, line, inc))
                    continue    # a header beside the file
                if RANK[target] > RANK[layer]:
                    bad.append("%s:%d: %s includes '%s' of %s, a layer above "
                               "it" % (rel, line, layer, inc, target))
                elif (layer in PUBLIC_ONLY and not public and
                      target != layer):
                    bad.append("%s:%d: %s includes the internal header '%s'; "
                               "it may use only include/ovfkit/" %
                               (rel, line, layer, inc))
    for h in sorted(glob.glob(os.path.join(TOP, "include/ovfkit/*.h"))):
        rel = os.path.relpath(h, TOP)
        own = PUBLIC.get(os.path.basename(h)[:-2])
        with open(h, encoding="utf-8") as f:
            src = f.read()
        for m in INCLUDE.finditer(src):
            target, public = layer_of_header(m.group(1))
            line = src.count("\n", 0, m.start()) + 1
            if not public:
                bad.append("%s:%d: a public header includes the internal "
                           "'%s'" % (rel, line, m.group(1)))
            elif own and target and RANK[target] > RANK[own]:
                bad.append("%s:%d: %s's header includes '%s' of %s, a layer "
                           "above it" % (rel, line, own, m.group(1), target))
    for b in bad:
        print(b)
    print("check-layers: %d violation%s" % (len(bad), "" if len(bad) == 1
                                             else "s"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

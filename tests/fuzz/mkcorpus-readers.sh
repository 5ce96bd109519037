#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/fuzz/mkcorpus-readers.sh - (re)make the seed corpora of fuzz_qcow2,
# fuzz_vmdk and fuzz_vhdx: tiny images written by qemu-img / qemu-io (the
# producer every user has), and hostile variants of them patched byte by
# byte.  Regression files named after a crash (regress-*) are kept by
# hand; this script only writes the seeds it names.
#
#   tests/fuzz/mkcorpus-readers.sh        (from anywhere in the tree)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
q=$top/tests/fuzz/corpus/qcow2
v=$top/tests/fuzz/corpus/vmdk
x=$top/tests/fuzz/corpus/vhdx
mkdir -p "$q" "$v" "$x"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

# patch FILE OFFSET HEXBYTES: overwrite bytes in place
patch() {
    python3 -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2], 0))
f.write(bytes.fromhex(sys.argv[3]))' "$@"
}
qio() { qemu-io -f "$1" "$2" -c "$3" > /dev/null; }

# qcow2: 512-byte clusters, data, a zero cluster, a hole
qemu-img create -q -f qcow2 -o cluster_size=512 "$q/v3-data" 64K
qio qcow2 "$q/v3-data" "write -P 0x41 0 1k"
qio qcow2 "$q/v3-data" "write -z 2k 512"
qio qcow2 "$q/v3-data" "write -P 0x42 48k 512"
qemu-img create -q -f qcow2 -o cluster_size=512,compat=0.10 "$q/v2-data" 16K
qio qcow2 "$q/v2-data" "write -P 0x43 512 512"
# compressed clusters, deflate and zstd
qemu-img create -q -f raw "$t/r" 8K
qio raw "$t/r" "write -P 0x44 0 4k"
qemu-img convert -q -c -O qcow2 -o cluster_size=4096 "$t/r" "$q/deflate"
qemu-img convert -q -c -O qcow2 \
    -o cluster_size=4096,compression_type=zstd "$t/r" "$q/zstd"
# a backing file naming itself (the fuzz target writes in.qcow2)
qemu-img create -q -f qcow2 -o cluster_size=512 "$t/in.qcow2" 4K
qemu-img create -q -f qcow2 -o cluster_size=512 -b in.qcow2 -F qcow2 \
    "$t/c.qcow2" 4K
mv "$t/c.qcow2" "$q/backing-self-loop"
# hostile: bad magic, huge cluster bits, L1 table beyond the file, over
# the header
cp "$q/v3-data" "$q/bad-magic" && patch "$q/bad-magic" 0 51464900
cp "$q/v3-data" "$q/cluster-bits-63" && patch "$q/cluster-bits-63" 20 0000003f
cp "$q/v3-data" "$q/l1-past-eof" && patch "$q/l1-past-eof" 40 00000000ffff0000
cp "$q/v3-data" "$q/l1-on-header" && patch "$q/l1-on-header" 40 0000000000000000

# vmdk: streamOptimized with data, the head of a monolithicSparse image,
# descriptors that name the input itself, and hostile ones
qemu-img create -q -f raw "$t/r" 128K
qio raw "$t/r" "write -P 0x45 0 1k"
qio raw "$t/r" "write -P 0x46 64k 512"
qemu-img convert -q -O vmdk -o subformat=streamOptimized "$t/r" "$v/stream"
qemu-img convert -q -O vmdk -o subformat=monolithicSparse "$t/r" "$t/m"
head -c 4096 "$t/m" > "$v/sparse-head"
printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 1 FLAT "in.vmdk" 0\nRW 2 ZERO\n' > "$v/flat-self"
printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=12345678\nparentFileNameHint="in.vmdk"\nRW 1 FLAT "in.vmdk" 0\n' > "$v/parent-self-loop"
printf '# Disk DescriptorFile\nRW 8 FLAT "../etc/passwd" 0\n' > "$v/extent-outside"
printf '# Disk DescriptorFile\nRW 1 FLAT "in.vmdk" 18446744073709551615\n' > "$v/flat-offset-wraps"
cp "$v/stream" "$v/stream-no-footer"
patch "$v/stream-no-footer" 56 ffffffffffffffff

# vhdx: qemu-img's smallest image is 8 MiB (1 MiB log, BAT and metadata
# regions at MiB offsets); move the BAT and metadata right behind the
# region tables (fixing the CRC-32C of the tables) for a 512 KiB seed,
# then damage it
qemu-img create -q -f vhdx -o log_size=1M,block_size=1M "$t/e.vhdx" 1M
cat > "$t/vhdx.py" <<'PYEOF'
import struct, sys
BAT = bytes.fromhex('6677c22d23f600429d64115e9bfd4a08')
def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xffffffff
# set each region's (offset, length) in both region tables
def regions(out, bat, meta):
    for off in (0x30000, 0x40000):
        t = bytearray(out[off:off + 0x10000])
        for i in range(struct.unpack_from('<I', t, 8)[0]):
            is_bat = bytes(t[16 + 32 * i:32 + 32 * i]) == BAT
            struct.pack_into('<QI', t, 32 + 32 * i, *(bat if is_bat else meta))
        struct.pack_into('<I', t, 4, 0)
        struct.pack_into('<I', t, 4, crc32c(bytes(t)))
        out[off:off + 0x10000] = t
if sys.argv[1] == 'compact':
    d = open(sys.argv[2], 'rb').read()
    rt = d[0x30000:0x40000]
    where = {}
    for i in range(struct.unpack_from('<I', rt, 8)[0]):
        g, fo = struct.unpack_from('<16sQ', rt, 16 + 32 * i)
        where[g == BAT] = fo
    out = bytearray(d[:0x50000])
    out += d[where[True]:where[True] + 0x10000]
    out += d[where[False]:where[False] + 0x20000]
    regions(out, (0x50000, 0x10000), (0x60000, 0x20000))
    open(sys.argv[3], 'wb').write(out)
else:
    out = bytearray(open(sys.argv[2], 'rb').read())
    regions(out, (1 << 40, 0x10000), (0x60000, 0x20000))
    open(sys.argv[2], 'wb').write(out)
PYEOF
python3 "$t/vhdx.py" compact "$t/e.vhdx" "$x/empty-compact"
qemu-img compare -q "$t/e.vhdx" "$x/empty-compact"
cp "$x/empty-compact" "$x/bad-region-signature"
patch "$x/bad-region-signature" 0x30000 52656749
cp "$x/empty-compact" "$x/bad-header-signatures"
patch "$x/bad-header-signatures" 0x10000 48454144
patch "$x/bad-header-signatures" 0x20000 48454144
cp "$x/empty-compact" "$x/bat-region-past-eof"
python3 "$t/vhdx.py" bat-past-eof "$x/bat-region-past-eof"

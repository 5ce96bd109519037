# Foreign images in: every image of ../shared/testdata/images that
# qemu-img reads converts to a VHD whose content equals `qemu-img convert
# -O raw` of the same file; the ones it refuses (crafted headers, a
# missing extent or parent) we refuse too, with a message.  Then the
# formats qemu-img writes, in every variant we claim (qcow2 v2/v3, zlib and
# zstd clusters, backing chains; VMDK monolithicSparse, streamOptimized,
# twoGbMaxExtentSparse, monolithicFlat, twoGbMaxExtentFlat; VHDX), from
# the same data; and hostile inputs (extents and backing files outside the
# image's directory, truncated streams) are refused.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need qemu-img qemu-utils
IMAGES=$SHARED/testdata/images
[ -d "$IMAGES" ] || skip "needs ../shared/testdata/images"

mkdir in
for f in "$IMAGES"/*; do
    b=$(basename "$f")
    case $b in
    structs) continue ;;
    *.gz) gzip -dc "$f" > "in/${b%.gz}" ;;
    *) cp "$f" "in/$b" ;;
    esac
done
# the dissect chain and data file name their partners without our prefix
for f in in/qcow2__dissect_*; do cp "$f" "in/${f#in/qcow2__dissect_}"; done

same=0 refused=0
for f in in/*; do
    b=$(basename "$f")
    rm -f out.vhd ref.raw
    set +e
    # qemu-img looks for a data file in the current directory
    (cd in && qemu-img convert -O raw "$b" ../ref.raw) 2> qemu.err
    q=$?
    ovfkit vhd convert "$f" out.vhd 2> ours.err
    o=$?
    set -e
    ! grep -q "AddressSanitizer\|runtime error" ours.err || fail "$b: $(cat ours.err)"
    if [ $q -eq 0 ] && [ $o -ne 0 ] &&
        grep -q "so it is not read as raw" ours.err &&
        qemu-img info "$f" | grep -q '^file format: raw$'; then
        # qemu-img falls back to raw for a .vmdk it cannot read (an
        # SESparse extent alone); we refuse to, unless -f raw insists
        ovfkit vhd convert -f raw "$f" out.vhd
        ovfkit vhd compare ref.raw out.vhd > /dev/null || fail "$b: -f raw differs"
        echo "$b: not read as raw unless -f raw: $(head -1 ours.err)"
        refused=$((refused + 1))
    elif [ $q -eq 0 ]; then
        [ $o -eq 0 ] || fail "$b: qemu-img reads it, we refused: $(cat ours.err)"
        ovfkit vhd compare ref.raw out.vhd > /dev/null || fail "$b: content differs from qemu-img's"
        same=$((same + 1))
    else
        [ $o -ne 0 ] || fail "$b: qemu-img refuses it ($(head -1 qemu.err)), we did not"
        [ -s ours.err ] || fail "$b: refused without a message"
        [ ! -e out.vhd ] || fail "$b: a refused conversion left its output"
        echo "$b: refused: $(head -1 ours.err)"
        refused=$((refused + 1))
    fi
done
echo "testdata: $same converted as qemu-img reads them, $refused refused by both"
[ $same -ge 15 ] || fail "only $same samples converted"

# every variant qemu-img writes, from one image with data, zeros and holes
head -c 3M /dev/urandom > src.raw
truncate -s 9M src.raw
head -c 1M /dev/urandom | dd of=src.raw bs=1M seek=6 conv=notrunc status=none
truncate -s 20M src.raw
check() { # FILE LABEL: our reading equals qemu-img's and the source's
    rm -f out.vhd
    ovfkit vhd convert "$1" out.vhd 2> ours.err || fail "$2: $(cat ours.err)"
    ovfkit vhd compare src.raw out.vhd > /dev/null || fail "$2: content differs"
    qemu-img compare -q -f raw -F vpc src.raw out.vhd || fail "$2: qemu-img disagrees"
    echo "$2: ok"
}
for compat in 0.10 1.1; do
    qemu-img convert -O qcow2 -o compat=$compat src.raw q.qcow2
    check q.qcow2 "qcow2 compat=$compat"
    qemu-img convert -c -O qcow2 -o compat=$compat src.raw qc.qcow2
    check qc.qcow2 "qcow2 compat=$compat, deflate"
    rm -f q.qcow2 qc.qcow2
done
qemu-img convert -c -O qcow2 -o compression_type=zstd src.raw qz.qcow2
check qz.qcow2 "qcow2, zstd"
qemu-img convert -O qcow2 -o cluster_size=2M src.raw qb.qcow2
check qb.qcow2 "qcow2, 2 MiB clusters"
# a backing chain: the overlay changes part of the data
qemu-img convert -O qcow2 src.raw base.qcow2
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qemu-io -f qcow2 -c "write -P 0x5a 1M 64k" -c "write -z 7M 512k" top.qcow2 > /dev/null
qemu-img convert -O raw top.qcow2 src.raw
check top.qcow2 "qcow2 backing chain"
for sub in monolithicSparse streamOptimized twoGbMaxExtentSparse monolithicFlat twoGbMaxExtentFlat; do
    mkdir "v-$sub"
    qemu-img convert -O vmdk -o subformat=$sub src.raw "v-$sub/d.vmdk"
    check "v-$sub/d.vmdk" "vmdk $sub"
done
qemu-img convert -O vhdx src.raw d.vhdx
check d.vhdx "vhdx dynamic"
qemu-img convert -O vhdx -o subformat=fixed src.raw f.vhdx
check f.vhdx "vhdx fixed"

# hostile: extents and backing files outside the image's directory
mkdir evil
printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 8 FLAT "../src.raw" 0\n' > evil/up.vmdk
expect_err "outside" ovfkit vhd convert evil/up.vmdk evil/o.vhd
printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 8 FLAT "/etc/passwd" 0\n' > evil/abs.vmdk
expect_err "outside" ovfkit vhd convert evil/abs.vmdk evil/o.vhd
qemu-img create -q -f qcow2 -b 'json:{"driver":"raw","file":{"driver":"file","filename":"/etc/passwd"}}' -F raw -u evil/j.qcow2 20M
expect_err "not a file" ovfkit vhd convert evil/j.qcow2 evil/o.vhd
[ ! -e evil/o.vhd ] || fail "a refused conversion left its output"
# a stream cut short: no footer, no grain directory
head -c 100000 v-streamOptimized/d.vmdk > evil/cut.vmdk
expect_err "runs past the end of the file (a truncated stream?)" \
    ovfkit vhd convert evil/cut.vmdk evil/o.vhd
# a qcow2 whose L1 table is said to be enormous
qemu-img convert -O qcow2 src.raw evil/big.qcow2
printf '\377\377\377\377' | dd of=evil/big.qcow2 bs=1 seek=36 conv=notrunc status=none
expect_err "L1 table" ovfkit vhd convert evil/big.qcow2 evil/o.vhd

# a block device (P2V of a physical disk): a loop device over the image
if [ "$(id -u)" = 0 ] && command -v losetup > /dev/null &&
   dev=$(losetup -f --show -r src.raw 2> /dev/null); then
    trap 'losetup -d "$dev" 2>/dev/null; cd /; rm -rf "$T"' EXIT
    rm -f out.vhd
    ovfkit vhd convert "$dev" out.vhd
    ovfkit vhd compare src.raw out.vhd > /dev/null || fail "the block device reads differently"
    echo "block device $dev: ok"
fi

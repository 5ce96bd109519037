# Real Hyper-V VHDs (creator 'win '): their footer size (10485760) and CHS
# product (301/4/17 = 10479616) disagree.  We use current_size, as QEMU and
# Hyper-V do for 'win ' (the CHS product would cut 6 KiB off the disk);
# the contents equal what qemu-img reads; the geometry we write for the
# same size is Hyper-V's.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need qemu-img qemu-utils

for kind in fixed dynamic; do
    gzip -dc "$OVFK_SRCDIR/testdata/images/vhd__dissect_$kind.vhd.gz" > hv.vhd
    ovfkit vhd check hv.vhd > /dev/null || fail "$kind: check fails"
    size=$(ovfkit --json vhd info hv.vhd | json 'd["virtual_size"]')
    src=$(ovfkit --json vhd info hv.vhd | json 'd["size_source"]')
    [ "$size" = 10485760 ] && [ "$src" = current_size ] || fail "$kind: size $size from $src"
    ovfkit vhd convert --type raw hv.vhd ours.raw
    # qemu-img probes a fixed VHD as raw: name the format
    qemu-img convert -q -f vpc -O raw hv.vhd theirs.raw
    cmp ours.raw theirs.raw || fail "$kind: contents differ from qemu-img's"
    [ "$(stat -c %s ours.raw)" = 10485760 ] || fail "$kind: raw size"
    # the geometry we write for 10 MiB is byte-identical to Hyper-V's
    rm -f ours.vhd
    ovfkit vhd create --type "$kind" ours.vhd 10M
    [ "$(tail -c 512 hv.vhd | dd bs=1 skip=56 count=4 status=none | od -An -tx1)" = \
      "$(tail -c 512 ours.vhd | dd bs=1 skip=56 count=4 status=none | od -An -tx1)" ] ||
        fail "$kind: our CHS for 10 MiB differs from Hyper-V's"
    rm -f hv.vhd ours.raw theirs.raw
done
echo ok

# qemu-img (an independent reader and writer) agrees with us on every
# fixed and dynamic VHD we write, and we read qemu-img's VHDs, of both
# creator types ('qemu' = CHS size, 'qem2' = current_size), identically.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need qemu-img qemu-utils

# a raw image with data at the start, the middle, across a block boundary
# and in the very last sector
mkraw() {
    truncate -s "$2" "$1"
    head -c 1000000 /dev/urandom | dd of="$1" conv=notrunc status=none
    head -c 3000000 /dev/urandom | dd of="$1" bs=1M seek=5 conv=notrunc status=none
    sz=$(stat -c %s "$1")
    head -c 512 /dev/urandom | dd of="$1" bs=512 seek=$((sz / 512 - 1)) conv=notrunc status=none
}

for size in 10M 100M 1000M 4G 130G; do
    for type in fixed dynamic; do
        [ "$type" = fixed ] && [ "$size" = 130G ] && continue
        rm -f a.vhd
        ovfkit vhd create --type "$type" a.vhd "$size"
        bytes=$(ovfkit --json vhd info a.vhd | json 'd["virtual_size"]')
        qbytes=$(qemu-img info -f vpc --output=json a.vhd | json 'd["virtual-size"]')
        [ "$bytes" = "$qbytes" ] || fail "$type $size: we say $bytes, qemu-img says $qbytes"
        # exact size as requested
        want=$(numfmt --from=iec "$size")
        [ "$bytes" = "$want" ] || fail "$type $size: size $bytes, wanted $want"
    done
done

# raw -> our VHDs -> qemu-img compare, qemu-img reads every byte we wrote
mkraw src.raw 64M
for type in fixed dynamic; do
    rm -f c.vhd
    ovfkit vhd convert --type "$type" src.raw c.vhd
    qemu-img compare -q -f raw -F vpc src.raw c.vhd || fail "qemu-img sees other bytes in our $type VHD"
done
# our writes to a VHD, read by qemu-img
printf 'written by ovfkit' | ovfkit vhd write c.vhd 7M
qemu-img convert -f vpc -O raw c.vhd viaqemu.raw
[ "$(dd if=viaqemu.raw bs=1 skip=$((7*1024*1024)) count=17 status=none)" = "written by ovfkit" ] \
    || fail "qemu-img does not see our write"

# qemu-img's VHDs, both creator types and both subformats, read by us
mkraw q.raw 50M
for sub in fixed dynamic; do
    for force in off on; do
        rm -f q.vhd ours.raw theirs.raw
        qemu-img convert -q -f raw -O vpc -o subformat=$sub,force_size=$force q.raw q.vhd
        ovfkit vhd check q.vhd > /dev/null || fail "qemu-img $sub force_size=$force: check fails"
        ovfkit vhd convert --type raw q.vhd ours.raw
        qemu-img convert -q -f vpc -O raw q.vhd theirs.raw
        cmp ours.raw theirs.raw || fail "qemu-img $sub force_size=$force: contents differ"
        app=$(ovfkit --json vhd info q.vhd | json 'd["creator_app"]')
        src=$(ovfkit --json vhd info q.vhd | json 'd["size_source"]')
        case "$force:$app:$src" in
        off:qemu:chs|on:qem2:current_size) ;;
        *) fail "qemu-img $sub force_size=$force: creator $app, size from $src" ;;
        esac
    done
done
echo ok

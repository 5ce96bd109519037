# `ovf validate` and `ova verify` compare each disk's declared capacity
# (ovf:capacity x capacityAllocationUnits) with the virtual size in its
# VHD's footer: smaller is an error (a deployer sizing the disk by it
# cuts the image: the xen driver's 2560-byte export), larger a warning
# (how a package asks for a disk to grow; ovfkit imports the VHD's size).
# For a package directory and an OVA, dynamic and fixed VHDs; qemu-img is
# the independent witness of the virtual size.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need qemu-img qemu-utils
src=$OVFK_SRCDIR/testdata/ovf/ovfkit__dmtf2_epasd_sasd.ovf

# pkg DIR CAPACITY UNITS TYPE: the sample with that capacity and a 64 MiB VHD
pkg() {
    mkdir "$1"
    sed -e "s/ovf:capacity=\"64\"/ovf:capacity=\"$2\"/" \
        -e "s/ovf:capacityAllocationUnits=\"byte \* 2^20\"/ovf:capacityAllocationUnits=\"$3\"/" \
        "$src" > "$1/vm.ovf"
    grep -q "ovf:capacity=\"$2\"" "$1/vm.ovf" || fail "sed did not set the capacity"
    ovfkit vhd create --type "$4" "$1/disk1.vhd" 64M
    [ "$(qemu-img info -f vpc --output=json "$1/disk1.vhd" | json 'd["virtual-size"]')" = 67108864 ] ||
        fail "qemu-img does not see 64 MiB in $1/disk1.vhd"
    ovfkit ova pack "$1/vm.ovf" "$1.ova"
}

for type in dynamic fixed; do
    # the xen driver's export: the file size of the VHD as its capacity
    pkg small-$type 2560 byte $type
    for p in small-$type/vm.ovf small-$type.ova; do
        expect_rc 2 ovfkit ovf validate $p
        ovfkit ovf validate $p > out.txt || true
        grep -q "^error: disk 'vmdisk1': capacity 2560 bytes is smaller than the virtual size of 'disk1.vhd' (67108864 bytes)" out.txt ||
            fail "validate $p: $(cat out.txt)"
        expect_rc 2 ovfkit ova verify $p
        ovfkit ova verify $p > out.txt || true
        grep -q "^disk 'vmdisk1': capacity 2560 bytes is smaller than the virtual size" out.txt ||
            fail "verify $p: $(cat out.txt)"
    done
    # exactly the VHD's size, in other units: nothing to say
    pkg same-$type 65536 "byte * 2^10" $type
    ovfkit ovf validate same-$type.ova > out.txt || fail "equal capacity: $(cat out.txt)"
    ! grep -q capacity out.txt || fail "equal capacity reported: $(cat out.txt)"
    ovfkit ova verify same-$type.ova > out.txt || fail "verify, equal capacity: $(cat out.txt)"
    # larger: a warning, valid
    pkg big-$type 128 "byte * 2^20" $type
    for p in big-$type/vm.ovf big-$type.ova; do
        ovfkit ovf validate $p > out.txt || fail "larger capacity is an error: $(cat out.txt)"
        grep -q "^warning: disk 'vmdisk1': capacity 134217728 bytes is larger than the virtual size of 'disk1.vhd' (67108864 bytes)" out.txt ||
            fail "validate $p: $(cat out.txt)"
    done
    ovfkit ova verify big-$type.ova > out.txt || fail "verify, larger: $(cat out.txt)"
    grep -q "^warning: disk 'vmdisk1': capacity 134217728 bytes is larger" out.txt ||
        fail "verify $p: $(cat out.txt)"
done

# a file named as a VHD whose footers are both gone
pkg broken 64 "byte * 2^20" dynamic
rm broken.ova
size=$(stat -c %s broken/disk1.vhd)
dd if=/dev/zero of=broken/disk1.vhd bs=512 count=1 conv=notrunc status=none
dd if=/dev/zero of=broken/disk1.vhd bs=512 count=1 seek=$((size / 512 - 1)) conv=notrunc status=none
expect_rc 2 ovfkit ovf validate broken/vm.ovf
ovfkit ovf validate broken/vm.ovf > out.txt || true
grep -q "^error: disk 'vmdisk1': 'disk1.vhd' is not a valid VHD (no footer)" out.txt ||
    fail "footerless VHD: $(cat out.txt)"
echo ok

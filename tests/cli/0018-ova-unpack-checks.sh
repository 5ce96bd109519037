# `ova unpack` checks what it unpacks, as import does, and refuses before
# extracting (or removes what it extracted): a descriptor that is not
# well-formed (an entity loop), one declaring an impossible capacity
# (overflowing 64 bits, zero, unreadable), members whose sizes disagree
# with References (also when they come before the descriptor), a file the
# descriptor references that the package lacks, no descriptor at all.  It
# leaves no target directory and nothing outside it.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
D=$OVFK_SRCDIR/testdata/ovf

"$PY" - <<'PYEOF'
import io, tarfile
HEAD = b'<?xml version="1.0"?>\n'
ENV = (b'<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" '
       b'xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" '
       b'xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">')
def ovf(capacity='1', units='byte * 2^20', size=512, info=b'a'):
    return (HEAD + ENV +
            b'<References><File ovf:id="f1" ovf:href="disk.img" ovf:size="%d"/></References>' % size +
            b'<DiskSection><Info>d</Info><Disk ovf:diskId="d1" ovf:fileRef="f1" '
            b'ovf:capacity="%s" ovf:capacityAllocationUnits="%s"/></DiskSection>' % (capacity.encode(), units.encode()) +
            b'<VirtualSystem ovf:id="vm"><Info>' + info + b'</Info></VirtualSystem></Envelope>')
loop = (HEAD + b'<!DOCTYPE Envelope [<!ENTITY a "&b;"><!ENTITY b "&a;">]>' +
        ovf(info=b'&a;')[len(HEAD):])
disk = b'\x01' * 512
def pack(name, members):
    with tarfile.open(name, "w", format=tarfile.USTAR_FORMAT) as t:
        for n, data in members:
            ti = tarfile.TarInfo(n); ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
pack("good.ova", [("vm.ovf", ovf()), ("disk.img", disk)])
pack("loop.ova", [("vm.ovf", loop), ("disk.img", disk)])
pack("overflow.ova", [("vm.ovf", ovf('18446744073709551615', 'byte * 2^30')), ("disk.img", disk)])
pack("zero.ova", [("vm.ovf", ovf('0')), ("disk.img", disk)])
pack("unreadable.ova", [("vm.ovf", ovf('lots')), ("disk.img", disk)])
pack("size.ova", [("vm.ovf", ovf(size=1000)), ("disk.img", disk)])
pack("size-first.ova", [("disk.img", disk), ("vm.ovf", ovf(size=1000))])
pack("lacking.ova", [("vm.ovf", ovf())])
PYEOF

ovfkit ova unpack good.ova good || fail "a good package is refused"
head -c 512 /dev/zero | tr '\0' '\1' > ref.img
cmp -s good/disk.img ref.img || fail "good package: disk differs"

touch err.txt after.txt
ls > before.txt
check() { # check CASE MESSAGE
    expect_err "$2" ovfkit ova unpack "$1.ova" "out-$1"
    grep -q "refusing to extract" err.txt || fail "$1: $(cat err.txt)"
    [ ! -e "out-$1" ] || fail "$1: left $(ls "out-$1")"
    ls > after.txt
    cmp -s before.txt after.txt || fail "$1: wrote $(diff before.txt after.txt)"
    # an existing empty target stays, and stays empty
    mkdir "keep-$1"
    expect_err "$2" ovfkit ova unpack "$1.ova" "keep-$1"
    [ -z "$(ls -A "keep-$1")" ] || fail "$1: left $(ls -A "keep-$1") in the target"
    rmdir "keep-$1"
}
check loop "'vm.ovf' is not well-formed XML: line 2: Detected an entity reference loop"
check overflow "capacity '18446744073709551615' 'byte * 2^30' of disk 'd1' overflows 64 bits"
check zero "disk 'd1': capacity is zero"
check unreadable "disk 'd1': capacity 'lots' byte * 2^20 cannot be read"
check size "member 'disk.img' has 512 bytes; the descriptor's References says 1000"
check size-first "member 'disk.img' has 512 bytes; the descriptor's References says 1000"
check lacking "'disk.img' (file 'f1' of the descriptor) is missing from 'lacking.ova'"
expect_err "contains no OVF descriptor" ovfkit ova unpack "$D/cot__test_tar_package.ova" out-nodesc
[ ! -e out-nodesc ] || fail "a package without descriptor was extracted"
expect_err "is missing from" ovfkit ova unpack "$D/openstack-glance__testserver-no-disk.ova" out-nodisk
[ ! -e out-nodisk ] || fail "a package lacking its disk was extracted"
echo ok

# ova pack / list / unpack / verify: descriptor first, then the manifest,
# then the files in References order, in a tar that GNU tar reads; every
# digest (SHA1, SHA256, SHA512) checks out with sha*sum; any change to a
# file, the descriptor or the manifest is caught; gzip and chunked packages
# round-trip.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need tar tar

ovfkit vhd create d1.vhd 20M
head -c 3M /dev/urandom | ovfkit vhd write d1.vhd 1M
ovfkit vhd create d2.vhd 10M
head -c 100K /dev/urandom > notes.txt
cat > vm.ovf <<'EOX'
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
  <References>
    <File ovf:href="d2.vhd" ovf:id="f2"/>
    <File ovf:href="d1.vhd" ovf:id="f1"/>
    <File ovf:href="notes.txt" ovf:id="f3"/>
  </References>
  <DiskSection><Info>disks</Info>
    <Disk ovf:capacity="20" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="a" ovf:fileRef="f1"/>
    <Disk ovf:capacity="10" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="b" ovf:fileRef="f2"/>
  </DiskSection>
  <VirtualSystem ovf:id="vm"><Info>vm</Info></VirtualSystem>
</Envelope>
EOX

for digest in sha1 sha256 sha512; do
    rm -rf vm.ova out
    ovfkit ova pack --digest $digest vm.ovf vm.ova
    # the order DSP0243 asks for
    [ "$(tar tf vm.ova | tr '\n' ' ')" = "vm.ovf vm.mf d2.vhd d1.vhd notes.txt " ] ||
        fail "member order: $(tar tf vm.ova | tr '\n' ' ')"
    ovfkit ova verify vm.ova > /dev/null || fail "$digest: verify: $(ovfkit ova verify vm.ova)"
    # independent check: GNU tar extracts, shaNsum agrees with the manifest
    mkdir gnu && (cd gnu && tar xf ../vm.ova)
    alg=$(echo $digest | tr a-z A-Z)
    (cd gnu && sed -n "s/^$alg(\(.*\))= \(.*\)$/\2  \1/p" vm.mf | ${digest}sum -c --quiet) ||
        fail "$digest: ${digest}sum disagrees with our manifest"
    [ "$(wc -l < gnu/vm.mf)" = 4 ] || fail "manifest lines"
    cmp gnu/d1.vhd d1.vhd && cmp gnu/notes.txt notes.txt || fail "contents"
    # the descriptor now declares each file's size
    grep -q "ovf:size=\"$(stat -c %s d1.vhd)\"" gnu/vm.ovf || fail "size not declared"
    ovfkit ova unpack vm.ova out
    cmp out/d1.vhd d1.vhd || fail "unpack"
    # d1.vhd's first block holds 1 MiB it never wrote (a file hole): the
    # package and the unpacked file keep (most of) it a hole, in 64 KiB
    # pieces, and still read it as zeros (cmp above, and sha*sum)
    for f in vm.ova out/d1.vhd; do
        unused=$(( $(stat -c %s $f) / 1024 - $(du -k $f | cut -f1) ))
        [ "$unused" -ge 768 ] || fail "$digest: $f: the unwritten MiB takes space ($unused KiB unallocated)"
    done
    ovfkit ova verify out/vm.ovf > /dev/null || fail "verify of the unpacked directory"
    rm -rf gnu
done

# any change is caught: a disk byte, the descriptor, the manifest
cp -r out tamper
printf 'X' | dd of=tamper/d1.vhd bs=1 seek=2000000 conv=notrunc status=none
expect_rc 2 ovfkit ova verify tamper/vm.ovf
ovfkit ova verify tamper/vm.ovf | grep -q "'d1.vhd' does not match the manifest" || fail "disk change"
cp out/d1.vhd tamper/d1.vhd
sed -i 's/<Info>vm</<Info>VM</' tamper/vm.ovf
ovfkit ova verify tamper/vm.ovf | grep -q "'vm.ovf' does not match" || fail "descriptor change"
cp out/vm.ovf tamper/vm.ovf
sed -i '/notes.txt/d' tamper/vm.mf
ovfkit ova verify tamper/vm.ovf | grep -q "'notes.txt' is not listed" || fail "unlisted file"
rm tamper/notes.txt
cp out/vm.mf tamper/vm.mf
ovfkit ova verify tamper/vm.ovf | grep -q "'notes.txt' is listed in the manifest but missing" || fail "missing file"
# a changed byte inside the OVA itself
cp vm.ova bad.ova
off=$("$PY" -c "import tarfile; t=tarfile.open('bad.ova'); print([m.offset_data for m in t if m.name=='d1.vhd'][0] + 1500000)")
printf 'Y' | dd of=bad.ova bs=1 seek=$off conv=notrunc status=none
expect_rc 2 ovfkit ova verify bad.ova
expect_err "does not match the manifest" ovfkit ova unpack bad.ova bad-out

# gzip: members compressed, sizes and ovf:compression declared, verifiable
ovfkit ova pack --compress vm.ovf z.ova
mkdir z && (cd z && tar xf ../z.ova)
grep -q 'ovf:compression="gzip"' z/vm.ovf || fail "no ovf:compression"
gzip -dc z/d1.vhd | cmp - d1.vhd || fail "gzip member does not decompress to the disk"
ovfkit ova verify z.ova > /dev/null || fail "verify gzip package"

# chunks: href.000000000, ...; joined, they are the file
ovfkit ova pack --chunk-size 1M vm.ovf c.ova
tar tf c.ova | grep -q '^d1.vhd.000000004$' || fail "chunks: $(tar tf c.ova | tr '\n' ' ')"
mkdir c && (cd c && tar xf ../c.ova)
cat c/d1.vhd.0000000* | cmp - d1.vhd || fail "chunks do not join into the file"
grep -q 'ovf:chunkSize="1048576"' c/vm.ovf || fail "no ovf:chunkSize"
ovfkit ova verify c.ova > /dev/null || fail "verify chunked package: $(ovfkit ova verify c.ova)"
# a failed pack leaves nothing
expect_err "already exists" ovfkit ova pack vm.ovf vm.ova
rm d2.vhd
expect_err "is missing" ovfkit ova pack vm.ovf none.ova
[ ! -e none.ova ] && ! ls -A | grep -q part || fail "failed pack left files"

# a member of 8 GiB or more (a fixed 9 GiB VHD): a GNU header with a
# base-256 size, which GNU tar and Python's tarfile read; the zeros of the
# empty disk are holes in the OVA, so this costs hashing, not disk space
ovfkit vhd create --type fixed big.vhd 9G > /dev/null
ovfkit convert big.vhd --to big.ova --fixed --memory 1024 > /dev/null
want=$((9 * 1073741824 + 512))
tar tvf big.ova | grep -q " $want .* big-disk1.vhd$" || fail "GNU tar: $(tar tvf big.ova)"
[ "$("$PY" -c "import tarfile; print(tarfile.open('big.ova').getmember('big-disk1.vhd').size)")" = $want ] ||
    fail "Python's tarfile reads another size"
[ "$(du -k big.ova | cut -f1)" -lt 65536 ] || fail "the zeros of an empty disk took space: $(du -k big.ova)"
ovfkit ova verify big.ova > /dev/null || fail "our reader refuses the 9 GiB member"
echo ok

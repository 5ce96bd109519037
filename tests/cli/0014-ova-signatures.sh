# Signatures interoperate with the way ovftool and VirtualBox sign: a
# package signed with `openssl dgst -sha256 -sign` in that form verifies
# with ovfkit (against a CA bundle); a package ovfkit signs verifies with
# `openssl dgst -verify`; any change is caught; --require-signature
# refuses unsigned packages; the hand-made IBM OVA fails, naming each
# problem.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need openssl openssl
need tar tar

# a CA and a signer it certifies
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 \
    -subj "/CN=ovfkit test CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout signer.key -out signer.csr \
    -subj "/CN=ovfkit test signer" 2>/dev/null
openssl x509 -req -in signer.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out signer.pem -days 30 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem \
    -days 30 -subj "/CN=someone else" 2>/dev/null

ovfkit vhd create disk.vhd 8M
head -c 1M /dev/urandom | ovfkit vhd write disk.vhd 0
cat > app.ovf <<'EOX'
<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References><File ovf:href="disk.vhd" ovf:id="f1"/></References>
  <DiskSection><Info>d</Info><Disk ovf:capacity="8388608" ovf:diskId="d1" ovf:fileRef="f1"/></DiskSection>
  <VirtualSystem ovf:id="app"><Info>app</Info></VirtualSystem>
</Envelope>
EOX
ovfkit ova pack app.ovf app.ova

# 1. signed the ovftool way, with openssl, verified by ovfkit
mkdir ext && (cd ext && tar xf ../app.ova)
openssl dgst -sha256 -sign signer.key -out sig.bin ext/app.mf
{ printf 'SHA256(app.mf)= %s\n' "$(od -An -v -tx1 sig.bin | tr -d ' \n')"; cat signer.pem; } > ext/app.cert
ovfkit ova verify --ca ca.pem --require-signature ext/app.ovf || fail "openssl-signed package rejected"
expect_rc 2 ovfkit ova verify --ca other.pem ext/app.ovf
ovfkit ova verify --ca other.pem ext/app.ovf | grep -q "certificate:" || fail "untrusted signer not named"

# 2. signed by ovfkit (OVA rewritten, cert after the manifest), verified by openssl
ovfkit ova sign --key signer.key --cert signer.pem app.ova
[ "$(tar tf app.ova | tr '\n' ' ')" = "app.ovf app.mf app.cert disk.vhd " ] || fail "order after sign"
ovfkit ova verify --ca ca.pem --require-signature app.ova || fail "ovfkit-signed package rejected"
mkdir ours && (cd ours && tar xf ../app.ova)
head -1 ours/app.cert | grep -q '^SHA256(app.mf)= [0-9a-f]*$' || fail "signature line: $(head -1 ours/app.cert)"
# hex to bytes with Python: deps.sh installs it; xxd is not in Debian 12
unhex='import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read()))'
head -1 ours/app.cert | sed 's/.*= //' | "$PY" -c "$unhex" > oursig.bin
openssl x509 -in ours/app.cert -pubkey -noout > pub.pem
openssl dgst -sha256 -verify pub.pem -signature oursig.bin ours/app.mf | grep -q "Verified OK" ||
    fail "openssl rejects ovfkit's signature"
openssl verify -CAfile ca.pem ours/app.cert > /dev/null || fail "certificate in .cert"
# signing while packing gives the same kind of package in one pass
ovfkit ova pack --key signer.key --cert signer.pem app.ovf packed.ova
ovfkit ova verify --ca ca.pem --require-signature packed.ova || fail "pack --key"
# and a directory package
ovfkit ova sign --key signer.key --cert signer.pem ext/app.ovf
ovfkit ova verify --ca ca.pem --require-signature ext/app.ovf || fail "directory signature"

# 3. any change is caught
cp -r ours t1 && sed -i 's/<Info>app/<Info>App/' t1/app.ovf
ovfkit ova verify --ca ca.pem t1/app.ovf | grep -q "'app.ovf' does not match" || fail "descriptor change"
cp -r ours t2 && printf 'Z' | dd of=t2/disk.vhd bs=1 seek=100 conv=notrunc status=none
ovfkit ova verify --ca ca.pem t2/app.ovf | grep -q "'disk.vhd' does not match" || fail "disk change"
# flip the digest's first hex digit to another (0 -> 1, anything else -> 0)
cp -r ours t3 && sed -i -e 's/SHA256(disk.vhd)= 0/SHA256(disk.vhd)= X/' \
    -e 's/SHA256(disk.vhd)= [1-9a-f]/SHA256(disk.vhd)= 0/' \
    -e 's/SHA256(disk.vhd)= X/SHA256(disk.vhd)= 1/' t3/app.mf
! cmp -s ours/app.mf t3/app.mf || fail "the manifest was not changed"
ovfkit ova verify --ca ca.pem t3/app.ovf | grep -q "signature does not match the manifest" ||
    fail "manifest change not caught by the signature"

# 4. --require-signature refuses unsigned and badly signed packages
ovfkit ova pack app.ovf plain.ova
ovfkit ova verify plain.ova > /dev/null || fail "unsigned package without --require-signature"
expect_rc 2 ovfkit ova verify --require-signature plain.ova
ovfkit ova verify --require-signature plain.ova | grep -q "not signed" || fail "unsigned not named"
cp -r ours t4 && cp other.pem t4/tmp.pem && { head -1 ours/app.cert; cat other.pem; } > t4/app.cert
expect_rc 2 ovfkit ova verify --ca ca.pem --require-signature t4/app.ovf

# 5. IBM's hand-made OVA: every problem named
expect_rc 2 ovfkit ova verify "$OVFK_SRCDIR/testdata/ovf/ibm-openovf__ourOVF.ova"
ovfkit ova verify "$OVFK_SRCDIR/testdata/ovf/ibm-openovf__ourOVF.ova" > ibm.txt || true
cat ibm.txt
grep -q "'ourOVF.ovf' does not match the manifest" ibm.txt || fail "IBM: descriptor digest"
grep -q "lists 'Ubuntu1.vmdk' 4 times" ibm.txt || fail "IBM: repeated entries"
grep -q "manifest lists itself" ibm.txt || fail "IBM: manifest lists itself"
grep -q "signature line is malformed" ibm.txt || fail "IBM: signature line"
grep -q "certificate: certificate has expired" ibm.txt || fail "IBM: expired certificate"

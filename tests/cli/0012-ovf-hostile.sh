# Hostile input is refused cleanly and nothing is written outside the
# target directory: XXE, an entity bomb, a 100 MB descriptor, a capacity
# that overflows 64 bits, '../' and absolute member names, symlinks and
# devices, duplicate names, a manifest mismatch, a truncated tar.
. "$OVFK_SRCDIR/tests/cli/lib.sh"

V='xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"'
echo "secret" > secret.txt
cat > xxe.ovf <<EOX
<?xml version="1.0"?>
<!DOCTYPE Envelope [ <!ENTITY x SYSTEM "file://$T/secret.txt"> ]>
<Envelope $V><References/><VirtualSystem ovf:id="a"><Info>&x;</Info></VirtualSystem></Envelope>
EOX
expect_err "has a DTD" ovfkit ovf info xxe.ovf
! grep -q secret err.txt || fail "XXE leaked the file"

{ echo '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
  prev=lol
  for i in 1 2 3 4 5 6 7 8 9; do
      echo "<!ENTITY lol$i \"&$prev;&$prev;&$prev;&$prev;&$prev;&$prev;&$prev;&$prev;&$prev;&$prev;\">"
      prev=lol$i
  done
  echo "]><Envelope $V><References/><VirtualSystem ovf:id=\"a\"><Info>&lol9;</Info></VirtualSystem></Envelope>"
} > bomb.ovf
expect_err "bomb.ovf" timeout 20 "$OVFKIT" ovf info bomb.ovf

# 100 MB of descriptor
{ echo "<?xml version=\"1.0\"?><Envelope $V><References/><!--"
  head -c 100M /dev/zero | tr '\0' 'a'
  echo "--></Envelope>"; } > big.ovf
expect_err "refuses descriptors over 16 MiB" ovfkit ovf info big.ovf
rm -f big.ovf

cat > cap.ovf <<EOX
<?xml version="1.0"?>
<Envelope $V><References/><DiskSection><Info>d</Info>
<Disk ovf:diskId="d" ovf:capacity="18446744073709551615" ovf:capacityAllocationUnits="byte * 2^30"/></DiskSection>
<VirtualSystem ovf:id="a"><Info>a</Info></VirtualSystem></Envelope>
EOX
expect_err "overflows 64 bits" ovfkit ovf info cap.ovf

# archives built by Python's tarfile with hostile members
mkdir pkgs
"$PY" - <<'PYEOF'
import io, tarfile
ovf = b'<?xml version="1.0"?><Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References/><VirtualSystem ovf:id="a"><Info>a</Info></VirtualSystem></Envelope>'
def add(t, name, data, **kw):
    ti = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(ti, k, v)
    ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
    t.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
cases = {
    "dotdot": [("a.ovf", ovf, {}), ("../escape.txt", b"x", {})],
    "deep": [("a.ovf", ovf, {}), ("sub/../../escape.txt", b"x", {})],
    "absolute": [("a.ovf", ovf, {}), ("/tmp/ovfk-escape-abs.txt", b"x", {})],
    "symlink": [("a.ovf", ovf, {}), ("link", b"", {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"})],
    "hardlink": [("a.ovf", ovf, {}), ("hl", b"", {"type": tarfile.LNKTYPE, "linkname": "/etc/passwd"})],
    "device": [("a.ovf", ovf, {}), ("dev", b"", {"type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 3})],
    "duplicate": [("a.ovf", ovf, {}), ("f.bin", b"one", {}), ("f.bin", b"two", {})],
    "subdir": [("a.ovf", ovf, {}), ("dir/file", b"x", {})],
}
for name, members in cases.items():
    with tarfile.open("pkgs/%s.ova" % name, "w", format=tarfile.GNU_FORMAT) as t:
        for n, d, kw in members:
            add(t, n, d, **kw)
# a manifest that does not match, and a truncated archive
import hashlib
with tarfile.open("pkgs/mismatch.ova", "w") as t:
    add(t, "a.ovf", ovf, )
    add(t, "a.mf", b"SHA256(a.ovf)= " + hashlib.sha256(b"other").hexdigest().encode() + b"\n")
data = open("pkgs/mismatch.ova", "rb").read()
open("pkgs/truncated.ova", "wb").write(data[:700])
PYEOF
for p in dotdot deep absolute symlink hardlink device duplicate subdir; do
    expect_err "refusing to extract" ovfkit ova unpack pkgs/$p.ova out-$p
    [ ! -e out-$p ] || fail "$p: a half-extracted directory was left"
    expect_rc 2 ovfkit ova verify pkgs/$p.ova
done
[ ! -e escape.txt ] && [ ! -e /tmp/ovfk-escape-abs.txt ] && [ ! -e ../escape.txt ] ||
    fail "something was written outside the target"
ovfkit ova list pkgs/dotdot.ova | grep -q "has a name with '..'" || fail "list does not flag '..'"
expect_err "does not match the manifest" ovfkit ova unpack pkgs/mismatch.ova out-mm
[ ! -e out-mm ] || fail "mismatched package left files"
expect_err "truncated" ovfkit ova unpack pkgs/truncated.ova out-tr
[ ! -e out-tr ] || fail "truncated package left files"
expect_rc 2 ovfkit ova verify pkgs/truncated.ova
# an existing, non-empty target is refused
mkdir full && touch full/x
ovfkit ova pack "$OVFK_SRCDIR/testdata/ovf/cot__minimal.ovf" min.ova
expect_err "not an empty directory" ovfkit ova unpack min.ova full
echo ok

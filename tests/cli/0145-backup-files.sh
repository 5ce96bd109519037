# File-level restore: a phony Linux guest (built by e2fsprogs, not by
# ovfkit) is backed up, a file changes (the guest's new disk blocks
# written into the VM through ovfkit), backed up again; `backup files`
# lists the old point's directory and `backup extract` returns the file's
# bytes as of that point, not the current ones.  A symbolic link in the
# guest pointing outside is never followed nor recreated, nothing lands
# outside the target, and the repository's files are unchanged (hash).
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/bk.sh"
"$PY" -c "import jsonschema" 2>/dev/null || skip "needs python3-jsonschema"
need guestfish libguestfs-tools
need nbdkit
export LIBGUESTFS_BACKEND_SETTINGS=force_tcg

# the guest: an ext4 file system over the whole disk, made by e2fsprogs
# (mkfs.ext4 -d: no appliance), with what libguestfs's inspection needs to
# call it Debian; the new image has report.bin changed and a file added
need mkfs.ext4 e2fsprogs
mkdir -p g/etc g/bin g/srv/data/sub
printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' \
    > g/etc/os-release
echo 12.4 > g/etc/debian_version
echo "/dev/sda / ext4 defaults 0 1" > g/etc/fstab
echo files1 > g/etc/hostname
printf '\177ELF phony' > g/bin/sh
head -c 300000 /dev/urandom > report-old.bin
head -c 300000 /dev/urandom > report-new.bin
cp report-old.bin g/srv/data/report.bin
echo "kept as it was" > g/srv/data/sub/notes.txt
ln -s /etc/shadow-of-host g/srv/data/escape
ln -s ../../../../../../tmp/ovfk-escape g/srv/data/up
truncate -s 64M old.raw new.raw
mkfs.ext4 -q -F -d g old.raw
cp report-new.bin g/srv/data/report.bin
echo "only in the new point" > g/srv/data/added.txt
mkfs.ext4 -q -F -d g new.raw

cp old.raw model.raw
k vm create web --memory 256 --disk old.raw -f raw > /dev/null
k backup web --repo "$R" --json 2> err.txt | doc > b0.json || fail "$(cat err.txt)"
P0=$(json 'd["id"]' < b0.json)
# the new image's changed 64 KiB pieces, written into the VM
"$PY" - > pieces.txt <<'PYEOF'
with open("old.raw", "rb") as a, open("new.raw", "rb") as b:
    off = 0
    while True:
        x, y = a.read(65536), b.read(65536)
        if not x:
            break
        if x != y:
            print(off)
        off += 65536
PYEOF
c=$(cur)
for off in $(cat pieces.txt); do
    dd if=new.raw bs=64K skip=$((off / 65536)) count=1 status=none |
        ovfkit vhd write "$c" "$off" 65536
done
k backup web --repo "$R" --json 2> err.txt | doc > b1.json || fail "$(cat err.txt)"
[ "$(json 'd["kind"]' < b1.json)" = incremental ] || fail "$(cat b1.json)"
P1=$(json 'd["id"]' < b1.json)
find "$R" -type f ! -name .lock -exec sha256sum {} + | sort > repo-before.txt

# the listing of the old point: its files, not the new one's
k backup files web "$P0" /srv/data --repo "$R" --json | doc > files.json
schema backup-files files.json
[ "$(json '" ".join(sorted(e["name"] + ":" + e["type"] for e in d["entries"]))' < files.json)" = \
  "escape:link report.bin:file sub:directory up:link" ] ||
    fail "files of $P0: $(cat files.json)"
json '[e["size"] for e in d["entries"] if e["name"] == "report.bin"][0]' < files.json |
    grep -qx 300000 || fail "size of report.bin: $(cat files.json)"

# extract from the old point: the old bytes, links skipped, all inside out/
k backup extract web "$P0" /srv/data /etc/os-release --to out --repo "$R" --json \
    2> xerr.txt | doc > x.json || fail "extract: $(cat xerr.txt)"
schema backup-extract x.json
cmp -s out/data/report.bin report-old.bin || fail "report.bin is not the old point's"
! cmp -s out/data/report.bin report-new.bin || fail "report.bin is the current one"
[ "$(cat out/data/sub/notes.txt)" = "kept as it was" ] || fail "sub/notes.txt"
[ -f out/os-release ] || fail "os-release was not copied"
[ ! -e out/data/added.txt ] || fail "a file of the newer point was extracted"
[ ! -e out/data/escape ] && [ ! -L out/data/escape ] && [ ! -L out/data/up ] ||
    fail "a guest link was recreated"
[ ! -e /tmp/ovfk-escape ] || fail "a guest link was followed out of the target"
grep -q "'/srv/data/escape' is a symbolic link: skipped" xerr.txt ||
    fail "the skipped link is not reported: $(cat xerr.txt)"
[ "$(json 'd["files"]' < x.json)" -eq 3 ] || fail "files copied: $(cat x.json)"
[ -z "$(find out -type l)" ] || fail "links in the target: $(find out -type l)"
expect_err "is not empty" k backup extract web "$P0" /srv/data --to out --repo "$R"
expect_err "does not name a file" k backup extract web "$P0" /srv/.. --to out2 --repo "$R"
find "$R" -type f ! -name .lock -exec sha256sum {} + | sort > repo-after.txt
cmp -s repo-before.txt repo-after.txt || fail "file-level restore wrote the repository"
echo "ok: files and extract read the point, read-only, inside the target"

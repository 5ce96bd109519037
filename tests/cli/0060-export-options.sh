# The commands that write a package take one table of options
# (cli/export_opts.c): every export option, in every spelling, goes
# through both `export` (the VM now) and `snapshot export` (the VM at a
# snapshot taken with nothing written since), and the two packages must be
# alike: the same files, the same descriptor but for identifiers and
# times, the same manifest but for the hashes of the VHDs (their footers
# carry a fresh UUID and time), disks that qemu-img reads as equal (and as
# the VM's data), fixed VHDs where --fixed asked (libvhdi says), a
# signature `ova verify` accepts with the signer's certificate.  A bad
# value is refused with the same message by both, and by convert for the
# options it shares.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need qemu-img qemu-utils
need openssl openssl
"$PY" -c "import pyvhdi" 2>/dev/null || skip "needs pyvhdi (Debian package python3-libvhdi)"

k() { ovfkit --store "$T/st" "$@"; }

k vm create web --disk 8M --disk 4M > /dev/null
k --json vm show web > web.json
d1=$(json 'd["disks"][0]["path"]' < web.json)
d2=$(json 'd["disks"][1]["path"]' < web.json)
head -c 3M /dev/urandom | ovfkit vhd write "$d1" 1000001
head -c 200K /dev/urandom | ovfkit vhd write "$d2" 3M
ovfkit vhd convert --type raw "$d1" ref1.raw
ovfkit vhd convert --type raw "$d2" ref2.raw
k snapshot create web --name A > /dev/null

openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem \
    -days 30 -subj "/CN=ovfkit export options test" 2> /dev/null

# unpack PKG DIR: the package's files in DIR (an OVA is untarred)
unpack() {
    mkdir "$2"
    case $1 in
    *.ova) tar -xf "$1" -C "$2" ;;
    *) cp "$1"/* "$2"/ ;;
    esac
}

# identifiers and times blanked: what may differ between two exports; and
# the size of a gzipped disk, which holds its footer's UUID and time
norm() {
    sed -E -e 's/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/UUID/g' \
        -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+)?/TIME/g' \
        -e 's/ovf:size="[0-9]+" ovf:compression="gzip"/ovf:size="N" ovf:compression="gzip"/' "$1"
}

# disk_vhd FILE OUT: the VHD (gunzipped when --compress made it)
disk_vhd() {
    case $1 in
    *.gz) gzip -dc "$1" > "$2" ;;
    *) cp "$1" "$2" ;;
    esac
}

# alike LABEL PKG_EXPORT PKG_SNAPSHOT [fixed]
alike() {
    label=$1 a=$2 b=$3 fixed=${4:-}
    rm -rf ua ub
    unpack "$a" ua
    unpack "$b" ub
    [ "$(cd ua && ls | sort)" = "$(cd ub && ls | sort)" ] ||
        fail "$label: files differ: $(cd ua && ls) / $(cd ub && ls)"
    ovf=$(cd ua && ls *.ovf)
    [ -n "$ovf" ] || fail "$label: no descriptor"
    norm "ua/$ovf" > a.ovf
    norm "ub/$ovf" > b.ovf
    diff a.ovf b.ovf > /dev/null || fail "$label: descriptors differ: $(diff a.ovf b.ovf | head -5)"
    # the manifest names the same files with the same algorithm; the
    # descriptors' hashes agree, as the descriptors do
    sed 's/= .*//' ua/*.mf > a.mf
    sed 's/= .*//' ub/*.mf > b.mf
    cmp -s a.mf b.mf || fail "$label: manifests list other files"
    if cmp -s "ua/$ovf" "ub/$ovf"; then
        [ "$(grep "($ovf)" ua/*.mf)" = "$(grep "($ovf)" ub/*.mf)" ] ||
            fail "$label: equal descriptors, different manifest hashes"
    fi
    n=0
    for f in ua/*.vhd ua/*.vhd.gz; do
        [ -e "$f" ] || continue
        n=$((n + 1))
        base=$(basename "$f")
        disk_vhd "$f" a.vhd
        disk_vhd "ub/$base" b.vhd
        qemu-img compare -q -f vpc -F vpc a.vhd b.vhd ||
            fail "$label: $base reads differently in the two packages"
        case $base in
        *disk1*) ref=ref1.raw ;;
        *) ref=ref2.raw ;;
        esac
        qemu-img compare -q -f vpc -F raw a.vhd "$ref" ||
            fail "$label: $base is not the VM's data"
        for img in a.vhd b.vhd; do
            type=$("$PY" -c "import pyvhdi,sys; f=pyvhdi.file(); f.open(sys.argv[1]); print(f.get_disk_type())" "$img")
            want=3      # dynamic
            [ -z "$fixed" ] || want=2
            [ "$type" = "$want" ] || fail "$label: $base of $img is VHD type $type, expected $want"
        done
    done
    echo "$label: alike ($n disks)"
}

# both LABEL TO OPTION...: export and snapshot export with OPTION...
both() {
    label=$1 to=$2; shift 2
    k export web --to "e-$to" "$@" > /dev/null || fail "$label: export refused $*"
    k snapshot export web A --to "s-$to" "$@" > /dev/null ||
        fail "$label: snapshot export refused $*"
}

both plain plain
alike plain e-plain s-plain
grep -q 'xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"' e-plain/web.ovf || fail "default is not OVF 1.0"

for v in 1 1.0 2 2.0; do
    both "--ovf $v" "ovf$v" --ovf "$v"
    alike "--ovf $v" "e-ovf$v" "s-ovf$v"
    want=${v%.0}
    grep -q "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/$want\"" "e-ovf$v/web.ovf" ||
        fail "--ovf $v did not write OVF $want"
done
# the short spelling is the long one
for v in 1 2; do
    for p in e s; do
        norm "$p-ovf$v/web.ovf" > v.ovf
        norm "$p-ovf$v.0/web.ovf" > w.ovf
        cmp -s v.ovf w.ovf || fail "$p: --ovf $v and --ovf $v.0 write different descriptors"
    done
done

for d in sha1 sha256 sha512; do
    both "--digest $d" "dg-$d" --digest "$d"
    alike "--digest $d" "e-dg-$d" "s-dg-$d"
    D=$(echo "$d" | tr a-z A-Z)
    for p in e s; do
        [ "$(grep -c "^$D(" "$p-dg-$d/web.mf")" -eq 3 ] || fail "--digest $d: $p manifest: $(cat "$p-dg-$d/web.mf")"
    done
done

both --compress z --compress
alike --compress e-z s-z
[ -e s-z/web-disk1.vhd.gz ] || fail "--compress wrote no .gz disk: $(ls s-z)"

both --config-only conf --config-only
alike --config-only e-conf s-conf
[ "$(ls s-conf | tr '\n' ' ')" = "web.mf web.ovf " ] || fail "--config-only wrote $(ls s-conf)"

both --fixed fixed --fixed
alike --fixed e-fixed s-fixed fixed

both "--key --cert" signed.ova --key key.pem --cert cert.pem
alike "--key --cert" e-signed.ova s-signed.ova
for p in e s; do
    ovfkit ova verify --ca cert.pem --require-signature "$p-signed.ova" > /dev/null ||
        fail "--key --cert: $p package's signature does not verify"
done
# the unsigned packages would not pass that
expect_rc 2 ovfkit ova verify --ca cert.pem --require-signature e-plain/web.ovf > /dev/null

# everything at once, into an OVA
both all all.ova --ovf 2 --digest sha512 --compress --fixed --key key.pem --cert cert.pem
alike all e-all.ova s-all.ova fixed
for p in e s; do
    ovfkit ova verify --ca cert.pem --require-signature "$p-all.ova" > /dev/null ||
        fail "all: $p package's signature does not verify"
done

# the same refusals, word for word
for cmd in "export web" "snapshot export web A"; do
    # shellcheck disable=SC2086
    expect_err "--ovf takes 1.0 or 2.0" k $cmd --to bad --ovf 3
    expect_err "unknown digest 'md5'" k $cmd --to bad --digest md5
    expect_err "--key and --cert go together" k $cmd --to bad --key key.pem
    expect_err "--key and --cert go together" k $cmd --to bad --cert cert.pem
    expect_err "invalid option" k $cmd --to bad --no-such-option
    [ ! -e bad ] || fail "$cmd: a refused export left 'bad'"
done

# convert shares --digest and --fixed
ovfkit vhd convert --type raw "$d1" src.raw
ovfkit convert src.raw --to conv --fixed --digest sha1 > /dev/null
grep -q '^SHA1(src-disk1.vhd)= ' conv/src.mf || fail "convert --digest sha1: $(cat conv/src.mf)"
[ "$("$PY" -c "import pyvhdi,sys; f=pyvhdi.file(); f.open(sys.argv[1]); print(f.get_disk_type())" conv/src-disk1.vhd)" = 2 ] ||
    fail "convert --fixed wrote no fixed VHD"
expect_err "unknown digest 'md5'" ovfkit convert src.raw --to conv2 --digest md5
echo "ok"

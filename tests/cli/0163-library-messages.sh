# Messages of the libraries we call never reach the terminal raw: every
# line on stderr is ours ("ovfkit: ...", "warning: ...", "error: ...").
#  - libxml2: ovf validate on OVF 2.0 descriptors (the DMTF schemas made
#    libxml2's schema parser print nine "Schemas parser warning" lines);
#  - libvirt: a test:/// URI whose file is missing (libxml2 inside
#    libvirt printed "I/O warning : failed to load external entity");
#  - libguestfs: a bad LIBGUESTFS_BACKEND (libguestfs printed
#    "libguestfs: error: invalid backend" itself, then went on).
# None of these cases starts an appliance or a daemon.
. "$OVFK_SRCDIR/tests/cli/lib.sh"

# ours LABEL FILE: every line of FILE is one of ours
ours() {
    if grep -v '^ovfkit: \|^warning: \|^error: ' "$2" > raw.txt; then
        fail "$1: raw library lines: $(head -3 raw.txt)"
    fi
}

for f in virtualbox__ubuntu.2.0.ovf ovfkit__dmtf2_epasd_sasd.ovf; do
    set +e
    ovfkit ovf validate "$OVFK_SRCDIR/testdata/ovf/$f" > out.txt 2> err.txt
    set -e
    ours "ovf validate $f" err.txt
    ! grep -q "Schemas parser\|Schemas validity" out.txt err.txt ||
        fail "$f: libxml2's schema messages"
done
echo "libxml2: quiet"

if ovfkit --connect test:///default vm list > /dev/null 2>&1; then
    expect_err "cannot connect to libvirt" \
        ovfkit --connect "test://$T/nosuch.xml" vm list
    ours "libvirt" err.txt
    [ "$(wc -l < err.txt)" = 1 ] || fail "libvirt: $(cat err.txt)"
    echo "libvirt: one line of ours"
else
    echo "libvirt's test driver is not usable here: libvirt case not run"
fi

if "$PY" -c "import guestfs" 2> /dev/null || [ -e /usr/lib/x86_64-linux-gnu/libguestfs.so.0 ]; then
    truncate -s 16M blank.raw
    LIBGUESTFS_BACKEND=nosuch expect_err "invalid backend: nosuch" \
        ovfkit inspect blank.raw
    ours "libguestfs" err.txt
    [ "$(wc -l < err.txt)" = 1 ] || fail "libguestfs: $(cat err.txt)"
    echo "libguestfs: one line of ours"
else
    skip "needs libguestfs (Debian package libguestfs0)"
fi

# `nbdkit ovfkit file=DISK.vhd`: any NBD client reads a differencing chain
# through our plugin exactly as our reader (and libvhdi) do, and its writes
# land in the top file only, leaving the parents untouched; qemu-img is the
# client, an independent one.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need nbdkit nbdkit
need qemu-img qemu-utils
need qemu-io qemu-utils
plugin=$OVFK_BUILD/nbdkit-ovfkit-plugin.so
[ -e "$plugin" ] || fail "the nbdkit plugin was not built"

ovfkit vhd create base.vhd 8M
head -c 5M /dev/urandom | ovfkit vhd write base.vhd 0
ovfkit vhd snapshot base.vhd d1.vhd
head -c 1000000 /dev/urandom | ovfkit vhd write d1.vhd 3000001
ovfkit vhd snapshot d1.vhd d2.vhd
head -c 7000 /dev/zero | ovfkit vhd write d2.vhd 100
ovfkit vhd convert --type raw d2.vhd ref.raw
base_sum=$(sha256sum < base.vhd) d1_sum=$(sha256sum < d1.vhd)

serve() { # CMD...: run CMD with $nbd set to the chain served by the plugin
    nbdkit -U - "$plugin" file="$T/d2.vhd" --run "$*"
}
serve 'qemu-img convert -f raw -O raw "$nbd" '"$T/got.raw"
cmp -s got.raw ref.raw || fail "qemu-img reads other data through the plugin"

# a write through NBD: the pattern lands in d2 only
serve 'qemu-io -f raw -c "write -P 0xab 1234567 70000" "$nbd"' > /dev/null
"$PY" - <<'PYEOF' || fail "the write through the plugin is wrong"
ref = bytearray(open("ref.raw", "rb").read())
ref[1234567:1234567 + 70000] = b"\xab" * 70000
open("ref.raw", "wb").write(ref)
PYEOF
ovfkit vhd compare ref.raw d2.vhd > /dev/null || fail "d2 does not hold the write"
vhdi_raw d2.vhd v.raw
cmp -s v.raw ref.raw || fail "libvhdi reads d2 differently after the write"
[ "$(sha256sum < base.vhd)" = "$base_sum" ] && [ "$(sha256sum < d1.vhd)" = "$d1_sum" ] ||
    fail "a parent changed"
ovfkit vhd check d2.vhd > /dev/null || fail "check after writes through the plugin"

# bad input: a file that is not a VHD is refused with a message
head -c 1M /dev/urandom > junk.vhd
set +e
nbdkit -U - "$plugin" file="$T/junk.vhd" --run true 2> err.txt
rc=$?
set -e
[ $rc -ne 0 ] || fail "the plugin served a file that is not a VHD"
grep -q "junk.vhd" err.txt || fail "no message naming the file: $(cat err.txt)"

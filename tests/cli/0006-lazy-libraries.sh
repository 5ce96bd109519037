# libguestfs and libvirt (and the ~45 libraries they bring) are loaded only
# by the commands that use them (util/dlib.c): the dynamic loader's own
# trace (LD_DEBUG=files) is the oracle.  A VHD command, a merge included,
# loads neither; a libvirt command loads libvirt when it connects, and
# works through the loaded table.
. "$OVFK_SRCDIR/tests/cli/lib.sh"

# loaded SONAME...: which of the given libraries the last trace shows
loaded() {
    for so in "$@"; do
        grep -q "file=$so \[0\]; *dynamically loaded by" trace.txt &&
            printf '%s ' "$so"
    done
    return 0
}
linked() {
    for so in "$@"; do
        grep -q "file=$so \[0\]; *needed by" trace.txt && printf '%s ' "$so"
    done
    return 0
}

LD_DEBUG=files ovfkit vhd create base.vhd 8M 2> trace.txt > /dev/null
grep -q "needed by" trace.txt || fail "LD_DEBUG=files printed no trace"
[ -z "$(linked libguestfs.so.0 libvirt.so.0)" ] ||
    fail "ovfkit is linked with: $(linked libguestfs.so.0 libvirt.so.0)"
[ -z "$(loaded libguestfs.so.0 libvirt.so.0)" ] ||
    fail "vhd create loaded: $(loaded libguestfs.so.0 libvirt.so.0)"

head -c 1M /dev/urandom | ovfkit vhd write base.vhd 0
ovfkit vhd snapshot base.vhd d1.vhd
head -c 65536 /dev/urandom | ovfkit vhd write d1.vhd 2097152
LD_DEBUG=files ovfkit -q vhd merge d1.vhd 2> trace.txt
[ -z "$(loaded libguestfs.so.0 libvirt.so.0)" ] ||
    fail "vhd merge loaded: $(loaded libguestfs.so.0 libvirt.so.0)"
[ ! -e d1.vhd ] || fail "the merge left its delta"

# libvirt's test driver needs no daemon: it knows one domain, "test"
LD_DEBUG=files ovfkit --connect test:///default vm list 2> trace.txt > list.txt
[ -n "$(loaded libvirt.so.0)" ] ||
    fail "vm list on a libvirt URI did not load libvirt"
[ -z "$(loaded libguestfs.so.0)" ] || fail "vm list loaded libguestfs"
grep -q '^test ' list.txt ||
    fail "vm list through the loaded libvirt: $(cat list.txt)"

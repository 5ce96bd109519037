# Packages from other producers import: XenServer's descriptor (its disks
# are ResourceType 19 storage extents, its UUID in VirtualSystemIdentifier)
# with real Hyper-V VHDs (dynamic and fixed) as the disk.  The imported
# disk reads as qemu-img reads the original; a restore keeps the UUID.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need qemu-img qemu-utils
S=$T/store
o() { ovfkit --store "$S" "$@"; }
href=5936bc8c-20ae-4052-9083-b8e5b96dc683.vhd
for kind in dynamic fixed; do
    rm -rf pkg && mkdir pkg
    cp "$OVFK_SRCDIR/testdata/ovf/citrix-xenserver__xenovf_sample_app.ovf" pkg/app.ovf
    gzip -dc "$OVFK_SRCDIR/testdata/images/vhd__dissect_$kind.vhd.gz" > "pkg/$href"
    qemu-img convert -f vpc -O raw "pkg/$href" ref.raw
    # XenServer's VMs have 64 MiB: our floor is 256
    expect_err "below the 256 MiB" o import pkg/app.ovf --keep-guest-config
    o net add xnet
    o import pkg/app.ovf --name "xs_$kind" --memory 256 --keep-guest-config > /dev/null
    o --json vm show "xs_$kind" > vm.json
    [ "$(json 'd["os_type"]' < vm.json)" = "XenOVF Created Export" ] || fail "os type not kept"
    ovfkit vhd compare ref.raw "$(json 'd["disks"][0]["path"]' < vm.json)" > /dev/null ||
        fail "$kind: imported disk differs from what qemu-img reads"
    [ "$(json 'd["disks"][0]["capacity"]' < vm.json)" = 10485760 ] || fail "capacity"
done
o restore pkg/app.ovf --name xs_restored --memory 256 > /dev/null
[ "$(o --json vm show xs_restored | json 'd["uuid"]')" = 3b0aab30-0241-487f-b40b-2c79607011b3 ] ||
    fail "restore did not keep XenServer's VM UUID"
echo ok

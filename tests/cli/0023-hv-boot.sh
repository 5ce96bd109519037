# What a guest really sees: a tiny guest (the Debian kernel and an
# initramfs built here, whose init prints its NIC's MAC and a marker read
# from its disk on the serial console) is exported, imported and restored
# through the dir store and started by `ovfkit vm start`.  The console
# shows the new MAC after import, the original after restore, and the
# marker every time.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/guest.sh"

# the init reports its MAC and the marker on its disk
guest_initrd initrd.gz <<'EOX'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in /mods/*.ko; do insmod "$m"; done
for i in 1 2 3 4 5 6 7 8 9 10; do
    [ -e /sys/class/net/eth0 ] && [ -e /dev/vda ] && break
    sleep 1
done
echo "OVFKIT-MAC=$(cat /sys/class/net/eth0/address)"
echo "OVFKIT-MARKER=$(head -c 32 /dev/vda | tr -d '\000')"
poweroff -f
EOX

S=$T/store
o() { ovfkit --store "$S" "$@"; }
boot() { # boot VM: print what its console said
    timeout 300 "$OVFKIT" --store "$S" vm start --console "$1" > "console-$1.txt" 2>&1 ||
        fail "vm start $1: $(tail -5 "console-$1.txt")"
    grep '^OVFKIT-' "console-$1.txt" | tr -d '\r' | sort -u
}
o vm create tiny --memory 256 --disk 16M --nic lan,mac=02:17:42:2F:77:01 \
    --kernel "$kernel" --initrd "$T/initrd.gz" --cmdline "console=ttyS0 panic=-1 quiet"
disk=$(o --json vm show tiny | json 'd["disks"][0]["path"]')
printf 'ovfkit-marker-5d1f' | ovfkit vhd write "$disk" 0

boot tiny > orig.txt
grep -q "OVFKIT-MAC=02:17:42:2f:77:01" orig.txt || fail "original boot: $(cat orig.txt)"
grep -q "OVFKIT-MARKER=ovfkit-marker-5d1f" orig.txt || fail "original marker: $(cat orig.txt)"

o export tiny --to tiny.ova
o vm remove tiny

o import tiny.ova --name tiny_import --keep-guest-config > /dev/null
new_mac=$(o --json vm show tiny_import | json 'd["nics"][0]["mac"]' | tr A-F a-f)
[ "$new_mac" != "02:17:42:2f:77:01" ] || fail "import kept the MAC"
boot tiny_import > imported.txt
grep -q "OVFKIT-MAC=$new_mac" imported.txt || fail "imported guest sees $(cat imported.txt), want $new_mac"
grep -q "OVFKIT-MARKER=ovfkit-marker-5d1f" imported.txt || fail "imported marker: $(cat imported.txt)"

o restore tiny.ova > /dev/null
boot tiny > restored.txt
grep -q "OVFKIT-MAC=02:17:42:2f:77:01" restored.txt || fail "restored guest sees $(cat restored.txt)"
grep -q "OVFKIT-MARKER=ovfkit-marker-5d1f" restored.txt || fail "restored marker"
cat orig.txt imported.txt restored.txt

# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/cli/guest.sh - a tiny guest for boot tests (after lib.sh): the
# Debian kernel and an initramfs of busybox and the virtio modules whose
# /init is given on stdin.  Skips when a tool it needs is absent.
#   guest_initrd OUT.gz < INIT    ($kernel is the kernel to boot)
need qemu-system-x86_64 qemu-system-x86
need busybox busybox-static
need cpio cpio
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort | tail -1)
[ -n "$kernel" ] || skip "needs a kernel in /boot (linux-image-amd64)"
kv=${kernel#/boot/vmlinuz-}
[ -d "/lib/modules/$kv" ] || skip "needs the modules of $kv"
file -L "$(command -v busybox)" 2>/dev/null | grep -q static || skip "needs a static busybox (busybox-static)"

guest_initrd() {
    rm -rf root && mkdir -p root/bin root/mods
    cp "$(command -v busybox)" root/bin/busybox
    i=0
    for m in $(for mod in virtio_pci virtio_blk virtio_net; do
                   modprobe -S "$kv" --show-depends "$mod"; done |
               awk '$1 == "insmod" {print $2}' | awk '!seen[$0]++'); do
        i=$((i + 1))
        b=$(printf '%02d-%s' "$i" "$(basename "$m")")
        case $m in
        *.xz) xz -dc "$m" > "root/mods/${b%.xz}" ;;
        *.zst) zstd -dc "$m" > "root/mods/${b%.zst}" ;;
        *) cp "$m" "root/mods/$b" ;;
        esac
    done
    cat > root/init
    chmod +x root/init
    (cd root && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$1"
}

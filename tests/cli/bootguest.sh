# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/cli/bootguest.sh - a real, bootable Debian 12 guest that looks like
# a physical server (after lib.sh), built once and cached:
#   boot_guest            sets $bootimg to the cached raw disk (read-only!)
#   boot_qemu IMG BUS LOG start IMG with qemu (TCG) on BUS (sata|ide|virtio)
#                         until it powers off, serial console into LOG
# The guest: debootstrap minbase + linux-image-amd64 + systemd + GRUB (BIOS)
# on a 1.5 GiB MBR disk (sparse: ~750 MiB used) with one ext4 partition; fstab, grub.cfg and
# /etc/default/grub name /dev/sda1; its initramfs is rebuilt with
# MODULES=dep while it runs on SATA (a first boot here), so it lacks
# virtio; fake OEM agents hp-health.service (p2v section of the catalog)
# and vmtoolsd.service (v2v) print "AGENT <name> STARTED" when they run;
# ovfk-booted.service prints "BOOTED <hostname> <MAC of the first NIC>"
# on ttyS0 and powers off.  Building needs root, debootstrap, the Debian
# mirror apt uses, losetup and qemu (~10 min under TCG); skips otherwise.
# The cache lives in $OVFK_CACHE (default /var/tmp/ovfkit-cache).
BOOTGUEST_VERSION=4
OVFK_CACHE=${OVFK_CACHE:-/var/tmp/ovfkit-cache}

# BUS and disk IMG (FMT) as qemu options, printed one a line
boot_qemu_disk() {
    case $1 in
    sata) printf '%s\n' -device ahci,id=ahci0 \
              -drive "if=none,id=d0,file=$2,format=$3" \
              -device ide-hd,drive=d0,bus=ahci0.0 ;;
    ide) printf '%s\n' -drive "if=ide,index=0,file=$2,format=$3" ;;
    virtio) printf '%s\n' -drive "if=virtio,file=$2,format=$3" ;;
    esac
}

boot_qemu() {
    img=$1 bus=$2 log=$3
    # shellcheck disable=SC2046
    timeout 900 qemu-system-x86_64 -accel tcg -m 1024 -nodefaults \
        -display none -no-reboot -serial "file:$log" \
        $(boot_qemu_disk "$bus" "$img" raw) \
        -netdev user,id=n0 -device e1000,netdev=n0 > "$log.qemu" 2>&1
}

# the partition node of loop device $1 (no udev here: made from sysfs)
bg_part_node() {
    dev=$1 b=${1#/dev/}
    [ -d "/sys/block/$b/${b}p1" ] || partx -a "$dev" 2>/dev/null || true
    [ -d "/sys/block/$b/${b}p1" ] || return 1
    [ -b "${dev}p1" ] || {
        mm=$(cat "/sys/block/$b/${b}p1/dev")
        mknod "${dev}p1" b "${mm%:*}" "${mm#*:}"
    }
    echo "${dev}p1"
}

bg_cleanup() {
    for m in dev/pts dev proc sys ""; do
        mountpoint -q "$bg_mnt/$m" 2>/dev/null && umount "$bg_mnt/$m"
    done
    [ -n "${bg_loop:-}" ] && losetup -d "$bg_loop" 2>/dev/null
    bg_loop=
}

# the files that make the guest what it is
bg_configure() {
    r=$1
    echo physrv17 > "$r/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 physrv17\n' > "$r/etc/hosts"
    cat > "$r/etc/fstab" <<'EOF'
# /etc/fstab: the installer of a physical server, root on the first SATA disk
/dev/sda1  /  ext4  errors=remount-ro  0  1
EOF
    cat > "$r/etc/default/grub" <<'EOF'
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="console=ttyS0,115200 panic=10"
GRUB_DISABLE_LINUX_UUID=true
GRUB_CMDLINE_LINUX_RECOVERY="root=/dev/sda1 single"
GRUB_TERMINAL=serial
EOF
    cat > "$r/usr/local/sbin/ovfk-booted" <<'EOF'
#!/bin/sh
# udev loads the NIC's driver from the root file system, maybe after this
# runs (an initramfs without virtio_pci, under TCG): wait for it
mac=
for t in $(seq 120); do
    for i in /sys/class/net/*; do
        [ "${i##*/}" = lo ] && continue
        mac=$(cat "$i/address"); break
    done
    [ -n "$mac" ] && break
    sleep 1
done
echo "BOOTED $(hostname) $mac" > /dev/ttyS0
echo "ROOT $(findmnt -n -o SOURCE /)" > /dev/ttyS0
systemctl --no-block poweroff
EOF
    chmod 755 "$r/usr/local/sbin/ovfk-booted"
    cat > "$r/etc/systemd/system/ovfk-booted.service" <<'EOF'
[Unit]
Description=ovfkit boot proof
After=basic.target ovfk-firstboot.service hp-health.service vmtoolsd.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/ovfk-booted
[Install]
WantedBy=multi-user.target
EOF
    for a in hp-health vmtoolsd; do
        cat > "$r/etc/systemd/system/$a.service" <<EOF
[Unit]
Description=fake OEM / hypervisor agent $a
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "AGENT $a STARTED" > /dev/ttyS0'
[Install]
WantedBy=multi-user.target
EOF
    done
    # the first boot (on SATA): the initramfs of a physical install,
    # MODULES=dep, built on the hardware it runs on
    cat > "$r/usr/local/sbin/ovfk-firstboot" <<'EOF'
#!/bin/sh
echo 'MODULES=dep' > /etc/initramfs-tools/conf.d/ovfk-dep
update-initramfs -u -k all > /dev/ttyS0 2>&1
rm -f /etc/systemd/system/multi-user.target.wants/ovfk-firstboot.service
sync
echo "FIRSTBOOT DONE" > /dev/ttyS0
systemctl --no-block poweroff
EOF
    chmod 755 "$r/usr/local/sbin/ovfk-firstboot"
    cat > "$r/etc/systemd/system/ovfk-firstboot.service" <<'EOF'
[Unit]
Description=ovfkit test guest: initramfs for this hardware
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/ovfk-firstboot
[Install]
WantedBy=multi-user.target
EOF
    mkdir -p "$r/etc/systemd/system/multi-user.target.wants"
    for u in hp-health vmtoolsd ovfk-firstboot ovfk-booted; do
        ln -sf "/etc/systemd/system/$u.service" \
            "$r/etc/systemd/system/multi-user.target.wants/$u.service"
    done
    # no getty on tty1 to wait for; serial output stays ours
    ln -sf /dev/null "$r/etc/systemd/system/getty@tty1.service"
    ln -sf /dev/null "$r/etc/systemd/system/serial-getty@ttyS0.service"
}

bg_build() {
    out=$1 rootfs=$OVFK_CACHE/debian12-rootfs
    if [ ! -f "$rootfs/.complete" ]; then
        rm -rf "$rootfs.tmp"
        nice debootstrap --variant=minbase \
            --include=linux-image-amd64,systemd-sysv,udev,kmod,initramfs-tools,grub-pc-bin,grub2-common,e2fsprogs,iproute2 \
            bookworm "$rootfs.tmp" http://deb.debian.org/debian \
            > "$OVFK_CACHE/debootstrap.log" 2>&1 ||
            fail "debootstrap: $(tail -5 "$OVFK_CACHE/debootstrap.log")"
        touch "$rootfs.tmp/.complete"
        rm -rf "$rootfs" && mv "$rootfs.tmp" "$rootfs"
    fi
    img=$out.tmp
    rm -f "$img"
    truncate -s 1536M "$img"
    echo 'start=2048, type=83, bootable' | sfdisk -q "$img"
    bg_loop=$(losetup -f --show -P "$img")
    bg_mnt=$OVFK_CACHE/mnt.$$
    trap 'bg_cleanup; rm -rf "$bg_mnt"' EXIT
    part=$(bg_part_node "$bg_loop") || fail "no partition node for $bg_loop"
    mkfs.ext4 -q -L physroot "$part"
    mkdir -p "$bg_mnt"
    mount "$part" "$bg_mnt"
    tar -C "$rootfs" --exclude=./.complete \
        --exclude="./var/cache/apt/archives/*.deb" \
        --exclude="./usr/share/doc/*" --exclude="./usr/share/man/*" \
        --exclude="./usr/share/locale/*" --exclude="./var/lib/apt/lists/*" \
        -cf - . | tar -C "$bg_mnt" -xf -
    bg_configure "$bg_mnt"
    mount --bind /dev "$bg_mnt/dev"
    mount -t proc proc "$bg_mnt/proc"
    mount -t sysfs sys "$bg_mnt/sys"
    kv=$(ls "$bg_mnt/lib/modules" | sort | tail -1)
    # MODULES=most for the first boot (it has ahci); dep comes on SATA
    chroot "$bg_mnt" update-initramfs -c -k "$kv" > /dev/null 2>&1 ||
        chroot "$bg_mnt" update-initramfs -u -k "$kv" > /dev/null
    chroot "$bg_mnt" grub-install --target=i386-pc --boot-directory=/boot \
        --modules="part_msdos ext2" "$bg_loop" > "$OVFK_CACHE/grub.log" 2>&1 ||
        fail "grub-install: $(tail -3 "$OVFK_CACHE/grub.log")"
    # what grub-mkconfig makes with GRUB_DISABLE_LINUX_UUID, written here
    # because grub-probe would name the loop device
    cat > "$bg_mnt/boot/grub/grub.cfg" <<EOF
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
set default=0
menuentry 'Debian GNU/Linux' {
    insmod part_msdos
    insmod ext2
    set root='hd0,msdos1'
    linux /boot/vmlinuz-$kv root=/dev/sda1 ro console=ttyS0,115200 panic=10 quiet
    initrd /boot/initrd.img-$kv
}
EOF
    bg_cleanup
    rm -rf "$bg_mnt"
    # first boot on SATA: MODULES=dep initramfs for this hardware
    boot_qemu "$img" sata "$OVFK_CACHE/firstboot.log" || true
    grep -q "FIRSTBOOT DONE" "$OVFK_CACHE/firstboot.log" ||
        fail "first boot: $(tail -c 2000 "$OVFK_CACHE/firstboot.log")"
    mv "$img" "$out"
}

boot_guest() {
    need debootstrap debootstrap
    need qemu-system-x86_64 qemu-system-x86
    need sfdisk fdisk
    bootimg=$OVFK_CACHE/debian12-physical-v$BOOTGUEST_VERSION.raw
    [ -f "$bootimg" ] && return 0
    [ "$(id -u)" = 0 ] || skip "building the boot guest needs root"
    mkdir -p "$OVFK_CACHE"
    exec 9> "$OVFK_CACHE/build.lock"
    flock 9
    if [ ! -f "$bootimg" ]; then
        t0=$(date +%s)
        (bg_build "$bootimg")
        [ -f "$bootimg" ] || fail "the boot guest was not built"
        echo "boot guest built in $(( $(date +%s) - t0 )) s: $bootimg"
    fi
    exec 9>&-
}

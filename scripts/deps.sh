#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/deps.sh - install the Debian 12 packages ovfkit builds and tests
# with, when any is missing (apt-get update runs only then).  Idempotent.
# Every program a test runs comes from a package here (or in every Debian),
# or its test skips naming it: tests/cli/0000 (scripts/check-tools.py)
# checks that.
set -eu
PKGS="build-essential pkg-config clang
libjson-c-dev libxml2-dev libxml2-utils libarchive-dev libssl-dev zlib1g-dev
libguestfs-dev libvirt-dev libvhdi-dev libzstd-dev libblkid-dev python3 python3-libvhdi
python3-jsonschema
qemu-utils qemu-system-x86 nbdkit nbdkit-plugin-dev
linux-image-amd64 libguestfs-tools python3-guestfs libhivex-bin ntfs-3g
libvirt-daemon-system libvirt-clients busybox-static cpio
tar coreutils openssl gzip
file kmod procps xz-utils zstd iproute2 libwin-hivex-perl binutils cpp
scdoc man-db bash-completion systemd debootstrap
libext2fs-dev e2fsprogs partclone openssh-server openssh-client fdisk util-linux
dosfstools mtools"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
        grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

# /dev/kvm as Debian's udev rules leave it (root:kvm 0660), on hosts that
# run no udev and made it otherwise: libvirtd probes qemu as root, then
# checks KVM again as its qemu user (group kvm); when the two disagree it
# throws its capability cache away and probes qemu again on every define
# (~4 s each).  ovfkit's libvirt domains use TCG either way.
# Not inside a chroot (Debian marks one with /etc/debian_chroot, as
# scripts/fresh-check.sh does): its kvm group has another number than the
# host's, and /dev is the host's.
if [ -c /dev/kvm ] && getent group kvm > /dev/null &&
   [ ! -e /etc/debian_chroot ] &&
   [ "$(stat -c %G /dev/kvm)" != kvm ] && [ "$(id -u)" = 0 ]; then
    echo "giving /dev/kvm to group kvm (as udev would)"
    chgrp kvm /dev/kvm && chmod 660 /dev/kvm
fi

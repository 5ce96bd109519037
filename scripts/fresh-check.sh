#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/fresh-check.sh - run README's two commands the way a new user
# would: in a freshly bootstrapped Debian 12 root (debootstrap, variant
# buildd, plus git) holding a clean clone of this branch's last commit
# with a copy of ../shared beside it, as CI has it:
#
#   scripts/deps.sh && make -j2 && scripts/demo.sh
#   scripts/deps.sh && make -j2 check
#
# As root, on Debian:   nice scripts/fresh-check.sh [ROOT] > fresh.log 2>&1
#
# ROOT defaults to /var/tmp/fresh-root; it is made again on every run (from
# ROOT.base.tar, the pristine debootstrap kept after the first run; delete
# it, or FRESH_REBOOTSTRAP=1, to bootstrap anew).  FRESH_MIRROR and
# FRESH_SECURITY override the mirrors read from /etc/apt/sources.list*.
# TEST_TIMEOUT (seconds per cli test, tests/run.sh) is passed on: on a
# machine shared with other work the libguestfs tests can outlast the 900 s
# default.  Ends with "demo: ..." and "check: N passed, N failed, N
# skipped" and exits non-zero when either command failed.
#
# Each command runs in its own PID and mount namespace (chroot with /proc,
# /sys, /dev, /dev/pts), so nothing it mounts shows on the host and every
# daemon it starts (libvirtd) dies with it; its /run is the root's own, so
# such a daemon never meets the host's.  `make check` runs in a network
# namespace of its own (lo only): libvirt networks and test bridges stay
# off the host's network; apt, which needs the mirror, ran in the first
# command.  Not like a fresh machine: no init system, and apt starts no
# services (policy-rc.d), so tests start libvirtd themselves as they do
# on a machine where it is not running.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-/var/tmp/fresh-root}
die() { echo "fresh-check: $*" >&2; exit 1; }
case $root in /?*) ;; *) die "ROOT must be an absolute path" ;; esac
root=${root%/}
base=$root.base.tar
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
for t in debootstrap unshare chroot git ip; do
    command -v $t > /dev/null || die "needs $t"
done
[ -d "$top/../shared" ] || die "no ../shared beside $top"

# the first Debian (not security) and security mirrors apt uses here
mirrors() {
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        /etc/apt/sources.list.d/*.sources 2>/dev/null |
        sed -n 's/^URIs:[ \t]*//p
                s/^deb[ \t]\{1,\}\(\[[^]]*\][ \t]*\)\{0,1\}//p' |
        awk '{print $1}' | grep '/debian\(-security\)\{0,1\}/\{0,1\}$' || true
}
mirror=${FRESH_MIRROR:-$(mirrors | grep -v -- '-security' | head -1)}
mirror=${mirror:-http://deb.debian.org/debian}
security=${FRESH_SECURITY:-$(mirrors | grep -- '-security' | head -1)}
security=${security:-http://deb.debian.org/debian-security}

# never delete through a mount (a bind of /dev left from a manual chroot)
if grep -q " $root/" /proc/mounts; then
    die "something is mounted under $root; unmount it first"
fi
rm -rf "$root"
[ -z "${FRESH_REBOOTSTRAP:-}" ] || rm -f "$base"
if [ -f "$base" ]; then
    echo "fresh-check: $root from $base"
    mkdir -p "$root"
    tar -C "$root" -xpf "$base"
else
    echo "fresh-check: debootstrap bookworm $root $mirror"
    debootstrap --variant=buildd --include=git bookworm "$root" "$mirror"
    cat > "$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
    # a chroot has no init system: apt must not start daemons on the host
    printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    rm -rf "$root"/var/cache/apt/archives/*.deb
    tar -C "$root" -cpf "$base.tmp" . && mv "$base.tmp" "$base"
fi

# a clean clone of the last commit, ../shared beside it
if [ -n "$(git -C "$top" status --porcelain --untracked-files=no)" ]; then
    echo "fresh-check: note: uncommitted changes in $top are not tested"
fi
mkdir -p "$root/work"
git clone -q --no-local --no-hardlinks "$top" "$root/work/ovfkit"
echo "fresh-check: testing" \
    "$(git -C "$root/work/ovfkit" log -1 --format='%h %s')"
cp -a "$top/../shared" "$root/work/shared"

# in_root NET CMD: run CMD (sh) in /work/ovfkit inside the root; NET=own
# gives it a network namespace with only lo
in_root() {
    net=
    [ "$1" = own ] && net=--net
    unshare --pid --fork --mount --propagation private $net \
        sh -c '
        set -e
        r=$1
        mount -t proc proc "$r/proc"
        # a sysfs of our own: /sys/class/net must list the links of this
        # namespace (the Xen driver looks for bridges there), not the host ones
        mount -t sysfs sysfs "$r/sys"
        mount --rbind /sys/fs/cgroup "$r/sys/fs/cgroup"
        mount --rbind /dev "$r/dev"
        [ "$2" != own ] || ip link set lo up
        chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb ${4:+TEST_TIMEOUT=$4} \
            PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            sh -c "cd /work/ovfkit && $3"' sh "$root" "$1" "$2" \
        "${TEST_TIMEOUT:-}"
}

# Debian's mark of a chroot: deps.sh leaves the host's /dev/kvm alone here
echo ovfkit-fresh-check > "$root/etc/debian_chroot"
echo "fresh-check: === scripts/deps.sh && make -j2 && scripts/demo.sh"
demo=ok
in_root host 'scripts/deps.sh && make -j2 && scripts/demo.sh' ||
    demo="failed (exit $?)"
echo "fresh-check: === scripts/deps.sh && make -j2 check"
log=$root.check.log
rc=0
in_root own 'scripts/deps.sh && make -j2 check' 2>&1 | tee "$log" || true
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" |
          tail -1)
grep -q '^[0-9]* passed, 0 failed, ' "$log" || rc=1
echo "fresh-check: demo: $demo"
echo "fresh-check: check: ${summary:-no summary line (see $log)}"
[ "$demo" = ok ] || rc=1
exit $rc

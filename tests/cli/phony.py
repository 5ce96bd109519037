# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/cli/phony.py - the tests' libguestfs side (python3-guestfs), an
# oracle independent of ovfkit's own guest code:
#
#   phony.py linux IMG MANIFEST.json   build a phony Linux guest (ext4 root,
#                                      os-release, systemd and SysV links of
#                                      the catalog's services and of services
#                                      that must stay, MAC-pinned network
#                                      configuration, identity files) and
#                                      write its manifest
#   phony.py windows IMG HIVES_DIR     build a phony Windows guest (NTFS,
#                                      the SYSTEM and SOFTWARE hives given)
#   phony.py manifest IMG OUT.json     every file, link and directory under
#                                      /etc, /var/lib (type, mode, target,
#                                      sha256)
#   phony.py download IMG GUEST LOCAL  copy a file out of the guest
#
# KVM does not work on our test machines: the appliance runs under TCG.
import hashlib
import json
import os
import sys

import guestfs

os.environ.setdefault("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")


def handle(img, readonly):
    g = guestfs.GuestFS(python_return_dict=True)
    g.add_drive_opts(img, format="raw", readonly=readonly)
    g.launch()
    return g


LINUX_FILES = {
    "/etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
                       'VERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n',
    "/etc/debian_version": "12.4\n",
    "/etc/fstab": "/dev/sda1 / ext4 defaults 0 1\n",
    "/etc/hostname": "srv1\n",
    "/etc/machine-id": "0123456789abcdef0123456789abcdef\n",
    "/etc/ssh/ssh_host_ed25519_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nphony\n"
                                     "-----END OPENSSH PRIVATE KEY-----\n",
    "/etc/ssh/ssh_host_ed25519_key.pub": "ssh-ed25519 AAAAphony root@srv1\n",
    "/etc/ssh/sshd_config": "PermitRootLogin no\n",
    "/var/lib/dhcp/dhclient.eth0.leases": "lease { fixed-address 192.0.2.10; }\n",
    "/etc/udev/rules.d/70-persistent-net.rules":
        'SUBSYSTEM=="net", ATTR{address}=="00:50:56:aa:bb:cc", NAME="eth0"\n',
    "/etc/udev/rules.d/99-keep.rules": "# not about MACs\n",
    "/etc/sysconfig/network-scripts/ifcfg-eth0":
        "DEVICE=eth0\nHWADDR=00:50:56:AA:BB:CC\nBOOTPROTO=dhcp\nONBOOT=yes\n",
    "/etc/NetworkManager/system-connections/eth0.nmconnection":
        "[connection]\nid=eth0\ntype=ethernet\n\n[ethernet]\nmac-address=00:50:56:AA:BB:CC\n",
    "/etc/init.d/dataeng": "#!/bin/sh\n# Dell OMSA data engine\n",
    "/etc/init.d/rsyslog": "#!/bin/sh\n",
}

# unit -> the targets whose .wants hold it (catalog services and keepers)
UNITS = {
    "open-vm-tools.service": ["multi-user.target"],
    "vgauth.service": ["multi-user.target"],
    "hyperv-daemons.hv-kvp-daemon.service": ["multi-user.target"],
    "dataeng.service": ["multi-user.target"],
    "hp-health.service": ["multi-user.target", "graphical.target"],
    "ssh.service": ["multi-user.target"],
    "cron.service": ["multi-user.target"],
}
SYSV = {"/etc/rc2.d/S20dataeng": "../init.d/dataeng",
        "/etc/rc3.d/S20dataeng": "../init.d/dataeng",
        "/etc/rc2.d/S01rsyslog": "../init.d/rsyslog"}


def build_linux(img):
    with open(img, "wb") as f:
        f.truncate(256 << 20)
    g = handle(img, False)
    g.part_disk("/dev/sda", "mbr")
    g.mkfs("ext4", "/dev/sda1")
    g.mount("/dev/sda1", "/")
    for d in ["/bin", "/usr/bin", "/lib/systemd/system", "/var/lib/dhcp", "/etc/rc0.d",
              "/etc/rc2.d", "/etc/rc3.d", "/etc/ssh"]:
        g.mkdir_p(d)
    for path, text in LINUX_FILES.items():
        g.mkdir_p(os.path.dirname(path))
        g.write(path, text.encode())
    g.chmod(0o600, "/etc/ssh/ssh_host_ed25519_key")
    g.chmod(0o755, "/etc/init.d/dataeng")
    for unit, targets in UNITS.items():
        g.write("/lib/systemd/system/" + unit, b"[Service]\nExecStart=/bin/true\n")
        for t in targets:
            g.mkdir_p("/etc/systemd/system/%s.wants" % t)
            g.ln_s("/lib/systemd/system/" + unit, "/etc/systemd/system/%s.wants/%s" % (t, unit))
    for link, target in SYSV.items():
        g.ln_s(target, link)
    g.write("/bin/sh", b"\x7fELF phony")
    m = manifest_of(g)
    g.shutdown()
    g.close()
    return m


def build_windows(img, hives):
    with open(img, "wb") as f:
        f.truncate(256 << 20)
    g = handle(img, False)
    g.part_init("/dev/sda", "mbr")
    g.part_add("/dev/sda", "p", 64, -64)
    g.mkfs("ntfs", "/dev/sda1")
    g.mount("/dev/sda1", "/")
    g.mkdir_p("/Windows/System32/Config")
    g.upload(os.path.join(hives, "SOFTWARE"), "/Windows/System32/Config/SOFTWARE")
    g.upload(os.path.join(hives, "SYSTEM"), "/Windows/System32/Config/SYSTEM")
    g.upload(os.path.join(hives, "cmd.exe"), "/Windows/System32/cmd.exe")
    g.mkdir("/Program Files")
    g.shutdown()
    g.close()


def manifest_of(g):
    out = {}
    for top in ["/etc", "/var/lib"]:
        if not g.is_dir(top):
            continue
        for name in g.find(top):
            # libguestfs's find can hand back names with a leading "/"
            p = os.path.normpath(top + "/" + name)
            st = g.lstatns(p)
            e = {"mode": st["st_mode"] & 0o7777}
            if g.is_symlink(p):
                e["type"], e["target"] = "link", g.readlink(p)
            elif g.is_dir(p):
                e["type"] = "dir"
            else:
                e["type"] = "file"
                e["sha256"] = hashlib.sha256(g.read_file(p)).hexdigest()
            out[p] = e
    return out


def manifest(img):
    g = handle(img, True)
    roots = g.inspect_os()
    g.mount_ro(roots[0], "/")
    m = manifest_of(g)
    g.close()
    return m


def main():
    cmd = sys.argv[1]
    if cmd == "linux":
        json.dump(build_linux(sys.argv[2]), open(sys.argv[3], "w"), indent=1, sort_keys=True)
    elif cmd == "windows":
        build_windows(sys.argv[2], sys.argv[3])
    elif cmd == "manifest":
        json.dump(manifest(sys.argv[2]), open(sys.argv[3], "w"), indent=1, sort_keys=True)
    elif cmd == "download":
        g = handle(sys.argv[2], True)
        roots = g.inspect_os()
        g.mount_ro(roots[0], "/")
        g.download(g.case_sensitive_path(sys.argv[3]), sys.argv[4])
        g.close()
    else:
        sys.exit("unknown command " + cmd)


main()

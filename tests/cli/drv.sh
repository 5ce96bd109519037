# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/cli/drv.sh - the cases of issue 13's driver items, run on one
# driver by 0046-drivers-dir.sh, 0047-drivers-xen.sh and
# 0048-drivers-libvirt.sh (after lib.sh; each calls drv_setup, then
# drv_run):
#   disks     new disks never take, change or remove another VM's file;
#             a failed create removes only what it made; vm remove
#             removes only disks the VM owns that no other definition uses
#   macs      the NICs of a VM and of the inventory have distinct MACs,
#             also after export and restore
#   capacity  a disk's capacity is the image's virtual size (qemu-img's)
# DRV_CASES picks cases (default: all three).

# o ARGS: ovfkit on the inventory under test; V NAME: a VM name there
o() { ovfkit $CONN "$@"; }
V() { echo "$P$1"; }
disk() { o --json vm show "$(V "$1")" | json "d['disks'][${2:-0}]['path']"; }
cap() { o --json vm show "$(V "$1")" | json "d['disks'][${2:-0}]['capacity']"; }
macs() {
    o --json vm show "$(V "$1")" |
        json "' '.join(n['mac'] for n in d['nics'])"
}
ovfcaps() { grep -o 'ovf:capacity="[0-9]*"' "$1"/*.ovf; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
vsize() { qemu-img info --output=json "$1" | json "d['virtual-size']"; }
distinct() { [ "$(echo "$@" | tr ' ' '\n' | sort | uniq -d)" = "" ]; }
mk() {  # mk NAME ARGS: vm create, failing with its message
    n=$1
    shift
    o vm create "$(V "$n")" "$@" > /dev/null 2> err.txt ||
        fail "vm create $n $*: $(cat err.txt)"
}

drv_setup() {
    P="" NET1="" NET2="" NONET=""
    case $DRV in
    dir)
        CONN="--store $T/store"
        NET1=lan NET2=wan
        ;;
    xen)
        mkdir -p "$T/xen"
        CONN="--connect xen:$T/xen"
        # Xen networks are the host's bridges
        BR1=ovk$$a BR2=ovk$$b
        if [ "$(id -u)" != 0 ]; then
            NONET="creating bridges (Xen networks) needs root"
        elif ! command -v ip > /dev/null; then
            NONET="needs ip (Debian package iproute2) to create bridges"
        elif ip link add "$BR1" type bridge 2> /dev/null &&
             ip link add "$BR2" type bridge 2> /dev/null; then
            NET1=$BR1 NET2=$BR2
        else
            NONET="cannot create a bridge here"
        fi
        trap 'ip link del "$BR1" 2> /dev/null; ip link del "$BR2" 2> /dev/null
              cd /; rm -rf "$T"' EXIT
        ;;
    libvirt)
        URI=qemu:///system
        libvirt_up $URI
        CONN="--connect $URI"
        # the daemon is shared: every name made here has this prefix
        P=drv_$$_
        NET1=$(virsh -c $URI net-list --all --name | head -1)
        NET2=$NET1
        [ -n "$NET1" ] || NONET="libvirtd has no network defined"
        need qemu-img qemu-utils
        chmod 755 "$T"
        trap 'for d in $(virsh -c $URI list --all --name | grep "^$P"); do
                  virsh -c $URI undefine "$d" > /dev/null 2>&1
              done
              rm -f /var/lib/libvirt/images/"$P"*
              cd /; rm -rf "$T"' EXIT
        ;;
    esac
    SKIPPED=""
}

# foreign NAME PATH:FORMAT...: a definition ovfkit did not write, using
# the given files as its disks
foreign() {
    name=$(V "$1"); shift
    case $DRV in
    dir)
        "$PY" - "$T/store" "$name" "$@" <<'PYEOF'
import json, os, sys, uuid
store, name, disks = sys.argv[1], sys.argv[2], sys.argv[3:]
u = str(uuid.uuid4())
os.makedirs(os.path.join(store, "vms", u))
vm = {"name": name, "uuid": u, "cpus": 1, "memory_mib": 256, "nics": [],
      "disks": [{"id": "vmdisk%d" % (i + 1), "path": d.split(":")[0],
                 "format": d.split(":")[1], "bus": "virtio"}
                for i, d in enumerate(disks)]}
with open(os.path.join(store, "vms", u, "vm.json"), "w") as f:
    json.dump(vm, f)
PYEOF
        ;;
    xen)
        {
            echo "name = \"$name\""
            echo "uuid = \"$(cat /proc/sys/kernel/random/uuid)\""
            printf 'disk = ['
            sep=" " i=0
            for d in "$@"; do
                case ${d#*:} in raw) t=aio ;; *) t=${d#*:} ;; esac
                printf '%s"tap:%s:%s,xvd%s,w"' "$sep" "$t" "${d%:*}" \
                    "$(echo abcdefgh | cut -c$((i + 1)))"
                sep=", " i=$((i + 1))
            done
            echo " ]"
        } > "$T/xen/$name.cfg"
        ;;
    libvirt)
        {
            echo "<domain type='qemu'><name>$name</name>"
            echo "<memory unit='MiB'>256</memory><vcpu>1</vcpu>"
            echo "<os><type arch='x86_64'>hvm</type></os><devices>"
            i=0
            for d in "$@"; do
                case ${d#*:} in vhd) t=vpc ;; *) t=${d#*:} ;; esac
                echo "<disk type='file' device='disk'>"
                echo "<driver name='qemu' type='$t'/>"
                echo "<source file='${d%:*}'/>"
                echo "<target dev='vd$(echo abcdefgh | cut -c$((i + 1)))'" \
                     "bus='virtio'/></disk>"
                i=$((i + 1))
            done
            echo "</devices></domain>"
        } > "$name.xml"
        virsh -c "$URI" define "$name.xml" > /dev/null
        ;;
    esac
}

# The disk files of the inventory under test, for before/after listings.
files() {
    case $DRV in
    dir) find "$T/store/vms" -type f -name '*.vhd' | sort ;;
    xen) find "$T/xen" -type f -name '*.vhd' | sort ;;
    libvirt) find /var/lib/libvirt/images -name "$P*" | sort ;;
    esac
}

case_disks() {
    mk a --disk 16M
    pa=$(disk a)
    head -c 1M /dev/urandom | ovfkit vhd write "$pa" 0
    ha=$(sha "$pa")
    a_intact() {
        [ -f "$pa" ] || fail "disks: $1 removed a's disk '$pa'"
        [ "$(sha "$pa")" = "$ha" ] || fail "disks: $1 changed a's disk"
    }
    # a second and third VM get files of their own
    mk b --disk 16M
    pb=$(disk b)
    a_intact "creating b"
    if [ "$DRV" != dir ]; then
        # shared directory: the file names come from the VM's name, and a
        # file of the user's where c's first disk would go is left alone
        case $(basename "$pb") in "$(V b)"-*) ;;
            *) fail "disks: b's disk '$pb' is not named after b" ;;
        esac
        squat="$(dirname "$pa")/$(V c)-disk1.vhd"
        head -c 4096 /dev/urandom > "$squat"
        hs=$(sha "$squat")
    fi
    mk c --disk 8M --disk 8M
    pc1=$(disk c 0) pc2=$(disk c 1)
    distinct "$pa" "$pb" "$pc1" "$pc2" ||
        fail "disks: two disks share a file: $pa $pb $pc1 $pc2"
    a_intact "creating c"
    if [ "$DRV" != dir ]; then
        [ "$pc1" != "$squat" ] && [ "$(sha "$squat")" = "$hs" ] ||
            fail "disks: c's create took the user's file '$squat'"
        rm -f "$squat"
    fi

    # a create that fails after making its first disk takes back only that
    before=$(files)
    expect_err "cannot open '$T/none.img'" \
        o vm create "$(V d)" --disk 8M --disk "$T/none.img"
    [ "$(files)" = "$before" ] ||
        fail "disks: the failed create changed the files: $(files)"
    ! o vm show "$(V d)" > /dev/null 2>&1 || fail "disks: d was defined"
    a_intact "a failed create"

    # definitions ovfkit did not write: f shares a's disk, g has a file
    # of the user's; removing them removes neither
    head -c 1M /dev/urandom > user.img
    hu=$(sha user.img)
    foreign f "$pa:vhd"
    foreign g "$T/user.img:raw"
    o vm remove "$(V f)"
    o vm remove "$(V g)"
    a_intact "removing f (which uses a's disk)"
    [ -f user.img ] && [ "$(sha user.img)" = "$hu" ] ||
        fail "disks: removing g removed the user's file"
    # a goes while f uses its disk: the disk stays
    foreign f "$pa:vhd"
    o vm remove "$(V a)"
    ! o vm show "$(V a)" > /dev/null 2>&1 || fail "disks: a is still there"
    a_intact "removing a while f uses its disk"
    o vm remove "$(V f)"
    a_intact "removing f"
    rm -f "$pa"

    # b goes with its disk; c keeps its disks when asked to
    o vm remove "$(V b)"
    [ ! -e "$pb" ] || fail "disks: b's disk '$pb' was not removed"
    o vm remove "$(V c)" --keep-disks
    [ -f "$pc1" ] && [ -f "$pc2" ] || fail "disks: --keep-disks removed c's"
    hc=$(sha "$pc1")
    # a new c is not given the old c's kept files
    mk c --disk 8M
    [ "$(disk c)" != "$pc1" ] && [ "$(disk c)" != "$pc2" ] &&
        [ "$(sha "$pc1")" = "$hc" ] ||
        fail "disks: the new c took the old c's kept disk"

    # restore --force replaces a definition; of the old one's disks it
    # removes only those ovfkit made for it that nobody else uses
    mkdir -p rs
    mk r --disk 8M
    pr=$(disk r)
    hr=$(sha "$pr")
    foreign s "$pr:vhd"
    o export "$(V r)" --to r.ova > /dev/null
    o restore r.ova --force --storage "$T/rs" > /dev/null 2> err.txt ||
        fail "disks: restore over r: $(cat err.txt)"
    [ -f "$pr" ] && [ "$(sha "$pr")" = "$hr" ] ||
        fail "disks: restore over r removed the disk s uses"
    o vm remove "$(V s)"
    pr2=$(disk r)
    o restore r.ova --force --storage "$T/rs" > /dev/null 2> err.txt ||
        fail "disks: second restore over r: $(cat err.txt)"
    [ ! -e "$pr2" ] && [ -f "$(disk r)" ] ||
        fail "disks: restore over r left its old disk '$pr2'"
    foreign u "$T/user.img:raw"
    o export "$(V u)" --to u.ova > /dev/null
    o restore u.ova --force --storage "$T/rs" > /dev/null 2> err.txt ||
        fail "disks: restore over u: $(cat err.txt)"
    [ -f user.img ] && [ "$(sha user.img)" = "$hu" ] ||
        fail "disks: restore over u removed the user's file"
    echo "disks: ok"
}

# The lowest pool MAC no VM of the inventory has.
next_mac() {
    o --json vm list | "$PY" -c '
import json, sys
used = {n["mac"].upper() for vm in json.load(sys.stdin) for n in vm["nics"]}
print(next(m for m in ("02:17:42:2F:%02X:%02X" % (i >> 8, i & 255)
                       for i in range(1, 65536)) if m not in used))'
}

case_macs() {
    if [ -z "$NET1" ]; then
        SKIPPED="$SKIPPED macs ($NONET)"
        return
    fi
    mk x --disk 8M --nic "$NET1" --nic "$NET2" --nic "$NET1"
    mx=$(macs x)
    [ "$(echo $mx | wc -w)" = 3 ] && distinct $mx ||
        fail "macs: the NICs of x share a MAC: $mx"
    mk y --nic "$NET1" --nic "$NET2"
    my=$(macs y)
    distinct $mx $my || fail "macs: x and y share a MAC: $mx / $my"
    # the next pool MAC, given to the second NIC: the first gets another
    # (on a shared libvirtd another user may take it first: ask again)
    for try in 1 2 3 4 5; do
        nm=$(next_mac)
        o vm create "$(V z)" --nic "$NET1" --nic "$NET2,mac=$nm" \
            > /dev/null 2> err.txt && break
        grep -q "MAC $nm is used by VM '" err.txt &&
            ! grep -q "used by VM '$P" err.txt ||
            fail "vm create z: $(cat err.txt)"
    done
    o vm show "$(V z)" > /dev/null 2>&1 || fail "vm create z: $(cat err.txt)"
    mz=$(macs z)
    [ "${mz#* }" = "$nm" ] && distinct $mx $my $mz ||
        fail "macs: z's MACs $mz (second asked as $nm; x: $mx, y: $my)"
    # one MAC twice in a VM, or another VM's: refused, nothing made
    before=$(files)
    expect_err "MAC 02:17:42:2F:EE:01 appears on two NICs" \
        o vm create "$(V w)" --disk 8M --nic "$NET1,mac=02:17:42:2F:EE:01" \
        --nic "$NET2,mac=02:17:42:2f:ee:01"
    expect_err "MAC ${mx%% *} is used by VM '$(V x)'" \
        o vm create "$(V w)" --disk 8M --nic "$NET1,mac=${mx%% *}"
    ! o vm show "$(V w)" > /dev/null 2>&1 || fail "macs: w was defined"
    [ "$(files)" = "$before" ] || fail "macs: a refused create left files"
    # what the hypervisor reads has them too
    case $DRV in
    xen) hv=$(grep -o 'mac=[0-9A-F:]*' "$T/xen/$(V x).cfg" | cut -c5-) ;;
    libvirt)
        hv=$(virsh -c "$URI" dumpxml "$(V x)" |
             sed -n "s/.*mac address='\([^']*\)'.*/\1/p" | tr a-f A-F) ;;
    dir) hv=$mx ;;
    esac
    [ "$(echo $hv)" = "$mx" ] || fail "macs: the definition says $hv, not $mx"
    # ovfkit's own export restores, with the same MACs
    o export "$(V x)" --to x.ova > /dev/null
    mkdir -p rs
    o restore x.ova --force --storage "$T/rs" > /dev/null 2> err.txt ||
        fail "macs: restore of x's export: $(cat err.txt)"
    [ "$(macs x)" = "$mx" ] || fail "macs: after restore $(macs x), not $mx"
    echo "macs: ok"
}

case_capacity() {
    mk v --disk 64M
    [ "$(cap v)" = 67108864 ] || fail "capacity: v's 64 MiB disk says $(cap v)"
    o export "$(V v)" --to vdir --config-only > /dev/null
    grep -q 'ovf:capacity="67108864"' vdir/*.ovf ||
        fail "capacity: v's OVF says $(ovfcaps vdir)"
    # images ovfkit did not make: the size qemu-img reads, not the file's
    qemu-img create -q -f vpc -o subformat=dynamic,force_size=on f.vhd 48M
    qemu-img create -q -f qcow2 q.qcow2 40M
    truncate -s 24M r.img
    foreign h "$T/f.vhd:vhd" "$T/q.qcow2:qcow2" "$T/r.img:raw"
    i=0
    for f in f.vhd q.qcow2 r.img; do
        [ "$(cap h $i)" = "$(vsize $f)" ] ||
            fail "capacity: $f says $(cap h $i), qemu-img $(vsize $f)"
        i=$((i + 1))
    done
    o export "$(V h)" --to hdir --config-only > /dev/null
    [ "$(ovfcaps hdir | tr -dc '0-9\n' | sort)" = \
      "$(for f in f.vhd q.qcow2 r.img; do vsize $f; done | sort)" ] ||
        fail "capacity: h's OVF says $(ovfcaps hdir)"
    o vm remove "$(V h)"
    [ -f f.vhd ] && [ -f q.qcow2 ] && [ -f r.img ] ||
        fail "capacity: removing h removed the user's images"
    echo "capacity: ok"
}

drv_run() {
    for c in ${DRV_CASES:-disks macs capacity}; do
        "case_$c"
    done
    [ -z "$SKIPPED" ] || skip "ran on $DRV all but:$SKIPPED"
    echo ok
}

# Every number a command takes is checked before anything is opened or
# created: a value that is not a whole number (or size) in range is a usage
# error (exit 64) that names the option and the value, and the store,
# the Xen directory and the working directory stay exactly as they were.
# (Before: '--memory lots' became 1024 MiB, '--memory -5' 2^64-5 MiB,
# '--cpus abc' 1 vCPU and '--cpus 1K' 1 vCPU, with exit 0.)
. "$OVFK_SRCDIR/tests/cli/lib.sh"

S=$T/store X=$T/xen
mkdir -p "$X"
ovfkit --store "$S" net add lan
ovfkit --store "$S" vm create keep --memory 512 --disk 8M --nic lan > /dev/null
ovfkit --connect "xen:$X" vm create xkeep --memory 512 --disk 8M > /dev/null
ovfkit --store "$S" export keep --to pkg > /dev/null
truncate -s 1M disk.img
ovfkit vhd create d.vhd 4M

# a fingerprint of everything under the test directory: names, sizes,
# modes and contents
state() {
    find "$T" -mindepth 1 ! -name err.txt ! -name state.\* -printf '%P %s %m\n' |
        sort
    find "$T" -type f ! -name err.txt ! -name state.\* -print0 | sort -z |
        xargs -0 md5sum
}
state > state.before

# bad OPTION VALUE CMD...: CMD with OPTION VALUE exits 64, says
# "invalid OPTION 'VALUE'" and changes nothing
n=0
bad() {
    opt=$1 val=$2; shift 2
    set +e
    "$@" 2> err.txt > /dev/null
    rc=$?
    set -e
    [ "$rc" -eq 64 ] || fail "'$*' exited $rc, expected 64: $(cat err.txt)"
    grep -qF -- "invalid $opt '$val'" err.txt ||
        fail "'$*' said '$(cat err.txt)', expected \"invalid $opt '$val'\""
    ! grep -q "AddressSanitizer\|runtime error" err.txt || fail "sanitizer: $(cat err.txt)"
    state > state.after
    cmp -s state.before state.after ||
        fail "'$*' changed files: $(diff state.before state.after)"
    n=$((n + 1))
}

CPUS="lots -5 abc 1K 0 9 +2 0x2 1.5 99999999999999999999999"
MEMS="lots -5 1K 128 255 0 99999999999999999999 17179869184 1e3"
for where in "--store $S" "--connect xen:$X"; do
    for v in $CPUS ""; do
        bad --cpus "$v" ovfkit $where vm create n1 --cpus "$v" --disk 8M
        bad --cpus "$v" ovfkit $where import pkg/keep.ovf --name n2 --cpus "$v"
        bad --cpus "$v" ovfkit $where restore pkg/keep.ovf --cpus "$v"
        bad --cpus "$v" ovfkit $where convert disk.img --import --cpus "$v"
    done
    for v in $MEMS ""; do
        bad --memory "$v" ovfkit $where vm create n1 --memory "$v" --disk 8M
        bad --memory "$v" ovfkit $where import pkg/keep.ovf --name n2 --memory "$v"
        bad --memory "$v" ovfkit $where restore pkg/keep.ovf --memory "$v"
        bad --memory "$v" ovfkit $where convert disk.img --import --memory "$v"
    done
    for v in lots -1 0 4097 1K; do
        bad --max-cpus "$v" ovfkit $where vm create n1 --max-cpus "$v"
        bad --max-cpus "$v" ovfkit $where import pkg/keep.ovf --name n2 --max-cpus "$v"
        bad --max-cpus "$v" ovfkit $where convert disk.img --import --max-cpus "$v"
    done
    # --cpus is checked against --max-cpus wherever it stands
    bad --cpus 17 ovfkit $where vm create n1 --cpus 17 --max-cpus 16
    bad --cpus 17 ovfkit $where import pkg/keep.ovf --name n2 --max-cpus 16 --cpus 17
    grep -qF "a VM has 1 to 16 vCPUs" err.txt || fail "the vCPU range: $(cat err.txt)"
    for v in 12Q -5 0 3T 2041G 1.5G 99999999999999999999; do
        bad --disk "$v" ovfkit $where vm create n1 --disk "$v"
    done
done
for v in $CPUS; do
    bad --cpus "$v" ovfkit convert disk.img --to out --cpus "$v"
done
for v in $MEMS; do
    bad --memory "$v" ovfkit convert disk.img --to out --memory "$v"
done

for v in lots -1 0 12Q 3T 2041G 1.5G 99999999999999999999; do
    # "--": getopt would take "-1" for an option (also exit 64)
    bad size "$v" ovfkit vhd create -- new.vhd "$v"
done
for v in lots -1 0 1K 511K 300M 768K 1.5M 99999999999999999999T; do
    bad --block-size "$v" ovfkit vhd create --block-size "$v" new.vhd 8M
    bad --block-size "$v" ovfkit vhd convert --block-size "$v" disk.img new.vhd
done
for v in lots -1 1x 2041G; do
    bad offset "$v" ovfkit vhd write -- d.vhd "$v" 512 < /dev/null
done
for v in lots -1 0 1x 2041G; do
    bad length "$v" ovfkit vhd write -- d.vhd 0 "$v" < /dev/null
done
for v in lots -1 0 1K 1023K 2041G 99999999999999999999; do
    bad --chunk-size "$v" ovfkit ova pack --chunk-size "$v" pkg/keep.ovf new.ova
done
echo "$n refusals"

# the messages say why
bad --memory 128 ovfkit --store "$S" vm create n1 --memory 128
grep -qF "invalid --memory '128': must be at least 256 MiB" err.txt || fail "$(cat err.txt)"
bad --cpus 1K ovfkit --store "$S" vm create n1 --cpus 1K
grep -qF "invalid --cpus '1K': not a whole number" err.txt || fail "$(cat err.txt)"
bad --disk 3T ovfkit --store "$S" vm create n1 --disk 3T
grep -qF "must be at most 2040 GiB" err.txt || fail "$(cat err.txt)"
bad --disk 12Q ovfkit --store "$S" vm create n1 --disk 12Q
grep -qF "no such file, and not a size" err.txt || fail "$(cat err.txt)"
bad --block-size 768K ovfkit vhd create --block-size 768K new.vhd 8M
grep -qF "not a power of two" err.txt || fail "$(cat err.txt)"

# and what is in range is taken as given, on both stores
for where in "--store $S" "--connect xen:$X"; do
    ovfkit $where vm create ok1 --cpus 8 --memory 256 > /dev/null
    ovfkit $where --json vm show ok1 > ok.json
    [ "$(json 'd["cpus"], d["memory_mib"]' < ok.json)" = "8 256" ] ||
        fail "ok1: $(cat ok.json)"
    ovfkit $where vm create ok2 --cpus 12 --max-cpus 12 --memory 16384 > /dev/null
    ovfkit $where --json vm show ok2 > ok.json
    [ "$(json 'd["cpus"], d["memory_mib"]' < ok.json)" = "12 16384" ] ||
        fail "ok2: $(cat ok.json)"
done
ovfkit vhd create --block-size 512K b.vhd 3M
qemu_size=$(ovfkit --json vhd info b.vhd | json 'd["virtual_size"]')
[ "$qemu_size" = 3145728 ] || fail "b.vhd size $qemu_size"
ovfkit ova pack --chunk-size 1M pkg/keep.ovf c.ova

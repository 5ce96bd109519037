# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/lib.sh - timing helpers shared by the benchmarks.  Benchmarks are
# scripts, never timed assertions: they print figures and ratios against
# the peer tool measured in the same run.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
OVFKIT=${OVFKIT:-$top/build/ovfkit}
# a copied binary finds the schemas and the sysprep catalog here
export OVFKIT_DATADIR=${OVFKIT_DATADIR:-$top/data}
MKDISK=${MKDISK:-$top/../shared/bench/mkdisk}
RUNS=${RUNS:-3}
WORK=${BENCH_DIR:-$(mktemp -d /var/tmp/ovfkit-bench-XXXXXX)}
[ -x "$OVFKIT" ] || { echo "build ovfkit first (make)"; exit 1; }
[ -e "$MKDISK" ] || { echo "mkdisk not found: set MKDISK"; exit 1; }

now() { date +%s.%N; }

# Seconds to wait after each cleanup: removing the last run's big files
# on a file system mounted with online discard leaves the disk trimming
# for a while, and those trims would land in the next timing.
SETTLE=${SETTLE:-2}

# Append "; $DROP" to a cleanup to start the run with cold caches (for
# every tool alike): done when we may (root), unless COLD=0.
DROP=":"
if [ "${COLD:-1}" = 1 ] && [ -w /proc/sys/vm/drop_caches ]; then
    DROP="sync; echo 3 > /proc/sys/vm/drop_caches"
fi

# median_time CLEANUP -- CMD...: run CMD $RUNS times (CLEANUP, sync and
# $SETTLE seconds before each), print the median wall time in seconds
median_time() {
    cleanup=$1; shift 2
    times=""
    for _ in $(seq "$RUNS"); do
        sh -c "$cleanup"
        sync
        sleep "$SETTLE"
        t0=$(now)
        "$@" > /dev/null
        t1=$(now)
        times="$times $(echo "$t1 - $t0" | bc -l)"
    done
    echo $times | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {printf "%.3f\n", a[int((NR+1)/2)]}'
}

# peak_rss_kib CMD...: peak resident memory of CMD in KiB
peak_rss_kib() {
    /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1
}

ratio() { echo "$1 / $2" | bc -l | awk '{printf "%.2f", $1}'; }

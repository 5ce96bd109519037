# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/cli/jobs.sh - helpers for the job-contract tests (0160-0169):
# commands slowed down, caught in the middle, interrupted or locked out.
# Sourced after lib.sh.

# wait_for GLOB...: poll until a path matches one GLOB (10 s at most);
# a test never guesses with sleep where it can look
wait_for() {
    _jn=0
    while :; do
        for _jg in "$@"; do
            # shellcheck disable=SC2086
            if ls -d $_jg > /dev/null 2>&1; then
                return 0
            fi
        done
        _jn=$((_jn + 1))
        [ $_jn -lt 200 ] || fail "never saw $*"
        sleep 0.05
    done
}

# wait_size GLOB BYTES: poll until the file GLOB holds at least BYTES
wait_size() {
    _jn=0
    while :; do
        # shellcheck disable=SC2086
        _js=$(stat -c %s $1 2> /dev/null | head -1)
        [ "${_js:-0}" -lt "$2" ] || return 0
        _jn=$((_jn + 1))
        [ $_jn -lt 200 ] || fail "$1 never reached $2 bytes (${_js:-0})"
        sleep 0.05
    done
}

# wait_lock_open PID: poll until process PID has a lock file open (it is
# taking or waiting for a lock: its signal handlers are in place)
wait_lock_open() {
    _jn=0
    while ! ls -l "/proc/$1/fd" 2> /dev/null | grep -q '\.lock$'; do
        kill -0 "$1" 2> /dev/null || fail "process $1 ended early"
        _jn=$((_jn + 1))
        [ $_jn -lt 200 ] || fail "process $1 never opened a lock file"
        sleep 0.05
    done
}

# $(slow MS) CMD... &: CMD with every progress step slowed by MS
# (OVFKIT_TEST_SLOW_MS, cli/exit.c), so a test can catch it in the middle
# of a copy; env execs CMD, so $! is CMD's own pid (a shell function in
# the background would be a subshell's)
slow() { echo "env OVFKIT_TEST_SLOW_MS=$1"; }

# finish PID RC: wait for PID, fail unless it exited with RC
finish() {
    set +e
    wait "$1"
    got=$?
    set -e
    [ "$got" -eq "$2" ] || fail "process $1 exited $got, expected $2: $(cat "$T"/t/err.* 2> /dev/null | tail -3)"
}

# state DIR...: one hash of what DIRs hold: every path with its type and
# mode, every file's contents (lock files apart: they are checked to be
# empty, i.e. released, by locks_released; and DIR/t, the test's notes)
state() {
    for _jd in "$@"; do
        [ -e "$_jd" ] || { echo "$_jd absent"; continue; }
        find "$_jd" -path "$_jd/t" -prune -o ! -name '*.lock' \
            -printf '%p %y %m\n' | sort
        find "$_jd" -path "$_jd/t" -prune -o -type f ! -name '*.lock' \
            -print0 | sort -z |
            xargs -0 -r md5sum
    done | md5sum | cut -c1-16
}

# locks_released DIR: every lock file under DIR is empty (no holder)
locks_released() {
    for _jf in $(find "$1" -name '*.lock'); do
        [ ! -s "$_jf" ] || fail "lock $_jf still names a holder: $(cat "$_jf")"
    done
}

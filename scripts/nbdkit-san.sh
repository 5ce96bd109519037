#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/nbdkit-san.sh - template of the nbdkit that sanitized builds put
# first in the tests' PATH ($(BUILD)/wrap/nbdkit, made by the Makefile):
# our plugin is built with the sanitizers and nbdkit is not, so their
# runtimes must be loaded first.  Only nbdkit gets them: the program that
# --run starts (qemu-img, qemu-io) runs with the environment it would have
# had, and nbdkit's own leaks are not ours to report.
preload="@PRELOAD@"
n=$#
i=0
while [ $i -lt $n ]; do
    a=$1
    shift
    i=$((i + 1))
    case $a in
    --run)
        set -- "$@" "$a" "unset LD_PRELOAD ASAN_OPTIONS; $1"
        shift
        i=$((i + 1)) ;;
    --run=*)
        set -- "$@" "--run=unset LD_PRELOAD ASAN_OPTIONS; ${a#--run=}" ;;
    *)
        set -- "$@" "$a" ;;
    esac
done
LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0 exec @NBDKIT@ "$@"

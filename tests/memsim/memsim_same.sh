#!/bin/sh
# memsim_same.sh: the x86_64 and the aarch64 builds make the same allocator
# decisions: for generated traces, ms_offsets (harness/measure/memsim/) gives
# the same digest of every block's offset in the space on both ISAs (the
# aarch64 one under qemu-aarch64).
#   usage: memsim_same.sh TESTBED MS_OFFSETS QEMU_AARCH64 MS_OFFSETS_AARCH64
set -eu
tb=$1 native=$2 qemu=$3 arm=$4
shift 4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/memsim-same-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n=0
for w in list tree mix:dist=pareto realloc_copy hundred_fifo; do
  set -- $(echo "$w" | tr : " ")
  "$tb" gen "$@" -o "$tmp/w.tbt" >/dev/null
  for a in inline oob oob-array; do
    x=$("$native" $a "$tmp/w.tbt")
    y=$("$qemu" -L / "$arm" $a "$tmp/w.tbt")
    n=$((n + 1))
    [ "$x" = "$y" ] || { echo "FAIL $w: x86_64 '$x', aarch64 '$y'"; exit 1; }
    case "$x" in *"allocations 0 "*) echo "FAIL $w $a: no allocations"; exit 1 ;; esac
  done
done
echo "memsim same decisions: $n allocator x trace pairs identical on both ISAs"

#!/bin/sh
# memsim_analytic.sh: the memsim plugin against hand-computed miss counts.
# ms_walk (ms_walk.c) runs under qemu-x86_64 and qemu-aarch64 with a small
# geometry given to the plugin directly:
#   L1D 4 KiB 4-way (16 sets), L2 16 KiB 4-way (64 sets), L3 64 KiB 8-way
#   (128 sets), 64-byte lines; L1 DTLB 8 entries fully associative, L2 TLB
#   32 entries 4-way (8 sets); pages of 4, 16 and 64 KiB.
# Every counted pass visits the same n lines (pages) in the same order, so
# under LRU a line misses in a level exactly when its set holds more of the
# walk's lines than the level has ways: with a stride of s lines (a power
# of two) over S sets the walk uses max(1, S/s) sets, and each pass misses
# n times when n > ways * max(1, S/s), else not at all.
#   usage: memsim_analytic.sh PLUGIN QEMU_X86_64 WALK_X86_64 [QEMU_AARCH64 WALK_AARCH64]
set -eu
plugin=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/memsim-analytic-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0 checks=0

# misses N WAYS SETS STRIDE_UNITS PASSES: the misses of a cyclic walk
misses() {
  used=$(( $3 / $4 )); [ "$used" -ge 1 ] || used=1
  if [ "$1" -gt $(( $2 * used )) ]; then echo $(( $1 * $5 )); else echo 0; fi
}

check() { # WHAT EVENT EXPECTED OUTFILE
  got=$(awk -v e="$2" '$1 == "count" && $2 == "program" && $3 == e {print $4}' "$4")
  checks=$((checks + 1))
  if [ "$got" != "$3" ]; then
    echo "FAIL $1: $2 = ${got:-missing}, expected $3"
    fails=$((fails + 1))
  fi
}

run() { # QEMU WALK PAGE ARGS... -> $tmp/out
  q=$1 w=$2 pg=$3
  shift 3
  rm -f "$tmp/out"
  "$q" -plugin "$plugin,out=$tmp/out,l1d=4096:4:64,l2=16384:4:64,l3=65536:8:64,tlb1=8:0,tlb2=32:4,page=$pg" "$w" "$@"
}

if [ $# -ge 5 ]; then set -- "$2" "$3" x86_64 "$4" "$5" aarch64; else set -- "$2" "$3" x86_64; fi
while [ $# -ge 3 ]; do
  q=$1 w=$2 isa=$3
  shift 3
  for pg in 4096 16384 65536; do
    # line walks: one byte per 64-byte line, in address order and scattered
    for spec in "8192 seq 4" "32768 perm 4" "262144 seq 2" "262144 perm 2"; do
      set -- $spec "$@"
      bytes=$1 order=$2 passes=$3
      shift 3
      run "$q" "$w" $pg walk $bytes 64 $passes $order
      n=$((bytes / 64)) pages=$(( (bytes + pg - 1) / pg ))
      what="$isa page=$pg walk $bytes/64 $order x$passes"
      check "$what" accesses $((n * passes)) "$tmp/out"
      check "$what" l1d_misses "$(misses $n 4 16 1 $passes)" "$tmp/out"
      check "$what" l2_misses "$(misses $n 4 64 1 $passes)" "$tmp/out"
      check "$what" l3_misses "$(misses $n 8 128 1 $passes)" "$tmp/out"
      if [ "$order" = seq ]; then # pages in order, each once a pass
        check "$what" dtlb_misses "$(misses $pages 8 1 1 $passes)" "$tmp/out"
        check "$what" l2tlb_misses "$(misses $pages 4 8 1 $passes)" "$tmp/out"
      fi
    done
    # page walks: one byte per page, scattered: the TLBs, and caches whose
    # sets the page stride folds together
    for np in 4 8 16 32 64; do
      bytes=$((np * pg)) passes=3 s=$((pg / 64))
      run "$q" "$w" $pg walk $bytes $pg $passes perm
      what="$isa page=$pg walk $np pages perm x$passes"
      check "$what" accesses $((np * passes)) "$tmp/out"
      check "$what" l1d_misses "$(misses $np 4 16 $s $passes)" "$tmp/out"
      check "$what" l2_misses "$(misses $np 4 64 $s $passes)" "$tmp/out"
      check "$what" l3_misses "$(misses $np 8 128 $s $passes)" "$tmp/out"
      check "$what" dtlb_misses "$(misses $np 8 1 1 $passes)" "$tmp/out"
      check "$what" l2tlb_misses "$(misses $np 4 8 1 $passes)" "$tmp/out"
    done
  done
  # an 8-byte load across a line boundary: one access, both lines looked up
  # (262144 bytes: every line misses everywhere); the pages are crossed
  # only at page ends, in order
  run "$q" "$w" 4096 cross 262144 2
  check "$isa cross" accesses $((262144 / 128 * 2)) "$tmp/out"
  check "$isa cross" l1d_misses $((262144 / 64 * 2)) "$tmp/out"
  check "$isa cross" l3_misses $((262144 / 64 * 2)) "$tmp/out"
  check "$isa cross" dtlb_misses $((262144 / 4096 * 2)) "$tmp/out"
  # a 16-byte vector load at each line start: QEMU makes two 8-byte pieces
  # (two accesses) of one line, which misses once
  run "$q" "$w" 4096 vec 262144 2
  check "$isa vec" accesses $((262144 / 64 * 2 * 2)) "$tmp/out"
  check "$isa vec" l1d_misses $((262144 / 64 * 2)) "$tmp/out"
  check "$isa vec" l3_misses $((262144 / 64 * 2)) "$tmp/out"
done
echo "memsim analytic: $checks checks, $fails failed"
[ "$fails" -eq 0 ]

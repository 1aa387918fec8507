#!/bin/sh
# peers_test.sh TESTBED ISA: the peer allocators (allocators/peers/tb_peers.h).
#   - testbed list names a peer exactly when its library is installed for
#     the build's ISA (the aarch64 build under qemu: only arm64 libraries);
#   - a peer run (a child with the library preloaded) gives rows, with NA
#     where the library cannot say (peak_heap_bytes, metadata_bytes, ...)
#     and measured seconds and page faults;
#   - the preload is checked: a child started without it refuses loudly
#     (run --child, bench --serve), so nothing is measured on glibc by
#     mistake;
#   - runs are interleaved across allocators (run 1 of each, then run 2);
#   - a simulator whose ISA has no library for the peer (memsim arch=aarch64
#     here) gives NA rows with a reason, and the job does not fail;
#   - bench seed runs the peers side by side with glibc, and --adapter-check
#     measures each three ways (its table, glibc's table, a plain loop).
set -u
tb=$1
isa=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/tb-peers-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$tb" list > "$work/list" || fail "testbed list"
peers=""
for p in jemalloc:libjemalloc.so.2 mimalloc:libmimalloc.so.2 tcmalloc:libtcmalloc_minimal.so.4; do
  name=${p%%:*} lib=/usr/lib/$isa-linux-gnu/${p#*:}
  if [ -r "$lib" ]; then
    grep -q "^  $name  *free .*$lib" "$work/list" || fail "$lib is installed but testbed list does not name $name"
    peers="$peers $name"
  else
    ! grep -q "^  $name " "$work/list" || fail "testbed list names $name without $lib"
  fi
done
echo "peers installed for $isa:${peers:- none}"
[ -n "$peers" ] || exit 0
set -- $peers
p1=$1

# Rows of a peer run next to glibc's, runs interleaved.
W=gen:hundred_lifo:n=200
"$tb" run --allocator "glibc,$p1" --workload $W --runs 2 --backend timer --out "$work/r" 2> "$work/r.err" \
  || { cat "$work/r.err" >&2; fail "run glibc,$p1"; }
csv=$work/r/results.csv
row() { awk -F, -v a="$1" -v m="$2" '$2 == a && $7 == 1 && $8 == m { print $9; exit }' "$csv"; }
for m in peak_heap_bytes metadata_bytes fragmentation committed_bytes live_bytes metadata_bytes_at_peak; do
  [ "$(row "$p1" $m)" = NA ] || fail "$p1 $m is '$(row "$p1" $m)', not NA"
done
for m in seconds ops page_faults max_rss_bytes; do
  v=$(row "$p1" $m)
  case "$v" in '' | NA) fail "$p1 $m is '$v', not measured" ;; esac
done
[ "$(row "$p1" ops)" = "$(row glibc ops)" ] || fail "$p1 and glibc replayed different op counts"
order=$(awk -F, '!/^#/ && NR > 1 && $4 == "replay" && !seen[$2 "," $7]++ { printf "%s:%s ", $2, $7 }' "$csv")
[ "$order" = "glibc:1 $p1:1 glibc:2 $p1:2 " ] || fail "runs not interleaved: $order"

# The preload is checked, never assumed.
env -u LD_PRELOAD "$tb" run --allocator "$p1" --workload $W --runs 1 --backend none --child 1 > "$work/c.out" 2> "$work/c.err" \
  && fail "a $p1 child without its library preloaded ran"
grep -q "not .*$p1\|LD_PRELOAD" "$work/c.err" || { cat "$work/c.err" >&2; fail "no reason given for the missing preload"; }
echo 'A 0 10' | env -u LD_PRELOAD "$tb" bench seed --serve "$p1" > "$work/s.out" 2> "$work/s.err" \
  && fail "bench --serve $p1 without the preload served"
grep -q "LD_PRELOAD" "$work/s.err" || fail "bench --serve gave no reason"

# A simulator ISA without the peer's library: NA rows, a reason, exit 0.
if grep -q "^  memsim  *available" "$work/list" && [ "$isa" != aarch64 ] && [ ! -r /usr/lib/aarch64-linux-gnu/libjemalloc.so.2 ]; then
  "$tb" run --allocator jemalloc --workload $W --runs 1 --backend memsim:zen3,arch=aarch64 --out "$work/m" 2> "$work/m.err" \
    || { cat "$work/m.err" >&2; fail "memsim arch=aarch64 on jemalloc failed the job"; }
  v=$(awk -F, '$4 == "memsim" && $8 == "l1d_misses_per_op" { print $9 }' "$work/m/results.csv")
  [ "$v" = NA ] || fail "memsim aarch64 jemalloc l1d_misses_per_op is '$v', not NA"
  grep -q 'na_reason.*aarch64' "$work/m/meta.json" || fail "no na_reason in meta.json"
  grep -q "rows are NA" "$work/m.err" || fail "no notice on stderr"
fi

# bench seed: the peers in the same rounds as glibc.
"$tb" bench seed --rounds 1 --csv --allocators "$(echo $peers | tr ' ' ,)" > "$work/b.csv" 2> "$work/b.err" \
  || { cat "$work/b.err" >&2; fail "bench seed with the peers"; }
for p in $peers; do
  n=$(awk -F, -v a="$p" '$2 == a && $3 == "preload" && $4 > 0 && $5 > 0' "$work/b.csv" | wc -l)
  [ "$n" -eq 6 ] || fail "bench seed: $n of 6 benchmarks for $p"
done
# --adapter-check: every peer and glibc measured three ways in its process.
"$tb" bench seed --adapter-check --rounds 1 --csv --allocators "$(echo $peers | tr ' ' ,)" > "$work/ac.csv" 2> "$work/ac.err" \
  || { cat "$work/ac.err" >&2; fail "bench seed --adapter-check"; }
head -n 1 "$work/ac.csv" | grep -qx 'benchmark,allocator,adapter_ns,system_ns,plain_ns,ratio_system,ratio_plain' \
  || fail "--adapter-check: header $(head -n 1 "$work/ac.csv")"
for p in glibc $peers; do
  n=$(awk -F, -v a="$p" '$2 == a && $3 > 0 && $4 > 0 && $5 > 0 && $6 > 0 && $7 > 0' "$work/ac.csv" | wc -l)
  [ "$n" -eq 6 ] || fail "--adapter-check: $n of 6 benchmarks for $p"
done
echo "peers_test: ok"

#!/bin/sh
# memsim_run.sh: the memsim backend end to end through `testbed run` on a
# small generated workload: rows carry the ISA that ran, the allocator,
# harness and program parts (and the regions) add up to each total, a
# second run of the same configuration is not simulated again, --arch
# runs the other build, two
# separate invocations give identical counts, an ARM profile runs the
# aarch64 build and a page override changes the TLB page, and bad specs
# fail with a message and no results.
#   usage: memsim_run.sh TESTBED
set -eu
tb=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/memsim-run-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
w=gen:list:nodes=3000:passes=3

"$tb" run --allocator oob,inline --workload $w --runs 2 --out "$tmp/a" \
  --backend memsim:zen3,memsim:neoverse-n1,page=64K >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "testbed run"; }
csv=$tmp/a/results.csv
for p in zen3@x86_64 neoverse-n1/page=64K@aarch64; do
  grep -q ",memsim,$p,1,1,l1d_misses," "$csv" || fail "no l1d_misses row for $p"
  ! grep -q ",memsim,$p,1,2," "$csv" || fail "run 2 of $p was simulated again (deterministic: run once)"
done
grep -q '"isa":"aarch64"' "$tmp/a/meta.json" || fail "meta.json does not name the aarch64 run"
grep -q '"binary_aarch64":"[^"]' "$tmp/a/meta.json" || fail "meta.json does not name the aarch64 binary"
grep -q ',memsim,neoverse-n1/page=64K@aarch64,1,1,memsim_page_bytes,65536,' "$csv" || fail "page override not applied"

# the parts add up to the total (per op, to the rounding of the CSV)
awk -F, '
  $4 == "memsim" { v[$2 "," $5 "," $8] = $9 }
  END {
    split("data_refs l1d_misses l2_misses l3_misses llc_misses dtlb_misses l2tlb_misses", m, " ")
    n = 0; bad = 0
    for (k in v) {
      split(k, f, ",")
      for (i in m) {
        if (f[3] != m[i] "_per_op") continue
        t = v[k]; if (t == "NA") continue
        s = v[f[1] "," f[2] ",allocator_" f[3]] + v[f[1] "," f[2] ",harness_" f[3]] + v[f[1] "," f[2] ",program_" f[3]]
        d = s - t; if (d < 0) d = -d
        n++; if (d > 1e-5 * (t > 1 ? t : 1)) { print "parts of " k " add up to " s ", total " t; bad++ }
        if (m[i] == "data_refs") continue
        r = v[f[1] "," f[2] ",in_other_" f[3]] + v[f[1] "," f[2] ",in_heap_" f[3]] + v[f[1] "," f[2] ",in_harness_" f[3]] + v[f[1] "," f[2] ",in_stack_" f[3]]
        d = r - t; if (d < 0) d = -d
        n++; if (d > 1e-5 * (t > 1 ? t : 1)) { print "regions of " k " add up to " r ", total " t; bad++ }
      }
    }
    if (n < 40) { print "only " n " sums checked"; bad++ }
    exit bad > 0
  }' "$csv" || fail "parts do not add up"
# something is charged to each of the three
for who in allocator harness program; do
  awk -F, -v m="${who}_l1d_misses_per_op" '$4 == "memsim" && $8 == m && $9 > 0 {ok = 1} END {exit !ok}' "$csv" ||
    fail "no $who l1d misses"
done

# a second invocation: identical counts
"$tb" run --allocator oob --workload $w --runs 1 --out "$tmp/b" --backend memsim:zen3 >"$tmp/log" 2>&1 ||
  { cat "$tmp/log"; fail "second testbed run"; }
for m in l1d_misses l2_misses l3_misses dtlb_misses l2tlb_misses data_refs; do
  a=$(awk -F, -v m=$m '$2 == "oob" && $5 == "zen3@x86_64" && $8 == m {print $9}' "$csv")
  b=$(awk -F, -v m=$m '$2 == "oob" && $5 == "zen3@x86_64" && $8 == m {print $9}' "$tmp/b/results.csv")
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "$m differs between two invocations: $a and $b"
done

# --arch: x86 geometry on the aarch64 build
"$tb" run --allocator oob --workload $w --runs 1 --out "$tmp/d" --backend memsim:zen3 --arch aarch64 >"$tmp/log" 2>&1 ||
  { cat "$tmp/log"; fail "--arch aarch64"; }
grep -q ',memsim,zen3@aarch64,1,1,l1d_misses,' "$tmp/d/results.csv" || fail "--arch aarch64 did not run the aarch64 build"
if "$tb" run --allocator oob --workload $w --runs 1 --out "$tmp/c" --backend memsim:zen3 --arch mips >"$tmp/log" 2>&1 ||
   "$tb" run --allocator oob --workload $w --runs 1 --out "$tmp/c" --backend timer --arch aarch64 >"$tmp/log" 2>&1; then
  fail "a bad --arch was accepted"
fi

# bad specs: a message, non-zero exit, no results
for spec in memsim:nope memsim:zen3,page=3K memsim:zen3,arch=mips memsim:zen3,colour=red memsim; do
  if "$tb" run --allocator oob --workload $w --runs 1 --out "$tmp/c" --backend "$spec" >"$tmp/log" 2>&1; then
    fail "$spec was accepted"
  fi
  grep -q 'memsim' "$tmp/log" || fail "$spec: no message naming memsim"
  [ ! -f "$tmp/c/results.csv" ] || fail "$spec left a results file"
done
echo "memsim run: ok"

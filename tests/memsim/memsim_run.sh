#!/bin/sh
# memsim_run.sh: the memsim backend end to end through `testbed run` on a
# small generated workload: rows carry the ISA that ran, the allocator,
# harness and program parts (and the data regions) add up to each total,
# the metadata and block regions hold what each design keeps there, a
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

"$tb" run --allocator oob,inline,oob-map --workload $w --runs 2 --out "$tmp/a" \
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
    split("other blocks harness stack meta desc", rg0, " "); for (g = 1; g <= 6; g++) rg[g - 1] = rg0[g]
    n = 0; bad = 0
    for (k in v) {
      split(k, f, ",")
      for (i in m) {
        if (f[3] != m[i] "_per_op") continue
        t = v[k]; if (t == "NA") continue
        s = v[f[1] "," f[2] ",allocator_" f[3]] + v[f[1] "," f[2] ",harness_" f[3]] + v[f[1] "," f[2] ",program_" f[3]]
        d = s - t; if (d < 0) d = -d
        n++; if (d > 1e-5 * (t > 1 ? t : 1)) { print "parts of " k " add up to " s ", total " t; bad++ }
        for (w = 0; w < 4; w++) {
          p = w == 0 ? "" : w == 1 ? "allocator_" : w == 2 ? "harness_" : "program_"
          t = v[f[1] "," f[2] "," p f[3]]; r = 0
          for (g = 0; g < 6; g++) {
            x = f[1] "," f[2] "," p "in_" rg[g] "_" f[3]
            if (!(x in v)) { print "no " x; bad++ }
            r += v[x]
          }
          d = r - t; if (d < 0) d = -d
          n++; if (d > 1e-5 * (t > 1 ? t : 1)) { print "regions of " p k " add up to " r ", total " t; bad++ }
        }
      }
    }
    if (n < 200) { print "only " n " sums checked"; bad++ }
    exit bad > 0
  }' "$csv" || fail "parts do not add up"
# something is charged to each of the three
for who in allocator harness program; do
  awk -F, -v m="${who}_l1d_misses_per_op" '$4 == "memsim" && $8 == m && $9 > 0 {ok = 1} END {exit !ok}' "$csv" ||
    fail "no $who l1d misses"
done

# the data regions: inline keeps nothing out of band; oob touches its
# records (meta) and the back-pointer word in the block; oob-map finds
# records by its address map and never touches a block (gen:list has no
# calloc and no realloc copy); each design's descriptor is its own region
val() { awk -F, -v a="$1" -v p="$2" -v m="$3" '$2 == a && $5 == p && $8 == m {print $9}' "$csv"; }
for p in zen3@x86_64 neoverse-n1/page=64K@aarch64; do
  for m in data_refs l1d_misses dtlb_misses; do
    for who in "" allocator_ harness_ program_; do
      [ "$(val inline $p ${who}in_meta_${m}_per_op)" = 0 ] || fail "inline $p: ${who}in_meta_${m}_per_op is not 0"
    done
  done
  gt0() { awk -v x="$1" 'BEGIN {exit !(x + 0 > 0)}'; }
  om=$(val oob $p allocator_in_meta_data_refs_per_op)
  ob=$(val oob $p allocator_in_blocks_data_refs_per_op)
  gt0 "$om" || fail "oob $p: allocator accesses to metadata: $om"
  gt0 "$ob" || fail "oob $p: no allocator access to blocks (the back-pointer): $ob"
  awk -v b="$ob" -v m="$om" 'BEGIN {exit !(b < m)}' || fail "oob $p: blocks $ob not below metadata $om"
  gt0 "$(val oob-map $p allocator_in_meta_data_refs_per_op)" || fail "oob-map $p: no allocator access to metadata"
  [ "$(val oob-map $p allocator_in_blocks_data_refs_per_op)" = 0 ] || fail "oob-map $p: allocator accesses to blocks"
  gt0 "$(val inline $p allocator_in_blocks_data_refs_per_op)" || fail "inline $p: no allocator access to blocks"
  for a in inline oob oob-map; do
    gt0 "$(val $a $p allocator_in_desc_data_refs_per_op)" || fail "$a $p: no allocator access to its descriptor"
    gt0 "$(val $a $p program_in_blocks_data_refs_per_op)" || fail "$a $p: no program access to blocks"
  done
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

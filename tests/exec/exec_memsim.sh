#!/bin/sh
# exec_memsim.sh TESTBED SUBJECT: `testbed exec --backend memsim` end to end.
# A small real program (exec_ms_subject: malloc, realloc, free, and a
# forked child doing the same) runs under qemu-user with the memsim plugin
# on glibc, oob and inline: every count splits into allocator and program
# parts that add up, the allocator's part is > 0 for each (the preloaded
# library's code; glibc's malloc code), both processes are simulated, two
# invocations give the same counts, and bad specs are refused. Also: exec
# strips the user's TB_SHIM_STATS from the program's environment and keeps
# the other TB_SHIM_* settings.
set -u
tb=$1 subject=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/tb-exec-memsim-XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$tb" exec --allocator glibc,oob,inline --backend memsim:zen3 --out "$dir/a" -- "$subject" 2>"$dir/err" ||
  fail "exec memsim:zen3: $(cat "$dir/err")"
csv=$dir/a/results.csv
awk -F, '
  $4 == "memsim" { v[$2 "," $8] = $9; if ($5 != "zen3@x86_64") { print "profile field " $5; bad++ } a[$2] = 1 }
  END {
    split("data_refs l1d_misses l2_misses l3_misses llc_misses dtlb_misses l2tlb_misses", m, " ")
    for (x in a) {
      n++
      for (i in m) {
        t = v[x "," m[i]]; s = v[x ",allocator_" m[i]] + v[x ",program_" m[i]]
        if (t == "" || t == "NA" || t != s) { print x ": " m[i] " " t " != allocator + program " s; bad++ }
      }
      if (!(v[x ",allocator_data_refs"] > 0)) { print x ": no allocator accesses"; bad++ }
      if (!(v[x ",program_data_refs"] > 0)) { print x ": no program accesses"; bad++ }
      if (!(v[x ",allocator_l1d_misses"] > 0)) { print x ": no allocator l1d misses"; bad++ }
      if (v[x ",simulated_processes"] != 2) { print x ": " v[x ",simulated_processes"] " processes simulated, not 2"; bad++ }
      if (v[x ",memsim_simulated_accesses"] != v[x ",data_refs"]) { print x ": simulated != data_refs (window=all)"; bad++ }
    }
    if (n != 3) { print n " allocators, not 3"; bad++ }
    exit bad > 0
  }' "$csv" || fail "memsim rows do not hold"
grep -q ',memsim,zen3@x86_64,1,1,same_output,1,' "$csv" || fail "no same_output row"

# deterministic: a second invocation gives the same counts
"$tb" exec --allocator oob --backend memsim:zen3 --out "$dir/b" -- "$subject" 2>"$dir/err" ||
  fail "second exec: $(cat "$dir/err")"
for m in data_refs allocator_data_refs allocator_l1d_misses program_dtlb_misses; do
  x=$(awk -F, -v m=$m '$2 == "oob" && $8 == m {print $9}' "$csv")
  y=$(awk -F, -v m=$m '$2 == "oob" && $8 == m {print $9}' "$dir/b/results.csv")
  [ -n "$x" ] && [ "$x" = "$y" ] || fail "$m differs between two invocations: $x and $y"
done

# an ARM profile on the x86_64 program: its geometry, the program's ISA
"$tb" exec --allocator oob --backend memsim:neoverse-n1,page=64K --out "$dir/c" -- "$subject" 2>"$dir/err" ||
  fail "exec memsim:neoverse-n1,page=64K: $(cat "$dir/err")"
grep -q ',memsim,neoverse-n1/page=64K@x86_64,1,1,memsim_page_bytes,65536,' "$dir/c/results.csv" ||
  fail "page override or label missing"

# refused, with a message naming the reason, and no results
for spec in memsim:zen3,arch=aarch64 memsim:nope memsim:zen3,page=3K; do
  if "$tb" exec --allocator oob --backend "$spec" --out "$dir/d" -- "$subject" 2>"$dir/err"; then
    fail "$spec was accepted"
  fi
  grep -q memsim "$dir/err" || fail "$spec: no message naming memsim: $(cat "$dir/err")"
  [ ! -e "$dir/d/results.csv" ] || fail "$spec left results"
done
"$tb" exec --allocator oob --backend memsim:zen3,arch=aarch64 --out "$dir/d" -- "$subject" 2>"$dir/err"
grep -q 'x86_64 binary' "$dir/err" || fail "arch=aarch64 refused without naming the program's ISA: $(cat "$dir/err")"
printf '#!/bin/sh\necho hi\n' >"$dir/script.sh" && chmod +x "$dir/script.sh"
if "$tb" exec --allocator oob --backend memsim:zen3 --out "$dir/d" -- "$dir/script.sh" 2>"$dir/err"; then
  fail "a script was accepted under memsim"
fi
grep -q 'interpreter' "$dir/err" || fail "script refused without saying why: $(cat "$dir/err")"

# the environment: TB_SHIM_STATS is exec's own (the user's is removed),
# other TB_SHIM_* settings reach the program
TB_SHIM_LOCK=always "$tb" exec --allocator glibc,oob --out "$dir/e" -- printenv TB_SHIM_LOCK 2>"$dir/err" ||
  fail "TB_SHIM_LOCK did not reach the program: $(cat "$dir/err")"
if TB_SHIM_STATS=$dir/nowhere "$tb" exec --allocator glibc --out "$dir/f" -- printenv TB_SHIM_STATS 2>"$dir/err"; then
  fail "the user's TB_SHIM_STATS reached the program"
fi
grep -q 'fails on glibc too' "$dir/err" || fail "printenv TB_SHIM_STATS: $(cat "$dir/err")"
echo "exec memsim: ok"

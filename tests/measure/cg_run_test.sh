#!/bin/sh
# cg_run_test.sh: the cachegrind backend through `testbed run`.
#   cg_run_test.sh TEST TESTBED WORKDIR
# TEST: warm | split | once. Exit 0 pass, 1 fail, 77 skipped (valgrind
# cannot run here).
set -u
t="$1"; tb="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
command -v valgrind > /dev/null || { echo "valgrind is not installed"; exit 77; }

# value DIR ALLOCATOR METRIC: the metric's value in DIR/results.csv (cachegrind rows)
value() {
  awk -F, -v a="$2" -v m="$3" '$2 == a && $4 == "cachegrind" && $8 == m { print $9; n++ } END { if (n != 1) exit 1 }' \
    "$1/results.csv" || echo "none"
}

case "$t" in
warm)
  # gen:one_alloc frees each 1-byte block before the next malloc, so the
  # window reuses one block: every line it touches (the decoded op array,
  # 16 B per op, 3.2 MB for 200,000 ops; the slot table; the heap's first
  # lines; the stack) was touched before the window, and all of it fits in
  # zen3's 32 MiB LL. Simulated warm, the window's LL misses are then the
  # few lines it touches first (the heap's top, a stack line): at most 16.
  # Simulated cold (the window's first touch of each op line missing), they
  # were one per 64-byte line of the op array, about 50,000.
  "$tb" run --allocator inline --workload gen:one_alloc --runs 1 --backend cachegrind:zen3 --out "$work/one" \
    > "$work/one.log" 2>&1 || { cat "$work/one.log"; fail "testbed run failed"; exit 1; }
  ll=$(value "$work/one" inline llc_misses)
  d1=$(value "$work/one" inline l1d_misses)
  case "$ll" in ''|*[!0-9]*) fail "llc_misses is '$ll'";; esac
  if [ "$ll" != none ] && [ "$ll" -le 16 ]; then ok "one_alloc inline zen3: $ll LL misses (bound 16), $d1 D1 misses"
  else fail "one_alloc inline zen3: $ll LL misses, more than 16: the simulated LL was not warm"; fi
  # D1 (32 KiB) cannot hold the op array: about one miss per 64-byte line
  # of it (4 ops), so warm caches leave D1 misses in place.
  if [ "$d1" != none ] && [ "$d1" -ge 45000 ]; then ok "D1 misses still counted ($d1)"
  else fail "D1 misses $d1, expected about 50,000 (the op array streams through D1)"; fi
  ;;
split)
  # Every metric's three parts (allocator, harness, program) add up to its
  # total (per op: the values are written with 6 significant digits, so
  # they agree to a relative 1e-5).
  run() { # NAME TOUCH
    "$tb" run --allocator inline,bump --workload gen:list:nodes=2000 --runs 1 --touch "$2" --backend cachegrind:zen3 \
      --out "$work/$1" > "$work/$1.log" 2>&1 || { cat "$work/$1.log"; fail "testbed run ($1) failed"; exit 1; }
  }
  run trace trace
  run none none
  for d in trace none; do
    for a in inline bump; do
      for m in instructions data_refs l1d_misses llc_misses; do
        tot=$(value "$work/$d" $a ${m}_per_op); al=$(value "$work/$d" $a allocator_${m}_per_op)
        ha=$(value "$work/$d" $a harness_${m}_per_op); pr=$(value "$work/$d" $a program_${m}_per_op)
        # misses may be 0 (bump's pre-faulted space, warm caches); counts of work may not
        if awk -v t="$tot" -v a="$al" -v h="$ha" -v p="$pr" -v m="$m" \
             'BEGIN { s = a + h + p; e = s - t; if (e < 0) e = -e; exit !(t != "none" && (t > 0 || (t == 0 && m ~ /misses/)) && e <= 1e-5 * t + 1e-9) }'; then
          ok "$d $a $m: $al + $ha + $pr = $tot"
        else fail "$d $a $m: $al + $ha + $pr != $tot"; fi
      done
    done
  done
  # --touch none: the program makes no access, so its part is 0 in every
  # metric; with the trace's touches it is not (gen:list walks its nodes).
  for a in inline bump; do
    for m in instructions data_refs l1d_misses llc_misses; do
      pr=$(value "$work/none" $a program_${m}_per_op)
      [ "$pr" = 0 ] || fail "touch none, $a: program_${m}_per_op is $pr, not 0"
    done
    pr=$(value "$work/trace" $a program_l1d_misses_per_op)
    awk -v p="$pr" 'BEGIN { exit !(p != "none" && p > 0) }' || fail "touch trace, $a: program L1D misses $pr"
  done
  # bump never touches the blocks it hands out; its only writes are one
  # 4-byte block-table entry per allocation, a fresh 64-byte line every 16
  # allocations, so its own L1D misses are at most 1/16 per op (at most
  # one allocation per op), and far below a real allocator's.
  for d in trace none; do
    b=$(value "$work/$d" bump allocator_l1d_misses_per_op); i=$(value "$work/$d" inline allocator_l1d_misses_per_op)
    if awk -v b="$b" -v i="$i" 'BEGIN { exit !(b != "none" && i != "none" && b <= 1 / 16 && b * 10 < i) }'; then
      ok "$d: bump's allocator L1D misses $b per op (inline's $i)"
    else fail "$d: bump's allocator L1D misses $b per op, inline's $i"; fi
  done
  ;;
once)
  # Simulation is deterministic: --runs 3 simulates once (run 1 rows only,
  # simulated_runs 1, meta.json says so), and a second invocation gives
  # identical counts.
  for k in 1 2; do
    "$tb" run --allocator oob --workload gen:hundred_lifo:n=200 --runs 3 --backend cachegrind:neoverse-n1 \
      --out "$work/o$k" > "$work/o$k.log" 2>&1 || { cat "$work/o$k.log"; fail "testbed run failed"; exit 1; }
  done
  runs=$(awk -F, '$4 == "cachegrind" { print $7 }' "$work/o1/results.csv" | sort -u | tr '\n' ' ')
  [ "$runs" = "1 " ] && ok "cachegrind rows are run 1 only" || fail "cachegrind rows of runs '$runs'"
  rr=$(awk -F, '$4 == "replay" && $8 == "ops" { n++ } END { print n }' "$work/o1/results.csv")
  [ "$rr" = 3 ] && ok "the replay itself ran 3 times" || fail "replay ops rows: $rr, not 3"
  [ "$(value "$work/o1" oob simulated_runs)" = 1 ] || fail "simulated_runs is not 1"
  grep -q '"simulated_runs":1' "$work/o1/meta.json" || fail "meta.json does not say simulated_runs 1"
  for k in 1 2; do awk -F, '$4 == "cachegrind"' "$work/o$k/results.csv" > "$work/cg$k"; done
  if [ -s "$work/cg1" ] && cmp -s "$work/cg1" "$work/cg2"; then ok "two invocations: identical cachegrind rows"
  else fail "two invocations differ:"; diff "$work/cg1" "$work/cg2" | head; fi
  ;;
*) echo "unknown test $t"; exit 1 ;;
esac
[ $fails -eq 0 ] || exit 1

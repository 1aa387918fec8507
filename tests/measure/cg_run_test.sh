#!/bin/sh
# cg_run_test.sh: the cachegrind backend through `testbed run`.
#   cg_run_test.sh TEST TESTBED WORKDIR
# TEST: warm. Exit 0 pass, 1 fail, 77 skipped (valgrind cannot run here).
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
  ll=$(value "$work/one" inline ll_misses)
  d1=$(value "$work/one" inline d1_misses)
  case "$ll" in ''|*[!0-9]*) fail "ll_misses is '$ll'";; esac
  if [ "$ll" != none ] && [ "$ll" -le 16 ]; then ok "one_alloc inline zen3: $ll LL misses (bound 16), $d1 D1 misses"
  else fail "one_alloc inline zen3: $ll LL misses, more than 16: the simulated LL was not warm"; fi
  # D1 (32 KiB) cannot hold the op array: about one miss per 64-byte line
  # of it (4 ops), so warm caches leave D1 misses in place.
  if [ "$d1" != none ] && [ "$d1" -ge 45000 ]; then ok "D1 misses still counted ($d1)"
  else fail "D1 misses $d1, expected about 50,000 (the op array streams through D1)"; fi
  ;;
*) echo "unknown test $t"; exit 1 ;;
esac
[ $fails -eq 0 ] || exit 1

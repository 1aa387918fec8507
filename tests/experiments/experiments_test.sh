#!/bin/sh
# experiments_test.sh: script tests of run sets, meta.json, command-line
# errors and experiments/run.sh.
#   experiments_test.sh TEST TESTBED SOURCE_DIR WORKDIR
# Exit 0 pass, 1 fail, 77 skipped (with the reason printed). Every check
# can fail: see fail().
set -u
t="$1"; tb="$2"; src="$3"; work="$4"
rm -rf "$work"; mkdir -p "$work"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
skip() { echo "SKIPPED: $*"; exit 77; }
runs=$src/experiments/run.sh
# A tiny job: one run of a small generated list, no backend.
W=gen:list:nodes=300:passes=2
small() { a=$1; o=$2; shift 2; "$tb" run --allocator "$a" --workload $W --runs 1 --backend none --out "$o" "$@" 2>&1; }
rows() { grep -vc '^#' "$1/results.csv"; }

# json_unique FILE: parses FILE as JSON with a real parser and fails on a
# key that appears twice in one object (json.tool alone keeps the last).
json_unique() {
  python3 - "$1" <<'PY'
import json, sys
def pairs(kv):
    seen = {}
    for k, v in kv:
        if k in seen:
            raise ValueError("key %r appears twice" % k)
        seen[k] = v
    return seen
try:
    json.load(open(sys.argv[1]), object_pairs_hook=pairs)
except Exception as e:
    print("%s: %s" % (sys.argv[1], e)); sys.exit(1)
PY
}

case "$t" in
runset)
  d="$work/set"
  small inline "$d" > /dev/null || fail "first run into a new folder failed"
  n1=$(rows "$d")
  cp "$d/results.csv" "$work/first.csv"
  # a second run into the same folder is refused before anything runs; the run set is untouched
  out=$(small oob "$d"); rc=$?
  [ $rc -ne 0 ] || fail "a second run into a run set was accepted"
  echo "$out" | grep -q -- "--force" && echo "$out" | grep -q -- "--append" || fail "refusal does not name --force/--append: $out"
  cmp -s "$d/results.csv" "$work/first.csv" || fail "refused run changed results.csv"
  ls -a "$d" | grep -q '^\.results' && fail "refused run left a temporary file"
  # a folder holding anything is refused too
  mkdir -p "$work/other"; touch "$work/other/notes.txt"
  small inline "$work/other" > /dev/null && fail "a run into a non-empty folder was accepted"
  # --append adds rows, keeps the old ones, removes the stale derived files
  mkdir -p "$d/plots"; touch "$d/plots/fig1.png" "$d/summary.csv"
  small oob "$d" --append > /dev/null || fail "--append failed"
  n2=$(rows "$d")
  [ "$n2" -eq $((2 * n1 - 1)) ] || fail "--append: $n2 lines, expected $((2 * n1 - 1)) (two jobs' rows, one header)"
  grep -q ',inline,' "$d/results.csv" && grep -q ',oob,' "$d/results.csv" || fail "--append lost a job's rows"
  [ -e "$d/plots" ] || [ -e "$d/summary.csv" ] && fail "--append left the stale plots/ or summary.csv"
  json_unique "$d/meta.json" || fail "appended meta.json"
  python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["allocators"]=="oob" and m["appended_to"]["allocators"]=="inline"' "$d/meta.json" \
    || fail "appended meta.json does not keep the old one under appended_to"
  "$tb" summarize "$d" -o "$work/s.csv" 2> "$work/s.err" || fail "summarize of an appended run set: $(cat "$work/s.err")"
  # appending the same job again is a duplicate: refused, nothing changes
  cp "$d/results.csv" "$work/second.csv"
  out=$(small oob "$d" --append); rc=$?
  [ $rc -ne 0 ] || fail "--append of duplicate rows was accepted"
  echo "$out" | grep -q "already has the row" || fail "duplicate refusal says: $out"
  cmp -s "$d/results.csv" "$work/second.csv" || fail "refused --append changed results.csv"
  # --force replaces: old rows, plots/, summary.csv and job folders go
  mkdir -p "$d/plots" "$d/jobs/001-x"; touch "$d/summary.csv" "$d/jobs.count"
  small glibc "$d" --force > /dev/null || fail "--force failed"
  [ "$(rows "$d")" -eq "$n1" ] || fail "--force: $(rows "$d") lines, expected $n1"
  grep -q ',inline,\|,oob,' "$d/results.csv" && fail "--force kept old rows"
  for e in plots summary.csv jobs jobs.count; do [ -e "$d/$e" ] && fail "--force left the stale $e"; done
  # --force does not remove what is not a run set's
  small glibc "$work/other" --force > "$work/o.err"; rc=$?
  [ $rc -ne 0 ] && grep -q "notes.txt" "$work/o.err" || fail "--force into a folder with other files: rc $rc, $(cat "$work/o.err")"
  [ -e "$work/other/notes.txt" ] || fail "--force removed a file that is not a run set's"
  small glibc "$d" --force --append > /dev/null && fail "--force with --append accepted"
  [ $fails -eq 0 ] && ok "run sets: refused when not empty, --append merges and refuses duplicates, --force replaces with no stale files"
  ;;
meta)
  command -v python3 > /dev/null || skip "python3 is not installed (./reproduce.sh deps installs it)"
  command -v valgrind > /dev/null || skip "valgrind is not installed (./reproduce.sh deps installs it)"
  # two profiles of one backend, two allocators: every backend's provenance under its own key
  d="$work/run"
  "$tb" run --allocator inline,oob --workload $W --runs 1 --backend timer,cachegrind:zen3,cachegrind:neoverse-n1 \
    --out "$d" > "$work/run.err" 2>&1 || fail "run failed: $(cat "$work/run.err")"
  json_unique "$d/meta.json" || fail "meta.json of a run"
  for k in cachegrind_zen3_inline cachegrind_neoverse-n1_inline cachegrind_zen3_oob cachegrind_neoverse-n1_oob timer_host_inline; do
    grep -q "\"backend_$k\":" "$d/meta.json" || fail "meta.json has no backend_$k"
  done
  # the merged meta.json of experiments/run.sh
  printf 'set m\nallocators inline glibc\nworkloads %s\nbackends none\nruns 1\n' $W > "$work/m.exp"
  TESTBED="$tb" sh "$runs" "$work/m.exp" --out "$work/m" > /dev/null 2> "$work/m.err" || fail "run.sh: $(cat "$work/m.err")"
  json_unique "$work/m/meta.json" || fail "merged meta.json"
  [ $fails -eq 0 ] && ok "meta.json (one run, two profiles; and a merged set) is JSON without a repeated key"
  ;;
cli)
  # testbed plot --only with a name that is no figure: an error listing the figures, no output
  "$tb" plot "$src/tests/fixtures/runset-small" --out "$work/p" --scripts "$src/plots" --only fig2 > "$work/p.out" 2> "$work/p.err"; rc=$?
  [ $rc -eq 2 ] || fail "plot --only fig2: exit $rc, not 2"
  grep -q "no figure 'fig2'" "$work/p.err" || fail "plot --only fig2 says: $(cat "$work/p.err")"
  for f in "$src"/plots/*.gp; do
    n=$(sed -n 's/^# figure: *//p' "$f")
    grep -q "$n" "$work/p.err" || fail "plot --only error does not list $n: $(cat "$work/p.err")"
  done
  [ -e "$work/p/summary.csv" ] && fail "plot --only with a bad name wrote summary.csv"
  [ $fails -eq 0 ] && ok "$(cat "$work/p.err")"
  ;;
*) echo "unknown test $t"; exit 2 ;;
esac
[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
exit 0

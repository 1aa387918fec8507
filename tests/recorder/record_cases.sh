#!/bin/sh
# record_cases.sh TESTBED SUBJECT: the recorder cases of issue 16: a
# program killed by SIGKILL is said to be so; --max-ops N records exactly
# N ops; a program exec'd with LD_PRELOAD removed is not silently taken
# for the wrapper; an interrupted record leaves no trace and no raw logs.
set -u
tb=$1 subject=$2
d=$(mktemp -d "${TMPDIR:-/tmp}/tb-rec.XXXXXX")
export TMPDIR=$d # the raw log directories go here too: none may be left
trap 'rm -rf "$d"' EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$tb" record -o "$d/k.tbt" -- bash -c 'kill -9 $$' 2>"$d/err"
st=$?
[ "$st" = 1 ] && grep -q "killed by signal 9" "$d/err" || bad "kill -9: exit $st, $(cat "$d/err")"
[ -e "$d/k.tbt" ] && bad "kill -9: a trace was written"

for n in 1 2 7; do
  "$tb" record --max-ops $n -o "$d/m.txt" -- "$subject" basic 2>"$d/err" || bad "--max-ops $n: $(cat "$d/err")"
  got=$(grep -c '^[0-9]' "$d/m.txt")
  [ "$got" = $n ] || bad "--max-ops $n recorded $got ops"
  "$tb" convert "$d/m.txt" -o "$d/m.tbt" || bad "--max-ops $n: the trace does not load"
done

if command -v env >/dev/null && command -v ls >/dev/null; then
  "$tb" record -o "$d/e.tbt" -- env -u LD_PRELOAD ls >/dev/null 2>"$d/err"
  grep -q "ended as 'ls'" "$d/err" || bad "env -u LD_PRELOAD ls: not said: $(cat "$d/err")"
fi

"$tb" record -o "$d/i.tbt" -- sleep 30 2>"$d/err" &
pid=$!
sleep 1
kill -TERM $pid
wait $pid
st=$?
[ "$st" = 143 ] || bad "interrupted record: exit $st (want 143): $(cat "$d/err")"
[ -e "$d/i.tbt" ] && bad "interrupted record: a trace was written"
ls "$d" | grep -q tbrecord && bad "interrupted record: raw logs left: $(ls "$d")"

echo "$fails failed"
[ "$fails" = 0 ]

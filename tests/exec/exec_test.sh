#!/bin/sh
# exec_test.sh TESTBED SRCDIR STATIC_EXE SUBJECT DESIGNS: `testbed exec` end to end.
# Real programs run on every design at check level 1 (invalid and double
# frees abort) and must give glibc's output (exec compares and fails
# otherwise); then bad input: no program, a program not found, a static
# binary, a program failing on glibc too, a design failing where glibc does
# not; and the results' shape (rows, NA for glibc's statistics, meta.json).
set -u
tb=$1 src=$2 static=$3 subject=$4 designs=$5
dir=$(mktemp -d "${TMPDIR:-/tmp}/tb-exec-XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
in=$src/tests/exec/inputs
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
allocs="glibc,$designs"

# run NAME [exec options] -- PROGRAM...: exec at level 1; must succeed.
run() {
  name=$1
  shift
  t0=$(date +%s)
  if ! "$tb" exec --allocator "$allocs" --check-level 1 --out "$dir/$name" "$@" 2>"$dir/$name.err"; then
    bad "$name: testbed exec failed: $(cat "$dir/$name.err")"
    return
  fi
  rows=$(grep -c ',same_output,1,' "$dir/$name/results.csv")
  want=$(echo "$allocs" | tr ',' '\n' | wc -l)
  [ "$rows" = "$want" ] || bad "$name: $rows runs with glibc's output, expected $want"
  echo "ok: $name ($(($(date +%s) - t0)) s)"
}

seq 1 400000 | sed 's/$/ lorem ipsum dolor sit amet/' >"$dir/text" # about 13 MB, compressible
head -c 3000000 "$dir/text" >"$dir/text3m"
run python3 -- /usr/bin/python3 "$in/work.py"
run perl -- perl "$in/work.pl"
run sqlite3 --stdin "$in/joins.sql" -- sqlite3 :memory:
run gcc -- gcc -O2 -S -o - "$src/tests/exec/shim_subject.c"
if command -v lua5.4 >/dev/null; then run lua -- lua5.4 "$in/work.lua"; else bad "lua5.4 not installed"; fi
run xz --stdin "$dir/text3m" -- xz -c -3 -T1
run xz-threads --stdin "$dir/text3m" -- xz -c -3 -T2 --block-size=500KiB
run sort-threads --stdin "$dir/text3m" -- sort --parallel=2 -S 1M -k2,2 -k1,1n
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  run git-log -- git -C "$src" log -p -n 20 --no-color --format=%H%n%an%n%s
  run git-gc --setup "rm -rf '$dir/clone' && git clone -q --no-local '$src' '$dir/clone'" -- git -C "$dir/clone" gc -q
else
  echo "skip: git ($src is not a git repository)"
fi

# The results' shape: a design's statistics measured, glibc's NA.
r=$dir/python3/results.csv
grep -q '^exec:l1,inline,.*,timer,host,1,1,mallocs,[0-9]' "$r" || bad "no inline mallocs row in $r"
grep -q '^exec:l1,glibc,.*,timer,host,1,1,mallocs,NA,' "$r" || bad "glibc's mallocs not NA in $r"
grep -q '^exec:l1,oob,.*,wall_time,[0-9.e-]*,s$' "$r" || bad "no oob wall_time row in $r"
grep -q '^exec:l1,glibc,.*,max_rss,[0-9]*,B$' "$r" || bad "no glibc max_rss row in $r"
grep -q '"program_package"' "$dir/python3/meta.json" || bad "meta.json lacks program_package"
grep -q '"preload_inline"' "$dir/python3/meta.json" || bad "meta.json lacks preload_inline"
grep -q ',processes,[2-9]' "$dir/gcc/results.csv" || bad "gcc: fewer than 2 processes reported statistics"

# Bad input: exit status 2, a message naming the problem, no results.
expect() { # expect STATUS WORD NAME -- exec args
  st=$1 word=$2 name=$3
  shift 3
  "$tb" exec --out "$dir/$name" "$@" 2>"$dir/$name.err" >/dev/null
  got=$?
  [ "$got" = "$st" ] || bad "$name: exit $got, expected $st ($(cat "$dir/$name.err"))"
  grep -qi "$word" "$dir/$name.err" || bad "$name: '$word' not in: $(cat "$dir/$name.err")"
  [ ! -e "$dir/$name/results.csv" ] || bad "$name: a results file was written"
}
expect 2 "no program" noprog --allocator inline --
expect 2 "not found" notfound --allocator inline -- no-such-program-xyz
expect 2 "statically linked" static --allocator inline -- "$static"
expect 2 "fails on glibc too" glibcfails --allocator inline -- false
expect 2 "unknown allocator" unknown --allocator nosuch -- true
expect 2 "drop-in library" bump --allocator bump -- true
expect 2 "name wants a label" badname --allocator inline --name 'a,b' -- true
# --name labels the rows; meta.json keeps the command.
"$tb" exec --allocator glibc --name 'echo test' --out "$dir/named" -- echo hello 2>/dev/null || bad "--name: exec failed"
grep -q '^exec:l0,glibc,echo test,timer,host,1,1,wall_time,' "$dir/named/results.csv" || bad "--name: rows not labelled 'echo test'"
grep -q '"command".*echo hello' "$dir/named/meta.json" || bad "--name: meta.json lacks the command"
# A design that aborts where glibc does not (a pointer it never handed out).
expect 1 "not allocated by this library" foreign --allocator glibc,inline -- "$subject" foreign-quiet
"$tb" exec --allocator glibc,inline --keep-going --out "$dir/keep" -- "$subject" foreign-quiet 2>/dev/null
grep -q '^exec:l0,inline,.*,exit_status,134,' "$dir/keep/results.csv" || bad "--keep-going: no exit_status 134 row"
grep -q '^exec:l0,glibc,.*,same_output,1,' "$dir/keep/results.csv" || bad "--keep-going: glibc row missing"
exit $fail

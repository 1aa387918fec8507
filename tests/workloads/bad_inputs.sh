#!/bin/sh
# bad_inputs.sh TESTBED: the bad inputs of issue 16 through the command
# line: each gives a clear error naming the file (and line or op), the exit
# status of the convention in `testbed --help` (1 failure while working,
# 2 bad usage or input), no output file, and never a block or a hang.
set -u
tb=$1
d=$(mktemp -d "${TMPDIR:-/tmp}/tb-bad.XXXXXX")
trap 'rm -rf "$d"' EXIT
fails=0
# expect STATUS PHRASE CMD...: the command exits STATUS within 20 s and its
# stderr contains PHRASE.
expect() {
  want=$1 phrase=$2
  shift 2
  timeout 20 "$@" >"$d/out" 2>"$d/err"
  got=$?
  if [ "$got" != "$want" ] || ! grep -qF -- "$phrase" "$d/err"; then
    echo "FAIL: $*: exit $got (want $want), stderr: $(cat "$d/err") (want '$phrase')"
    fails=$((fails + 1))
  else
    echo "ok: $* -> $got: $(head -c 160 "$d/err")"
  fi
}
absent() {
  if [ -e "$1" ]; then echo "FAIL: $1 left behind"; fails=$((fails + 1)); fi
}

"$tb" --help | grep -q "2  bad usage or bad input" || { echo "FAIL: testbed --help states no exit-status convention"; fails=$((fails + 1)); }

# Devices and FIFOs: refused before any read (no memory growth, no block).
expect 2 "/dev/zero: not a regular file" "$tb" convert /dev/zero -o "$d/x.txt"
expect 2 "/dev/urandom: not a regular file" "$tb" convert /dev/urandom -o "$d/x.txt"
mkfifo "$d/fifo"
expect 2 "fifo: not a regular file" "$tb" convert "$d/fifo" -o "$d/x.txt"
expect 2 "fifo: not a regular file" "$tb" import --from mtrace "$d/fifo" -o "$d/x.txt"
absent "$d/x.txt"
# A large file of zeros: stopped at its first line, not read whole.
head -c 3000000 /dev/zero >"$d/zeros"
expect 2 "zeros:1: not a trace" "$tb" convert "$d/zeros" -o "$d/x.txt"

# Over-long varint: the binary header, then a record whose id varint runs on.
printf 'TBTRACE1\000\001\377\377\377\377\377\377\377\377\377\377\377\001' >"$d/long.tbt"
expect 2 "long.tbt: op 1: over-long varint" "$tb" convert "$d/long.tbt" -o "$d/x.txt"
# Range messages: inclusive ends, as the README writes ranges.
printf 'testbed-trace 1\n0 malloc 0 8\n0 write 0 4 5\n' >"$d/range.txt"
expect 2 "range.txt:3: write of bytes 4..8 of id 0, beyond its size 8 (bytes 0..7)" "$tb" convert "$d/range.txt" -o "$d/x.txt"
# Sparse ids are refused (they would size the replay's arrays).
printf 'testbed-trace 1\n0 malloc 4000000000 8\n' >"$d/sparse.txt"
expect 2 "sparse.txt:2: malloc of id 4000000000: ids must be dense" "$tb" convert "$d/sparse.txt" -o "$d/x.txt"

# mtrace: the importer refuses what the loader would.
printf '= Start\n+ 0x1000 -0x10\n= End\n' >"$d/neg.log"
expect 2 "neg.log:2: malformed size '-0x10'" "$tb" import --from mtrace "$d/neg.log" -o "$d/x.txt"
printf '= Start\n+ 0x1000 0xffffffffffffffff\n= End\n' >"$d/huge.log"
expect 2 "huge.log:2: size 18446744073709551615 too large" "$tb" import --from mtrace "$d/huge.log" -o "$d/x.txt"
printf '= Start\n+ 0xZZZ 0x10\n= End\n' >"$d/addr.log"
expect 2 "addr.log:2: malformed address '0xZZZ'" "$tb" import --from mtrace "$d/addr.log" -o "$d/x.txt"
printf '= Start\n+ 0x1000 0x10\n\000\000\000\n= End\n' >"$d/nul.log"
expect 2 "nul.log:3: NUL byte" "$tb" import --from mtrace "$d/nul.log" -o "$d/x.txt"
absent "$d/x.txt"

# An output that cannot be written: 1 for convert, import and gen alike.
printf 'testbed-trace 1\n0 malloc 0 8\n0 free 0\n' >"$d/ok.txt"
printf '= Start\n+ 0x1000 0x10\n= End\n' >"$d/ok.log"
expect 1 "cannot write there" "$tb" convert "$d/ok.txt" -o "$d/no/such/dir/x.tbt"
expect 1 "cannot write there" "$tb" import --from mtrace "$d/ok.log" -o "$d/no/such/dir/x.tbt"
expect 1 "cannot write there" "$tb" gen one_alloc n=10 -o "$d/no/such/dir/x.tbt"
expect 2 "no parameter 'bogus'" "$tb" gen one_alloc bogus=1 -o "$d/x.tbt"
absent "$d/x.tbt"

# papi:NOSUCH: a clear error up front (exit 2), not "recorded as NA" and then a failure.
if "$tb" list 2>/dev/null | grep -q '^ *papi  *available'; then
  expect 2 "backend papi:NOSUCH: papi: no event can be counted here (NOSUCH" "$tb" run --allocator inline --workload gen:one_alloc:n=10 --runs 1 --backend papi:NOSUCH --out "$d/papi"
  if grep -q "recorded as NA" "$d/err"; then echo "FAIL: papi:NOSUCH said 'recorded as NA'"; fails=$((fails + 1)); fi
  absent "$d/papi"
fi

# An interrupted run (SIGTERM; SIGINT alike) leaves no hidden temporary file,
# in the output folder or in TMPDIR (the generated trace, the runs' rows).
mkdir -p "$d/tmp"
TMPDIR="$d/tmp" "$tb" run --allocator inline --workload gen:mix:ops=2000000 --runs 1000 --backend none --out "$d/run" >/dev/null 2>&1 &
pid=$!
i=0
while [ $i -lt 200 ] && ! ls -A "$d/run" 2>/dev/null | grep -q results; do sleep 0.1; i=$((i + 1)); done
kill -TERM $pid
wait $pid
st=$?
# the measured child got the signal too and was waited for (tmpfiles.h)
left=$(ls -A "$d/run" "$d/tmp" 2>/dev/null | grep -v '^/' | grep -v '^$')
if [ "$st" != 143 ] || [ -n "$left" ]; then
  echo "FAIL: interrupted run: exit $st (want 143), left: '$left'"
  fails=$((fails + 1))
else
  echo "ok: interrupted run -> 143, nothing left"
fi

# summarize accepts what run writes.
"$tb" run --allocator inline,oob --workload gen:one_alloc:n=2000 --runs 2 --backend none --out "$d/rs" >/dev/null 2>&1 &&
  "$tb" summarize "$d/rs" >/dev/null 2>"$d/err" || { echo "FAIL: summarize rejects run's output: $(cat "$d/err")"; fails=$((fails + 1)); }

# Duplicates and an empty backend list are refused up front (exit 2, nothing written).
expect 2 "allocator 'inline' is named twice" "$tb" run --allocator inline,inline --workload gen:one_alloc:n=10 --runs 1 --backend none --out "$d/dup"
absent "$d/dup"
expect 2 "--backend wants a list of backends" "$tb" run --allocator inline --workload gen:one_alloc:n=10 --runs 1 --backend '' --out "$d/empty"
absent "$d/empty"

echo "$fails failed"
[ "$fails" = 0 ]

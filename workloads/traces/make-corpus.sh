#!/bin/sh
# make-corpus.sh: regenerate the committed trace corpus (workloads/traces/)
# with `testbed record`, from programs Debian ships doing real work on the
# inputs in inputs/. Each trace is checked to load and to be at most 5 MiB;
# README.md (provenance of every trace) is rewritten from the traces' own
# headers. Nothing in the output directory changes unless all succeed.
#
#   workloads/traces/make-corpus.sh [TESTBED [OUTDIR]]
#
# TESTBED defaults to build/testbed (libtbrecord.so must be beside it),
# OUTDIR to this script's directory. Needs python3, perl, sqlite3 and gcc
# from Debian (apt-get install -y sqlite3 if it is missing).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
testbed=${1:-$here/../../build/testbed}
out=${2:-$here}
limit=$((5 * 1024 * 1024))

for p in /usr/bin/python3 /usr/bin/perl /usr/bin/sqlite3 /usr/bin/gcc; do
  [ -x "$p" ] || { echo "make-corpus.sh: $p is missing (Debian package needed)" >&2; exit 1; }
done
[ -x "$testbed" ] || { echo "make-corpus.sh: $testbed: no testbed binary (build first)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tbcorpus.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# name | record options | command (run in inputs/, so paths are relative)
cd "$here/inputs"
rec() {
  name=$1; shift
  echo "== $name" >&2
  "$testbed" record -o "$tmp/$name.tbt.zst" --children drop "$@" >/dev/null 2>"$tmp/$name.log" || {
    cat "$tmp/$name.log" >&2; exit 1; }
  cat "$tmp/$name.log" >&2
  size=$(wc -c <"$tmp/$name.tbt.zst")
  [ "$size" -le "$limit" ] || { echo "make-corpus.sh: $name: $size bytes, over 5 MiB: trim the run" >&2; exit 1; }
  "$testbed" convert "$tmp/$name.tbt.zst" -o "$tmp/$name.txt" >/dev/null
}
# CPython's own small-object allocator (pymalloc) would hide most requests
# from malloc; PYTHONMALLOC=malloc sends every object to malloc, as a
# program without its own pool would.
rec python3 -- /usr/bin/env PYTHONMALLOC=malloc /usr/bin/python3 python3-text.py
rec perl -- /usr/bin/perl perl-words.pl
rec sqlite3 -- /usr/bin/sqlite3 :memory: ".read sqlite3-orders.sql"
# gcc is a driver: the compiler proper is the child cc1, which is the trace.
rec gcc --main cc1 -- /usr/bin/gcc -O2 -c gcc-wc.c -o /dev/null

# README.md: fixed text, then each trace's provenance and op counts.
{
  cat <<'HEAD'
# Trace corpus

Allocation traces recorded from real programs that Debian ships, doing real
work, with `testbed record` (the recorder: workloads/recorder/README.md).
Regenerate with `workloads/traces/make-corpus.sh [build/testbed]`; it writes
this file too, from the traces' own provenance headers. Each trace is the
binary varint form compressed with zstd (`*.tbt.zst`, see
workloads/README.md), at most 5 MiB; the programs' inputs are in inputs/.
`testbed convert X.tbt.zst -o X.txt` gives the text form.

Notes on what a trace contains:

- Only the main process image is kept (`--children drop`): for gcc that is
  cc1, the compiler proper (`--main cc1`); for python3 the interpreter
  started through `env`.
- python3 runs with `PYTHONMALLOC=malloc`, so that every object goes to
  malloc instead of CPython's own small-object pools.
- Frees of memory allocated before recording began are dropped, and
  `malloc_usable_size` calls are not traced (counts in the `testbed record`
  summary below).
- sqlite3 is not installed on every Debian system: `apt-get install -y sqlite3`.

HEAD
  for name in python3 perl sqlite3 gcc; do
    echo "## $name.tbt.zst"
    echo
    echo '```'
    sed -n 's/^# //p' "$tmp/$name.txt"
    echo "size: $(wc -c <"$tmp/$name.tbt.zst") bytes"
    sed -n 's/^testbed record: [^:]*: //p' "$tmp/$name.log"
    echo '```'
    echo
  done
} >"$tmp/README.md"

for name in python3 perl sqlite3 gcc; do mv "$tmp/$name.tbt.zst" "$out/$name.tbt.zst"; done
mv "$tmp/README.md" "$out/README.md"
echo "make-corpus.sh: corpus written to $out" >&2

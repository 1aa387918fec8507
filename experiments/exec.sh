#!/usr/bin/env bash
# exec.sh [SET.exp] [--out DIR] [--only NAME]: runs an exec experiment set
# (experiments/exec.exp): one `testbed exec` per program line, each into
# DIR/jobs/NN-NAME/ (rows named NAME: --name), the programs named on the
# `simulated` line also on the `simulate` backends (one deterministic run
# each, in the same job), then merges the rows into DIR/results.csv (the jobs'
# command lines kept as comments) with experiments/run.sh --merge.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exp=$top/experiments/exec.exp out="" only=""
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift ;;
    --only) only=$2; shift ;;
    *.exp) exp=$1 ;;
    *) echo "exec.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
tb=${TESTBED:-$top/build/testbed}
set_name=$(awk '$1 == "set" { print $2 }' "$exp")
[ -n "$out" ] || out=$top/results/$set_name-$(date -u +%Y%m%dT%H%M%SZ)
allocs=$(awk '$1 == "allocators" { $1 = ""; print }' "$exp" | xargs | tr ' ' ',')
runs=$(awk '$1 == "runs" { print $2 }' "$exp")
backends=$(awk '$1 == "backends" { $1 = ""; print }' "$exp" | xargs | tr ' ' ',')
simulate=$(awk '$1 == "simulate" { $1 = ""; print }' "$exp" | xargs | tr ' ' ',')
simulated=" $(awk '$1 == "simulated" { $1 = ""; print }' "$exp" | xargs) "
IN=$top/tests/exec/inputs SRC=$top WORK=$(mktemp -d "${TMPDIR:-/tmp}/tb-exec-set-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
seq 1 91000 | sed "s/$/ lorem ipsum dolor sit amet/" >"$WORK/text3m" # about 3 MB
mkdir -p "$out/jobs"
echo "$set_name" >"$out/set"
{ printf '# set.exp: set %s as run (from %s%s)\n' "$set_name" "${exp#"$top"/}" "${only:+, only $only}"; grep -v '^#' "$exp"; } >"$out/set.exp"
k=0
while read -r kw name rest; do
  [ "$kw" = program ] || continue
  k=$((k + 1))
  [ -z "$only" ] || [ "$only" = "$name" ] || continue
  line=${rest//\$IN/$IN}
  line=${line//\$SRC/$SRC}
  line=${line//\$WORK/$WORK}
  eval "args=($line)"
  job=$(printf '%s/jobs/%02d-%s' "$out" "$k" "$name")
  b=$backends
  if [ -n "$simulate" ] && [[ $simulated == *" $name "* ]]; then b=$b,$simulate; fi
  echo "==> $name ($b)" >&2
  "$tb" exec --allocator "$allocs" --runs "$runs" --backend "$b" --experiment "$set_name" --name "$name" --out "$job" "${args[@]}"
done <"$exp"
"$top/experiments/run.sh" --merge "$out" >/dev/null
echo "$out"

#!/bin/sh
# run.sh: run an experiment set (experiments/SET.exp) as independent jobs,
# one per (allocator, workload), each `testbed run` into its own folder
# RUNSET/jobs/NNN-ALLOCATOR-WORKLOAD/, then merge them into RUNSET/results.csv
# and RUNSET/meta.json. See experiments/README.md.
#
#   experiments/run.sh SET [--out RUNSET] [-j N]   run every job (N at once), merge
#   experiments/run.sh SET --list [--out RUNSET]   print one job command per line
#   experiments/run.sh SET --job K --out RUNSET    run job K only (1-based)
#   experiments/run.sh --merge RUNSET              merge RUNSET/jobs/*/
# RUNSET defaults to results/SET-YYYYMMDD-HHMMSS (UTC). TESTBED names the
# binary (default build/testbed). Progress goes to stderr; stdout is only
# the run set folder (runset=$(experiments/run.sh quick)).
# Re-running a set into the same RUNSET keeps the jobs that finished
# (their folder has results.csv) and runs the others: an interrupted run
# resumes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
testbed="${TESTBED:-$root/build/testbed}"
die() { echo "experiments/run.sh: $*" >&2; exit 2; }

merge() {
  dir="$1"
  [ -d "$dir/jobs" ] || die "$dir/jobs: no job folders to merge"
  total=0; missing=""
  for j in "$dir"/jobs/*/; do
    total=$((total + 1))
    [ -f "$j/results.csv" ] && [ -f "$j/meta.json" ] || missing="$missing ${j%/}"
  done
  [ "$total" -gt 0 ] || die "$dir/jobs is empty"
  if [ -n "$missing" ]; then
    echo "experiments/run.sh: not merged: jobs without results:$missing" >&2
    exit 1
  fi
  expected=$(cat "$dir/jobs.count" 2>/dev/null || echo "$total")
  [ "$expected" -eq "$total" ] || { echo "experiments/run.sh: not merged: $total of $expected jobs present in $dir/jobs" >&2; exit 1; }
  tmp="$dir/results.csv.tmp"
  {
    echo "# command: experiments/run.sh --merge $dir (merged $total jobs of set $(cat "$dir/set" 2>/dev/null || echo '?'))"
    echo "experiment,allocator,workload,backend,profile,threads,run,metric,value,unit"
    for j in "$dir"/jobs/*/; do
      # each job's own command line stays as a comment; rows are copied as they are
      head -n 1 "$j/results.csv" | sed 's/^# command:/# job command:/'
      tail -n +2 "$j/results.csv" | grep -v '^experiment,allocator,workload,backend,profile,threads,run,metric,value,unit$' | grep -v '^#' || true
    done
  } > "$tmp"
  {
    printf '{\n  "set": "%s",\n  "merged_by": "experiments/run.sh --merge",\n  "jobs": [\n' "$(cat "$dir/set" 2>/dev/null || echo '?')"
    first=1
    for j in "$dir"/jobs/*/; do
      [ $first -eq 1 ] || printf ',\n'
      first=0
      printf '    {"folder": "%s", "meta": ' "$(basename "$j")"
      cat "$j/meta.json"
      printf '}'
    done
    printf '\n  ]\n}\n'
  } > "$dir/meta.json.tmp"
  mv "$tmp" "$dir/results.csv"
  mv "$dir/meta.json.tmp" "$dir/meta.json"
  echo "experiments/run.sh: merged $total jobs into $dir/results.csv" >&2
}

# Parse SET.exp into variables; unknown keys are errors (FILE:LINE).
parse() {
  f="$1"; n=0
  set_name=""; allocators=""; workloads=""; backends=""; profiles=""; runs=""; threads=1; touch=trace
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    line=${line%%#*}
    # shellcheck disable=SC2086
    set -- $line
    [ $# -gt 0 ] || continue
    key=$1; shift
    [ $# -gt 0 ] || die "$f:$n: '$key' has no value"
    case "$key" in
      set) set_name="$*" ;;
      allocators) allocators="$*" ;;
      workloads) workloads="$*" ;;
      backends) backends="$*" ;;
      profiles) profiles="$*" ;;
      runs) runs="$1"; case "$runs" in *[!0-9]*|'') die "$f:$n: runs must be a whole number" ;; esac ;;
      threads) threads="$1"; case "$threads" in *[!0-9]*|'') die "$f:$n: threads must be a whole number" ;; esac ;;
      touch) touch="$1"; case "$touch" in none|trace|full) ;; *) die "$f:$n: touch is none, trace or full" ;; esac ;;
      *) die "$f:$n: unknown key '$key' (set allocators workloads backends profiles runs threads touch)" ;;
    esac
  done < "$f"
  for k in set_name allocators workloads backends runs; do
    eval "v=\$$k"; [ -n "$v" ] || die "$f: missing '${k%_name}'"
  done
  # backend list: NAME:* takes every profile
  blist=""
  for b in $backends; do
    case "$b" in
      *:\*) [ -n "$profiles" ] || die "$f: backend $b needs a 'profiles' line"
            for p in $profiles; do blist="$blist,${b%:\*}:$p"; done ;;
      *) blist="$blist,$b" ;;
    esac
  done
  blist=${blist#,}
}

# Print the jobs: "K ALLOCATOR WORKLOAD FOLDER".
jobs() {
  k=0
  for w in $workloads; do
    for a in $allocators; do
      k=$((k + 1))
      slug=$(printf '%s' "$w" | sed 's|.*/||; s/[^A-Za-z0-9=._-]/_/g')
      printf '%d %s %s %03d-%s-%s\n' "$k" "$a" "$w" "$k" "$a" "$slug"
    done
  done
}

run_job() { # K RUNSET
  line=$(jobs | awk -v k="$1" '$1 == k')
  [ -n "$line" ] || die "no job $1 in set $set_name ($(jobs | wc -l) jobs)"
  set -- $line "$2"
  a=$2; w=$3; folder=$4; out=$5
  mkdir -p "$out/jobs"
  if [ -f "$out/jobs/$folder/results.csv" ]; then
    echo "experiments/run.sh: job $1 ($folder) already done: kept" >&2
    return 0
  fi
  rm -rf "$out/jobs/$folder" # a failed attempt leaves no results.csv; start it afresh
  cd "$root"
  "$testbed" run --experiment "$set_name" --allocator "$a" --workload "$w" --runs "$runs" \
    --threads "$threads" --touch "$touch" --backend "$blist" --out "$out/jobs/$folder" >&2
}

[ $# -ge 1 ] || die "usage: run.sh SET [--out DIR] [-j N] | SET --list | SET --job K --out DIR | --merge DIR"
if [ "$1" = "--merge" ]; then
  [ $# -eq 2 ] || die "usage: run.sh --merge RUNSET"
  merge "$2"; echo "$2"; exit 0
fi
case "$1" in -h|--help) sed -n '2,14p' "$0"; exit 0 ;; esac
set_arg="$1"; shift
if [ -f "$set_arg" ]; then expfile="$set_arg"; else expfile="$here/$set_arg.exp"; fi
[ -f "$expfile" ] || die "no experiment set '$set_arg' ($here/$set_arg.exp)"
parse "$expfile"
out=""; mode=all; job=""; par=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --list) mode=list; shift ;;
    --job) mode=job; job="$2"; shift 2 ;;
    -j) par="$2"; shift 2 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
[ -n "$out" ] || out="$root/results/$set_name-$(date -u +%Y%m%d-%H%M%S)"
case "$mode" in
  list)
    mkdir -p "$out/jobs"
    printf '%s\n' "$set_name" > "$out/set"
    jobs | wc -l | tr -d ' ' > "$out/jobs.count"
    jobs | while read -r k a w folder; do
      echo "TESTBED=$testbed $here/run.sh $expfile --job $k --out $out"
    done ;;
  job)
    [ -x "$testbed" ] || die "no testbed binary at $testbed (build first)"
    mkdir -p "$out/jobs"
    [ -f "$out/set" ] || printf '%s\n' "$set_name" > "$out/set"
    [ -f "$out/jobs.count" ] || jobs | wc -l | tr -d ' ' > "$out/jobs.count"
    run_job "$job" "$out" ;;
  all)
    [ -x "$testbed" ] || die "no testbed binary at $testbed (build first)"
    mkdir -p "$out/jobs"
    printf '%s\n' "$set_name" > "$out/set"
    jobs | wc -l | tr -d ' ' > "$out/jobs.count"
    total=$(cat "$out/jobs.count")
    echo "experiments/run.sh: set $set_name: $total jobs ($allocators x $workloads; backends $blist; $runs runs) into $out" >&2
    fails=0
    if [ "$par" -gt 1 ]; then
      jobs | awk '{print $1}' | xargs -P "$par" -I{} env TESTBED="$testbed" "$here/run.sh" "$expfile" --job {} --out "$out" || fails=1
    else
      for k in $(jobs | awk '{print $1}'); do
        echo "experiments/run.sh: job $k/$total" >&2
        ( run_job "$k" "$out" ) || fails=$((fails + 1))
      done
    fi
    [ "$fails" -eq 0 ] || { echo "experiments/run.sh: $fails job(s) failed; not merged ($out)" >&2; exit 1; }
    merge "$out"
    echo "$out" ;;
esac

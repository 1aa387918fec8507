#!/bin/sh
# run.sh: run an experiment set (experiments/SET.exp) as independent jobs,
# one per (allocator, workload), each `testbed run` into its own folder
# RUNSET/jobs/NNN-ALLOCATOR-WORKLOAD/, then merge them into RUNSET/results.csv
# and RUNSET/meta.json. See experiments/README.md.
#
#   experiments/run.sh SET [SELECTION] [--out RUNSET] [-j N] [--force]
#                                        run every job (N at once), merge
#   ... --parallel [--sshlogin LIST]     the jobs through GNU parallel
#   ... --slurm [--sbatch 'ARGS']        the jobs as a Slurm job array, then
#                                        a merge job; waits for both
#   experiments/run.sh SET [SELECTION] --list [--out RUNSET]
#                                        print one job command per line
#   experiments/run.sh SET [SELECTION] --job K --out RUNSET   job K only
#   experiments/run.sh --merge RUNSET    merge RUNSET/jobs/*/
#   experiments/run.sh --compare RUNSET REFERENCE [--tolerance R]
#                                        compare the deterministic metrics
#                                        both run sets have (exit 1: some
#                                        differ by more than R, default 0)
# SELECTION, on top of the set's declaration (comma lists; a list that
# starts with + adds to the set's):
#   --allocators A,B  --workloads W,V  --backends B,C  --profiles P,Q  --runs N
# RUNSET defaults to results/SET-YYYYMMDD-HHMMSS (UTC); it holds the
# resolved declaration (set.exp), the jobs, and a log per job (log/).
# TESTBED names the binary (default build/testbed). Progress goes to
# stderr (a status line with an ETA on a terminal, else a line per finished
# job); stdout is only the run set folder (runset=$(experiments/run.sh quick)).
# Re-running the same selection into the same RUNSET keeps the jobs that
# finished and runs the others (an interrupted run resumes); another
# selection there is refused unless --force (which replaces the run set).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
testbed="${TESTBED:-$root/build/testbed}"
case "$testbed" in /*) ;; */*) testbed="$(pwd)/$testbed" ;; esac
me=experiments/run.sh
die() { echo "$me: $*" >&2; exit 2; }
say() { echo "$me: $*" >&2; }

# Entries of a run set folder (results/README.md); --force removes these only.
runset_entries="results.csv meta.json plots summary.csv jobs log set set.exp jobs.count results.csv.tmp meta.json.tmp"

merge() {
  dir="$1"
  [ -d "$dir/jobs" ] || die "$dir/jobs: no job folders to merge"
  total=0; missing=""
  for j in "$dir"/jobs/*/; do
    [ -d "$j" ] || continue
    total=$((total + 1))
    [ -f "$j/results.csv" ] && [ -f "$j/meta.json" ] || missing="$missing ${j%/}"
  done
  [ "$total" -gt 0 ] || die "$dir/jobs is empty"
  if [ -n "$missing" ]; then
    echo "$me: not merged: jobs without results:$missing" >&2
    exit 1
  fi
  expected=$(cat "$dir/jobs.count" 2>/dev/null || echo "$total")
  [ "$expected" -eq "$total" ] || { echo "$me: not merged: $total of $expected jobs present in $dir/jobs" >&2; exit 1; }
  # The column list is harness/results.h's (testbed list --columns); every
  # job's header row (its first line that is no comment) must be it.
  # (its stderr is not shown: a notice the testbed prints each time was said by the jobs already)
  columns=$("$testbed" list --columns 2> /dev/null) ||
    die "$testbed list --columns failed, cannot tell the results columns: $("$testbed" list --columns 2>&1 > /dev/null | tail -n 1)"
  for j in "$dir"/jobs/*/; do
    h=$(grep -v -m 1 '^#' "$j/results.csv" || true)
    [ "$h" = "$columns" ] || {
      echo "$me: not merged: ${j}results.csv: header '$h' is not the columns of $testbed ('$columns')" >&2
      exit 1
    }
  done
  tmp="$dir/results.csv.tmp"
  {
    echo "# command: experiments/run.sh --merge $dir (merged $total jobs of set $(cat "$dir/set" 2>/dev/null || echo '?'))"
    echo "$columns"
    for j in "$dir"/jobs/*/; do
      # each job's own command line stays as a comment; rows are copied as they are
      head -n 1 "$j/results.csv" | sed 's/^# command:/# job command:/'
      grep -v '^#' "$j/results.csv" | tail -n +2 || true
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
  # what was derived from an earlier merge is stale now
  rm -rf "$dir/plots" "$dir/summary.csv"
  mv "$tmp" "$dir/results.csv"
  mv "$dir/meta.json.tmp" "$dir/meta.json"
  say "merged $total jobs into $dir/results.csv"
}

# The deterministic metrics: simulated counts (cachegrind, memsim) and the
# replay's counts that depend only on the trace and the allocator's
# decisions. Times, page faults and RSS are not.
det_backends="cachegrind memsim"
det_replay="ops peak_live_bytes peak_heap_bytes fragmentation metadata_bytes metadata_bytes_at_peak"

# compare RUNSET REFERENCE [TOLERANCE]: per (allocator, workload, backend,
# profile, threads, metric) present in both, the median over runs of a
# deterministic metric; equal when within 1e-6 relative (the CSV's 6
# significant digits), close when within TOLERANCE (relative, default 0).
# Exit 0 when none differs beyond TOLERANCE, 1 when some do, 3 when the two
# have nothing in common.
compare() {
  for d in "$1" "$2"; do [ -f "$d/results.csv" ] || die "$d/results.csv: no such run set"; done
  awk -F, -v db="$det_backends" -v dr="$det_replay" -v A="$1" -v B="$2" -v tol="${3:-0}" '
    function med(s,   n, a, i, j, x) {
      n = split(substr(s, 2), a, " ")
      for (i = 2; i <= n; i++) { x = a[i]; j = i - 1; while (j > 0 && a[j] + 0 > x + 0) { a[j + 1] = a[j]; j-- } a[j + 1] = x }
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function rel(a, b) { if (a == b) return 0; if (b == 0) return 1e300; return (a > b ? a - b : b - a) / (b > 0 ? b : -b) }
    BEGIN { n = split(db, x, " "); for (i = 1; i <= n; i++) DB[x[i]] = 1
            n = split(dr, x, " "); for (i = 1; i <= n; i++) DR[x[i]] = 1 }
    FNR == 1 { f++ }
    /^#/ || $1 == "experiment" { next }
    !(($4 in DB) || ($4 == "replay" && ($8 in DR))) { next }
    { k = $2 "," $3 "," $4 "," $5 "," $6 "," $8; has[f, k] = 1; if (f == 1) keys[k] = 1
      if ($9 != "NA") v[f, k] = v[f, k] " " $9 }
    END {
      both = 0; same = 0; close_n = 0; diff = 0; only = 0; worst = 0
      for (k in keys) {
        if (!has[2, k]) { only++; continue }
        both++
        a = (1, k) in v ? med(v[1, k]) : "NA"; b = (2, k) in v ? med(v[2, k]) : "NA"
        r = (a == "NA" || b == "NA") ? (a == b ? 0 : 1e300) : rel(a, b)
        if (r <= 1e-6) { same++; continue }
        if (r < 1e300 && r > worst) { worst = r; wk = k }
        if (r <= tol) { close_n++; continue }
        diff++; d[diff] = sprintf("  %s: %s here, %s in %s", k, a, b, B)
      }
      printf "compare: %d deterministic quantities (allocator,workload,backend,profile,threads,metric) in both %s and %s: %d equal", both, A, B, same
      if (tol > 0) printf ", %d within %g%%", close_n, tol * 100
      printf ", %d differ", diff
      if (only) printf "; %d only in %s (not compared)", only, A
      printf "\n"
      if (worst > 0) printf "largest difference: %.3g%% (%s)\n", worst * 100, wk
      if (diff) { print "the ones that differ (median over runs):"; for (i = 1; i <= diff && i <= 40; i++) print d[i]; if (diff > 40) print "  ... and " diff - 40 " more" }
      exit (both == 0 ? 3 : diff ? 1 : 0)
    }' "$1/results.csv" "$2/results.csv"
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
}

# select VAR LIST: the command line's selection on top of the set's list.
select_list() {
  # a backend's options follow its spec after commas (memsim:P,page=16K):
  # a piece with '=' and no ':' stays with the spec before it
  v=$(printf '%s' "$2" | awk -F, '{ o = ""; for (i = 1; i <= NF; i++) o = o ((o != "" && $i ~ /=/ && $i !~ /:/) ? "," : " ") $i; print substr(o, 2) }')
  [ -n "${v## }" ] || die "--$1 needs a comma list"
  case "$v" in
    +*) eval "old=\$$1"; v="$old ${v#+}" ;;
  esac
  eval "$1=\$v"
}

# The names this build has (testbed list), for checking a selection early.
listed() { # SECTION
  "$testbed" list 2>/dev/null | awk -v s="$1" '/^[a-z]/ { on = ($1 == s) } on && /^  [a-z]/ && $1 != "default" { print $1 }'
}
check_names() {
  [ -x "$testbed" ] || return 0
  have=" $(listed allocators | tr '\n' ' ')"
  for a in $allocators; do
    case "$have " in *" $a "*) ;; *) die "unknown allocator '$a' (this build has:$have)" ;; esac
  done
  have=" $(listed profiles | tr '\n' ' ')"
  for p in $profiles; do
    case "$have " in *" $p "*) ;; *) die "unknown profile '$p' (profiles:$have)" ;; esac
  done
  have=" $(listed backends | tr '\n' ' ')"
  for b in $backends; do
    case "$have none " in *" ${b%%:*} "*) ;; *) die "unknown backend '${b%%:*}' (backends:$have)" ;; esac
  done
}

# The backend list for testbed run: NAME:* takes every profile.
expand_backends() {
  blist=""
  for b in $backends; do
    case "$b" in
      *:\*) [ -n "$profiles" ] || die "backend $b needs profiles (a 'profiles' line or --profiles)"
            for p in $profiles; do blist="$blist,${b%:\*}:$p"; done ;;
      *) blist="$blist,$b" ;;
    esac
  done
  blist=${blist#,}
}

# The resolved declaration, written into the run set as set.exp.
resolved() {
  printf '# %s: set %s as run (from %s%s)\n' set.exp "$set_name" "$expfile" "${selection:+, selection:$selection}"
  printf 'set        %s\nallocators %s\nworkloads  %s\nbackends   %s\n' "$set_name" "$allocators" "$workloads" "$backends"
  [ -z "$profiles" ] || printf 'profiles   %s\n' "$profiles"
  printf 'runs       %s\nthreads    %s\ntouch      %s\n' "$runs" "$threads" "$touch"
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

# One job: testbed's output goes to RUNSET/log/FOLDER.log, its outcome to
# RUNSET/log/FOLDER.status ("running", "ok SECONDS", "kept", "failed RC
# SECONDS") for whoever watches the set.
run_job() { # K RUNSET
  line=$(jobs | awk -v k="$1" '$1 == k')
  [ -n "$line" ] || die "no job $1 in set $set_name ($(jobs | wc -l | tr -d ' ') jobs)"
  # shellcheck disable=SC2086
  set -- $line "$2"
  k=$1; a=$2; w=$3; folder=$4; out=$5
  mkdir -p "$out/jobs" "$out/log"
  st="$out/log/$folder.status"
  if [ -f "$out/jobs/$folder/results.csv" ]; then
    echo kept > "$st"
    return 0
  fi
  rm -rf "$out/jobs/$folder" # a failed attempt leaves no results.csv; start it afresh
  echo running > "$st"
  t0=$(date +%s)
  case "$w" in gen:*|/*) ;; *) w="$root/$w" ;; esac
  # The same job gets the same process image wherever it runs (this shell,
  # GNU parallel, a Slurm node): a fixed environment, and a working
  # directory and argv that do not depend on the run set's path (a
  # fixed-length temporary directory, --out a link in it to the job
  # folder). The simulated counts see the stack, whose position moves with
  # all three (a few misses in thousands).
  log="$out/log/$folder.log"
  mkdir "$out/jobs/$folder"
  wd=$(mktemp -d "${TMPDIR:-/tmp}/tb-job-XXXXXX")
  ln -s "$out/jobs/$folder" "$wd/out"
  cd "$wd"
  set -- TMPDIR="${TMPDIR:-/tmp}" # GNU parallel sets it: always set, the same
  for v in PATH LD_LIBRARY_PATH TB_PROFILES; do
    eval "x=\${$v+set}"
    [ -z "$x" ] || eval "set -- \"\$@\" \"$v=\$$v\""
  done
  rc=0
  env -i "$@" LC_ALL=C "$testbed" run --experiment "$set_name" --allocator "$a" --workload "$w" --runs "$runs" \
    --threads "$threads" --touch "$touch" --backend "$blist" --out out > "$log" 2>&1 || rc=$?
  cd /
  rm -rf "$wd"
  t1=$(date +%s)
  if [ "$rc" -eq 0 ]; then
    echo "ok $((t1 - t0))" > "$st"
    say "job $k ($folder) done in $((t1 - t0)) s (log: $log)"
  else
    echo "failed $rc $((t1 - t0))" > "$st"
    say "job $k ($folder) failed (exit $rc); its log, $log, ends:"
    tail -n 5 "$log" | sed 's/^/    /' >&2
    return 1
  fi
}

fmt_time() { # SECONDS -> M:SS
  printf '%d:%02d' $(($1 / 60)) $(($1 % 60))
}

# Report a finished job once: its status, the ETA, and the lines of its log
# not said before in this run set (briefly; the log has them whole).
report() { # FOLDER
  f=$1; st=$(cat "$out/log/$f.status" 2>/dev/null || echo '?')
  case "$st" in
    kept) done_n=$((done_n + 1)); kept_n=$((kept_n + 1)); return 0 ;;
    ok*) done_n=$((done_n + 1)); ran_n=$((ran_n + 1)); what="done in ${st#ok }s" ;;
    failed*) done_n=$((done_n + 1)); ran_n=$((ran_n + 1)); fail_n=$((fail_n + 1)); what="FAILED (exit $(echo "$st" | cut -d' ' -f2), log: $out/log/$f.log)" ;;
    *) return 0 ;;
  esac
  now=$(date +%s); el=$((now - start))
  eta=""
  left=$((total - done_n))
  [ "$ran_n" -gt 0 ] && [ "$left" -gt 0 ] && eta=", ETA $(fmt_time $((el * left / ran_n)))"
  [ -n "$status_shown" ] && printf '\r\033[K' >&2
  status_shown=""
  say "job $done_n/$total $f: $what ($(fmt_time $el) elapsed$eta)"
  [ -f "$out/log/$f.log" ] || return 0
  while IFS= read -r l; do
    [ -n "$l" ] || continue
    grep -Fxq -- "$l" "$out/log/said" 2>/dev/null && continue
    printf '%s\n' "$l" >> "$out/log/said"
    if [ "${#l}" -gt 150 ]; then
      printf '    %s... (in full: %s)\n' "$(printf '%s' "$l" | cut -c1-120)" "$out/log/$f.log" >&2
    else
      printf '    %s\n' "$l" >&2
    fi
  done < "$out/log/$f.log"
}

# Watch the run set while PID (the engine) runs: report each job as it
# finishes; on a terminal keep a status line with the ETA.
watch() { # PID
  pid=$1; start=$(date +%s); said=" "; done_n=0; ran_n=0; kept_n=0; fail_n=0; status_shown=""
  while :; do
    alive=0; kill -0 "$pid" 2>/dev/null && alive=1
    running=0
    for s in "$out"/log/*.status; do
      [ -f "$s" ] || continue
      f=${s##*/}; f=${f%.status}
      case "$said" in *" $f "*) continue ;; esac
      if [ "$(cat "$s")" = running ]; then running=$((running + 1)); continue; fi
      said="$said$f "
      report "$f"
    done
    [ "$alive" -eq 1 ] || break
    if [ -t 2 ]; then
      el=$(($(date +%s) - start)); left=$((total - done_n)); eta=""
      [ "$ran_n" -gt 0 ] && eta=", ETA $(fmt_time $((el * left / ran_n)))"
      printf '\r\033[K%s: %d/%d jobs done, %d running, %s elapsed%s' "$me" "$done_n" "$total" "$running" "$(fmt_time $el)" "$eta" >&2
      status_shown=1
    fi
    sleep 1
  done
  [ -n "$status_shown" ] && printf '\r\033[K' >&2
  wait "$pid" || engine_rc=$?
  [ "$kept_n" -eq 0 ] || say "$kept_n job(s) were done already: kept"
}

# Make RUNSET ready for this selection: new, resumed (same set.exp) or,
# with --force, replaced.
prepare() {
  if [ -d "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
    if [ -f "$out/set.exp" ] && resolved | cmp -s - "$out/set.exp"; then
      : # the same selection: resume
    elif [ "$force" -eq 1 ]; then
      for e in $(ls -A "$out"); do
        case " $runset_entries " in *" $e "*) ;; *) die "$out holds '$e', which is not part of a run set: not replacing it" ;; esac
      done
      for e in $runset_entries; do rm -rf "${out:?}/$e"; done
      say "replacing the run set in $out (--force)"
    else
      die "$out holds another run set$( [ -f "$out/set.exp" ] && printf ' (%s)' "$(head -n 1 "$out/set.exp" | sed 's/^# //')"): --force replaces it; or choose another --out"
    fi
  fi
  mkdir -p "$out/jobs" "$out/log"
  resolved > "$out/set.exp"
  printf '%s\n' "$set_name" > "$out/set"
  jobs | wc -l | tr -d ' ' > "$out/jobs.count"
  rm -f "$out"/log/*.status
}

[ $# -ge 1 ] || die "usage: run.sh SET [SELECTION] [--out DIR] [-j N] [--parallel|--slurm] | SET --list | SET --job K --out DIR | --merge DIR (run.sh --help)"
if [ "$1" = "--merge" ]; then
  [ $# -eq 2 ] || die "usage: run.sh --merge RUNSET"
  merge "$2"; echo "$2"; exit 0
fi
if [ "$1" = "--compare" ]; then
  [ $# -eq 3 ] || { [ $# -eq 5 ] && [ "$4" = --tolerance ]; } || die "usage: run.sh --compare RUNSET REFERENCE [--tolerance R]"
  compare "$2" "$3" "${5:-0}"; exit $?
fi
case "$1" in -h|--help) sed -n '2,/^set -eu/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;; esac
set_arg="$1"; shift
if [ -f "$set_arg" ]; then expfile="$set_arg"; else expfile="$here/$set_arg.exp"; fi
[ -f "$expfile" ] || die "no experiment set '$set_arg' ($here/$set_arg.exp)"
parse "$expfile"
out=""; mode=all; job=""; par=1; force=0; engine=local; sshlogin=""; sbatch_args=""; selection=""
need() { [ $# -ge 2 ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --out) need "$@"; out="$2"; shift 2 ;;
    --list) mode=list; shift ;;
    --job) need "$@"; mode=job; job="$2"; shift 2 ;;
    -j) need "$@"; par="$2"; shift 2
        case "$par" in *[!0-9]*|''|0) die "-j wants a number of jobs at once, not '$par'" ;; esac ;;
    --force) force=1; shift ;;
    --parallel) engine=parallel; shift ;;
    --sshlogin) need "$@"; engine=parallel; sshlogin="$2"; shift 2 ;;
    --slurm) engine=slurm; shift ;;
    --sbatch) need "$@"; engine=slurm; sbatch_args="$2"; shift 2 ;;
    --allocators|--workloads|--backends|--profiles)
      need "$@"; k=${1#--}; select_list "$k" "$2"; selection="$selection $1 $2"; shift 2 ;;
    --runs) need "$@"; runs="$2"; selection="$selection --runs $2"; shift 2
        case "$runs" in *[!0-9]*|''|0) die "--runs wants a whole number, not '$runs'" ;; esac ;;
    *) die "unknown argument '$1' (run.sh --help)" ;;
  esac
done
check_names
expand_backends
[ -n "$out" ] || out="$root/results/$set_name-$(date -u +%Y%m%d-%H%M%S)"
case "$out" in /*) ;; *) out="$(pwd)/$out" ;; esac
case "$mode" in
  list)
    prepare
    jobs | while read -r k a w folder; do
      echo "TESTBED=$testbed sh $here/run.sh $out/set.exp --job $k --out $out"
    done ;;
  job)
    [ -x "$testbed" ] || die "no testbed binary at $testbed (build first)"
    mkdir -p "$out/jobs" "$out/log"
    [ -f "$out/set" ] || printf '%s\n' "$set_name" > "$out/set"
    [ -f "$out/jobs.count" ] || jobs | wc -l | tr -d ' ' > "$out/jobs.count"
    run_job "$job" "$out" ;;
  all)
    [ -x "$testbed" ] || die "no testbed binary at $testbed (build first)"
    prepare
    total=$(cat "$out/jobs.count")
    jobcmd="env TESTBED=$testbed sh $here/run.sh $out/set.exp --out $out --job"
    say "set $set_name: $total jobs ($allocators x $workloads; backends $blist; $runs runs) into $out, $engine engine"
    engine_rc=0
    case "$engine" in
      local)
        jobs | awk '{print $1}' | xargs -P "$par" -I{} $jobcmd {} > /dev/null 2>&1 &
        watch $! ;;
      parallel)
        command -v parallel > /dev/null || die "--parallel needs GNU parallel (Debian package parallel)"
        if [ -n "$sshlogin" ]; then
          # the same paths on every machine: a shared file system for the checkout and RUNSET
          jobs | awk '{print $1}' | parallel --will-cite --sshlogin "$sshlogin" --workdir "$root" $jobcmd {} > /dev/null 2>&1 &
        else
          jobs | awk '{print $1}' | parallel --will-cite -j "$par" $jobcmd {} > /dev/null 2>&1 &
        fi
        watch $! ;;
      slurm)
        command -v sbatch > /dev/null || die "--slurm needs Slurm's sbatch (Debian package slurm-client) and a cluster"
        # shellcheck disable=SC2086
        id=$(sbatch --parsable --array="1-$total" --job-name="tb-$set_name" --chdir="$root" \
               --output="$out/log/slurm-%A_%a.out" $sbatch_args --wrap="$jobcmd \$SLURM_ARRAY_TASK_ID") \
          || die "sbatch refused the job array"
        id=${id%%;*}
        say "submitted job array $id (1-$total); the merge runs after it as a dependent job"
        # shellcheck disable=SC2086
        sbatch --parsable --wait --dependency="afterany:$id" --job-name="tb-$set_name-merge" --chdir="$root" \
          --output="$out/log/slurm-merge.out" $sbatch_args --wrap="sh $here/run.sh --merge $out" > /dev/null &
        watch $! ;;
    esac
    [ "$fail_n" -eq 0 ] || { say "$fail_n job(s) failed; not merged ($out)"; exit 1; }
    if [ "$engine" = slurm ]; then
      [ "$engine_rc" -eq 0 ] && [ -f "$out/results.csv" ] || { say "the merge job failed (exit $engine_rc): $out/log/slurm-merge.out"; cat "$out/log/slurm-merge.out" >&2 2>/dev/null; exit 1; }
      cat "$out/log/slurm-merge.out" >&2
    else
      [ "$done_n" -eq "$total" ] || { say "only $done_n of $total jobs finished (engine exit $engine_rc); not merged ($out)"; exit 1; }
      merge "$out"
    fi
    echo "$out" ;;
esac

#!/bin/sh
# experiments_test.sh: script tests of run sets, meta.json, command-line
# errors and experiments/run.sh.
#   experiments_test.sh TEST TESTBED SOURCE_DIR WORKDIR
# Exit 0 pass, 1 fail, 77 skipped (with the reason printed). Every check
# can fail: see fail().
set -u
t="$1"; tb="$2"; src="$3"; work="$4"
case "$tb" in /*) ;; *) tb="$(pwd)/$tb" ;; esac
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
  # the merge takes its column list from the testbed (harness/results.h) and
  # refuses a job whose header differs, changing nothing
  cols=$("$tb" list --columns) || fail "testbed list --columns failed"
  [ "$(grep -v -m 1 '^#' "$work/m/results.csv")" = "$cols" ] || fail "merged header is not testbed list --columns"
  echo "$cols" | grep -q '^experiment,.*,unit$' || fail "testbed list --columns: $cols"
  cp "$work/m/results.csv" "$work/m.before"
  j=$(ls -d "$work"/m/jobs/*/ | head -n 1)
  sed -i 's/^experiment,allocator,/experiment,workload,/' "$j/results.csv"
  TESTBED="$tb" sh "$runs" --merge "$work/m" > /dev/null 2> "$work/m2.err" && fail "a job with another header merged"
  grep -q "${j}results.csv: header" "$work/m2.err" || fail "header mismatch message: $(cat "$work/m2.err")"
  cmp -s "$work/m/results.csv" "$work/m.before" || fail "a refused merge changed results.csv"
  [ $fails -eq 0 ] && ok "meta.json (one run, two profiles; and a merged set) is JSON without a repeated key; the merge's columns are testbed list --columns"
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
  # testbed run names the option that is missing
  for o in --allocator --workload --runs --out; do
    set -- --allocator inline --workload $W --runs 1 --out "$work/r"
    args=""; while [ $# -gt 0 ]; do [ "$1" = "$o" ] || args="$args $1 $2"; shift 2; done
    # shellcheck disable=SC2086
    "$tb" run $args > /dev/null 2> "$work/r.err"; rc=$?
    [ $rc -eq 2 ] || fail "run without $o: exit $rc, not 2"
    grep -q -- "needs $o\b" "$work/r.err" || fail "run without $o says: $(cat "$work/r.err")"
  done
  [ -e "$work/r" ] && fail "a run with an option missing created its output folder"
  [ $fails -eq 0 ] && ok "$(cat "$work/p.err")"
  ;;
select)
  # a selection on top of a declared set, the resolved set.exp, resume, --force
  printf 'set sel\nallocators inline glibc\nworkloads %s gen:tree:nodes=300:passes=2\nbackends none\nruns 2\n' $W > "$work/s.exp"
  d="$work/s"
  TESTBED="$tb" sh "$runs" "$work/s.exp" --allocators oob --workloads $W --runs 1 --out "$d" > "$work/1.out" 2> "$work/1.err" \
    || fail "selection run: $(cat "$work/1.err")"
  [ "$(cat "$d/jobs.count")" = 1 ] || fail "--allocators oob --workloads W: $(cat "$d/jobs.count") jobs, not 1"
  [ "$(cat "$work/1.out")" = "$d" ] || fail "stdout is not the run set folder: $(cat "$work/1.out")"
  awk -F, '!/^#/ && NR > 2 && ($2 != "oob" || $7 != 1) { bad = 1 } END { exit bad }' "$d/results.csv" || fail "rows of other allocators or runs"
  grep -q '^allocators oob$' "$d/set.exp" && grep -q '^runs *1$' "$d/set.exp" || fail "set.exp does not hold the selection: $(cat "$d/set.exp")"
  # the same selection again resumes (keeps the job)
  TESTBED="$tb" sh "$runs" "$work/s.exp" --allocators oob --workloads $W --runs 1 --out "$d" > /dev/null 2> "$work/2.err" || fail "resume: $(cat "$work/2.err")"
  grep -q "1 job(s) were done already: kept" "$work/2.err" || fail "resume did not keep the job: $(cat "$work/2.err")"
  # another selection there is refused, then --force replaces it; + adds to the set's list
  TESTBED="$tb" sh "$runs" "$work/s.exp" --allocators +oob --out "$d" > /dev/null 2> "$work/3.err" && fail "another selection into a run set accepted"
  grep -q -- "--force" "$work/3.err" || fail "refusal does not name --force: $(cat "$work/3.err")"
  mkdir -p "$d/plots"
  TESTBED="$tb" sh "$runs" "$work/s.exp" --allocators +oob --out "$d" --force -j 2 > /dev/null 2> "$work/4.err" || fail "--force: $(cat "$work/4.err")"
  [ "$(cat "$d/jobs.count")" = 6 ] || fail "--allocators +oob: $(cat "$d/jobs.count") jobs, not 3 x 2"
  [ -e "$d/plots" ] && fail "--force left plots/"
  [ "$(grep -c ',oob,' "$d/results.csv")" -gt 0 ] && [ "$(grep -c ',glibc,' "$d/results.csv")" -gt 0 ] || fail "+oob lost the set's allocators"
  # names this build lacks are refused before anything runs, naming what exists
  TESTBED="$tb" sh "$runs" "$work/s.exp" --allocators inline,nosuch --out "$work/x" 2> "$work/5.err" && fail "unknown allocator accepted"
  grep -q "unknown allocator 'nosuch' (this build has: inline oob" "$work/5.err" || fail "unknown allocator: $(cat "$work/5.err")"
  TESTBED="$tb" sh "$runs" "$work/s.exp" --backends cachegrind:* --profiles nosuch --out "$work/x" 2> "$work/6.err" && fail "unknown profile accepted"
  grep -q "unknown profile 'nosuch'" "$work/6.err" || fail "unknown profile: $(cat "$work/6.err")"
  [ -e "$work/x" ] && fail "a refused selection created its run set"
  # --list prints the job commands of the selection
  n=$(TESTBED="$tb" sh "$runs" "$work/s.exp" --workloads $W --list --out "$work/l" | grep -c -- "--job")
  [ "$n" = 2 ] || fail "--list --workloads W: $n job commands, not 2"
  [ $fails -eq 0 ] && ok "selection on the command line: replace, +add, resume, refuse, --force, --list"
  ;;
progress)
  # without a terminal: one line per finished job with an ETA; a notice
  # said once per run set (briefly), in full in the jobs' logs
  printf 'set prog\nallocators inline oob glibc\nworkloads %s\nbackends timer\nruns 1\n' $W > "$work/p.exp"
  TESTBED="$tb" sh "$runs" "$work/p.exp" --out "$work/p" -j 2 > /dev/null 2> "$work/p.err" || fail "run: $(cat "$work/p.err")"
  n=$(grep -c "job [1-3]/3 .*: done in" "$work/p.err")
  [ "$n" = 3 ] || fail "$n lines for finished jobs, not 3: $(cat "$work/p.err")"
  grep -q "job 1/3 .*ETA" "$work/p.err" || fail "no ETA after the first job"
  # a notice that every job prints: make every job print a long one (an unknown profile file line is no
  # option; use a testbed wrapper that adds one line to stderr, as papi's notice does)
  cat > "$work/tb" <<EOS
#!/bin/sh
echo "testbed: papi: a long notice that every job prints, $(printf '%0200d' 0)" >&2
exec "$tb" "\$@"
EOS
  chmod +x "$work/tb"
  TESTBED="$work/tb" sh "$runs" "$work/p.exp" --out "$work/q" -j 2 > /dev/null 2> "$work/q.err" || fail "run: $(cat "$work/q.err")"
  [ "$(grep -c 'a long notice' "$work/q.err")" = 1 ] || fail "the notice is said $(grep -c 'a long notice' "$work/q.err") times, not once"
  grep 'a long notice' "$work/q.err" | grep -q "in full: $work/q/log/" || fail "the notice does not point to the log"
  [ "$(grep -l 'a long notice' "$work/q/log/"*.log | wc -l)" = 3 ] || fail "the jobs' logs do not hold the notice"
  [ "$(sed 's/ (in full: [^)]*)$//' "$work/q.err" | awk '/^    / && length > 130' | wc -l)" = 0 ] || fail "a notice over 130 characters on stderr"
  # on a terminal (script gives one): a status line with the ETA, redrawn in place
  if command -v script > /dev/null; then
    TESTBED="$tb" script -qec "sh $runs $work/p.exp --out $work/t -j 1" /dev/null > "$work/t.tty" 2>&1 < /dev/null || fail "run on a terminal"
    grep -q "jobs done, .* running" "$work/t.tty" || fail "no status line on a terminal: $(cat -v "$work/t.tty" | head -5)"
    tr '\r' '\n' < "$work/t.tty" | grep -q "ETA" || fail "no ETA on a terminal"
    # testbed run on a terminal: a line per run once the runs take TB_PROGRESS_AFTER seconds (default 2)
    TB_PROGRESS_AFTER=0 script -qec "$tb run --allocator inline --workload $W --runs 3 --backend cachegrind:zen3 --out $work/r3" /dev/null > "$work/r3.tty" 2>&1 < /dev/null \
      || fail "testbed run on a terminal: $(cat "$work/r3.tty")"
    grep -q "testbed run: [12] of 3 runs done (inline run [12]), .* elapsed, ETA" "$work/r3.tty" || fail "no per-run progress on a terminal: $(cat -v "$work/r3.tty")"
  else
    fail "script (util-linux) is missing: the terminal case cannot be tested"
  fi
  [ $fails -eq 0 ] && ok "progress: a line per job with ETA off a terminal, a status line on one, notices once"
  ;;
slurm|parallel)
  # The same small set (deterministic simulated counts included) run
  # locally and through the engine: the merged results agree.
  command -v valgrind > /dev/null || skip "valgrind is not installed (./reproduce.sh deps installs it)"
  if [ "$t" = slurm ]; then pkgs="slurmctld slurmd slurm-client munge"; tools="slurmctld slurmd sbatch sinfo munged"
  else pkgs=parallel; tools=parallel; fi
  need_install=0
  for c in $tools; do command -v $c > /dev/null || [ -x /usr/sbin/$c ] || need_install=1; done
  if [ $need_install = 1 ]; then
    # ./reproduce.sh deps installs these; a machine without them gets them here when it can
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
      echo "installing $pkgs (Debian)"
      DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends $pkgs > "$work/apt.log" 2>&1 \
        || skip "$pkgs could not be installed (apt-get: $(tail -n 1 "$work/apt.log")): the $t engine is NOT tested"
    else
      skip "$pkgs not installed and not root: the $t engine is NOT tested (./reproduce.sh deps installs it)"
    fi
  fi
  PATH=$PATH:/usr/sbin; export PATH
  printf 'set eng\nallocators inline oob\nworkloads %s gen:hundred_lifo:n=200\nbackends timer cachegrind:*\nprofiles zen3\nruns 1\n' $W > "$work/e.exp"
  TESTBED="$tb" timeout 60 sh "$runs" "$work/e.exp" --out "$work/local" -j 2 > /dev/null 2> "$work/local.err" || fail "local run: $(cat "$work/local.err")"
  if [ "$t" = parallel ]; then
    TESTBED="$tb" timeout 60 sh "$runs" "$work/e.exp" --out "$work/eng" --parallel -j 2 > "$work/eng.out" 2> "$work/eng.err" || fail "--parallel: $(cat "$work/eng.err")"
    # an --sshlogin list (':' is this machine, 2 jobs at once on it)
    TESTBED="$tb" timeout 60 sh "$runs" "$work/e.exp" --out "$work/ssh" --sshlogin 2/: > /dev/null 2> "$work/ssh.err" || fail "--sshlogin: $(cat "$work/ssh.err")"
    sh "$runs" --compare "$work/ssh" "$work/local" > "$work/cmp-ssh" || fail "--sshlogin results differ: $(cat "$work/cmp-ssh")"
  else
    # A single-node cluster on this machine: munged, slurmctld and slurmd
    # with a generated key and slurm.conf under a temporary directory, on
    # free ports; every daemon started here is stopped on exit.
    c=$(mktemp -d /tmp/tb-slurm-XXXXXX); chmod 711 "$c"; mkdir "$c/state" "$c/spool"
    pids=""
    stop() { for p in $pids; do kill "$p" 2> /dev/null; done; for p in $pids; do
               i=0; while kill -0 "$p" 2> /dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
               kill -9 "$p" 2> /dev/null; done; rm -rf "$c"; }
    trap stop EXIT
    trap 'exit 1' INT TERM
    listening() { # PORT: is anything listening on it (IPv4 or IPv6)?
      h=$(printf ':%04X ' "$1"); cat /proc/net/tcp /proc/net/tcp6 2> /dev/null | awk -v h="$h" 'index($2 " ", h) && $4 == "0A" { f = 1 } END { exit !f }'
    }
    port=$((20000 + $$ % 20000))
    while listening $port || listening $((port + 1)); do port=$((port + 2)); done
    dd if=/dev/urandom of="$c/munge.key" bs=1024 count=1 2> /dev/null; chmod 400 "$c/munge.key"
    munged -F -f --key-file="$c/munge.key" --socket="$c/munge.sock" --pid-file="$c/munged.pid" \
      --seed-file="$c/munged.seed" --log-file="$c/munged.log" > "$c/munged.out" 2>&1 &
    pids="$pids $!"
    cat > "$c/slurm.conf" <<EOC
ClusterName=tbtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$c/munge.sock
CredType=cred/munge
SlurmUser=$(id -un)
SlurmdUser=root
StateSaveLocation=$c/state
SlurmdSpoolDir=$c/spool
SlurmctldPidFile=$c/slurmctld.pid
SlurmdPidFile=$c/slurmd.pid
SlurmctldLogFile=$c/slurmctld.log
SlurmdLogFile=$c/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
InactiveLimit=0
MinJobAge=5
NodeName=tbnode NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=tb Nodes=tbnode Default=YES MaxTime=INFINITE State=UP
EOC
    SLURM_CONF="$c/slurm.conf"; export SLURM_CONF
    i=0; while [ ! -S "$c/munge.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    [ -S "$c/munge.sock" ] || { fail "munged did not start: $(cat "$c/munged.out")"; exit 1; }
    slurmctld -D -i -f "$SLURM_CONF" > "$c/slurmctld.out" 2>&1 &
    pids="$pids $!"
    slurmd -D -N tbnode -f "$SLURM_CONF" > "$c/slurmd.out" 2>&1 &
    pids="$pids $!"
    i=0; while [ "$(sinfo -h -o %T 2> /dev/null)" != idle ] && [ $i -lt 60 ]; do sleep 0.5; i=$((i + 1)); done
    if [ "$(sinfo -h -o %T 2> /dev/null)" != idle ]; then
      fail "the single-node cluster did not come up: sinfo: $(sinfo 2>&1 | tail -n 1)"
      tail -n 5 "$c/slurmctld.log" "$c/slurmd.log" "$c/slurmctld.out" "$c/slurmd.out" 2> /dev/null
      exit 1
    fi
    echo "single-node Slurm cluster up (ports $port, $((port + 1)); $(sinfo -V))"
    TESTBED="$tb" timeout 90 sh "$runs" "$work/e.exp" --out "$work/eng" --slurm > "$work/eng.out" 2> "$work/eng.err" || fail "--slurm: $(cat "$work/eng.err")"
    grep -q "submitted job array" "$work/eng.err" || fail "no job array was submitted: $(cat "$work/eng.err")"
    ls "$work/eng/log/"slurm-*_[1-4].out > /dev/null 2>&1 || fail "no array task output in $work/eng/log"
    [ -f "$work/eng/log/slurm-merge.out" ] || fail "no merge job output"
  fi
  [ "$(cat "$work/eng.out")" = "$work/eng" ] || fail "stdout is not the run set folder: $(cat "$work/eng.out")"
  sh "$runs" --compare "$work/eng" "$work/local" > "$work/cmp" || fail "$t results differ from the local run: $(cat "$work/cmp")"
  sh "$runs" --compare "$work/local" "$work/eng" > "$work/cmp2" || fail "$t results lack some of the local run's: $(cat "$work/cmp2")"
  grep -q "only in" "$work/cmp" "$work/cmp2" && fail "the run sets do not hold the same quantities: $(cat "$work/cmp" "$work/cmp2")"
  grep -q ",cachegrind,zen3," "$work/eng/results.csv" || fail "no simulated counts in the $t run set"
  [ "$(grep -vc '^#' "$work/eng/results.csv")" = "$(grep -vc '^#' "$work/local/results.csv")" ] || fail "row counts differ"
  [ $fails -eq 0 ] && ok "$t: $(cat "$work/cmp")"
  ;;
reference)
  # run.sh --compare: only deterministic metrics, only what both hold; and
  # reproduce.sh check's verdict from the reference's commit
  fx="$src/tests/fixtures/runset-small"
  mk() { # NAME AWK-PROGRAM [COMMIT]
    mkdir -p "$work/$1"; printf '{"commit": "%s"}\n' "${3:-}" > "$work/$1/meta.json"
    awk -F, -v OFS=, "$2" "$fx/results.csv" > "$work/$1/results.csv"
  }
  mk a '1'
  mk same '$8 == "ns_per_op" && NR > 2 { $9 = $9 * 2 } 1'
  grep -q ',cachegrind,' "$work/a/results.csv" || fail "the fixture has no simulated rows to compare"
  sh "$runs" --compare "$work/same" "$work/a" > "$work/c1" || fail "times differ only, yet: $(cat "$work/c1")"
  grep -q " 0 differ" "$work/c1" || fail "compare of equal sets: $(cat "$work/c1")"
  mk sim 'NR > 2 && $4 == "cachegrind" && $2 == "oob" && $8 == "l1d_misses_per_op" { $9 = $9 * 1.5 } 1'
  sh "$runs" --compare "$work/sim" "$work/a" > "$work/c2"; rc=$?
  [ $rc -eq 1 ] || fail "a simulated count changed by half: exit $rc, not 1"
  grep -q "^  oob,.*,cachegrind,.*,l1d_misses_per_op: " "$work/c2" || fail "the differing quantity is not named: $(cat "$work/c2")"
  grep -q "^  inline," "$work/c2" && fail "an unchanged quantity is listed as differing"
  sh "$runs" --compare "$work/sim" "$work/a" --tolerance 0.6 > /dev/null || fail "within --tolerance 0.6 yet refused"
  mk part 'NR <= 2 || $2 == "inline"'
  sh "$runs" --compare "$work/a" "$work/part" > "$work/c3" || fail "a subset: $(cat "$work/c3")"
  grep -q "only in $work/a (not compared)" "$work/c3" || fail "what only one side has is not said: $(cat "$work/c3")"
  mk none 'NR <= 2 || $4 == "replay" && $8 == "ns_per_op"'
  sh "$runs" --compare "$work/a" "$work/none" > /dev/null; rc=$?
  [ $rc -eq 3 ] || fail "nothing in common: exit $rc, not 3"
  # reproduce.sh check: the verdict follows the reference's commit
  if git -C "$src" rev-parse HEAD > /dev/null 2>&1; then
    head=$(git -C "$src" rev-parse HEAD); first=$(git -C "$src" rev-list --max-parents=0 HEAD | tail -n 1)
    mk ref-old '1' "$first"; mk ref-head '1' "$head"
    (cd "$src" && ./reproduce.sh check "$work/sim" "$work/ref-old") > /dev/null 2> "$work/v1" || fail "older reference: a failure: $(cat "$work/v1")"
    grep -q "made by older code" "$work/v1" || fail "older reference not named: $(cat "$work/v1")"
    (cd "$src" && ./reproduce.sh check "$work/sim" "$work/ref-head") > /dev/null 2> "$work/v2" && fail "same code, other numbers: passed"
    grep -q "DIFFER" "$work/v2" || fail "same code, other numbers: $(cat "$work/v2")"
    (cd "$src" && ./reproduce.sh check "$work/same" "$work/ref-head") > /dev/null 2> "$work/v3" || fail "equal numbers: $(cat "$work/v3")"
    grep -q "match" "$work/v3" || fail "equal numbers: $(cat "$work/v3")"
    mk ref-unk '1' 0123456789abcdef0123456789abcdef01234567
    (cd "$src" && ./reproduce.sh check "$work/sim" "$work/ref-unk") > /dev/null 2> "$work/v4" || fail "unknown commit: a failure"
    grep -q "cannot tell" "$work/v4" || fail "unknown commit: $(cat "$work/v4")"
  else
    echo "note: $src is not a git checkout: reproduce.sh check's commit verdicts not tested"
  fi
  [ $fails -eq 0 ] && ok "compare: deterministic metrics only, differing ones named, tolerance, subsets; check's verdicts"
  ;;
*) echo "unknown test $t"; exit 2 ;;
esac
[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
exit 0

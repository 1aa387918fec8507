#!/usr/bin/env bash
# reproduce.sh: the two commands of the testbed.
#
#   ./reproduce.sh               main job: install what is missing, build,
#                                run the quick experiment set and draw its
#                                plots, build paper/paper.pdf from the
#                                committed full run set (results/reference/),
#                                say where things are
#   ./reproduce.sh --full        run the paper's full set and build the paper
#                                from it (about 30 minutes on 2 cores)
#   ./reproduce.sh --from DIR    only plot and build the paper from run set DIR
#   ./reproduce.sh [--full] --exec
#                                also run the exec set (real programs on every
#                                allocator, experiments/exec.exp, about 30
#                                minutes) and build the paper's section on
#                                real programs from it (without --exec: from
#                                the committed results/reference-exec/)
#   ./reproduce.sh [--full] --allocators A,B --workloads W,V --backends B
#                  --profiles P --runs N
#                                the quick (or full) set narrowed or widened
#                                on the command line (experiments/README.md)
#   ./reproduce.sh test          every test: native build + ctest, the same
#                                suites under ASan+UBSan, and an aarch64 cross
#                                build whose tests run under qemu-aarch64
#   ./reproduce.sh deps          only install the Debian packages needed (and
#                                download the qemu source package for memsim)
#   ./reproduce.sh check RUNSET [REFERENCE]
#                                compare RUNSET's deterministic (simulated)
#                                numbers with results/reference (the main
#                                job does this after the quick set)
#   ./reproduce.sh fuzz [SECONDS] fuzz every target in tests/fuzz/ with
#                                libFuzzer (clang-14, ASan+UBSan) for SECONDS
#                                in all (default 240), from the committed
#                                seeds; crashes are kept in build-fuzz/crashes/
#
# On a fresh Debian 12 machine, run as root, it installs the packages it
# needs with apt-get; as another user it prints the apt-get line and stops.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'reproduce.sh: %s\n' "$*" >&2; exit 1; }

# ---- dependencies -------------------------------------------------------------

# Debian packages for the host build, the measurements, plots and paper.
host_pkgs=(build-essential cmake pkg-config check libsubunit-dev
  libpapi-dev papi-tools libhwloc-dev hwloc valgrind gnuplot-nox
  zlib1g-dev libzstd-dev zstd python3 perl sqlite3 git lua5.4 xz-utils
  libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4
  texlive-latex-base texlive-latex-recommended texlive-fonts-recommended latexmk
  qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  parallel slurmctld slurmd slurm-client munge
  clang-14 libclang-rt-14-dev)
# The aarch64 builds (tests, and memsim's build/aarch64, which must read the
# compressed corpus traces) link Check, zstd and zlib from Debian's arm64
# multiarch packages.
arm_pkgs=(check:arm64 libsubunit-dev:arm64 libc6:arm64 libzstd-dev:arm64 zlib1g-dev:arm64)

missing_pkgs() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || printf '%s ' "$p"
  done
}

install_deps() {
  command -v dpkg-query >/dev/null || die "not a Debian system: install the equivalents of: ${host_pkgs[*]}"
  local need_arch=0
  dpkg --print-foreign-architectures | grep -qx arm64 || need_arch=1
  local missing
  missing=$(missing_pkgs "${host_pkgs[@]}")
  if [ "$need_arch" = 0 ]; then missing+=$(missing_pkgs "${arm_pkgs[@]}"); else missing+="${arm_pkgs[*]}"; fi
  if [ -z "${missing// /}" ]; then
    qemu_source
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    printf 'reproduce.sh: missing Debian packages. As root, run:\n' >&2
    [ "$need_arch" = 1 ] && printf '  dpkg --add-architecture arm64 && apt-get update\n' >&2
    printf '  apt-get install -y --no-install-recommends %s\n' "$missing" >&2
    exit 1
  fi
  say "installing: $missing"
  [ "$need_arch" = 1 ] && dpkg --add-architecture arm64
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
  qemu_source
}

# The QEMU plugin header (memsim, harness/measure/memsim/) comes from
# Debian's qemu source package of exactly the installed qemu-user version,
# downloaded into .deps/qemu/ (never committed). dpkg-source's own check is
# reproduced here: the orig tarball's sha256 must be the one the .dsc lists.
# The build unpacks only include/qemu/qemu-plugin.h from it and checks that
# file's sha256 too (harness/measure/memsim/CMakeLists.txt).
qemu_src_dir=$top/.deps/qemu
qemu_source() {
  local ver up dsc orig want
  ver=$(dpkg-query -W -f='${source:Version}' qemu-user 2>/dev/null) || { say "qemu-user not installed: memsim unavailable"; return 0; }
  up=${ver#*:}
  dsc=$qemu_src_dir/qemu_$up.dsc
  if [ ! -f "$dsc" ]; then
    if [ "$(id -u)" != 0 ] && ! apt-cache showsrc qemu >/dev/null 2>&1; then
      printf 'reproduce.sh: the qemu source package (for memsim) needs a deb-src line; as root run ./reproduce.sh deps\n' >&2
      return 0
    fi
    if ! apt-cache showsrc qemu 2>/dev/null | grep -qx "Version: $ver"; then
      local codename
      codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
      say "adding Debian deb-src lines for $codename (/etc/apt/sources.list.d/testbed-src.sources)"
      cat >/etc/apt/sources.list.d/testbed-src.sources <<SRC
# Added by the testbed's ./reproduce.sh deps: Debian source packages (the
# QEMU plugin header for memsim comes from the qemu source package).
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $codename-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
      apt-get update -qq
    fi
    say "downloading the qemu $ver source package into $qemu_src_dir"
    mkdir -p "$qemu_src_dir"
    (cd "$qemu_src_dir" && apt-get source --download-only -qq "qemu=$ver" >/dev/null 2>&1) ||
      { say "cannot download the qemu $ver source package: memsim unavailable"; return 0; }
  fi
  orig=$(awk '/^Checksums-Sha256:/{f=1;next} /^[^ ]/{f=0} f && $3 ~ /\.orig\.tar\./{print $3}' "$dsc")
  want=$(awk -v o="$orig" '/^Checksums-Sha256:/{f=1;next} /^[^ ]/{f=0} f && $3 == o{print $1}' "$dsc")
  [ -n "$orig" ] && [ -f "$qemu_src_dir/$orig" ] || die "$dsc: no orig tarball listed or downloaded"
  [ "$(sha256sum "$qemu_src_dir/$orig" | cut -d' ' -f1)" = "$want" ] ||
    die "$qemu_src_dir/$orig: sha256 differs from the one in $dsc (remove $qemu_src_dir and run ./reproduce.sh deps again)"
}

# ---- builds ---------------------------------------------------------------------

# build DIR [cmake args...]: configure (once) and build.
build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log" >&2; die "configuring $dir failed"; }
  cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1 ||
    { grep -E 'error|Error' "$dir.build.log" >&2 || tail -30 "$dir.build.log" >&2; die "building $dir failed (log: $dir.build.log)"; }
}

# run_ctest DIR LABEL [ctest args...]
run_ctest() {
  local dir=$1 label=$2
  shift 2
  say "tests: $label"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" "$@")
}

cmd_test() {
  install_deps
  local t0=$SECONDS
  say "native build (build/)"
  build build
  run_ctest build "native x86_64 (Release, every check level)"

  say "sanitizer build (build-asan/, address+undefined)"
  build build-asan -DTB_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=RelWithDebInfo
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_ctest build-asan "ASan+UBSan" -LE no-sanitizer

  say "aarch64 cross build (build-aarch64/), tests under qemu-aarch64"
  build build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
  TB_TEST_OPS=${TB_TEST_OPS_QEMU:-8000} run_ctest build-aarch64 "aarch64 under qemu" -LE no-qemu
  say "all test suites passed in $((SECONDS - t0)) s"
}

# ---- the main job -------------------------------------------------------------------

# check_reference RUNSET: the deterministic (simulated) numbers of RUNSET
# against results/reference, for what both hold. Exit 1 only when they
# differ although the code that makes them is the reference's.
check_reference() {
  local runset=$1 ref=${2:-results/reference} rc=0 out
  [ -f "$ref/results.csv" ] || { say "no $ref/results.csv: nothing to check against"; return 0; }
  [ -f "$runset/results.csv" ] || die "$runset/results.csv: no such run set"
  out=$(experiments/run.sh --compare "$runset" "$ref" --tolerance 0.01) || rc=$?
  printf '%s\n' "$out" | head -n 12 | sed 's/^/    /' >&2
  [ "$(printf '%s\n' "$out" | wc -l)" -le 12 ] || say "(all of it: experiments/run.sh --compare $runset $ref --tolerance 0.01)"
  case $rc in
    0) say "the deterministic numbers match $ref (within 1%: the stack's place moves with paths and environment)" ;;
    3) say "$runset and $ref have no deterministic quantity in common: nothing checked" ;;
    *)
      # The reference's commits, and whether the measured code changed since.
      local commits c changed="" unknown=""
      commits=$(grep -o '"commit": "[0-9a-f]\{40\}"' "$ref/meta.json" | sed 's/.*: "//; s/"//' | sort -u)
      [ -n "$commits" ] || unknown=" (none recorded)"
      for c in $commits; do
        if ! git cat-file -e "$c^{commit}" 2>/dev/null; then unknown="$unknown ${c:0:7}"
        elif ! git diff --quiet "$c" HEAD -- allocators harness workloads CMakeLists.txt cmake; then changed="$changed ${c:0:7}"; fi
      done
      if [ -n "$changed" ]; then
        say "they differ; the reference was made by older code (commit$changed; the allocators, harness or workloads changed since): differences are expected, not a failure"
      elif [ -n "$unknown" ]; then
        say "they differ; the reference was made at commit$unknown, which this checkout does not have: cannot tell whether the code changed"
      else
        say "they DIFFER from $ref although the code that made it is this code: see above"
        return 1
      fi
      ;;
  esac
}

cmd_main() {
  local set=quick from="" sel=() exec=0
  while [ $# -gt 0 ]; do
    case $1 in
      --full) set=full ;;
      --exec) exec=1 ;;
      --quick) set=quick ;;
      --from)
        [ $# -ge 2 ] || die "--from needs a run-set directory"
        from=$2
        shift
        ;;
      --allocators | --workloads | --backends | --profiles | --runs)
        [ $# -ge 2 ] || die "$1 needs a value"
        sel+=("$1" "$2")
        shift
        ;;
      -h | --help)
        sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
        exit 0
        ;;
      *) die "unknown option '$1' (see ./reproduce.sh --help)" ;;
    esac
    shift
  done
  [ -z "$from" ] || [ ${#sel[@]} -eq 0 ] || die "--from plots a run set as it is: no selection with it"
  install_deps
  say "build (build/, check level 0 for measurements)"
  build build
  ./build/testbed list > build/testbed-list.txt 2>&1
  say "this build's allocators, workloads, backends and profiles: build/testbed-list.txt (./build/testbed list)"

  local runset paper_from ref_rc=0
  if [ -n "$from" ]; then
    [ -f "$from/results.csv" ] || die "$from/results.csv: no such run set"
    runset=$from
    paper_from=$from
  else
    say "running the $set experiment set (experiments/$set.exp${sel[*]:+, selection: ${sel[*]}})"
    runset=$(experiments/run.sh "$set" "${sel[@]}" -j "$jobs")
    # The quick set checks the pipeline end to end on this machine; the
    # paper's figures come from the full set: the one just run (--full) or
    # the committed reference run set (results/reference/).
    if [ "$set" = full ]; then paper_from=$runset; else paper_from=results/reference; fi
    say "checking the deterministic numbers against results/reference"
    check_reference "$runset" || ref_rc=1
  fi
  say "plots of $runset"
  mkdir -p "$runset/log"
  if ! ./build/testbed plot "$runset" > "$runset/log/plot.log" 2>&1; then
    cat "$runset/log/plot.log" >&2
    die "plotting $runset failed"
  fi
  grep -v '^testbed plot: .* figure(s) in ' "$runset/log/plot.log" | grep '^testbed plot: ' | sed 's/^testbed plot: /    /' >&2 || true
  grep '^testbed plot: .* figure(s) in ' "$runset/log/plot.log" >&2 || true
  local execset=results/reference-exec execarg=()
  if [ "$exec" = 1 ]; then
    say "running the exec set (experiments/exec.exp: real programs; log: build/exec.log)"
    execset=$(experiments/exec.sh 2> build/exec.log) || { tail -20 build/exec.log >&2; die "the exec set failed (log: build/exec.log)"; }
    execarg=(--exec "$execset")
  fi
  say "paper from $paper_from and $execset (log: build/paper.log)"
  if ! paper/build.sh --from "$paper_from" "${execarg[@]}" > build/paper.log 2>&1; then
    tail -20 build/paper.log >&2
    die "building the paper failed (log: build/paper.log)"
  fi
  # The answer of the run just made, without opening the PDF: the ratio
  # table of the paper's headline figure (L1D and DTLB misses of allocator
  # and program, every design against inline) and the steps' verdicts.
  say "the ratios of $runset (testbed compare; harness excluded)"
  local m=allocator_program_l1d_misses_per_op,allocator_program_dtlb_misses_per_op
  ./build/testbed compare "$runset" --metric "$m" 2>/dev/null || ./build/testbed compare "$runset" || true
  echo
  ./build/testbed compare "$runset" --steps || true
  printf '\nresults: %s/results.csv (summary: %s/plots/summary.csv, verdicts: %s/plots/verdicts.csv)\nplots:   %s/plots/\npaper:   %s (from %s)\n' \
    "$runset" "$runset" "$runset" "$runset" "$top/paper/paper.pdf" "$paper_from"
  [ "$ref_rc" -eq 0 ] || die "the deterministic numbers differ from results/reference (above)"
}

# ---- fuzzing ----------------------------------------------------------------------

# cmd_fuzz [SECONDS]: each target of tests/fuzz/ (README there) gets an
# equal share of SECONDS, the allocator target twice a share; working
# corpora grow in build-fuzz/corpus/<name> (seeded from the committed
# tests/fuzz/corpus/<name>), crash inputs land in build-fuzz/crashes/<name>/
# (each becomes a test case in tests/fuzz/crashes/<name>/). Prints each
# target's executions and executions per second; exits 1 if any crashed.
cmd_fuzz() {
  local total=${1:-240}
  case $total in '' | *[!0-9]*) die "fuzz: SECONDS must be a whole number, not '$total'" ;; esac
  install_deps
  command -v clang-14 >/dev/null || die "fuzz: clang-14 is needed (apt-get install clang-14 libclang-rt-14-dev)"
  say "fuzz build (build-fuzz/, clang-14, libFuzzer + ASan + UBSan)"
  cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTB_FUZZ=ON \
    -DTB_SANITIZE=address,undefined,fuzzer-no-link >build-fuzz.configure.log 2>&1 ||
    { cat build-fuzz.configure.log >&2; die "configuring build-fuzz failed"; }
  cmake --build build-fuzz -j"$jobs" --target fuzz_alloc fuzz_trace fuzz_mtrace fuzz_rawlog >build-fuzz.build.log 2>&1 ||
    { tail -30 build-fuzz.build.log >&2; die "building the fuzz targets failed (log: build-fuzz.build.log)"; }
  local share=$((total / 5)) bad=0 n t opts
  [ "$share" -ge 1 ] || share=1
  for n in alloc trace mtrace rawlog; do
    t=$share
    opts=(-max_len=4096)
    [ "$n" = alloc ] && { t=$((2 * share)); opts=(-max_len=1024); }
    [ -f "tests/fuzz/$n.dict" ] && opts+=("-dict=tests/fuzz/$n.dict")
    mkdir -p "build-fuzz/corpus/$n" "build-fuzz/crashes/$n"
    say "fuzz_$n: $t s"
    if ! build-fuzz/tests/fuzz/fuzz_$n "build-fuzz/corpus/$n" "tests/fuzz/corpus/$n" -max_total_time="$t" \
      -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$n/" "${opts[@]}" \
      >"build-fuzz/fuzz_$n.log" 2>&1; then
      bad=1
      say "fuzz_$n found a crash: build-fuzz/crashes/$n/ (log: build-fuzz/fuzz_$n.log)"
    fi
    grep -E 'stat::(number_of_executed_units|average_exec_per_sec)' "build-fuzz/fuzz_$n.log" | sed "s/^/  fuzz_$n /" >&2 || true
  done
  [ "$bad" = 0 ] || die "fuzzing found crashes (see above)"
  say "fuzzing: no crash in $total s"
}

case ${1:-} in
  test) shift; cmd_test "$@" ;;
  deps) install_deps ;;
  check)
    [ $# -ge 2 ] && [ $# -le 3 ] || die "usage: ./reproduce.sh check RUNSET [REFERENCE]"
    check_reference "$2" "${3:-}" ;;
  fuzz) shift; cmd_fuzz "$@" ;;
  *) cmd_main "$@" ;;
esac

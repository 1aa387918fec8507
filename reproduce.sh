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
#   ./reproduce.sh test          every test: native build + ctest, the same
#                                suites under ASan+UBSan, and an aarch64 cross
#                                build whose tests run under qemu-aarch64
#   ./reproduce.sh deps          only install the Debian packages needed (and
#                                download the qemu source package for memsim)
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
  zlib1g-dev libzstd-dev zstd python3 perl sqlite3 git
  texlive-latex-base texlive-latex-recommended texlive-fonts-recommended latexmk
  qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
# The aarch64 test build links Check from Debian's arm64 multiarch packages.
arm_pkgs=(check:arm64 libsubunit-dev:arm64 libc6:arm64)

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

cmd_main() {
  local set=quick from=""
  while [ $# -gt 0 ]; do
    case $1 in
      --full) set=full ;;
      --quick) set=quick ;;
      --from)
        [ $# -ge 2 ] || die "--from needs a run-set directory"
        from=$2
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
  install_deps
  say "build (build/, check level 0 for measurements)"
  build build
  ./build/testbed list

  local runset paper_from
  if [ -n "$from" ]; then
    [ -f "$from/results.csv" ] || die "$from/results.csv: no such run set"
    runset=$from
    paper_from=$from
  else
    say "running the $set experiment set (experiments/$set.exp)"
    runset=$(experiments/run.sh "$set" -j "$jobs")
    # The quick set checks the pipeline end to end on this machine; the
    # paper's figures come from the full set: the one just run (--full) or
    # the committed reference run set (results/reference/).
    if [ "$set" = full ]; then paper_from=$runset; else paper_from=results/reference; fi
  fi
  say "plots of $runset"
  ./build/testbed plot "$runset"
  say "paper from $paper_from"
  paper/build.sh --from "$paper_from"
  printf '\nresults: %s/results.csv (summary: %s/plots/summary.csv)\nplots:   %s/plots/\npaper:   %s (from %s)\n' \
    "$runset" "$runset" "$runset" "$top/paper/paper.pdf" "$paper_from"
}

case ${1:-} in
  test) shift; cmd_test "$@" ;;
  deps) install_deps ;;
  *) cmd_main "$@" ;;
esac

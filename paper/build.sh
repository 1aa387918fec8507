#!/bin/sh
# build.sh: build the paper from a run set: summary + TeX macros
# (testbed summarize --tex), figures (testbed plot), then latexmk.
#   paper/build.sh [--from RUNSET | RUNSET] [--exec EXECSET] [--out DIR] [--testbed PATH]
# EXECSET (default results/reference-exec/ when it exists; --exec none: no
# section of results) is an exec run set (experiments/exec.sh): the
# section on real programs (testbed summarize --tex-exec).
# RUNSET defaults to results/reference/ (the committed run set): the paper
# is never built from a test fixture unless one is named with --from, and
# then its title page says so. DIR defaults to paper/ (paper/paper.pdf).
# Exit status: 0 built, 2 bad usage or no such run set, 1 build failed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
runset="$root/results/reference"
execset="$root/results/reference-exec"
out="$here"
testbed="${TESTBED:-$root/build/testbed}"
while [ $# -gt 0 ]; do
  case "$1" in
    --from) runset="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --exec) execset="$2"; shift 2 ;;
    --testbed) testbed="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "paper/build.sh: unknown argument '$1'" >&2; exit 2 ;;
    *) runset="$1"; shift ;;
  esac
done
if [ ! -f "$runset/results.csv" ]; then
  echo "paper/build.sh: $runset/results.csv not found: the paper is built from results/reference/ by default; give a run set with --from DIR" >&2
  exit 2
fi
if [ "$execset" != none ] && [ "$execset" != "$root/results/reference-exec" ] && [ ! -f "$execset/results.csv" ]; then
  echo "paper/build.sh: --exec $execset: no results.csv there (an exec run set, experiments/exec.sh; or --exec none)" >&2
  exit 2
fi
[ -x "$testbed" ] || { echo "paper/build.sh: no testbed binary at $testbed (build first, or --testbed PATH)" >&2; exit 2; }
command -v latexmk >/dev/null || { echo "paper/build.sh: latexmk not found (apt-get install latexmk texlive-latex-recommended ...)" >&2; exit 2; }
mkdir -p "$out/generated" "$out/figures"
out=$(cd "$out" && pwd)
case $testbed in /*) ;; *) testbed=$(pwd)/$testbed ;; esac
# A run set inside the source tree is named from its top (results/reference),
# so the paper shows the same path on every clone; one elsewhere in full.
# shown DIR: DIR's path as the paper shows it.
shown() { d=$(cd "$1" && pwd); case $d in "$root"/*) printf '%s\n' "${d#"$root"/}" ;; *) printf '%s\n' "$d" ;; esac; }
# Reproducible output: fixed dates in plots and in the PDF.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-0}"
export FORCE_SOURCE_DATE=1
rs=$(shown "$runset")
(cd "$root" && "$testbed" summarize "$rs" -o "$out/generated/summary.csv" --tex "$out/generated/numbers.tex")
"$testbed" plot "$runset" --out "$out/figures" --scripts "$root/plots"
# The exec run set, if any: \tbExectrue and its macros, else no file.
rm -f "$out/generated/exec.tex"
if [ "$execset" != none ] && [ -f "$execset/results.csv" ]; then
  es=$(shown "$execset")
  (cd "$root" && "$testbed" summarize "$es" -o "$out/generated/exec-summary.csv" \
    --verdicts "$out/generated/exec-verdicts.csv" --tex-exec "$out/generated/exec-numbers.tex")
  printf '%s\n' '\tbExectrue' "\\newcommand\\tbExecCommits{$("$here/commits.sh" "$execset/meta.json")}" \
    '\input{generated/exec-numbers.tex}' > "$out/generated/exec.tex"
fi
# Provenance switch: a fixture or a run set without meta.json is flagged.
{
  if grep -q '"fixture"[[:space:]]*:[[:space:]]*true' "$runset/meta.json" 2>/dev/null; then
    printf '%s\n' '\tbFixturetrue'
  fi
  if [ ! -f "$runset/meta.json" ]; then printf '%s\n' '\tbNoMetatrue'; fi
  # The commits whose code made the rows (paper/commits.sh).
  printf '\\newcommand\\tbCommits{%s}\n' "$("$here/commits.sh" "$runset/meta.json")"
} > "$out/generated/provenance.tex"
if [ "$out" != "$here" ]; then cp "$here/paper.tex" "$here/refs.bib" "$out/"; fi
cd "$out"
latexmk -pdf -interaction=nonstopmode -halt-on-error -silent paper.tex >latexmk.out 2>&1 || {
  tail -40 latexmk.out >&2; echo "paper/build.sh: latexmk failed (log: $out/paper.log)" >&2; exit 1; }
echo "paper: $out/paper.pdf (numbers and figures from $runset)"

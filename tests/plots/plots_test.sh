#!/bin/sh
# plots_test.sh: script tests of summarize, plot and the paper build.
#   plots_test.sh TEST TESTBED SOURCE_DIR FIXTURE WORKDIR
# TEST: errors | macros | exec | figures | na | paper | commits | merge | compare. Exit 0 pass, 1 fail,
# 77 skipped (a tool is missing). Every check can fail: see fail().
set -u
t="$1"; tb="$2"; src="$3"; fx="$4"; work="$5"
rm -rf "$work"; mkdir -p "$work"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
export SOURCE_DATE_EPOCH=0

# A run set made from the fixture by a filter (raw fixture stays as it is).
derive() { # NAME AWK-PROGRAM
  mkdir -p "$work/$1"; cp "$fx/meta.json" "$work/$1/"
  awk -F, -v OFS=, "$2" "$fx/results.csv" > "$work/$1/results.csv"
}

case "$t" in
exec)
  # --tex-exec on a small exec run set made here: two programs, glibc and
  # inline, five timed runs; median ratios 1.2 (a) and 0.75 (b), so the
  # geometric mean is sqrt(0.9) = 0.95 and the greatest ratio 1.20 at a;
  # on zen3 100 of a's 1000 L1D misses are the allocator's (10%), the
  # neoverse-n1 rows are all NA.
  d="$work/exec"; mkdir -p "$d"
  { echo "# command: testbed exec (test)"; echo "experiment,allocator,workload,backend,profile,threads,run,metric,value,unit"
    for r in 1 2 3 4 5; do
      for a in glibc inline; do
        for w in a b; do
          case $a$w in glibcb) m=2.0 ;; inlinea) m=1.2 ;; inlineb) m=1.5 ;; *) m=1.0 ;; esac
          v=$(awk -v m=$m -v r=$r 'BEGIN { printf "%.4f", m * (1 + (r - 3) / 100) }')
          echo "exec:l0,$a,$w,timer,host,1,$r,wall_time,$v,s"
          echo "exec:l0,$a,$w,memsim,neoverse-n1@x86_64,1,$r,l1d_misses,NA,1"
          [ "$r$w" != 1a ] || echo "exec:l0,$a,$w,memsim,zen3@x86_64,1,1,l1d_misses,1000,1
exec:l0,$a,$w,memsim,zen3@x86_64,1,1,allocator_l1d_misses,100,1"
        done
      done
    done; } > "$d/results.csv"
  "$tb" summarize "$d" -o "$d/summary.csv" --tex-exec "$d/exec.tex" || fail "summarize --tex-exec exit $?"
  get() { sed -n "s/^\\\\expandafter\\\\def\\\\csname tb@exec@$1@ExecTime@inline\\\\endcsname{\\(.*\\)}$/\\1/p" "$d/exec.tex"; }
  [ "$(get gm)" = 0.95 ] || fail "exec: gm $(get gm), expected 0.95"
  [ "$(get max)" = 1.20 ] || fail "exec: max $(get max), expected 1.20"
  [ "$(get maxat)" = a ] || fail "exec: maxat $(get maxat), expected a"
  [ "$(get n)" = 2 ] || fail "exec: n $(get n), expected 2"
  grep -q '^\\newcommand\\tbTableWorkExecTime\[1\]' "$d/exec.tex" || fail "exec: no \\tbTableWorkExecTime"
  ! grep -q 'tb@exec@gm@ExecLoneArm@' "$d/exec.tex" || fail "exec: NA misses gave a ratio"
  grep -q '^\\newcommand\\tbExecProfileArm{none}' "$d/exec.tex" || fail "exec: an all-NA profile was named"
  grep -q 'tb@exec@max@ExecShareX@inline\\endcsname{10\\,\\%}' "$d/exec.tex" || fail "exec: inline's allocator share is not 10%"
  grep -q '^\\newcommand\\tbExecRuns{5}' "$d/exec.tex" || fail "exec: \\tbExecRuns is not 5"
  [ $fails -eq 0 ] && ok "exec macros: gm 0.95, max 1.20 at a, NA misses give no ratio"
  ;;
errors)
  # Each bad input: exit 2, a FILE:LINE message, no summary written.
  bad() { # NAME EXPECTED-LINE CONTENT
    d="$work/$1"; mkdir -p "$d"; printf '%b' "$3" > "$d/results.csv"
    "$tb" summarize "$d" -o "$d/summary.csv" 2> "$d/err"; rc=$?
    if [ $rc -ne 2 ]; then fail "$1: exit $rc, not 2"; fi
    if ! grep -q "$d/results.csv:$2:" "$d/err"; then fail "$1: no '$d/results.csv:$2:' in: $(cat "$d/err")"; fi
    if [ -e "$d/summary.csv" ] || [ -e "$d/summary.csv.tmp" ]; then fail "$1: output left behind"; fi
    [ $rc -eq 2 ] && ok "$1: $(cat "$d/err")"
  }
  H='experiment,allocator,workload,backend,profile,threads,run,metric,value,unit\n'
  C='# command: test\n'
  bad no-command 1 "${H}e,a,w,b,p,1,0,m,1,1\n"
  bad bad-header 2 "${C}experiment,allocator\n"
  bad fields 4 "${C}${H}e,a,w,b,p,1,0,m,1,1\ne,a,w,b,p,1,1,m,1\n"
  bad value 3 "${C}${H}e,a,w,b,p,1,0,m,zero,1\n"
  bad inf 3 "${C}${H}e,a,w,b,p,1,0,m,inf,1\n"
  bad threads 3 "${C}${H}e,a,w,b,p,0,0,m,1,1\n"
  bad run 3 "${C}${H}e,a,w,b,p,1,-1,m,1,1\n"
  bad empty-field 3 "${C}${H}e,,w,b,p,1,0,m,1,1\n"
  bad duplicate 4 "${C}${H}e,a,w,b,p,1,0,m,1,1\ne,a,w,b,p,1,0,m,2,1\n"
  bad unit 4 "${C}${H}e,a,w,b,p,1,0,m,1,B\ne,a,w,b,p,1,1,m,2,s\n"
  bad no-rows 2 "${C}${H}"
  # plot validates the same way, and leaves no figures
  d="$work/duplicate"; "$tb" plot "$d" --out "$d/plots" --scripts "$src/plots" 2>/dev/null; rc=$?
  [ $rc -eq 2 ] || fail "plot on a bad run set: exit $rc, not 2"
  ls "$d/plots"/*.pdf >/dev/null 2>&1 && fail "plot on a bad run set left figures"
  ;;
macros)
  "$tb" summarize "$fx" -o "$work/summary.csv" --tex "$work/numbers.tex" || fail "summarize exit $?"
  # Independent medians of the fixture's raw rows (awk, NA excluded), in
  # the generator's %.3g format, against the generated macros.
  # (numbers.tex holds the metrics the text may quote: miss rates at L1D
  # and DTLB, time, footprint, metadata; harness/summary_tex.c)
  q='(^|_)(l1d|dtlb)_misses_per_op$|^(ns_per_op|metadata_per_live_byte|fragmentation|peak_heap_bytes|metadata_bytes|page_faults)$'
  awk -F, -v q="$q" 'NR > 2 && $9 != "NA" && $8 ~ q { k = $2 "/" $3 "/" $4 "/" $5 "/" $6 "/" $8; v[k] = v[k] " " $9 }
    END { for (k in v) { n = split(substr(v[k], 2), a, " ");
            for (i = 2; i <= n; i++) { x = a[i]; j = i - 1; while (j > 0 && a[j] + 0 > x + 0) { a[j + 1] = a[j]; j-- } a[j + 1] = x }
            m = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2;
            if (m >= 1000 || m <= -1000) s = sprintf("%.0f", m); else s = sprintf("%.3g", m);
            print k, s } }' "$fx/results.csv" | sort > "$work/expected"
  sed -n 's/^\\expandafter\\newcommand\\csname tb@med@\(.*\)\\endcsname{\(.*\)}$/\1 \2/p' "$work/numbers.tex" \
    | grep -v ' NA$' | grep -v 'metadata_per_live_byte' | grep -v '/allocator_program_' | sort > "$work/got"
  n=$(wc -l < "$work/expected")
  [ "$n" -gt 30 ] || fail "only $n expected medians from the fixture"
  if cmp -s "$work/expected" "$work/got"; then ok "$n medians match"; else fail "medians differ:"; diff "$work/expected" "$work/got" | head; fi
  # A group NA in every run stays NA, never 0.
  grep -q 'tb@med@glibc/linked-list/replay/host/1/metadata_bytes\\endcsname{NA}' "$work/numbers.tex" \
    || fail "all-NA group is not NA"
  grep -q '^fixture:l0,glibc,linked-list,replay,host,1,metadata_bytes,B,0,3,NA,' "$work/summary.csv" \
    || fail "summary.csv: all-NA group should read n=0 n_na=3 median NA"
  # NA inside a group is excluded: glibc page_faults 340,338,NA -> n=2, median 339.
  grep -q '^fixture:l0,glibc,linked-list,replay,host,1,page_faults,1,2,1,339,' "$work/summary.csv" \
    || fail "summary.csv: NA inside a group not excluded"
  # Ratio to inline: oob 0.41 / inline 0.52 on zen3 linked-list.
  r=$(awk 'BEGIN { printf "%.2f", 0.41 / 0.52 }')
  grep -q "tb@ratio@oob/linked-list/cachegrind/zen3/1/l1d_misses_per_op\\\\endcsname{$r}" "$work/numbers.tex" \
    || fail "ratio macro is not $r"
  # Derived: a design's misses, allocator + program (the harness apart):
  # inline 0.21 + 0.11, oob 0.12 + 0.09 on zen3 linked-list, their ratio.
  grep -q 'tb@med@inline/linked-list/cachegrind/zen3/1/allocator_program_l1d_misses_per_op\\endcsname{0.32}' "$work/numbers.tex" \
    || fail "allocator_program_l1d_misses_per_op is not 0.21 + 0.11"
  r=$(awk 'BEGIN { printf "%.2f", (0.12 + 0.09) / (0.21 + 0.11) }')
  grep -q "tb@ratio@oob/linked-list/cachegrind/zen3/1/allocator_program_l1d_misses_per_op\\\\endcsname{$r}" "$work/numbers.tex" \
    || fail "allocator_program ratio macro is not $r"
  # Derived metric: inline metadata 65536 / live 1048576.
  grep -q 'tb@med@inline/linked-list/replay/host/1/metadata_per_live_byte\\endcsname{0.0625}' "$work/numbers.tex" \
    || fail "metadata_per_live_byte is not 65536/1048576"
  ;;
figures)
  command -v gnuplot >/dev/null || { echo "SKIP: gnuplot not installed"; exit 77; }
  "$tb" plot "$fx" --out "$work/a" --scripts "$src/plots" > "$work/a.out" 2> "$work/a.err" || fail "plot exit $?: $(cat "$work/a.err")"
  nfig=0; nskip=0
  for gp in "$src"/plots/*.gp; do
    f=$(sed -n 's/^# figure: *//p' "$gp")
    # a figure whose metrics the fixture lacks (fig2-pages needs memsim's
    # variant profiles) is not drawn, and its note must say so
    if grep -q 'NOT DRAWN' "$work/a/$f.note" 2>/dev/null; then
      [ -e "$work/a/$f.pdf" ] && fail "$f drawn although its note says NOT DRAWN"
      nskip=$((nskip + 1)); continue
    fi
    for ext in pdf png; do
      p="$work/a/$f.$ext"
      if [ ! -s "$p" ]; then fail "$p missing or empty"; continue; fi
      case $ext in
        pdf) head -c 5 "$p" | grep -q '%PDF-' || fail "$p is not a PDF" ;;
        png) [ "$(head -c 4 "$p" | od -An -c | tr -d ' ')" = "211PNG" ] || fail "$p is not a PNG" ;;
      esac
    done
    nfig=$((nfig + 1))
  done
  [ "$nfig" -ge 5 ] || fail "only $nfig figures drawn ($nskip not drawn)"
  # Deterministic: a second run gives identical bytes.
  "$tb" plot "$fx" --out "$work/b" --scripts "$src/plots" >/dev/null 2>&1
  for p in "$work"/a/*.pdf "$work"/a/*.png; do
    cmp -s "$p" "$work/b/$(basename "$p")" || fail "$(basename "$p") differs between two runs"
  done
  [ $fails -eq 0 ] && ok "$nfig figures, PDF and PNG, byte-identical twice ($nskip not drawn: no data in the fixture)"
  ;;
na)
  command -v gnuplot >/dev/null || { echo "SKIP: gnuplot not installed"; exit 77; }
  # 1. The fixture has no DTLB split: fig1 leaves the metric out, says so
  #    on stderr and in its note, and its data hold no TLB rows.
  "$tb" plot "$fx" --out "$work/fx" --scripts "$src/plots" >/dev/null 2> "$work/fx.err" || fail "plot exit $?"
  grep -q 'fig1-headline: allocator_program_dtlb_misses_per_op is not in this run set' "$work/fx.err" || fail "no NA message on stderr"
  grep -q 'allocator_program_dtlb_misses_per_op not measured' "$work/fx/fig1-headline.note" 2>/dev/null || fail "no NA note file for fig1"
  grep -q 'tlb_misses' "$work/fx/data/fig1-headline.csv" && fail "fig1 data holds TLB rows"
  grep -q ',NA,NA,NA,NA,NA,NA,NA$' "$work/fx/data/fig6-metadata.csv" && fail "fig6 data holds an all-NA group"
  grep -q 'metadata_bytes NA for glibc' "$work/fx/fig6-metadata.note" || fail "fig6 note does not name glibc's NA"
  # 2. A run set where the three-way split is NA for every run: fig3
  #    (which needs all parts) is not drawn; its note says why; the others are.
  derive split-na '$8 ~ /^(allocator|harness|program)_l1d_misses_per_op$/ { $9 = "NA" } { print }'
  "$tb" plot "$work/split-na" --out "$work/split-na/plots" --scripts "$src/plots" >/dev/null 2> "$work/split.err" || fail "plot exit $?"
  [ -e "$work/split-na/plots/fig3-attribution.pdf" ] && fail "fig3 drawn without its metrics"
  grep -q 'NOT DRAWN' "$work/split-na/plots/fig3-attribution.note" 2>/dev/null || fail "fig3 note missing"
  grep -q 'fig3-attribution: not drawn' "$work/split.err" || fail "no 'not drawn' message"
  [ -s "$work/split-na/plots/fig1-headline.pdf" ] || fail "fig1 should still be drawn"
  grep -q 'allocator_program_l1d_misses_per_op NA for cachegrind' "$work/split-na/plots/fig1-headline.note" 2>/dev/null \
    || fail "fig1 note does not say its L1D metric is NA for cachegrind"
  # 3. The allocator's llc misses NA on one profile only: the derived
  #    allocator + program is NA there too, so that profile has no llc bars,
  #    never 0.
  derive ll-na '$8 == "allocator_llc_misses_per_op" && $5 == "neoverse-n1" { $9 = "NA" } { print }'
  m=allocator_program_llc_misses_per_op
  "$tb" plot "$work/ll-na" --out "$work/ll-na/plots" --scripts "$src/plots" >/dev/null 2>&1 || fail "plot exit $?"
  grep -q "neoverse-n1,1,$m" "$work/ll-na/plots/data/fig1-headline.csv" && fail "NA llc rows reached fig1's data"
  grep -q "zen3,1,$m" "$work/ll-na/plots/data/fig1-headline.csv" || fail "zen3 llc rows missing from fig1's data"
  grep -q "$m NA for profile neoverse-n1" "$work/ll-na/plots/fig1-headline.note" 2>/dev/null \
    || fail "fig1 note does not say llc misses are NA on neoverse-n1"
  [ -s "$work/ll-na/plots/fig1-headline.png" ] || fail "fig1 not drawn with one empty panel"
  [ $fails -eq 0 ] && ok "NA metrics left out with notes"
  ;;
paper)
  command -v latexmk >/dev/null || { echo "SKIP: latexmk not installed"; exit 77; }
  command -v gnuplot >/dev/null || { echo "SKIP: gnuplot not installed"; exit 77; }
  # No default fallback to the fixture: an absent run set is an error.
  "$src/paper/build.sh" --from "$work/none" --out "$work/x" --testbed "$tb" 2>/dev/null; rc=$?
  [ $rc -eq 2 ] || fail "build.sh on a missing run set: exit $rc, not 2"
  "$src/paper/build.sh" --from "$fx" --out "$work/paper" --testbed "$tb" > "$work/build.out" 2>&1 \
    || { fail "paper build failed"; tail -30 "$work/build.out"; }
  p="$work/paper/paper.pdf"
  [ -s "$p" ] && head -c 5 "$p" | grep -q '%PDF-' || fail "no paper.pdf"
  grep -q 'tbFixturetrue' "$work/paper/generated/provenance.tex" || fail "fixture not flagged on the title page"
  # every \tbget key the text uses exists for the fixture (no ?? in the paper)
  if grep -q 'no value for\|no verdict' "$work/paper/paper.log"; then fail "paper quotes keys the run set lacks:"; grep 'no value for\|no verdict' "$work/paper/paper.log" | head -5; fi
  [ $fails -eq 0 ] && ok "paper.pdf built from the fixture ($(wc -c < "$p") bytes)"
  ;;
commits)
  # paper/commits.sh counts the commits named by a (merged) meta.json.
  m="$work/meta.json"
  c1=0123456789abcdef0123456789abcdef01234567; c2=fedcba9876543210fedcba9876543210fedcba98
  printf '{"jobs": [\n {"meta": {"commit": "%s", "commit_dirty": false}},\n {"meta": {"commit": "%s", "commit_dirty": true}},\n {"meta": {"commit": "%s", "commit_dirty": false}}]}\n' $c2 $c1 $c2 > "$m"
  got=$(sh "$src/paper/commits.sh" "$m")
  [ "$got" = "0123456+dirty (1), fedcba9 (2)" ] || fail "commits of a merged meta: '$got'"
  printf '{"commit": "%s", "commit_dirty": false}\n' $c1 > "$m"
  got=$(sh "$src/paper/commits.sh" "$m")
  [ "$got" = "0123456 (1)" ] || fail "commit of a single meta: '$got'"
  got=$(sh "$src/paper/commits.sh" "$fx/meta.json")
  [ "$got" = "unknown" ] || fail "fixture without commits: '$got'"
  [ $fails -eq 0 ] && ok "commits counted per meta, dirty builds marked, unknown when absent"
  ;;
merge)
  # Two job folders (split from the fixture) merge into one run set whose
  # summary equals the fixture's; a missing job blocks the merge.
  d="$work/set"; mkdir -p "$d/jobs/001-a" "$d/jobs/002-b"
  printf 'fixture\n' > "$d/set"; printf '2\n' > "$d/jobs.count"
  for j in 001-a 002-b; do cp "$fx/meta.json" "$d/jobs/$j/"; done
  { head -n 2 "$fx/results.csv"; awk -F, 'NR > 2 && $2 == "inline"' "$fx/results.csv"; } > "$d/jobs/001-a/results.csv"
  { head -n 2 "$fx/results.csv"; awk -F, 'NR > 2 && $2 != "inline"' "$fx/results.csv"; } > "$d/jobs/002-b/results.csv"
  sh "$src/experiments/run.sh" --merge "$d" > /dev/null 2>&1 || fail "merge exit $?"
  rows=$(grep -vc '^#' "$d/results.csv"); want=$(grep -vc '^#' "$fx/results.csv")
  [ "$rows" = "$want" ] || fail "merged $rows lines, fixture has $want"
  head -n 1 "$d/results.csv" | grep -q '^# command: experiments/run.sh --merge' || fail "no command line on the merged CSV"
  if command -v python3 >/dev/null; then python3 -m json.tool "$d/meta.json" > /dev/null 2>&1 || fail "merged meta.json is not JSON"; fi
  "$tb" summarize "$d" -o "$work/merged.csv" 2>/dev/null || fail "summarize of the merged set failed"
  "$tb" summarize "$fx" -o "$work/direct.csv" 2>/dev/null
  grep -v '^#' "$work/merged.csv" > "$work/m"; grep -v '^#' "$work/direct.csv" > "$work/f"
  cmp -s "$work/m" "$work/f" || fail "summary of the merged set differs from the fixture's"
  rm -f "$d/results.csv" "$d/meta.json" "$d/jobs/002-b/results.csv"
  sh "$src/experiments/run.sh" --merge "$d" > /dev/null 2>&1 && fail "merge with a job missing succeeded"
  [ -e "$d/results.csv" ] && fail "merge with a job missing left results.csv"
  # an experiment file error names FILE:LINE
  printf 'set x\nallocators inline\nwokloads gen:list\n' > "$work/bad.exp"
  sh "$src/experiments/run.sh" "$work/bad.exp" --list --out "$work/o" 2> "$work/bad.err" && fail "bad .exp accepted"
  grep -q "bad.exp:3: unknown key 'wokloads'" "$work/bad.err" || fail "bad .exp error: $(cat "$work/bad.err")"
  [ $fails -eq 0 ] && ok "job folders merge; missing jobs and bad declarations refused"
  ;;
compare)
  # testbed compare: ratios to the baseline from the summary statistics.
  "$tb" compare "$fx" > "$work/default.txt" 2> "$work/default.err" || fail "compare exit $?: $(cat "$work/default.err")"
  # default metrics: a design's misses, harness excluded (allocator_program_*), l1d before llc
  grep -q '^allocator_program_l1d_misses_per_op: ratio to inline' "$work/default.txt" || fail "no allocator_program l1d table"
  [ "$(grep -n ': ratio to' "$work/default.txt" | cut -d: -f2 | tr '\n' ' ')" = \
    "allocator_program_l1d_misses_per_op allocator_program_llc_misses_per_op " ] || fail "default tables: $(grep ': ratio' "$work/default.txt")"
  grep -q 'harness' "$work/default.txt" && fail "a harness metric in the default comparison"
  # oob (0.12 + 0.09) and glibc (0.24 + 0.14) over inline (0.21 + 0.11), zen3 linked-list; one run: no interval
  want=$(awk 'BEGIN { printf "%.3g %.3g", (0.12 + 0.09) / (0.21 + 0.11), (0.24 + 0.14) / (0.21 + 0.11) }')
  got=$(awk '/^allocator_program_l1d/ { t = 1 } t && $1 == "linked-list" && $2 == "zen3" { print $4, $5; exit }' "$work/default.txt")
  [ "$got" = "$want" ] && ok "l1d ratios $got" || fail "l1d ratios '$got', not '$want'"
  # with runs: the interval from the two CIs (n = 3: [min, max]), baseline glibc
  "$tb" compare "$fx" --baseline glibc --metric ns_per_op > "$work/ns.txt" 2>&1 || fail "compare --metric exit $?"
  want=$(awk -F, '$3 == "linked-list" && $8 == "ns_per_op" { v[$2] = v[$2] " " $9 }
    function mn(s,  a, n, i, m) { n = split(s, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]; return m }
    function mx(s,  a, n, i, m) { n = split(s, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 > m + 0) m = a[i]; return m }
    function med(s,  a) { split(s, a, " "); return a[1] + a[2] + a[3] - mn(s) - mx(s) }
    END { printf "%.3g [%.3g, %.3g]", med(v["inline"]) / med(v["glibc"]), mn(v["inline"]) / mx(v["glibc"]), mx(v["inline"]) / mn(v["glibc"]) }' "$fx/results.csv")
  got=$(awk '$1 == "linked-list" { print $4, $5, $6; exit }' "$work/ns.txt")
  [ "$got" = "$want" ] && ok "ns_per_op inline/glibc $got" || fail "ns_per_op inline/glibc '$got', not '$want'"
  # NA medians stay NA (papi's l1d on this fixture)
  "$tb" compare "$fx" --metric l1d_misses_per_op > "$work/na.txt" 2>&1
  awk '$1 == "linked-list" && $3 == "papi"' "$work/na.txt" | grep -q 'NA *NA' || fail "papi NA not shown as NA"
  # errors: exit 2 and a message naming the run set
  "$tb" compare "$fx" --baseline nosuch > /dev/null 2> "$work/e1"; rc=$?
  [ $rc -eq 2 ] && grep -q "baseline 'nosuch' is not in this run set" "$work/e1" || fail "unknown baseline: exit $rc, $(cat "$work/e1")"
  "$tb" compare "$fx" --metric nosuch_per_op > /dev/null 2> "$work/e2"; rc=$?
  [ $rc -eq 2 ] && grep -q "no metric 'nosuch_per_op'" "$work/e2" || fail "unknown metric: exit $rc, $(cat "$work/e2")"
  derive nosplit '$8 !~ /^(allocator|program)_/ { print }'
  "$tb" compare "$work/nosplit" > /dev/null 2> "$work/e3"; rc=$?
  [ $rc -eq 2 ] && grep -q "no allocator_program_\* metric" "$work/e3" || fail "no split: exit $rc, $(cat "$work/e3")"
  [ $fails -eq 0 ] && ok "compare prints the ratios and refuses what the run set lacks"
  ;;
*) echo "unknown test $t"; exit 2 ;;
esac
[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
exit 0

# common.gp: loaded by every figure script. `testbed plot` passes, with -e:
#   DATA      the figure's data file: summary.csv rows (see plots/README.md)
#             already filtered to this figure's metrics and chosen backend,
#             NA medians removed (a missing bar is missing, never zero)
#   OUT       output file;  TERM  'pdf' or 'png'
#   METRICS   metrics present, space-separated, in the script's order
#   ALLOCS, WORKLOADS, PROFILES   what the data holds, in display order
#   NOTE      what was left out and why ('' when nothing)
# Column numbers of summary.csv (one place to change):
C_ALLOC = 2; C_WORK = 3; C_BACKEND = 4; C_PROF = 5; C_THREADS = 6; C_METRIC = 7
C_UNIT = 8; C_N = 9; C_MED = 11; C_LO = 12; C_HI = 13
C_RATIO = 18; C_RLO = 19; C_RHI = 20
if (!exists("NATIVE")) NATIVE = PROFILES
if (!exists("VARIANTS")) VARIANTS = ''

# Words for the names users see in the data.
# wlabel: a workload's short name (gen:mix:dist=pareto -> mix:dist=pareto,
# workloads/traces/python3.tbt.zst -> python3)
wl1(w) = strstrt(w, 'gen:') == 1 ? w[5:] : w
wl2(w) = strstrt(w, 'traces/') > 0 ? w[strstrt(w, 'traces/') + 7:] : w
wl3(w) = strstrt(w, '.tbt') > 0 ? w[1:strstrt(w, '.tbt') - 1] : w
wlabel(w) = wl3(wl2(wl1(w)))
# plabel: a profile in words (neoverse-n1/page=64K@aarch64 -> neoverse-n1, AArch64, 64K pages)
pbase(p) = p[1:strstrt(p . '@', '@') - 1]
pisa(p) = strstrt(p, '@') > 0 ? (p[strstrt(p, '@') + 1:] eq 'x86_64' ? 'x86-64' : p[strstrt(p, '@') + 1:] eq 'aarch64' ? 'AArch64' : p[strstrt(p, '@') + 1:]) : ''
ppage(b) = strstrt(b, '/page=') > 0 ? b[strstrt(b, '/page=') + 6:] . ' pages' : ''
pcore(b) = strstrt(b, '/') > 0 ? b[1:strstrt(b, '/') - 1] : b
plabel(p) = pcore(pbase(p)) . (pisa(p) ne '' ? ', ' . pisa(p) : '') . (ppage(pbase(p)) ne '' ? ', ' . ppage(pbase(p)) : '')
# mlabel: a metric in words
mlabel(m) = m eq 'allocator_program_l1d_misses_per_op' ? 'L1D misses per op (allocator + program)' : \
  m eq 'allocator_program_l2_misses_per_op' ? 'L2 misses per op (allocator + program)' : \
  m eq 'allocator_program_llc_misses_per_op' ? 'last-level misses per op (allocator + program)' : \
  m eq 'allocator_program_dtlb_misses_per_op' ? 'DTLB misses per op (allocator + program)' : \
  m eq 'allocator_l1d_misses_per_op' ? 'L1D misses per op, allocator' : \
  m eq 'program_l1d_misses_per_op' ? 'L1D misses per op, program' : \
  m eq 'harness_l1d_misses_per_op' ? 'L1D misses per op, harness' : \
  m eq 'l1d_misses_per_op' ? 'L1D misses per op (total)' : \
  m eq 'llc_misses_per_op' ? 'last-level misses per op (total)' : \
  m eq 'dtlb_misses_per_op' ? 'DTLB misses per op (total)' : \
  m eq 'ns_per_op' ? 'time per op (ns)' : m eq 'cycles_per_op' ? 'cycles per op' : \
  m eq 'peak_heap_bytes' ? 'peak committed heap (bytes)' : m eq 'max_rss_bytes' ? 'peak RSS (bytes)' : \
  m eq 'fragmentation' ? 'fragmentation (peak heap / peak live)' : \
  m eq 'metadata_per_live_byte' ? 'metadata bytes per live byte' : \
  m eq 'metadata_bytes_at_peak' ? 'metadata bytes at the live peak' : m
if (!exists("NOTE")) NOTE = ''
set datafile separator ','
set datafile missing 'NA'
set encoding utf8
# Figures are drawn at the size the paper places them (PDF_W inches wide,
# the text width is 6.5 in), so the fonts below are their printed sizes:
# 8 pt text, 7 pt tick labels.
# Fixed fonts and sizes: identical inputs give identical files (with
# SOURCE_DATE_EPOCH set by `testbed plot`, cairo writes no timestamp).
if (TERM eq 'pdf') {
  set terminal pdfcairo enhanced color font 'DejaVu Sans,8' size PDF_W, PDF_H
} else {
  set terminal pngcairo enhanced color font 'DejaVu Sans,8' size PDF_W*120, PDF_H*120
}
set output OUT

# word index of s in list (0 when absent)
idx(s, list) = sum [i=1:words(list)] (word(list, i) eq s ? i : 0)
NAL = words(ALLOCS); NWL = words(WORKLOADS); NPR = words(PROFILES)
BW = 0.8 / (NAL > 0 ? NAL : 1)
# x of a bar: workload slot plus the allocator's offset inside it
barx(w, a) = idx(w, WORKLOADS) + (idx(a, ALLOCS) - (NAL + 1) / 2.0) * BW
# Fixed colours per allocator name so a colour means the same in every figure.
acolor(a) = a eq 'inline' ? 0x1f77b4 : a eq 'oob' ? 0xd62728 : a eq 'oob-m32' ? 0xe377c2 : a eq 'oob-array' ? 0xff7f0e : a eq 'oob-map' ? 0x393b79 : a eq 'glibc' ? 0x7f7f7f : \
            a eq 'bump' ? 0xbcbd22 : a eq 'jemalloc' ? 0x2ca02c : a eq 'mimalloc' ? 0x9467bd : \
            a eq 'tcmalloc' ? 0x8c564b : 0x17becf

set style fill solid 0.85 border -1
set grid ytics lc rgb '#dddddd'
set xtics scale 0 nomirror noenhanced
set ytics nomirror
set border 3
set yrange [0:*]
set xrange [0.5:NWL + 0.5]
set xtics ()
do for [i=1:NWL] { set xtics add (wlabel(word(WORKLOADS, i)) i) }
if (NWL > 5) { set xtics rotate by -35 left font ',7' }

# mshort: the level of a miss metric, for panel titles
mshort(m) = strstrt(m, 'l1d_') ? 'L1D misses' : strstrt(m, 'l2_') ? 'L2 misses' : strstrt(m, 'llc_') ? 'last-level misses' : strstrt(m, 'dtlb_') ? 'DTLB misses' : m
# Point types per allocator, so the dots read in black and white too.
aptype(a) = a eq 'oob-m32' ? 9 : a eq 'oob' ? 7 : a eq 'oob-array' ? 5 : a eq 'oob-map' ? 11 : \
            a eq 'glibc' ? 13 : a eq 'jemalloc' ? 2 : a eq 'mimalloc' ? 3 : a eq 'tcmalloc' ? 1 : a eq 'bump' ? 4 : 6
set bars 0.5

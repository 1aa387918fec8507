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

if (!exists("NOTE")) NOTE = ''
set datafile separator ','
set datafile missing 'NA'
set encoding utf8
# Many workloads: wider figure (up to 2x) and slanted labels.
NWL0 = words(WORKLOADS)
WSCALE = NWL0 > 5 ? (NWL0 / 5.0 > 2 ? 2 : NWL0 / 5.0) : 1
PDF_W = PDF_W * WSCALE
# Fixed fonts and sizes: identical inputs give identical files (with
# SOURCE_DATE_EPOCH set by `testbed plot`, cairo writes no timestamp).
if (TERM eq 'pdf') {
  set terminal pdfcairo enhanced color font 'DejaVu Sans,9' size PDF_W, PDF_H
} else {
  set terminal pngcairo enhanced color font 'DejaVu Sans,10' size PDF_W*160, PDF_H*160
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
do for [i=1:NWL] { set xtics add (word(WORKLOADS, i) i) }
if (NWL > 5) { set xtics rotate by -35 left font ',7' }
set bars 0.5

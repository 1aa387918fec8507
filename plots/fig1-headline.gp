# fig1-headline: the answer in one figure. Each design's misses (allocator
# + program; the harness's, the same for every allocator, excluded) as a
# ratio to inline's, per workload (rows), at L1D, L2 (or the last level)
# and DTLB (panel rows), on each profile that runs its own ISA at its own
# page size (panel columns: x86 cores, then ARM cores). Left of the line
# at 1: fewer misses than inline.
# figure: fig1-headline
# metrics: allocator_program_l1d_misses_per_op allocator_program_l2_misses_per_op|allocator_program_llc_misses_per_op allocator_program_dtlb_misses_per_op
# backends: memsim cachegrind
NP0 = words(NATIVE) > 4 ? 4 : words(NATIVE)
NMET0 = words(METRICS)
NWL0 = words(WORKLOADS)
PDF_W = 6.5; PDF_H = 0.35 + NMET0 * (0.11 * NWL0 + 0.8)
load 'lib/common.gp'
load 'lib/note.gp'
# the designs only: glibc and the peers differ in more than metadata (fig4-time has them)
DOTS = 'oob-m32 oob oob-array oob-map'
NP = NP0
LM = 0.19; GAP = 0.015; TOP = 0.35 / PDF_H
PW = (0.99 - LM - GAP * (NP - 1)) / NP
PH = (1 - TOP) / NMET0
set multiplot
set key at screen 0.5, screen 1 - 0.02 / PDF_H center top horizontal font ',8' samplen 1 spacing 1 width 1
do for [m=1:NMET0] {
  do for [p=1:NP] {
    if (m > 1 || p > 1) { unset key }
    set lmargin at screen LM + (p - 1) * (PW + GAP)
    set rmargin at screen LM + (p - 1) * (PW + GAP) + PW
    set tmargin at screen 1 - TOP - (m - 1) * PH - 0.22 / PDF_H
    set bmargin at screen 1 - TOP - m * PH + 0.45 / PDF_H
    P = word(NATIVE, p)
    call 'lib/dots.gp' word(METRICS, m) P plabel(P) (p == 1 ? '1' : '0') ('ratio to inline, ' . mshort(word(METRICS, m)))
  }
}
unset multiplot

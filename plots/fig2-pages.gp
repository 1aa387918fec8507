# fig2-pages: what the page size and the instruction set change. The
# designs' misses (allocator + program) as a ratio to inline's, per
# workload, on the profiles that are variants of a native one: another
# page size (neoverse-n1 with 16K or 64K pages) or another ISA (zen3's
# caches under AArch64 code); compare with Figure 1's native columns.
# L1D on the top row, DTLB on the bottom row.
# figure: fig2-pages
# metrics: allocator_program_l1d_misses_per_op allocator_program_dtlb_misses_per_op
# backends: memsim
# needs: all
NP0 = words(VARIANTS) > 4 ? 4 : words(VARIANTS)
NMET0 = words(METRICS)
NWL0 = words(WORKLOADS)
PDF_W = 6.5; PDF_H = 0.35 + NMET0 * (0.11 * NWL0 + 0.8)
load 'lib/common.gp'
load 'lib/note.gp'
# the designs only: glibc and the peers differ in more than metadata (fig4-time has them)
DOTS = 'oob-m32 oob oob-array oob-map'
NP = NP0 > 0 ? NP0 : 1
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
    P = NP0 > 0 ? word(VARIANTS, p) : 'none'
    call 'lib/dots.gp' word(METRICS, m) P (NP0 > 0 ? plabel(P) : 'no variant profile in this run set') (p == 1 ? '1' : '0') ('ratio to inline, ' . mshort(word(METRICS, m)))
  }
}
unset multiplot

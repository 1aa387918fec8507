# fig1-cache-misses: L1D, last-level and TLB misses per operation, per
# workload, one bar per allocator, on the first profile of the run set
# (the x86 one when there is one; see plots/README.md for the order). A
# simulator's split gives a design's misses (allocator + program, derived
# by summarize) and the harness's L1D misses in a panel of their own; a
# hardware count (papi) has no split and gives the total.
# figure: fig1-cache-misses
# metrics: allocator_program_l1d_misses_per_op|l1d_misses_per_op allocator_program_llc_misses_per_op|llc_misses_per_op|l3_misses_per_op allocator_program_dtlb_misses_per_op|dtlb_misses_per_op|tlb_misses_per_op harness_l1d_misses_per_op
# backends: papi cachegrind memsim tlbsim
PDF_W = 2.3 * words(METRICS) + 0.4; PDF_H = 2.6
load 'lib/common.gp'
NM = words(METRICS)
P1 = word(PROFILES, 1)
load 'lib/note.gp'
set multiplot layout 1, NM title mtitle(sprintf('Misses per operation, profile %s', P1)) noenhanced font ',9'
set key top left font ',7'
do for [m=1:NM] {
  if (m > 1) { unset key }
  call 'lib/bars.gp' word(METRICS, m) P1 word(METRICS, m)
}
unset multiplot

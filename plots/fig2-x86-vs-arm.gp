# fig2-x86-vs-arm: the misses of fig1 side by side for an x86 and an ARM
# profile: the first and the last profile of the run set in display order
# (host, x86 cores, then ARM cores; see README.md), one row per metric
# (a design's misses, allocator + program, where a simulator splits them;
# the harness's L1D misses in the last row).
# figure: fig2-x86-vs-arm
# metrics: allocator_program_l1d_misses_per_op|l1d_misses_per_op allocator_program_llc_misses_per_op|llc_misses_per_op|l3_misses_per_op allocator_program_dtlb_misses_per_op|dtlb_misses_per_op|tlb_misses_per_op harness_l1d_misses_per_op
# backends: papi cachegrind memsim tlbsim
NPROF = words(PROFILES) > 1 ? 2 : 1
PSEL = NPROF == 2 ? word(PROFILES, 1) . ' ' . word(PROFILES, words(PROFILES)) : word(PROFILES, 1)
NMET = words(METRICS)
PDF_W = 2.4 * NPROF + 0.6; PDF_H = 2.0 * NMET + 0.4
load 'lib/common.gp'
load 'lib/note.gp'
set multiplot layout NMET, NPROF title mtitle('Misses per operation by machine profile') noenhanced font ',9'
set key top left font ',7'
do for [m=1:NMET] {
  do for [p=1:NPROF] {
    if (m > 1 || p > 1) { unset key }
    call 'lib/bars.gp' word(METRICS, m) word(PSEL, p) sprintf('%s: %s', word(PSEL, p), word(METRICS, m))
  }
}
unset multiplot

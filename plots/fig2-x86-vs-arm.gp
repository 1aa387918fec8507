# fig2-x86-vs-arm: the misses of fig1 side by side for every profile of
# the run set (columns; x86 profiles first, then ARM), one row per metric.
# figure: fig2-x86-vs-arm
# metrics: d1_misses_per_op|l1d_misses_per_op ll_misses_per_op|l3_misses_per_op tlb_misses_per_op|dtlb_misses_per_op
# backends: papi cachegrind tlbsim
NPROF = words(PROFILES) > 4 ? 4 : words(PROFILES)
NMET = words(METRICS)
PDF_W = 2.4 * NPROF + 0.6; PDF_H = 2.0 * NMET + 0.4
load 'lib/common.gp'
load 'lib/note.gp'
set multiplot layout NMET, NPROF title mtitle('Misses per operation by machine profile') noenhanced font ',9'
set key top left font ',7'
do for [m=1:NMET] {
  do for [p=1:NPROF] {
    if (m > 1 || p > 1) { unset key }
    call 'lib/bars.gp' word(METRICS, m) word(PROFILES, p) sprintf('%s: %s', word(PROFILES, p), word(METRICS, m))
  }
}
unset multiplot

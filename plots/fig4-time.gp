# fig4-time: time (and cycles, when counted) per operation, per workload,
# one bar per allocator, with 95% CI of the median.
# figure: fig4-time
# metrics: ns_per_op cycles_per_op
# backends: replay papi timer
NMET = words(METRICS)
PDF_W = 3.4 * NMET + 0.4; PDF_H = 2.8
load 'lib/common.gp'
load 'lib/note.gp'
set multiplot layout 1, NMET title mtitle('Cost per operation (measured on this host)') noenhanced font ',9'
set key top left font ',7'
do for [m=1:NMET] {
  if (m > 1) { unset key }
  call 'lib/bars.gp' word(METRICS, m) word(PROFILES, 1) sprintf('%s (%s)', word(METRICS, m), word(PROFILES, 1))
}
unset multiplot

# bars.gp: one panel of grouped bars with 95% CI error bars.
#   call 'lib/bars.gp' METRIC PROFILE TITLE
# One bar per allocator in each workload slot; the error bar is the 95%
# confidence interval of the median (summary.csv ci_low..ci_high). A panel
# with no value at all (NA on this profile) is drawn empty and says so.
sel(m, p) = strcol(C_METRIC) eq m && strcol(C_PROF) eq p
set title ARG3 noenhanced
set ylabel '' noenhanced
NPTS = 0
stats DATA using (sel(ARG1, ARG2) ? (NPTS = NPTS + 1, 0) : 0) nooutput
if (NPTS == 0) {
  set yrange [0:1]
  set label 98 'NA: no value for this profile' at graph 0.5, graph 0.5 center noenhanced
  plot NaN notitle
  unset label 98
  set yrange [0:*]
} else {
  # Values spanning more than a factor 20 (bump's footprint beside the
  # designs', a uniform mix beside a LIFO one) get a log scale, so the
  # small bars stay readable; only when every value is positive (a zero
  # has no place on a log axis, and is never dropped).
  stats DATA using (sel(ARG1, ARG2) ? column(C_MED) : NaN) nooutput prefix 'V'
  LOGY = V_min > 0 && V_max / V_min > 20
  # (a log axis autoscales both ends: the linear [0:*] would hide the
  # smallest bars below its first decade)
  if (LOGY) { set logscale y; set yrange [*:*]; set ylabel '(log scale)' noenhanced }
  plot for [i=1:NAL] DATA using (sel(ARG1, ARG2) && strcol(C_ALLOC) eq word(ALLOCS, i) ? \
         barx(strcol(C_WORK), strcol(C_ALLOC)) : NaN):(sel(ARG1, ARG2) ? column(C_MED) : NaN):(BW * 0.9) \
         with boxes lc rgb acolor(word(ALLOCS, i)) title word(ALLOCS, i), \
       DATA using (sel(ARG1, ARG2) ? barx(strcol(C_WORK), strcol(C_ALLOC)) : NaN):(sel(ARG1, ARG2) ? column(C_MED) : NaN):(sel(ARG1, ARG2) ? column(C_LO) : NaN):(sel(ARG1, ARG2) ? column(C_HI) : NaN) \
         with yerrorbars lc rgb 'black' pt 7 ps 0.2 notitle
  if (LOGY) { unset logscale y; set yrange [0:*] }
}

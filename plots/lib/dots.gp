# dots.gp: one panel of ratios to inline, a row per workload, a dot per
# allocator (inline itself is the line at 1); ratios of miss counts that
# are below MISSFLOOR per op for both allocators are left out.
#   call 'lib/dots.gp' METRIC PROFILE TITLE SHOWNAMES XLABEL
# The dots are summary.csv's ratio column (median / inline's median of the
# same key); a horizontal bar is the ratio's interval where the runs have
# a CI (a simulation runs once: no bar). SHOWNAMES 1: workload names on
# the y axis. A panel with no value says NA.
# (NA cells are tested with strcol: with 'set datafile missing', gnuplot
# would drop every row that has NA in any column the plot names)
unset datafile missing
# DOTS (set by the figure): the allocators drawn; default every one.
DOTS = exists("DOTS") ? DOTS : ALLOCS
# A ratio of two miss counts that are both below MISSFLOOR per operation
# (summary.h: not a material difference) is not drawn: tiny counts give
# large, meaningless ratios.
MISSFLOOR = exists("MISSFLOOR") ? MISSFLOOR : 0
material(m) = strstrt(m, 'misses_per_op') == 0 || column(C_MED) >= MISSFLOOR || \
              (column(C_RATIO) > 0 && column(C_MED) / column(C_RATIO) >= MISSFLOOR)
dsel(m, p) = strcol(C_METRIC) eq m && strcol(C_PROF) eq p && strcol(C_RATIO) ne 'NA' && idx(strcol(C_ALLOC), DOTS) > 0 && material(m)
set title ARG3 noenhanced font ',7'
unset ylabel
set xlabel ARG5 noenhanced
set xrange [*:*]; set yrange [*:*]
NPTS = 0
stats DATA using (dsel(ARG1, ARG2) ? (NPTS = NPTS + 1, 0) : 0) nooutput
if (NPTS > 0) { stats DATA using (dsel(ARG1, ARG2) ? column(C_RATIO) : NaN) nooutput prefix 'R' }
set yrange [NWL + 0.5:0.5]
set ytics () scale 0 noenhanced font ',7'
if (ARG4 eq '1') { do for [i=1:NWL] { set ytics add (wlabel(word(WORKLOADS, i)) i) } } else { set format y '' }
set grid xtics ytics lc rgb '#e4e4e4'
set xtics nomirror rotate by 0 font ',7' autofreq
set border 3
if (NPTS == 0) {
  set xrange [0:2]
  set label 98 'NA: no value for this profile' at graph 0.5, graph 0.5 center noenhanced
  plot NaN notitle
  unset label 98
} else {
  # A linear axis up to XCAP (default 3): a ratio beyond it is drawn at the
  # edge as an open marker with its value written beside it.
  XCAP = exists("XCAP") ? XCAP : 3
  XLO = R_min < 1 ? R_min : 1; XHI = R_max > 1 ? (R_max > XCAP ? XCAP : R_max) : 1
  PAD = (XHI - XLO) * 0.08 + 0.02
  set xrange [XLO - PAD : XHI + PAD * (R_max > XCAP ? 4 : 1)]
  NDA = 0
  do for [i=1:NAL] { if (word(ALLOCS, i) ne 'inline') { NDA = NDA + 1 } }
  # a design's dot sits a little below or above its workload's line
  off(a) = (idx(a, ALLOCS) - (NAL + 1) / 2.0) * (0.7 / (NAL > 0 ? NAL : 1))
  set arrow 97 from 1, graph 0 to 1, graph 1 nohead lc rgb '#1f77b4' lw 1.5 back
  capx(x) = x > XCAP ? XCAP : x
  plot for [i=1:NAL] DATA using (dsel(ARG1, ARG2) && strcol(C_ALLOC) eq word(ALLOCS, i) && column(C_RATIO) <= XCAP ? column(C_RATIO) : NaN):(idx(strcol(C_WORK), WORKLOADS) + off(word(ALLOCS, i))):(strcol(C_RLO) ne 'NA' ? column(C_RLO) : column(C_RATIO)):(strcol(C_RHI) ne 'NA' ? capx(column(C_RHI)) : column(C_RATIO)) \
         with xerrorbars lc rgb acolor(word(ALLOCS, i)) pt aptype(word(ALLOCS, i)) ps 0.55 lw 1 title (word(ALLOCS, i) eq 'inline' || idx(word(ALLOCS, i), DOTS) == 0 ? '' : word(ALLOCS, i)), \
       for [i=1:NAL] DATA using (dsel(ARG1, ARG2) && strcol(C_ALLOC) eq word(ALLOCS, i) && column(C_RATIO) > XCAP ? XCAP : NaN):(idx(strcol(C_WORK), WORKLOADS) + off(word(ALLOCS, i))) \
         with points lc rgb acolor(word(ALLOCS, i)) pt (aptype(word(ALLOCS, i)) - 1) ps 0.7 notitle, \
       for [i=1:NAL] DATA using (dsel(ARG1, ARG2) && strcol(C_ALLOC) eq word(ALLOCS, i) && column(C_RATIO) > XCAP ? XCAP : NaN):(idx(strcol(C_WORK), WORKLOADS) + off(word(ALLOCS, i))):(sprintf(' %.3g', column(C_RATIO))) \
         with labels left offset 0.4, 0 font ',6' tc rgb acolor(word(ALLOCS, i)) notitle
  unset arrow 97
}
set yrange [*:*]
set format y '% h'
set datafile missing 'NA'

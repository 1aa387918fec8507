# fig3-attribution: L1D misses per operation split three ways by the code
# that made them: the allocator's own (solid, bottom), the program's
# touches of its blocks (hatched, middle) and the harness's, reading its op
# array and slot table (light, on top; the same for every allocator). One
# panel per native profile (up to four, two per row). Stacks are built from the three medians (no error
# bars: see the CI in the tables).
# figure: fig3-attribution
# metrics: allocator_l1d_misses_per_op program_l1d_misses_per_op harness_l1d_misses_per_op
# backends: memsim cachegrind
# needs: all
NPROF = words(NATIVE) > 4 ? 4 : words(NATIVE)
NCOL = NPROF > 1 ? 2 : 1; NROW = (NPROF + 1) / 2
PDF_W = 6.5; PDF_H = 2.6 * NROW + 0.3
load 'lib/common.gp'
load 'lib/note.gp'
MA = word(METRICS, 1); MP = word(METRICS, 2); MH = word(METRICS, 3)
# BASE[k]: the allocator part under each stack, TOP[k] allocator + program,
# k = (profile, workload, allocator)
array BASE[NPROF * NWL * NAL + 1]
array TOP[NPROF * NWL * NAL + 1]
do for [i=1:|BASE|] { BASE[i] = NaN; TOP[i] = NaN }
kk(p, w, a) = ((idx(p, NATIVE) - 1) * NWL + idx(w, WORKLOADS) - 1) * NAL + idx(a, ALLOCS)
key(x) = kk(strcol(C_PROF), strcol(C_WORK), strcol(C_ALLOC))
stats DATA using (strcol(C_METRIC) eq MA && idx(strcol(C_PROF), NATIVE) > 0 ? \
      (BASE[key(0)] = column(C_MED), 0) : 0) nooutput
stats DATA using (strcol(C_METRIC) eq MP && idx(strcol(C_PROF), NATIVE) > 0 ? \
      (TOP[key(0)] = BASE[key(0)] + column(C_MED), 0) : 0) nooutput
set multiplot layout NROW, NCOL title mtitle('L1D misses per operation: allocator (solid), program (hatched), harness (light)') noenhanced font ',8'
set key at screen 0.5, screen 0.01 center bottom horizontal font ',7' samplen 1
set bmargin 4
set xtics ()
do for [i=1:NWL] { set xtics add (wlabel(word(WORKLOADS, i)) i) }
sel(m) = strcol(C_METRIC) eq m && strcol(C_PROF) eq P
base(x) = (K = key(x), K >= 1 && K <= |BASE| ? BASE[K] : NaN)
top(x) = (K = key(x), K >= 1 && K <= |TOP| ? TOP[K] : NaN)
do for [p=1:NPROF] {
  if (p > 1) { unset key }
  P = word(NATIVE, p)
  set title plabel(P) noenhanced
  set ylabel 'L1D misses per op' noenhanced
  NPTS = 0
  stats DATA using (sel(MA) ? (NPTS = NPTS + 1, 0) : 0) nooutput
  if (NPTS == 0) {
    set yrange [0:1]
    set label 98 'NA: no value for this profile' at graph 0.5, graph 0.5 center noenhanced
    plot NaN notitle
    unset label 98
    set yrange [0:*]
    continue
  }
  plot for [i=1:NAL] DATA using (sel(MA) && strcol(C_ALLOC) eq word(ALLOCS, i) ? \
         barx(strcol(C_WORK), strcol(C_ALLOC)) : NaN):(sel(MA) ? column(C_MED) : NaN):(BW * 0.9) \
         with boxes fs solid 0.85 lc rgb acolor(word(ALLOCS, i)) title word(ALLOCS, i), \
       for [i=1:NAL] DATA using (x = barx(strcol(C_WORK), strcol(C_ALLOC)), \
         sel(MP) && strcol(C_ALLOC) eq word(ALLOCS, i) ? x : NaN):(sel(MP) ? base(0) + column(C_MED) / 2 : NaN):(x - BW * 0.45):(x + BW * 0.45):(sel(MP) ? base(0) : NaN):(sel(MP) ? base(0) + column(C_MED) : NaN) \
         with boxxyerror fs pattern 4 border lc rgb acolor(word(ALLOCS, i)) lc rgb acolor(word(ALLOCS, i)) notitle, \
       for [i=1:NAL] DATA using (x = barx(strcol(C_WORK), strcol(C_ALLOC)), \
         sel(MH) && strcol(C_ALLOC) eq word(ALLOCS, i) ? x : NaN):(sel(MH) ? top(0) + column(C_MED) / 2 : NaN):(x - BW * 0.45):(x + BW * 0.45):(sel(MH) ? top(0) : NaN):(sel(MH) ? top(0) + column(C_MED) : NaN) \
         with boxxyerror fs solid 0.2 border lc rgb acolor(word(ALLOCS, i)) lc rgb acolor(word(ALLOCS, i)) notitle
}
unset multiplot

# fig3-attribution: L1D misses per operation split into the allocator's own
# code (solid, bottom) and everything else: the workload's use of the memory
# and the harness (hatched, on top). One panel per profile. Stacks are built
# from the two medians (no error bars: see the CI in the tables).
# figure: fig3-attribution
# metrics: allocator_d1_misses_per_op other_d1_misses_per_op
# backends: cachegrind tlbsim
# needs: all
NPROF = words(PROFILES) > 4 ? 4 : words(PROFILES)
PDF_W = 3.2 * NPROF + 0.4; PDF_H = 2.8
load 'lib/common.gp'
load 'lib/note.gp'
MA = word(METRICS, 1); MO = word(METRICS, 2)
# BASE[k]: the allocator part under each stack, k = (profile, workload, allocator)
array BASE[NPROF * NWL * NAL + 1]
do for [i=1:|BASE|] { BASE[i] = NaN }
kk(p, w, a) = ((idx(p, PROFILES) - 1) * NWL + idx(w, WORKLOADS) - 1) * NAL + idx(a, ALLOCS)
stats DATA using (strcol(C_METRIC) eq MA && idx(strcol(C_PROF), PROFILES) > 0 ? \
      (BASE[kk(strcol(C_PROF), strcol(C_WORK), strcol(C_ALLOC))] = column(C_MED), 0) : 0) nooutput
set multiplot layout 1, NPROF title mtitle('L1D misses per operation: allocator (solid) vs. rest (hatched)') noenhanced font ',9'
set key top left font ',7'
sel(m) = strcol(C_METRIC) eq m && strcol(C_PROF) eq P
base(x) = (K = kk(strcol(C_PROF), strcol(C_WORK), strcol(C_ALLOC)), K >= 1 && K <= |BASE| ? BASE[K] : NaN)
do for [p=1:NPROF] {
  if (p > 1) { unset key }
  P = word(PROFILES, p)
  set title P noenhanced
  set ylabel 'd1 misses per op' noenhanced
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
         sel(MO) && strcol(C_ALLOC) eq word(ALLOCS, i) ? x : NaN):(sel(MO) ? base(0) + column(C_MED) / 2 : NaN):(x - BW * 0.45):(x + BW * 0.45):(sel(MO) ? base(0) : NaN):(sel(MO) ? base(0) + column(C_MED) : NaN) \
         with boxxyerror fs pattern 4 border lc rgb acolor(word(ALLOCS, i)) lc rgb acolor(word(ALLOCS, i)) notitle
}
unset multiplot

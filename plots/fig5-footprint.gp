# fig5-footprint: heap footprint (peak committed heap, peak RSS) and
# fragmentation (peak_heap_bytes / peak_live_bytes) per workload.
# figure: fig5-footprint
# metrics: peak_heap_bytes max_rss_bytes|max_rss fragmentation
# backends: replay timer
NMET = words(METRICS)
PDF_W = 6.5; PDF_H = 2.3 * NMET + 0.3
load 'lib/common.gp'
load 'lib/note.gp'
set multiplot layout NMET, 1 title mtitle('Heap footprint and fragmentation') noenhanced font ',8'
set key top left font ',7'
set format y '%.1s%c'
do for [m=1:NMET] {
  if (m > 1) { unset key }
  if (word(METRICS, m) eq 'fragmentation') { set format y '%g' }
  call 'lib/bars.gp' word(METRICS, m) word(PROFILES, 1) mlabel(word(METRICS, m))
}
unset multiplot

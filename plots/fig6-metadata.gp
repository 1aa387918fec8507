# fig6-metadata: allocator metadata bytes per byte of peak live data
# (metadata_per_live_byte, derived by `testbed summarize` from
# metadata_bytes_at_peak / peak_live_bytes per run of backend replay) and
# the metadata bytes when the live bytes peak (older run sets: at the end
# of the window).
# figure: fig6-metadata
# metrics: metadata_per_live_byte metadata_bytes_at_peak|metadata_bytes
# backends: replay
NMET = words(METRICS)
PDF_W = 6.5; PDF_H = 2.3 * NMET + 0.3
load 'lib/common.gp'
load 'lib/note.gp'
set multiplot layout NMET, 1 title mtitle('Metadata per live byte') noenhanced font ',8'
set key top left font ',7'
do for [m=1:NMET] {
  if (m > 1) { unset key }
  if (word(METRICS, m) eq 'metadata_bytes') { set format y '%.1s%c' }
  call 'lib/bars.gp' word(METRICS, m) word(PROFILES, 1) mlabel(word(METRICS, m))
}
unset multiplot

# fig4-time: time per operation as a ratio to inline's, per workload, for
# every allocator of the run set (the designs, glibc and the peers),
# measured on the host that ran the experiment; a bar is the ratio's
# interval from the two 95% CIs of the median. Left of the line: faster.
# figure: fig4-time
# metrics: ns_per_op
# backends: replay timer
NWL0 = words(WORKLOADS)
PDF_W = 6.5; PDF_H = 0.6 + 0.16 * NWL0 + 0.6
load 'lib/common.gp'
load 'lib/note.gp'
set multiplot
set key at screen 0.5, screen 1 - 0.02 / PDF_H center top horizontal font ',8' samplen 1 spacing 1 width 1
set lmargin at screen 0.2
set rmargin at screen 0.97
set tmargin at screen 1 - 0.55 / PDF_H
set bmargin at screen 0.5 / PDF_H
call 'lib/dots.gp' word(METRICS, 1) word(PROFILES, 1) sprintf('time per operation, counted on %s', word(PROFILES, 1)) '1' 'ratio to inline: time per op'
unset multiplot

# note.gp: figures carry no NA notes: what a figure leaves out is in
# PLOTDIR/<figure>.note, which the paper lists in its appendix.
# mtitle('Title') is the figure's title.
mtitle(s) = s

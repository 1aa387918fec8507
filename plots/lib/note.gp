# note.gp: what the figure leaves out (NOTE) becomes the second line of the
# figure title: mtitle('Title') (so the layout makes room for it).
mtitle(s) = strlen(NOTE) > 0 ? s . "\n(" . NOTE . ")" : s

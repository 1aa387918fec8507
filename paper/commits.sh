#!/bin/sh
# paper/commits.sh META.JSON: the commits whose code made a run set, as
# "abc1234 (N), def5678+dirty (M)": each commit's first 7 hex digits, with
# "+dirty" when that build had uncommitted changes, and how many metas
# (jobs of a merged run set; a single run's meta counts once) name it,
# sorted. Prints "unknown" when META names no commit (or is missing).
meta=$1
commits=$(grep -o '"commit"[[:space:]]*:[[:space:]]*"[0-9a-f]*"\|"commit_dirty"[[:space:]]*:[[:space:]]*[a-z]*' "$meta" 2>/dev/null |
  sed 's/.*"\([0-9a-f]*\)"$/\1/; s/.*:[[:space:]]*true$/+dirty/; s/.*:[[:space:]]*false$//' |
  awk 'length($0) == 40 { if (c != "") print c; c = substr($0, 1, 7); next } $0 == "+dirty" { c = c "+dirty" } END { if (c != "") print c }' |
  sort | uniq -c | awk '{ printf "%s%s (%d)", (NR > 1 ? ", " : ""), $2, $1 }')
printf '%s\n' "${commits:-unknown}"

# Input of the python3 trace of the corpus. Text processing with the
# standard library over the start of a licence text Debian ships: regular
# expressions, Counter, sorting, JSON dump and load. (Kept small: replay at
# check level 3 validates the whole heap at every op.)
import json, re, collections
text = open('/usr/share/common-licenses/GPL-3').read()[:12000]
words = re.findall(r"[A-Za-z']+", text)
freq = collections.Counter(w.lower() for w in words)
lines = sorted(text.splitlines(), key=lambda l: (len(l), l))
doc = {"words": freq.most_common(300), "lines": lines}
s = json.dumps(doc, indent=1)
back = json.loads(s)
print(len(s), len(back["lines"]), len(freq))

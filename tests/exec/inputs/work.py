# work.py: json, regular expressions and dictionaries, deterministic output.
import json, re
from collections import Counter

words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
docs = []
for i in range(6000):
    w = [words[(i * 7 + k * 3) % len(words)] for k in range(12)]
    docs.append({"id": i, "text": " ".join(w) + f" item-{i} v{i % 97}", "tags": w[:3], "n": i * i % 1009})
blob = json.dumps(docs)
back = json.loads(blob)
pat = re.compile(r"item-(\d+) v(\d+)")
index = {}
counts = Counter()
for d in back:
    m = pat.search(d["text"])
    index.setdefault(int(m.group(2)), []).append(int(m.group(1)))
    counts.update(d["text"].split())
merged = {k: sorted(v)[:3] for k, v in index.items()}
print(len(blob), len(merged), counts.most_common(3), sum(d["n"] for d in back))
print(json.dumps(merged, sort_keys=True)[:200])

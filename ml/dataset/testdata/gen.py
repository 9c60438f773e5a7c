"""Write expected values for ml/dataset's tests from iris.csv and wine.csv.

Run from ml/dataset: /usr/bin/python3 testdata/gen.py
iris.csv and wine.csv are copies of /work/shared/data's files (scikit-learn
1.2.1's load_iris / load_wine). The expected values come from Python's own
CSV reader, float() and hashlib, independently of the Go code.
"""
import csv
import hashlib
import json
import os

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
out = {}
for name in ("iris", "wine"):
    path = os.path.join(here, name + ".csv")
    with open(path, "rb") as f:
        raw = f.read()
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    features = [h for h in header if h != "target"]
    cols = {h: [float(r[i]) for r in body] for i, h in enumerate(header)}
    classes, y = np.unique(np.array(cols["target"]), return_inverse=True)
    out[name] = {
        "sha256": hashlib.sha256(raw).hexdigest(),
        "rows": len(body),
        "features": features,
        "values": {h: cols[h] for h in features},
        "classes": [str(int(c)) for c in classes],
        "y": y.astype(float).tolist(),
    }
with open(os.path.join(here, "expected.json"), "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")

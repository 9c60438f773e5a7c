"""Regenerate breast_cancer.csv and sklearn_svc_binary.json: scikit-learn
1.2.1's two-class SVC probabilities on breast_cancer.

Run from ml/svm:  /usr/bin/python3 testdata/gen_binary.py

breast_cancer (sklearn.datasets) is standardised (each feature to mean 0,
variance 1 over all rows, so that the linear kernel converges in
milliseconds) and written with repr floats; the fits read that CSV back, so
that Go and scikit-learn see the same numbers.
"""
import csv
import json
import os

import numpy as np
import sklearn
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

HERE = os.path.dirname(os.path.abspath(__file__))
CSV = os.path.join(HERE, "breast_cancer.csv")

data = load_breast_cancer()
X = (data.data - data.data.mean(axis=0)) / data.data.std(axis=0)
with open(CSV, "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["x%d" % i for i in range(X.shape[1])] + ["target"])
    for row, t in zip(X, data.target):
        w.writerow([repr(float(v)) for v in row] + [int(t)])

with open(CSV) as f:
    rows = list(csv.reader(f))
table = np.array([[float(v) for v in r] for r in rows[1:]])
X, y = table[:, :-1], table[:, -1].astype(int)

SETTINGS = [
    ("linear_C1", dict(kernel="linear", C=1.0)),
    ("rbf_scale", dict(kernel="rbf")),
    ("rbf_gamma0.1", dict(kernel="rbf", gamma=0.1)),
]

train, test = train_test_split(np.arange(len(y)), random_state=42)
out = {"sklearn": sklearn.__version__, "file": "breast_cancer.csv",
       "train": train.tolist(), "test": test.tolist(), "cases": []}
for label, params in SETTINGS:
    p = dict(params, probability=True, random_state=42)
    m = SVC(**p).fit(X[train], y[train])
    out["cases"].append({
        "name": label,
        "params": p,
        "predictions": m.predict(X[test]).tolist(),
        "decision": m.decision_function(X[test]).tolist(),
        "prob_a": m.probA_.tolist(),
        "prob_b": m.probB_.tolist(),
        "proba": m.predict_proba(X[test]).tolist(),
    })

with open(os.path.join(HERE, "sklearn_svc_binary.json"), "w") as f:
    json.dump(out, f, separators=(",", ":"))

#!/usr/bin/python3
"""Writes the data sets of the ml/onnx tests that the shared testdata lacks
(run from ml/onnx with Debian's python3-sklearn: /usr/bin/python3 testdata/gen.py):

- breast_cancer.csv: scikit-learn's load_breast_cancer (569 rows, 30 features,
  target 0 malignant / 1 benign), the features rounded as in the original file;
- shops.csv: a small synthetic data set with two categorical columns, for the
  one-hot encoding inside the graph (fixed seed).

These are inputs, not expected answers: the tests compare ONNX Runtime with
mlrun's own Go predictions."""
import csv
import numpy as np
from sklearn.datasets import load_breast_cancer

d = load_breast_cancer()
with open("testdata/breast_cancer.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow([n.replace(" ", "_") for n in d.feature_names] + ["target"])
    for x, y in zip(d.data, d.target):
        w.writerow([repr(float(v)) for v in x] + [int(y)])

rng = np.random.default_rng(14)
cities, plans = ["lyon", "nantes", "paris", "rennes"], ["basic", "plus", "pro"]
with open("testdata/shops.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["visits", "city", "basket", "plan", "segment"])
    for _ in range(240):
        city, plan = rng.choice(cities), rng.choice(plans)
        visits = int(rng.poisson(6)); basket = round(float(rng.gamma(3.0, 20.0)), 2)
        score = 0.3 * visits + basket / 25 + {"basic": 0, "plus": 1.5, "pro": 3}[plan] + (1 if city == "paris" else 0) + rng.normal()
        w.writerow([visits, city, basket, plan, "high" if score > 7 else ("mid" if score > 4.5 else "low")])

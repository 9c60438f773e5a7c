"""Writes diabetes.csv: scikit-learn 1.2.1's diabetes data (442 patients,
10 standardised features, a disease-progression target one year later), as
`load_diabetes()` returns it. Values are written with repr(float) so they
parse back to the same doubles.

    /usr/bin/python3 examples/regression/data/make_data.py   (Debian's python3-sklearn)
"""
import csv
import os

from sklearn.datasets import load_diabetes

d = load_diabetes()
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "diabetes.csv")
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(list(d.feature_names) + ["progression"])
    for row, y in zip(d.data, d.target):
        w.writerow([repr(float(v)) for v in row] + [repr(float(y))])

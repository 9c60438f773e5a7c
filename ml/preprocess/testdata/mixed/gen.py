"""Regenerate expected.json: scikit-learn's StandardScaler and OneHotEncoder
fitted on train.csv and applied to train.csv and test.csv, laid out as
make_column_transformer((scaler, numeric), (encoder, categorical)) does:
scaled numeric columns first, then the one-hot blocks.

Run from the package directory:  /usr/bin/python3 testdata/mixed/gen.py
(Debian's python3-sklearn, scikit-learn 1.2.1, numpy 1.24.)
"""
import csv
import json
import os

import numpy as np
import sklearn
from sklearn.preprocessing import OneHotEncoder, StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
NUMERIC = ["x1", "x2", "x3"]
CATEGORICAL = ["color", "size"]


def read(name):
    with open(os.path.join(HERE, name), newline="") as f:
        rows = list(csv.DictReader(f))
    num = np.array([[float(r[c]) for c in NUMERIC] for r in rows])
    cat = np.array([[r[c] for c in CATEGORICAL] for r in rows], dtype=object)
    return num, cat


num, cat = read("train.csv")
tnum, tcat = read("test.csv")
enc = OneHotEncoder(sparse_output=False, handle_unknown="ignore").fit(cat)


def case(scaler):
    scaler.fit(num)
    return {
        "mean": None if scaler.mean_ is None else scaler.mean_.tolist(),
        "scale": None if scaler.scale_ is None else scaler.scale_.tolist(),
        "train": np.hstack([scaler.transform(num), enc.transform(cat)]).tolist(),
        "test_ignore": np.hstack([scaler.transform(tnum), enc.transform(tcat)]).tolist(),
    }


result = {
    "sklearn_version": sklearn.__version__,
    "categories": [c.tolist() for c in enc.categories_],
    "feature_names": StandardScaler().fit(num).get_feature_names_out(NUMERIC).tolist()
    + enc.get_feature_names_out(CATEGORICAL).tolist(),
    "cases": {
        "scaled": case(StandardScaler()),
        "no_mean": case(StandardScaler(with_mean=False)),
        "no_std": case(StandardScaler(with_std=False)),
        "none": case(StandardScaler(with_mean=False, with_std=False)),
    },
}
with open(os.path.join(HERE, "expected.json"), "w") as f:
    json.dump(result, f, indent=1)
    f.write("\n")

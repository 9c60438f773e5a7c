"""Regenerate sklearn_svc.json: scikit-learn 1.2.1's SVC on iris and wine.

Run from ml/svm:  /usr/bin/python3 testdata/gen.py
"""
import csv
import json
import os

import numpy as np
import sklearn
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

HERE = os.path.dirname(os.path.abspath(__file__))
# iris.csv and wine.csv are shared by several ml packages.
SHARED = os.path.join(HERE, "..", "..", "internal", "mltest", "testdata")


def load(name):
    with open(os.path.join(SHARED, name)) as f:
        rows = list(csv.reader(f))
    data = np.array([[float(v) for v in r] for r in rows[1:]])
    return data[:, :-1], data[:, -1].astype(int)


SETTINGS = [
    ("linear_C1", dict(kernel="linear", C=1.0)),
    ("linear_C0.1", dict(kernel="linear", C=0.1)),
    ("rbf_scale", dict(kernel="rbf")),
    ("rbf_gamma0.1", dict(kernel="rbf", gamma=0.1)),
]

out = {"sklearn": sklearn.__version__,
       "libsvm_seed_for_42": int(np.random.RandomState(42).randint(np.iinfo("i").max)),
       "datasets": []}
for name in ["iris.csv", "wine.csv"]:
    X, y = load(name)
    train, test = train_test_split(np.arange(len(y)), random_state=42)
    ds = {"file": name, "train": train.tolist(), "test": test.tolist(), "cases": []}
    for label, params in SETTINGS:
        for prob in [False, True]:
            p = dict(params, probability=prob, random_state=42)
            m = SVC(**p).fit(X[train], y[train])
            pred = m.predict(X[test])
            case = {
                "name": label + ("_prob" if prob else ""),
                "params": p,
                "accuracy": float((pred == y[test]).mean()),
                "predictions": pred.tolist(),
                "n_support": m.n_support_.tolist(),
                "support": m.support_.tolist(),
                "intercept": m.intercept_.tolist(),
                "gamma": float(m._gamma),
                "decision_ovo": SVC(**dict(p, decision_function_shape="ovo")).fit(X[train], y[train]).decision_function(X[test]).tolist(),
                "decision_ovr": m.decision_function(X[test]).tolist(),
            }
            if prob:
                case["proba"] = m.predict_proba(X[test]).tolist()
                case["prob_a"] = m.probA_.tolist()
                case["prob_b"] = m.probB_.tolist()
            ds["cases"].append(case)
    out["datasets"].append(ds)

with open(os.path.join(HERE, "sklearn_svc.json"), "w") as f:
    json.dump(out, f, separators=(",", ":"))

"""Regenerate the tree and forest fixtures from scikit-learn 1.2.1.

Run from ml/tree:  /usr/bin/python3 testdata/gen.py
Reads iris.csv and wine.csv from ml/internal/mltest/testdata (copies of
/work/shared/data); writes friedman1.csv (regression data) and sklearn_tree.json.
"""
import csv
import json
import os

import numpy as np
import sklearn
from sklearn.datasets import make_friedman1
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

HERE = os.path.dirname(os.path.abspath(__file__))
# iris.csv and wine.csv are shared by several ml packages.
SHARED = os.path.join(HERE, "..", "..", "internal", "mltest", "testdata")

# Regression data: Friedman #1, 400 rows, 10 features, noise 1.0, seed 0.
Xr, yr = make_friedman1(n_samples=400, n_features=10, noise=1.0, random_state=0)
with open(os.path.join(HERE, "friedman1.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow([f"x{i}" for i in range(Xr.shape[1])] + ["target"])
    for row, t in zip(Xr, yr):
        w.writerow([repr(float(v)) for v in row] + [repr(float(t))])


def load(name):
    path = os.path.join(HERE, name)
    if not os.path.exists(path):
        path = os.path.join(SHARED, name)
    with open(path) as f:
        rows = list(csv.reader(f))
    data = np.array([[float(v) for v in r] for r in rows[1:]])
    return data[:, :-1], data[:, -1]


def node_counts(m):
    if hasattr(m, "estimators_"):
        return [int(e.tree_.node_count) for e in m.estimators_]
    return [int(m.tree_.node_count)]


CLASSIFIERS = [
    ("decision_tree", "default", DecisionTreeClassifier, {}),
    ("decision_tree", "max_depth3", DecisionTreeClassifier, {"max_depth": 3}),
    ("decision_tree", "entropy_leaf5_sqrt", DecisionTreeClassifier,
     {"criterion": "entropy", "min_samples_leaf": 5, "max_features": "sqrt"}),
    ("random_forest", "default", RandomForestClassifier, {}),
    ("random_forest", "max_depth5", RandomForestClassifier, {"max_depth": 5}),
    ("random_forest", "balanced_log2", RandomForestClassifier,
     {"class_weight": "balanced", "max_features": "log2", "n_estimators": 20}),
]
REGRESSORS = [
    ("decision_tree", "default", DecisionTreeRegressor, {}),
    ("decision_tree", "max_depth3", DecisionTreeRegressor, {"max_depth": 3}),
    ("random_forest", "default", RandomForestRegressor, {}),
    ("random_forest", "max_depth5", RandomForestRegressor, {"max_depth": 5}),
    ("random_forest", "sqrt_leaf3", RandomForestRegressor,
     {"max_features": "sqrt", "min_samples_leaf": 3, "n_estimators": 30}),
]

out = {"sklearn": sklearn.__version__, "datasets": []}
for name, task, models in [("iris.csv", "classification", CLASSIFIERS),
                           ("wine.csv", "classification", CLASSIFIERS),
                           ("friedman1.csv", "regression", REGRESSORS)]:
    X, y = load(name)
    train, test = train_test_split(np.arange(len(y)), random_state=42)
    ds = {"file": name, "task": task, "train": train.tolist(), "test": test.tolist(), "cases": []}
    for est, label, cls, params in models:
        p = dict(params, random_state=42)
        if task == "classification":
            m = cls(**p).fit(X[train], y[train].astype(int))
        else:
            m = cls(**p).fit(X[train], y[train])
        pred = m.predict(X[test])
        case = {"estimator": est, "name": label, "params": p,
                "predictions": pred.tolist(), "node_counts": node_counts(m)}
        if task == "classification":
            case["score"] = float((pred == y[test]).mean())
            case["proba"] = m.predict_proba(X[test]).tolist()
        else:
            case["score"] = float(r2_score(y[test], pred))
        ds["cases"].append(case)
    out["datasets"].append(ds)

with open(os.path.join(HERE, "sklearn_tree.json"), "w") as f:
    json.dump(out, f, separators=(",", ":"))

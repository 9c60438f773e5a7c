"""Generate scikit-learn 1.2.1 reference fixtures for mlrun's ml/neighbors package.

Run from the package directory:  /usr/bin/python3 testdata/gen.py
Inputs, all in ml/internal/mltest/testdata with the target in the last column:
iris.csv, wine.csv (copies of /work/shared/data), regression.csv
(make_regression(n_samples=200, n_features=6, n_informative=4, noise=5, bias=3.5,
random_state=7), written by ml/linear/testdata/gen.py).
Output: testdata/sklearn/knn.json.
"""
import json
import os

import numpy as np
import sklearn
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

assert sklearn.__version__ == "1.2.1", sklearn.__version__
HERE = os.path.dirname(os.path.abspath(__file__))
# iris.csv, wine.csv and regression.csv are shared by several ml packages.
SHARED = os.path.join(HERE, "..", "..", "internal", "mltest", "testdata")


def load(name):
    data = np.loadtxt(os.path.join(SHARED, name), delimiter=",", skiprows=1)
    return data[:, :-1], data[:, -1]


def main():
    cases = []
    for data in ("iris", "wine"):
        X, y = load(data + ".csv")
        tr, te = train_test_split(np.arange(len(y)), random_state=42)
        for k in (1, 3, 5, 15):
            for w in ("uniform", "distance"):
                for p in (1, 2):
                    params = {"n_neighbors": k, "weights": w, "p": p}
                    m = KNeighborsClassifier(**params).fit(X[tr], y[tr].astype(int))
                    pred = m.predict(X[te])
                    cases.append({
                        "name": "%s_k%d_%s_p%d" % (data, k, w, p), "data": data,
                        "task": "classification", "train": tr.tolist(), "test": te.tolist(),
                        "params": params, "pred": pred.astype(float).tolist(),
                        "proba": m.predict_proba(X[te]).tolist(),
                        "accuracy": float((pred == y[te]).mean()),
                    })
    for data in ("regression",):
        X, y = load(data + ".csv")
        tr, te = train_test_split(np.arange(len(y)), random_state=42)
        for k in (1, 5, 10):
            for w in ("uniform", "distance"):
                for p in (1, 2):
                    params = {"n_neighbors": k, "weights": w, "p": p}
                    m = KNeighborsRegressor(**params).fit(X[tr], y[tr])
                    cases.append({
                        "name": "%s_k%d_%s_p%d" % (data, k, w, p), "data": data,
                        "task": "regression", "train": tr.tolist(), "test": te.tolist(),
                        "params": params, "pred": m.predict(X[te]).tolist(),
                    })
    os.makedirs(os.path.join(HERE, "sklearn"), exist_ok=True)
    with open(os.path.join(HERE, "sklearn", "knn.json"), "w") as f:
        json.dump({"sklearn": sklearn.__version__, "cases": cases}, f)


if __name__ == "__main__":
    main()

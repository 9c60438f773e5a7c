"""Generate scikit-learn 1.2.1 reference fixtures for mlrun's ml/naivebayes package.

Run from the package directory:  /usr/bin/python3 testdata/gen.py
Inputs: iris.csv and wine.csv in ml/internal/mltest/testdata (copies of
/work/shared/data, target last).
Output: testdata/sklearn/gaussian_nb.json.
"""
import json
import os

import numpy as np
import sklearn
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB

assert sklearn.__version__ == "1.2.1", sklearn.__version__
HERE = os.path.dirname(os.path.abspath(__file__))
# iris.csv and wine.csv are shared by several ml packages.
SHARED = os.path.join(HERE, "..", "..", "internal", "mltest", "testdata")


def load(name):
    data = np.loadtxt(os.path.join(SHARED, name), delimiter=",", skiprows=1)
    return data[:, :-1], data[:, -1]


def main():
    cases = []
    for data in ("iris", "wine"):
        X, y = load(data + ".csv")
        tr, te = train_test_split(np.arange(len(y)), random_state=42)
        for vs in (1e-9, 1e-3, 0.1):
            for priors in (None, [0.2, 0.3, 0.5]):
                params = {"var_smoothing": vs, "priors": priors}
                m = GaussianNB(**params).fit(X[tr], y[tr].astype(int))
                pred = m.predict(X[te])
                cases.append({
                    "name": "%s_vs%g_%s" % (data, vs, "priors" if priors else "noprior"),
                    "data": data, "train": tr.tolist(), "test": te.tolist(), "params": params,
                    "theta": m.theta_.tolist(), "var": m.var_.tolist(),
                    "class_prior": m.class_prior_.tolist(), "epsilon": float(m.epsilon_),
                    "pred": pred.astype(float).tolist(), "proba": m.predict_proba(X[te]).tolist(),
                    "log_proba": m.predict_log_proba(X[te]).tolist(),
                    "accuracy": float((pred == y[te]).mean()),
                })
    os.makedirs(os.path.join(HERE, "sklearn"), exist_ok=True)
    with open(os.path.join(HERE, "sklearn", "gaussian_nb.json"), "w") as f:
        json.dump({"sklearn": sklearn.__version__, "cases": cases}, f)


if __name__ == "__main__":
    main()

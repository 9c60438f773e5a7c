"""Generate scikit-learn 1.2.1 reference fixtures for mlrun's ml/linear package.

Run from the package directory:  /usr/bin/python3 testdata/gen.py
It reads iris.csv and wine.csv from ml/internal/mltest/testdata (copies of
/work/shared/data), writes regression.csv there too (ml/neighbors uses it),
writes testdata/wide.csv, collinear.csv, diabetes.csv and the JSON fixtures in
testdata/sklearn/.
"""
import json
import os
import warnings

import numpy as np
import sklearn
from sklearn.datasets import load_diabetes, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import train_test_split

assert sklearn.__version__ == "1.2.1", sklearn.__version__
HERE = os.path.dirname(os.path.abspath(__file__))
# iris.csv, wine.csv and regression.csv are shared by several ml packages.
SHARED = os.path.join(HERE, "..", "..", "internal", "mltest", "testdata")
warnings.simplefilter("ignore", ConvergenceWarning)
warnings.simplefilter("ignore", FutureWarning)
warnings.simplefilter("ignore", UserWarning)


def load(name):
    data = np.loadtxt(os.path.join(SHARED, name), delimiter=",", skiprows=1)
    return data[:, :-1], data[:, -1]


def split(rows):
    """train_test_split(random_state=42) of the given row indices."""
    tr, te = train_test_split(np.asarray(rows), random_state=42)
    return [int(i) for i in tr], [int(i) for i in te]


def write_csv(path, X, y, names=None):
    p = X.shape[1]
    names = names or ["x%d" % j for j in range(p)]
    with open(path, "w") as f:
        f.write(",".join(names + ["target"]) + "\n")
        for row, t in zip(X, y):
            f.write(",".join(repr(float(v)) for v in row) + "," + repr(float(t)) + "\n")


def logistic_case(name, data, X, y, rows, classes, params, scale=False):
    tr, te = split(rows)
    lab = {c: i for i, c in enumerate(classes)}
    Xtr, Xte = X[tr], X[te]
    ytr = np.array([lab[v] for v in y[tr]])
    yte = np.array([lab[v] for v in y[te]])
    if scale:
        mu = Xtr.mean(axis=0)
        sd = Xtr.std(axis=0)
        Xtr = (Xtr - mu) / sd
        Xte = (Xte - mu) / sd
    m = LogisticRegression(**params).fit(Xtr, ytr)
    proba = m.predict_proba(Xte)
    pred = m.predict(Xte)
    return {
        "name": name,
        "data": data,
        "classes": classes,
        "scale": scale,
        "train": tr,
        "test": te,
        "params": params,
        "n_iter": [int(v) for v in m.n_iter_],
        "max_iter": params.get("max_iter", 100),
        "coef": m.coef_.tolist(),
        "intercept": m.intercept_.tolist(),
        "proba": proba.tolist(),
        "pred": [int(v) for v in pred],
        "accuracy": float((pred == yte).mean()),
    }


def regression_case(name, data, X, y, est, params):
    tr, te = split(range(len(y)))
    cls = {"linear_regression": LinearRegression, "ridge": Ridge}[est]
    m = cls(**params).fit(X[tr], y[tr])
    return {
        "name": name,
        "data": data,
        "estimator": est,
        "train": tr,
        "test": te,
        "params": params,
        "coef": np.ravel(m.coef_).tolist(),
        "intercept": float(m.intercept_),
        "pred": m.predict(X[te]).tolist(),
    }


def main():
    Xi, yi = load("iris.csv")
    Xw, yw = load("wine.csv")
    alli, allw = list(range(len(yi))), list(range(len(yw)))
    cases = []
    for C in (0.1, 1.0, 10.0):
        for mi in (200, 1000):
            cases.append(logistic_case("iris_C%g_it%d" % (C, mi), "iris", Xi, yi, alli, [0, 1, 2],
                                       {"C": C, "max_iter": mi, "random_state": 42}))
    cases.append(logistic_case("iris_default", "iris", Xi, yi, alli, [0, 1, 2], {}))
    cases.append(logistic_case("iris_nointercept", "iris", Xi, yi, alli, [0, 1, 2],
                               {"fit_intercept": False, "max_iter": 500}))
    cases.append(logistic_case("iris_penalty_none", "iris", Xi, yi, alli, [0, 1, 2],
                               {"penalty": "none", "max_iter": 1000}))
    cases.append(logistic_case("iris_ovr", "iris", Xi, yi, alli, [0, 1, 2],
                               {"multi_class": "ovr", "max_iter": 500}))
    cases.append(logistic_case("iris_tol1e-6", "iris", Xi, yi, alli, [0, 1, 2],
                               {"tol": 1e-6, "max_iter": 1000}))
    # Binary: iris classes 1 versus 2.
    rows12 = [i for i in alli if yi[i] in (1, 2)]
    for C in (0.1, 1.0, 10.0):
        cases.append(logistic_case("iris12_binary_C%g" % C, "iris", Xi, yi, rows12, [1, 2],
                                   {"C": C, "max_iter": 1000}))
    cases.append(logistic_case("iris12_multinomial", "iris", Xi, yi, rows12, [1, 2],
                               {"multi_class": "multinomial", "max_iter": 1000}))
    # Imbalanced subsets with class_weight="balanced".
    imb = [i for i in alli if yi[i] == 0] + [i for i in alli if yi[i] == 1][:20] + \
        [i for i in alli if yi[i] == 2][:8]
    for cw in (None, "balanced"):
        cases.append(logistic_case("iris_imbalanced_%s" % cw, "iris", Xi, yi, imb, [0, 1, 2],
                                   {"class_weight": cw, "max_iter": 1000}))
    imb2 = [i for i in alli if yi[i] == 1] + [i for i in alli if yi[i] == 2][:12]
    for cw in (None, "balanced"):
        cases.append(logistic_case("iris12_imbalanced_%s" % cw, "iris", Xi, yi, imb2, [1, 2],
                                   {"class_weight": cw, "max_iter": 1000}))
    cases.append(logistic_case("iris_ovr_balanced", "iris", Xi, yi, imb, [0, 1, 2],
                               {"multi_class": "ovr", "class_weight": "balanced", "max_iter": 1000}))
    # Wine: unscaled (lbfgs usually stops at max_iter) and standardised.
    for C in (0.1, 1.0, 10.0):
        for mi in (200, 1000):
            cases.append(logistic_case("wine_C%g_it%d" % (C, mi), "wine", Xw, yw, allw, [0, 1, 2],
                                       {"C": C, "max_iter": mi}))
    for C in (0.1, 1.0, 10.0):
        cases.append(logistic_case("wine_scaled_C%g" % C, "wine", Xw, yw, allw, [0, 1, 2],
                                   {"C": C, "max_iter": 1000}, scale=True))
    with open(os.path.join(HERE, "sklearn", "logistic.json"), "w") as f:
        json.dump({"sklearn": sklearn.__version__, "cases": cases}, f)

    # Regression data.
    Xr, yr = make_regression(n_samples=200, n_features=6, n_informative=4, noise=5.0,
                             bias=3.5, random_state=7)
    write_csv(os.path.join(SHARED, "regression.csv"), Xr, yr)
    Xwide, ywide = make_regression(n_samples=24, n_features=40, noise=1.0, random_state=3)
    write_csv(os.path.join(HERE, "wide.csv"), Xwide, ywide)
    d = load_diabetes()
    write_csv(os.path.join(HERE, "diabetes.csv"), d.data, d.target, list(d.feature_names))
    # A collinear design: last column duplicates the first.
    Xcol = np.hstack([Xr[:, :3], Xr[:, :1]])
    write_csv(os.path.join(HERE, "collinear.csv"), Xcol, yr)
    data = {"regression": (Xr, yr), "wide": (Xwide, ywide), "diabetes": (d.data, d.target),
            "collinear": (Xcol, yr)}
    reg = []
    for name, (X, y) in data.items():
        reg.append(regression_case(name + "_ols", name, X, y, "linear_regression", {}))
        reg.append(regression_case(name + "_ols_nointercept", name, X, y, "linear_regression",
                                   {"fit_intercept": False}))
        for a in (0.0 if name != "wide" and name != "collinear" else 1e-3, 0.5, 1.0, 10.0):
            reg.append(regression_case("%s_ridge_a%g" % (name, a), name, X, y, "ridge", {"alpha": a}))
        reg.append(regression_case(name + "_ridge_nointercept", name, X, y, "ridge",
                                   {"alpha": 1.0, "fit_intercept": False}))
    with open(os.path.join(HERE, "sklearn", "regression.json"), "w") as f:
        json.dump({"sklearn": sklearn.__version__, "cases": reg}, f)


if __name__ == "__main__":
    main()

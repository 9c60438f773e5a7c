#!/usr/bin/python3
"""Writes pca.json, the scikit-learn 1.2.1 reference of the ml/decomp tests
(run from ml/decomp with Debian's python3-sklearn: /usr/bin/python3 testdata/gen.py):
PCA(n_components=2 or 3, svd_solver="full").fit_transform on the shared
iris and wine data (features only) and on wine standardised."""
import json
import numpy as np
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

def load(name):
    d = np.genfromtxt(f"../internal/mltest/testdata/{name}.csv", delimiter=",", skip_header=1)
    return d[:, :-1]

cases = {}
for name, X, k in [("iris", load("iris"), 2), ("wine", load("wine"), 3),
                   ("wine_scaled", StandardScaler().fit_transform(load("wine")), 2)]:
    p = PCA(n_components=k, svd_solver="full")
    Z = p.fit_transform(X)
    cases[name] = {"source": name.split("_")[0], "scaled": name.endswith("scaled"), "k": k,
                   "transformed": Z.tolist(), "components": p.components_.tolist(),
                   "explained_variance": p.explained_variance_.tolist(),
                   "explained_variance_ratio": p.explained_variance_ratio_.tolist(), "mean": p.mean_.tolist()}
json.dump(cases, open("testdata/pca.json", "w"))

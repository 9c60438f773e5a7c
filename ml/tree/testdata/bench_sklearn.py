"""Time scikit-learn's RandomForestClassifier on the data of
BenchmarkRandomForest50kx20 (ml/tree/tree_test.go).

Run from ml/tree:  /usr/bin/python3 testdata/bench_sklearn.py

The data are rebuilt exactly as the Go benchmark builds them: 60,000 × 20
uniform values from numpy's RandomState(0).random_sample (the same MT19937
stream the Go code reproduces), a 3-class label from a fixed rule; the first
50,000 rows train, the last 10,000 test.
"""
import os
import time

import numpy as np
from sklearn.ensemble import RandomForestClassifier

X = np.random.RandomState(0).random_sample((60000, 20))
x = X.T
s = x[0] * x[1] + x[2] - x[3] * x[4] + 0.5 * x[5] * x[6] + 0.3 * x[7] - 0.2 * x[8] + 0.4 * x[9]
y = np.where(s < 0.55, 0, np.where(s < 0.9, 1, 2))
Xtr, ytr, Xte, yte = X[:50000], y[:50000], X[50000:], y[50000:]

m = RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0)
start = time.perf_counter()
m.fit(Xtr, ytr)
elapsed = time.perf_counter() - start
print(f"cpus={os.cpu_count()} fit_seconds={elapsed:.2f} "
      f"test_accuracy={(m.predict(Xte) == yte).mean():.4f} "
      f"class_counts={np.bincount(ytr).tolist()} "
      f"first_tree_nodes={m.estimators_[0].tree_.node_count}")

"""The 100-trial sweep of examples/iris written as the loop a scikit-learn
user would write, for BenchmarkSweep100: load iris, split with
random_state=42 once, then for each C fit LogisticRegression(C=C,
max_iter=200, random_state=42) and score it on the test split. Run with
Debian's python3-sklearn:

    /usr/bin/python3 cmd/mlrun/testdata/bench/sweep.py examples/iris/data/iris.csv C1,C2,...
"""
import csv
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

path, cs = sys.argv[1], [float(c) for c in sys.argv[2].split(",")]
with open(path) as f:
    rows = list(csv.reader(f))
X = np.array([[float(v) for v in r[:-1]] for r in rows[1:]])
y = np.array([int(r[-1]) for r in rows[1:]])
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=42)
scores = []
for C in cs:
    model = LogisticRegression(C=C, max_iter=200, random_state=42).fit(X_train, y_train)
    scores.append(accuracy_score(y_test, model.predict(X_test)))
print(len(scores), "fits, best accuracy", max(scores))

"""The classic tutorial pipeline written with scikit-learn alone, for
BenchmarkIrisEndToEnd: load iris, split with random_state=42, fit
LogisticRegression(max_iter=200), score it, draw the confusion matrix when
matplotlib is there, and pickle the model. Run with Debian's python3-sklearn:

    /usr/bin/python3 cmd/mlrun/testdata/bench/train.py examples/iris/data/iris.csv OUTDIR
"""
import csv
import json
import os
import pickle
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix
from sklearn.model_selection import train_test_split

path, out = sys.argv[1], sys.argv[2]
with open(path) as f:
    rows = list(csv.reader(f))
X = np.array([[float(v) for v in r[:-1]] for r in rows[1:]])
y = np.array([int(r[-1]) for r in rows[1:]])
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=42)
model = LogisticRegression(max_iter=200, random_state=42).fit(X_train, y_train)
pred = model.predict(X_test)
report = classification_report(y_test, pred, output_dict=True)
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "metrics.json"), "w") as f:
    json.dump({"accuracy": accuracy_score(y_test, pred), "report": report}, f)
cm = confusion_matrix(y_test, pred)
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    ax.imshow(cm, cmap="Blues")
    fig.savefig(os.path.join(out, "confusion_matrix.png"))
except ImportError:
    pass
with open(os.path.join(out, "model.pkl"), "wb") as f:
    pickle.dump(model, f)

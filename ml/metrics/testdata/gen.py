"""Dump scikit-learn 1.2.1 metric values for ml/metrics' tests.

Run from ml/metrics: /usr/bin/python3 testdata/gen.py
"""
import json
import os
import warnings

import numpy as np
import sklearn
from sklearn import metrics

assert sklearn.__version__ == "1.2.1", sklearn.__version__
warnings.simplefilter("ignore")  # zero-division and undefined-metric warnings


def classification_case(name, y_true, y_pred, proba, k, target_names=None, loss_proba=None):
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    proba = np.asarray(proba, dtype=float)
    labels = list(range(k))
    p, r, f, s = metrics.precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division="warn")
    c = {
        "name": name,
        "k": k,
        "y_true": y_true.tolist(),
        "y_pred": y_pred.tolist(),
        "proba": proba.tolist(),
        "accuracy": metrics.accuracy_score(y_true, y_pred),
        "confusion_matrix": metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "precision": p.tolist(),
        "recall": r.tolist(),
        "f1": f.tolist(),
        "support": s.tolist(),
    }
    for avg in ("macro", "weighted"):
        ap, ar, af, _ = metrics.precision_recall_fscore_support(y_true, y_pred, labels=labels, average=avg)
        c[avg] = [ap, ar, af]
    c["log_loss"] = metrics.log_loss(y_true, proba, labels=labels)
    if loss_proba is not None:
        c["loss_proba"] = np.asarray(loss_proba, dtype=float).tolist()
        c["loss_proba_log_loss"] = metrics.log_loss(y_true, np.asarray(loss_proba, dtype=float), labels=labels)
    try:
        if k == 2:
            c["roc_auc"] = metrics.roc_auc_score(y_true, proba[:, 1])
        else:
            c["roc_auc"] = metrics.roc_auc_score(y_true, proba, multi_class="ovr", average="macro", labels=labels)
    except ValueError as e:
        c["roc_auc"] = None
        c["roc_auc_error"] = str(e)
    if k == 2:
        fpr, tpr, thr = metrics.roc_curve(y_true, proba[:, 1])
        c["roc_curve"] = {key: [None if np.isnan(v) else v for v in arr.tolist()]  # null = NaN
                          for key, arr in (("fpr", fpr), ("tpr", tpr), ("thresholds", thr))}
    report = metrics.classification_report(
        y_true, y_pred, labels=labels, target_names=target_names, output_dict=True, zero_division="warn"
    )
    c["target_names"] = target_names
    c["report"] = report
    c["report_json"] = json.dumps(report)
    return c


def dirichlet(rs, n, k):
    return rs.dirichlet(np.ones(k), size=n)


rs = np.random.RandomState(0)
cases = []

# Hand-made binary, with tied scores.
cases.append(classification_case(
    "binary_hand",
    [0, 0, 1, 1, 1, 0, 1, 0, 1, 1],
    [0, 1, 1, 1, 0, 0, 1, 0, 1, 0],
    [[0.9, 0.1], [0.4, 0.6], [0.35, 0.65], [0.2, 0.8], [0.6, 0.4],
     [0.6, 0.4], [0.1, 0.9], [0.8, 0.2], [0.35, 0.65], [0.5, 0.5]],
    2, target_names=["no", "yes"],
    loss_proba=[[1.0, 0.0], [0.0, 1.0], [0.3, 0.9], [0.2, 0.8], [0.6, 0.4],
                [2.0, 1.0], [0.1, 0.9], [0.8, 0.2], [0.35, 0.65], [0.5, 0.5]],
))

# Hand-made 3-class where class 2 is never predicted.
y3 = [0, 1, 2, 2, 1, 0, 0, 2, 1, 1, 2, 0]
p3 = [0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0]
cases.append(classification_case("three_never_predicted", y3, p3, dirichlet(rs, len(y3), 3), 3,
                                 target_names=["setosa", "versicolor", "virginica"]))

# Random binary with many ties (scores rounded to one decimal).
n = 300
yb = rs.randint(0, 2, n)
sb = np.round(np.clip(yb * 0.3 + rs.uniform(0, 0.7, n), 0, 1), 1)
pb = (sb > 0.5).astype(int)
cases.append(classification_case("binary_random_ties", yb, pb, np.c_[1 - sb, sb], 2))

# Random binary, continuous scores, no ties.
yb = rs.randint(0, 2, 157)
sb = 1 / (1 + np.exp(-(2 * yb - 1 + rs.standard_normal(157))))
cases.append(classification_case("binary_random", yb, (sb > 0.5).astype(int), np.c_[1 - sb, sb], 2))

# Random 3-class.
y = rs.randint(0, 3, 200)
pr = dirichlet(rs, 200, 3)
pr[np.arange(200), y] += 0.5
pr /= pr.sum(axis=1, keepdims=True)
cases.append(classification_case("three_random", y, pr.argmax(axis=1), pr, 3))

# 4 classes where class 3 is neither true nor predicted: the report has
# "micro avg" instead of "accuracy" and ROC AUC is undefined.
y = rs.randint(0, 3, 40)
pr = np.c_[dirichlet(rs, 40, 3) * 0.9, np.full(40, 0.1)]
cases.append(classification_case("four_one_absent", y, pr[:, :3].argmax(axis=1), pr, 4))

# Single-class y_true: ROC AUC undefined.
cases.append(classification_case("binary_one_class", [1, 1, 1, 1], [1, 0, 1, 1],
                                 [[0.2, 0.8], [0.7, 0.3], [0.4, 0.6], [0.1, 0.9]], 2))

regression = []
for name, yt, yp in [
    ("hand", [3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0]),
    ("random", rs.standard_normal(500) * 10 + 3, None),
    ("constant_true_exact", [2.0, 2.0, 2.0], [2.0, 2.0, 2.0]),
    ("constant_true_off", [2.0, 2.0, 2.0], [1.0, 2.0, 3.5]),
]:
    yt = np.asarray(yt, dtype=float)
    if yp is None:
        yp = yt + rs.standard_normal(len(yt)) * 4
    yp = np.asarray(yp, dtype=float)
    regression.append({
        "name": name,
        "y_true": yt.tolist(),
        "y_pred": yp.tolist(),
        "r2": metrics.r2_score(yt, yp),
        "mae": metrics.mean_absolute_error(yt, yp),
        "rmse": metrics.mean_squared_error(yt, yp, squared=False),
    })

out = {"sklearn": sklearn.__version__, "numpy": np.__version__,
       "classification": cases, "regression": regression}
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "sklearn_metrics.json"), "w") as f:
    json.dump(out, f, separators=(",", ":"), allow_nan=False)
    f.write("\n")

"""Dump scikit-learn 1.2.1 train_test_split indices for ml/split's tests.

Run from ml/split: /usr/bin/python3 testdata/gen.py
Reads the iris and wine labels from /work/shared/data and stores them in the
fixture, so the Go tests need nothing outside testdata/.
"""
import csv
import json
import os

import numpy as np
import sklearn
from sklearn.model_selection import train_test_split

assert sklearn.__version__ == "1.2.1", sklearn.__version__

SEEDS = [0, 1, 42, 123, 2**31 - 1, 2**32 - 1]


def labels_of(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return [float(r["target"]) for r in rows]


def split(n, test_size, train_size, seed, shuffle=True, stratify=None):
    train, test = train_test_split(
        np.arange(n),
        test_size=test_size,
        train_size=train_size,
        random_state=seed,
        shuffle=shuffle,
        stratify=stratify,
    )
    return " ".join(map(str, train)), " ".join(map(str, test))


plain = []
sizes = [
    (None, None),
    (0.2, None),
    (0.33, None),
    (0.5, None),
    (7, None),
    (None, 0.6),
    (0.3, 0.5),
    (3, 5),
]
for n in (10, 37, 150, 178):
    for seed in SEEDS:
        for test_size, train_size in sizes:
            train, test = split(n, test_size, train_size, seed)
            plain.append({"n": n, "test_size": test_size, "train_size": train_size,
                          "seed": seed, "train": train, "test": test})
for seed in (0, 42, 2**32 - 1):
    for test_size, train_size in ((None, None), (0.33, None), (250, 500)):
        train, test = split(1000, test_size, train_size, seed)
        plain.append({"n": 1000, "test_size": test_size, "train_size": train_size,
                      "seed": seed, "train": train, "test": test})
for n, test_size, train_size in ((10, None, None), (150, 0.2, None), (37, 0.3, 0.5)):
    train, test = split(n, test_size, train_size, None, shuffle=False)
    plain.append({"n": n, "test_size": test_size, "train_size": train_size,
                  "seed": None, "shuffle": False, "train": train, "test": test})

rng = np.random.RandomState(7)
imbalanced37 = rng.permutation([0.0] * 20 + [1.0] * 10 + [2.0] * 5 + [3.0] * 2).tolist()
imbalanced1000 = rng.permutation([5.0] * 900 + [-1.0] * 90 + [2.5] * 10).tolist()
label_sets = {
    "iris": labels_of("/work/shared/data/iris.csv"),
    "wine": labels_of("/work/shared/data/wine.csv"),
    "imbalanced37": imbalanced37,
    "imbalanced1000": imbalanced1000,
}
stratified = []
strat_sizes = [(None, None), (0.2, None), (0.33, None), (0.5, 0.3), (20, None)]
for name, y in label_sets.items():
    seeds = SEEDS if len(y) < 1000 else [0, 42]
    for seed in seeds:
        for test_size, train_size in strat_sizes:
            if name == "imbalanced37" and test_size == 20:
                test_size = 12
            train, test = split(len(y), test_size, train_size, seed, stratify=np.array(y))
            stratified.append({"labels": name, "test_size": test_size, "train_size": train_size,
                               "seed": seed, "train": train, "test": test})

errors = []
for n, test_size, train_size, strat, shuffle in [
    (150, 0.0, None, None, True),
    (150, 1.5, None, None, True),
    (150, 150, None, None, True),
    (150, None, 1.2, None, True),
    (150, 0.6, 0.5, None, True),
    (150, 100, 60, None, True),
    (150, -3, None, None, True),
    (10, 0.95, None, None, True),
    (4, None, None, [0.0, 0.0, 0.0, 1.0], True),
    (150, 2, None, "iris", True),
    (150, None, 2, "iris", True),
    (150, 0.25, None, "iris", False),
    (0, None, None, None, True),
]:
    y = np.array(label_sets[strat]) if isinstance(strat, str) else (None if strat is None else np.array(strat))
    try:
        split(n, test_size, train_size, 0, shuffle=shuffle, stratify=y)
        raise SystemExit("expected an error for %r" % ((n, test_size, train_size, strat),))
    except ValueError as e:
        errors.append({"n": n, "test_size": test_size, "train_size": train_size,
                       "stratify": strat, "shuffle": shuffle, "sklearn_error": str(e)})

out = {"sklearn": sklearn.__version__, "numpy": np.__version__, "labels": label_sets,
       "plain": plain, "stratified": stratified, "errors": errors}
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "train_test_split.json"), "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")

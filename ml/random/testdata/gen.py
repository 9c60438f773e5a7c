"""Dump the reference streams for ml/random's tests.

numpy_legacy.json: numpy 1.24 legacy RandomState outputs.
libsvm_newrand.json: scikit-learn 1.2.1's libsvm/liblinear generator
(sklearn/svm/src/newrand/newrand.h: std::mt19937 plus bounded_rand_int),
called through its test wrapper sklearn.svm._newrand.

Run from ml/random: /usr/bin/python3 testdata/gen.py
"""
import json
import os

import numpy as np
import sklearn
from sklearn.svm._newrand import bounded_rand_int_wrap, set_seed_wrap

assert np.__version__.startswith("1.24"), np.__version__
assert sklearn.__version__ == "1.2.1", sklearn.__version__

SEEDS = [0, 1, 42, 123, 2**31 - 1, 2**32 - 1, 5489]
cases = []
for seed in SEEDS:
    c = {"seed": seed}
    rs = np.random.RandomState(seed)
    c["uint32"] = [int(v) for v in rs.randint(0, 2**32, size=8, dtype=np.uint64)]
    rs = np.random.RandomState(seed)
    c["random_sample"] = [float(v).hex() for v in rs.random_sample(8)]
    rs = np.random.RandomState(seed)
    c["permutation"] = {str(n): rs.permutation(n).tolist() for n in (1, 2, 5, 10, 37, 150)}
    rs = np.random.RandomState(seed)
    arr = np.arange(100, 120)
    rs.shuffle(arr)
    c["shuffle_100_120"] = arr.tolist()
    rs = np.random.RandomState(seed)
    c["randint"] = [
        {"low": lo, "high": hi, "values": rs.randint(lo, hi, size=6).tolist()}
        for lo, hi in ((0, 2), (0, 10), (-5, 5), (3, 4), (0, 2**31 - 1), (0, 2**32), (7, 2**40))
    ]
    rs = np.random.RandomState(seed)
    c["randint_scalar"] = [int(rs.randint(0, 1000)) for _ in range(5)]
    rs = np.random.RandomState(seed)
    c["normal"] = [float(v).hex() for v in rs.standard_normal(9)]
    # Interleaving: standard_normal's cached value survives other draws.
    rs = np.random.RandomState(seed)
    seq = [float(rs.standard_normal()).hex(), float(rs.random_sample()).hex(), float(rs.standard_normal()).hex()]
    c["normal_interleaved"] = seq
    cases.append(c)

arrays = []
for key in ([1, 2, 3], [0], [2**32 - 1, 5, 0]):
    rs = np.random.RandomState(key)
    arrays.append({"key": key, "random_sample": [float(v).hex() for v in rs.random_sample(4)]})

out = {"numpy": np.__version__, "cases": cases, "arrays": arrays}
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "numpy_legacy.json"), "w") as f:
    json.dump(out, f, indent=1)

# libsvm's bounded_rand_int: bounds 0 and 1 still consume a word; bounds
# just above 2**31 reject about half the words; 150..1 is the shuffle of
# svm_binary_svc_probability for 150 rows.
BOUNDS = [0, 1, 2, 3, 7, 10, 150, 1000, 2**31 - 1, 2**31 + 1, 3 * 2**30, 2**32 - 1] * 4 + list(range(150, 0, -1))
libsvm = []
for seed in SEEDS:
    set_seed_wrap(seed)
    libsvm.append({"seed": seed, "values": [int(bounded_rand_int_wrap(b)) for b in BOUNDS]})
with open(os.path.join(here, "libsvm_newrand.json"), "w") as f:
    json.dump({"sklearn": sklearn.__version__, "bounds": BOUNDS, "cases": libsvm}, f)

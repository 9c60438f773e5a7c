"""Dump numpy 1.24 legacy RandomState outputs for ml/random's tests.

Run from ml/random: /usr/bin/python3 testdata/gen.py
"""
import json
import os

import numpy as np

assert np.__version__.startswith("1.24"), np.__version__

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

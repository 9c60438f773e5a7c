"""Time scikit-learn's LogisticRegression on the data of BenchmarkLogisticRegression100kx50.

    MLRUN_BENCH_DATA=/tmp/lr100k.bin go test -run '^$' -bench LogisticRegression100kx50 -benchtime 1x ./ml/linear/
    /usr/bin/python3 ml/linear/testdata/bench_sklearn.py /tmp/lr100k.bin

The file holds X (100000 x 50, row-major) then y, as little-endian float64.
"""
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression

n, p = 100_000, 50
raw = np.fromfile(sys.argv[1], dtype="<f8")
X = raw[: n * p].reshape(n, p)
y = raw[n * p:].astype(int)
times = []
for _ in range(3):
    t0 = time.perf_counter()
    m = LogisticRegression().fit(X, y)
    times.append(time.perf_counter() - t0)
print("n_iter %d, train accuracy %.4f" % (m.n_iter_[0], m.score(X, y)))
print("fit seconds: best %.3f of %s" % (min(times), ", ".join("%.3f" % t for t in times)))

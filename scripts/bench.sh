#!/usr/bin/env bash
# make bench: every benchmark the issues ask for, each with its anchor
# measured in the same run, so that figures can be quoted as ratios.
# The scikit-learn anchors need Debian's python3-sklearn at /usr/bin/python3;
# without it those lines are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
bench() { "$GO" test -run '^$' -bench "$@" 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' | sed 's/\t/ /g; s/  */ /g'; }

echo "== tracking store: LogBatch vs raw inserts (points/s), search over 10,000 runs"
bench 'LogBatch1000|RawInsert1000|Search10k' -benchtime 20x ./sqlite

echo "== whole processes: mlrun run vs sh -c true; iris vs scikit-learn; 100-trial sweep vs 100 processes vs the fit loop"
bench . -benchtime 3x ./cmd/mlrun

echo "== serving: one-row predictions vs a Go hello-world handler, 32 connections on 127.0.0.1"
bench Serve -benchtime 1x ./serving

echo "== mlrun server: runs created/s and log-batch points/s (1000-point batches), 16 clients on 127.0.0.1, vs a hello-world Go handler; MLflow's reference server under the same load when its client is installed"
bench 'Server' -benchtime 2000x ./server
if /usr/bin/python3 -c 'import sys; sys.path[:0] = ["/opt/mlflow-2.12.2/src", "/opt/mlflow-2.12.2/shim"]; import mlflow' 2>/dev/null; then
  MLRUN_BENCH_MLFLOW=1 bench 'MLflowReferenceCreateRun' -benchtime 200x ./server
  MLRUN_BENCH_MLFLOW=1 bench 'MLflowReferenceLogBatch' -benchtime 20x ./server
fi
echo "== mlrun server: search over 100,000 runs through runs/search vs the store as the CLI searches"
bench 'Search100k' -benchtime 20x ./server
echo "== mlrun server: 16 clients logging for 60 s lose nothing"
MLRUN_SOAK_SECONDS=60 "$GO" test -count=1 -run 'TestConcurrentClientsLoseNothing' -v ./server 2>&1 | grep -E 'points acknowledged|^(ok|FAIL|---)' | sed 's/^ *//'

echo "== fit time vs scikit-learn (same data, same hyperparameters)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
MLRUN_BENCH_DATA="$tmp/lr.bin" bench 'LogisticRegression100kx50' -benchtime 1x ./ml/linear
if /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
  /usr/bin/python3 ml/linear/testdata/bench_sklearn.py "$tmp/lr.bin" | sed 's/^/scikit-learn LogisticRegression: /'
fi
bench 'RandomForest50kx20' -benchtime 1x ./ml/tree
if /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
  (cd ml/tree && /usr/bin/python3 testdata/bench_sklearn.py) | sed 's/^/scikit-learn RandomForestClassifier: /'
fi

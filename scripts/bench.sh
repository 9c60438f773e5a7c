#!/usr/bin/env bash
# make bench: every speed figure the issues ask for, each a ratio against an
# anchor doing the same work, measured side by side in the same run. The two
# sides alternate, MLRUN_BENCH_PAIRS times (default 5; 3 for the slow
# sweeps, 2 for the fits, at least 15 for serving and 200 for the quick iris
# comparisons), and
# each figure is the median ratio with its spread
# (min–max over the pairs). Ends with one table of every figure.
#
# The scikit-learn anchors need Debian's python3-sklearn at /usr/bin/python3;
# without it their lines say so. The 100,000-run search store is built once
# and kept in MLRUN_BENCH_CACHE (default ~/.cache/mlrun-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
export MLRUN_BENCH_PAIRS=${MLRUN_BENCH_PAIRS:-5}
export MLRUN_BENCH_CACHE=${MLRUN_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlrun-bench}
mkdir -p "$MLRUN_BENCH_CACHE"
tmp=$(mktemp -d)
scratch=$(mktemp -d)
trap 'rm -rf "$tmp" "$scratch"' EXIT
figures=$tmp/figures
# Every benchmark's scratch (TMPDIR: Go's b.TempDir, so the stores and the
# runs' working directories) is made under a directory flagged as the top
# of a hierarchy (chattr +T), so that ext4 puts each benchmark's files in a
# block group of their own. On ext4 without a journal, as on the CI's
# virtual machines, creating a file scans past every inode of its group
# deleted in the last one to six minutes (a buffer lookup each): after
# thousands of files were removed, creating one took 200 µs instead of 6
# (an iris run creates about 16). Journaled ext4, which users have, never
# scans so; other file systems ignore the flag, as a missing chattr does.
# It is open to every user as /tmp is, for the services the benchmarks
# start under their own users (Slurm, PostgreSQL).
chmod 1777 "$scratch"
chattr +T "$scratch" 2>/dev/null || true
export TMPDIR=$scratch

# bench PKG PATTERN: runs the Go benchmarks of PKG matching PATTERN once
# each (they measure their own pairs) and keeps their figure lines.
bench() {
  echo "== $1: $2 (at ${SECONDS}s)" >&2
  if ! "$GO" test -run '^$' -bench "$2" -benchtime 1x -timeout 30m "$1" >"$tmp/out" 2>&1; then
    cat "$tmp/out" >&2
    echo "bench: $1 failed" >&2
    exit 1
  fi
  grep -o 'figure|.*' "$tmp/out" | tee -a "$figures" | sed 's/^figure|/   /' >&2 || true
}

# figure NAME ANCHOR GOAL OURS... -- ANCHORS...: appends a figure line from
# paired samples (ratio ours/anchor per pair), as internal/benchcmp does.
figure() {
  local name=$1 anchor=$2 goal=$3
  shift 3
  printf '%s\n' "$@" | awk -v name="$name" -v anchor="$anchor" -v goal="$goal" '
    $0 == "--" { side = 1; next }
    side == 0 { o[no++] = $0 } side == 1 { a[na++] = $0 }
    function median(v, n,   i, j, t) {
      for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
      return n % 2 ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2
    }
    END {
      n = no < na ? no : na
      for (i = 0; i < n; i++) { r[i] = o[i] / a[i]; oo[i] = o[i]; aa[i] = a[i] }
      m = median(r, n); split(goal, g, " ")
      verdict = goal == "" ? "-" : ((g[1] == ">=" && m >= g[2]) || (g[1] == "<=" && m <= g[2]) ? "met" : "NOT met")
      printf "figure|%s|%.3g|%s|%.3g|%.3g|%.3g-%.3g|%d|%s|%s\n", name, median(oo, n), anchor, median(aa, n), m, r[0], r[n - 1], n, goal, verdict
    }' >>"$figures"
}

bench ./sqlite 'CreateRun|LogBatch|Search100k'
bench ./serving 'Serve'
bench ./cmd/mlrun 'RunOverhead|IrisEndToEnd|Sweep100|Slurm'

# gobench PKG PATTERN BENCHTIME: Go benchmarks that print their own pairs
# (server, ONNX, web UI): their Benchmark lines as they are.
gobench() {
  echo "== $1: $2 (at ${SECONDS}s)" >&2
  "$GO" test -run '^$' -bench "$2" -benchtime "$3" -timeout 30m "$1" 2>&1 | grep -E '^(Benchmark|FAIL|---)' | sed 's/\t/ /g; s/  */ /g' >&2
}
echo "== mlrun server: runs created/s and log-batch points/s (1000-point batches), 16 clients on 127.0.0.1, vs a hello-world Go handler; MLflow's reference server under the same load when its client is installed" >&2
gobench ./server 'Server' 2000x
if /usr/bin/python3 -c 'import sys; sys.path[:0] = ["/opt/mlflow-2.12.2/src", "/opt/mlflow-2.12.2/shim"]; import mlflow' 2>/dev/null; then
  MLRUN_BENCH_MLFLOW=1 gobench ./server 'MLflowReferenceCreateRun' 200x
  MLRUN_BENCH_MLFLOW=1 gobench ./server 'MLflowReferenceLogBatch' 20x
fi
echo "== mlrun server: search over 100,000 runs through runs/search vs the store as the CLI searches" >&2
gobench ./server 'Search100k' 20x
echo "== mlrun server: 16 clients logging for 60 s lose nothing" >&2
MLRUN_SOAK_SECONDS=60 "$GO" test -count=1 -run 'TestConcurrentClientsLoseNothing' -v ./server 2>&1 | grep -E 'points acknowledged|^(ok|FAIL|---)' | sed 's/^ *//' >&2
echo "== serving an ONNX model through ONNX Runtime vs the native Go model" >&2
gobench ./serving 'ServeONNX' 1x
echo "== web UI on 100,000 runs: runs table page vs the store's SearchRuns (same query); first paint vs a one-line page; a 100,000-point chart (headless Chromium)" >&2
gobench ./ui 'RunsTable100k$|SearchRuns100k|MetricChart100k' 5x
bench ./ui 'RunsTable100kVsAPI|FirstPaint100k' # figures: page vs store and vs /ajax-api runs/search; first paint vs a one-line page
if /usr/bin/python3 -c 'import sys; sys.path[:0] = ["/opt/mlflow-2.12.2/src", "/opt/mlflow-2.12.2/shim"]; import mlflow' 2>/dev/null; then MLRUN_BENCH_MLFLOW=1 bench ./ui 'MLflowReferenceRunsSearch'; fi

# Fit time against scikit-learn on the same data, alternating a Go fit
# (one benchmark iteration) and a scikit-learn fit.
fits=$(( MLRUN_BENCH_PAIRS < 2 ? MLRUN_BENCH_PAIRS : 2 ))
seconds() { awk '/ns\/op/ { for (i = 1; i < NF; i++) if ($(i + 1) == "ns/op") printf "%.3f\n", $i / 1e9 }'; }
if /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
  echo "== fits: logistic regression and random forest vs scikit-learn (at ${SECONDS}s)" >&2
  "$GO" test -c -o "$tmp/linear.test" ./ml/linear
  "$GO" test -c -o "$tmp/tree.test" ./ml/tree
  MLRUN_BENCH_DATA="$tmp/lr.bin" "$tmp/linear.test" -test.run '^$' -test.bench LogisticRegression100kx50 -test.benchtime 1x >/dev/null
  lr_go=() lr_py=() rf_go=() rf_py=()
  for ((i = 0; i < fits; i++)); do
    lr_go+=("$(cd ml/linear && "$tmp/linear.test" -test.run '^$' -test.bench LogisticRegression100kx50 -test.benchtime 1x | seconds)")
    # bench_sklearn.py fits three times; the median is its sample.
    lr_py+=("$(/usr/bin/python3 ml/linear/testdata/bench_sklearn.py "$tmp/lr.bin" | sed -n 's/.* of //p' | tr ',' '\n' | sort -n | sed -n 2p | tr -d ' ')")
    rf_go+=("$(cd ml/tree && "$tmp/tree.test" -test.run '^$' -test.bench RandomForest50kx20 -test.benchtime 1x | seconds)")
    rf_py+=("$(cd ml/tree && /usr/bin/python3 testdata/bench_sklearn.py | sed -n 's/.*fit_seconds=\([0-9.]*\).*/\1/p')")
  done
  figure "logistic regression fit 100k×50 (s)" "scikit-learn" "" "${lr_go[@]}" -- "${lr_py[@]}"
  figure "random forest fit 50k×20 (s)" "scikit-learn" "" "${rf_go[@]}" -- "${rf_py[@]}"
else
  echo "figure|model fits (s)|-|scikit-learn|-|-|-|0|-|skipped: /usr/bin/python3 has no scikit-learn (apt-get install python3-sklearn)" >>"$figures"
fi

# The PostgreSQL store against raw pgx (its figure lines join the table).
GO=$GO scripts/bench-postgres.sh 2>&1 | tee /dev/stderr | grep -o 'figure|.*' >>"$figures" || true

echo
echo "make bench: ${SECONDS}s."
echo "Ratios are mlrun/anchor of the values in the units shown (for a rate, higher is better;"
echo "for a time, lower is). median over the pairs, spread = min–max of the per-pair ratios."
echo
{
  echo "figure|mlrun|anchor|anchor value|ratio|spread|pairs|goal|verdict"
  sed 's/^figure|//' "$figures"
} | awk -F'|' '{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } rows = NR; cols = NF > cols ? NF : cols }
  END { for (r = 1; r <= rows; r++) { line = ""; for (i = 1; i <= cols; i++) line = line sprintf("%-*s  ", w[i], cell[r, i]); sub(/ +$/, "", line); print line } }'

#!/usr/bin/env bash
# The PostgreSQL store's benchmarks (postgres/bench_test.go), each against
# raw pgx doing the same database work on the same schema, measured in
# alternating pairs (internal/benchcmp). internal/pgtest starts a throwaway
# server; without PostgreSQL installed the benchmarks are skipped.
# MLRUN_BENCH_PG_SEARCH picks the search sizes (default: 10k, 100k and 1M runs).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
sizes=${MLRUN_BENCH_PG_SEARCH:-'Search10k$|Search100k$|Search1M$'}
echo "== postgres store vs raw pgx: runs created and batched metric points per wall-clock and per CPU (client+server) second, search filter+order (ms) at growing sizes"
# The server keeps PostgreSQL's durable defaults (fsync, synchronous commit)
# for the absolute rates; the tests' servers turn them off.
MLRUN_PGTEST_DURABLE=1 "$GO" test ./postgres -run '^$' -bench "CreateRun|LogBatch|$sizes" -benchtime 1x -timeout 60m -v 2>&1 |
  grep -E 'figure\||^(ok|FAIL|---)|SKIP' | sed 's/^ *bench_test.go:[0-9]*: //'

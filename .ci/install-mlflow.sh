#!/usr/bin/env bash
# Install the real MLflow 2.12.2 Python client that the `mlrun server` tests
# (cmd/mlrun/server_test.go) drive: the shared folder's setup.sh installs
# Debian's python3 packages and unpacks MLflow's source into /opt (or
# $MLRUN_MLFLOW_DEST). The shared folder lies beside the clone in CI
# (read-only; setup.sh writes only to DEST), or in /work/shared.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=""
for d in "${MLRUN_SHARED_DIR:-}" ../shared /work/shared; do
  if [ -n "$d" ] && [ -x "$d/mlflow-client/setup.sh" ]; then shared="$d"; break; fi
done
if [ -z "$shared" ]; then
  echo "install-mlflow: no shared/mlflow-client folder beside the clone nor in /work/shared" >&2
  exit 1
fi
bash "$shared/mlflow-client/setup.sh" "${MLRUN_MLFLOW_DEST:-/opt/mlflow-2.12.2}" >/dev/null
echo "install-mlflow: MLflow 2.12.2 client ready in ${MLRUN_MLFLOW_DEST:-/opt/mlflow-2.12.2}"

#!/usr/bin/env bash
# Installs ONNX Runtime 1.30 (CPU) for the ml/onnx and serving tests: npm's onnxruntime-node
# package into $MLRUN_ONNX_DIR (default /opt/mlrun-onnx), whose bundled
# node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1 the Go tests load
# (github.com/yalue/onnxruntime_go dlopens it). node/npm come from Debian when missing, and
# Debian's python3-onnx, with which a serving test writes a model through mlflow.onnx.save_model.
# ONNXRUNTIME_NODE_INSTALL=skip: the package's postinstall would download CUDA libraries from
# api.nuget.org and fail; the CPU provider is bundled. Idempotent and quiet.
set -euo pipefail
DIR=${MLRUN_ONNX_DIR:-/opt/mlrun-onnx}
VERSION=1.30.0
LIB="$DIR/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"
need=()
command -v npm >/dev/null || need+=(nodejs npm)
/usr/bin/python3 -c 'import onnx' 2>/dev/null || need+=(python3-onnx)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ -f "$LIB" ] && grep -qs "\"version\": \"$VERSION\"" "$DIR/node_modules/onnxruntime-node/package.json"; then
  exit 0
fi
mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || echo '{"name": "mlrun-onnx", "private": true}' > package.json
ONNXRUNTIME_NODE_INSTALL=skip npm install --silent --no-audit --no-fund "onnxruntime-node@$VERSION" >/dev/null
test -f "$LIB" || { echo "install-onnx: $LIB is missing after npm install" >&2; exit 1; }

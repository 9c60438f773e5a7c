#!/usr/bin/env bash
# Regenerates onnx-ml.pb.go from onnx-ml.proto, which is ONNX's own file
# (https://github.com/onnx/onnx, onnx/onnx-ml.proto at commit
# f7546912001bc31e92a238b17068a21b373d882e; Apache-2.0, see LICENSE-onnx.txt).
# Needs protoc (Debian: apt-get install protobuf-compiler; 3.21.12 was used)
# and protoc-gen-go at the google.golang.org/protobuf version in go.mod.
# Run by `go generate ./ml/onnx/...`.
set -euo pipefail
cd "$(dirname "$0")"
BIN=$(mktemp -d)
trap 'rm -rf "$BIN"' EXIT
GOBIN="$BIN" go install google.golang.org/protobuf/cmd/protoc-gen-go
protoc --plugin=protoc-gen-go="$BIN/protoc-gen-go" -I . --go_out=. --go_opt=paths=source_relative \
  --go_opt=Monnx-ml.proto=github.com/mlrun/mlrun/ml/onnx/onnxpb onnx-ml.proto

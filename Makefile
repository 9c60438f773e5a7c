# mlrun: `make run` builds and runs the iris example on the embedded store;
# `make test` runs every test. Both need only Go (with cgo: gcc) and git.
GO      ?= go
BIN     := bin/mlrun
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build run test bench lint clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/mlrun

run: build
	./$(BIN) run examples/iris
	./$(BIN) runs list --limit 5

test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

bench:
	GO=$(GO) ./scripts/bench.sh

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

clean:
	rm -rf bin

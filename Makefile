# mlrun: `make run` builds and runs the iris example on the embedded store;
# `make test` runs every test. Both need only Go (with cgo: gcc) and git.
GO      ?= go
BIN     := bin/mlrun
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build run test test-race tidy-check bench lint clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/mlrun

run: build
	./$(BIN) run examples/iris
	./$(BIN) runs list --limit 5

test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

# test-race: the suite once more under the race detector: every package's
# own tests, and of the end-to-end tests those whose binary runs goroutines
# that share state (sweeps in one process, the step cache, concurrent runs,
# the server), with the binary itself built with -race.
test-race:
	$(GO) test -race -count=1 -timeout 30m $$($(GO) list ./... | grep -v /cmd/mlrun$$)
	MLRUN_TEST_RACE=1 $(GO) test -race -count=1 -timeout 30m -run 'Sweep|StepCache|Concurrent|HTTPStore' ./cmd/mlrun

# tidy-check: go.mod and go.sum are exactly what `go mod tidy` makes.
tidy-check:
	$(GO) mod tidy -diff

bench:
	GO=$(GO) ./scripts/bench.sh

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

clean:
	rm -rf bin

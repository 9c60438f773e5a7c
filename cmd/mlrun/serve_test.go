package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// classicRow is the request of MLflow's classic tutorial.
const classicRow = `{"data": [[5.1, 3.5, 1.4, 0.2]]}`

// predict posts classicRow and returns the single prediction.
func predict(client *http.Client, url string) (string, error) {
	resp, err := client.Post(url+"/invocations", "application/json", strings.NewReader(classicRow))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	var out struct{ Predictions []string }
	if err := json.Unmarshal(body, &out); err != nil || len(out.Predictions) != 1 {
		return "", fmt.Errorf("answer %s: %v", body, err)
	}
	return out.Predictions[0], nil
}

// TestServeFollowsTheAlias serves models:/iris@champion, moves the alias to
// a model that answers differently, and checks that the running server
// switches within seconds while a client loop sees no failed request; then
// SIGTERM ends the server with exit 0.
func TestServeFollowsTheAlias(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	e.ok(dir, "run", ".")
	first := e.onlyRun().Info.ID
	e.ok(dir, "models", "register", first, "--name", "iris", "--alias", "champion")

	// A second project whose labels are renamed: its model calls the
	// classic setosa row "virginica".
	dir2 := irisDir(t)
	mlproject, err := os.ReadFile(filepath.Join(dir2, "MLproject"))
	if err != nil {
		t.Fatal(err)
	}
	renamed := strings.Replace(string(mlproject), "class_names: [setosa, versicolor, virginica]", "class_names: [virginica, versicolor, setosa]", 1)
	if renamed == string(mlproject) {
		t.Fatal("could not rename the classes in the example MLproject")
	}
	writeFiles(t, dir2, map[string]string{"MLproject": renamed})
	e.ok(dir2, "run", ".")
	var second string
	for _, r := range e.runs() {
		if r.Info.ID != first {
			second = r.Info.ID
		}
	}
	e.ok(dir2, "models", "register", second, "--name", "iris")

	cmd := e.command(dir, "serve", "models:/iris@champion", "--port", "0", "--reload-every", "200ms")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// Read stderr until the address, then keep draining it for the log.
	addrRE := regexp.MustCompile(`^serving models:/iris@champion on (http://\S+)$`)
	urls := make(chan string, 1)
	var logMu sync.Mutex
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.Lock()
			log.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		close(urls)
	}()
	serverLog := func() string { logMu.Lock(); defer logMu.Unlock(); return log.String() }
	var url string
	select {
	case u, ok := <-urls:
		if !ok {
			t.Fatalf("mlrun serve ended before listening:\n%s", serverLog())
		}
		url = u
	case <-time.After(20 * time.Second):
		t.Fatalf("mlrun serve printed no address:\n%s", serverLog())
	}

	client := &http.Client{Timeout: 10 * time.Second}
	if got, err := predict(client, url); err != nil || got != "setosa" {
		t.Fatalf("first model predicts %q, %v; want setosa", got, err)
	}

	// A client loop runs while the alias moves.
	stop := make(chan struct{})
	type outcome struct {
		requests int
		failures []string
		seen     []string // distinct predictions in the order first seen
	}
	results := make(chan outcome, 1)
	go func() {
		var o outcome
		for {
			select {
			case <-stop:
				results <- o
				return
			default:
			}
			got, err := predict(client, url)
			o.requests++
			if err != nil {
				o.failures = append(o.failures, err.Error())
				continue
			}
			if len(o.seen) == 0 || o.seen[len(o.seen)-1] != got {
				o.seen = append(o.seen, got)
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	moved := time.Now()
	e.ok(dir, "models", "alias", "set", "iris", "champion", "2")
	waitFor(t, "the server to serve version 2", 10*time.Second, func() bool {
		got, err := predict(client, url)
		return err == nil && got == "virginica"
	})
	switchTime := time.Since(moved)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	o := <-results
	if len(o.failures) > 0 {
		t.Fatalf("%d of %d requests failed while the alias moved, e.g. %s", len(o.failures), o.requests, o.failures[0])
	}
	if strings.Join(o.seen, ",") != "setosa,virginica" {
		t.Fatalf("the client saw predictions %v, want setosa then virginica", o.seen)
	}
	t.Logf("%d requests, none failed; switched %v after the alias moved", o.requests, switchTime.Round(time.Millisecond))

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("mlrun serve after SIGTERM: %v\n%s", err, serverLog())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("mlrun serve did not stop after SIGTERM:\n%s", serverLog())
	}
	if !strings.Contains(serverLog(), "model reloaded") {
		t.Errorf("the server log does not mention the reload:\n%s", serverLog())
	}
}

func TestServeBadInput(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	e.fails(dir, 2, `model URI "iris" is not a model URI`, "serve", "iris")
	e.fails(dir, 3, `registered model "iris" does not exist`, "serve", "models:/iris@champion", "--port", "0")
	e.fails(dir, 3, "no run matches id prefix", "serve", "runs:/abcdef12/model", "--port", "0")
	e.fails(dir, 2, `--max-body "lots" is not a size`, "serve", "models:/iris/1", "--max-body", "lots")
	e.fails(dir, 2, "--port must be between 0 and 65535", "serve", "models:/iris/1", "--port", "70000")
	e.fails(dir, 2, "--reload-every must not be negative", "serve", "models:/iris/1", "--reload-every", "-1s")
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{"8MiB": 8 << 20, "512KiB": 512 << 10, "1GiB": 1 << 30, "8MB": 8e6, "1048576": 1 << 20, "2M": 2 << 20, "100B": 100} {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "0", "-1MiB", "1.5MiB", "8 MiB", "8TiB", "99999999999GiB"} {
		if _, err := parseByteSize(bad); err == nil {
			t.Errorf("parseByteSize(%q) succeeded", bad)
		}
	}
}

package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestUICommand starts `mlrun ui` on a free port of 127.0.0.1: it says which
// store it serves and how many runs it holds, and serves the pages.
func TestUICommand(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	c := e.command(dir, "ui", "--port", "0")
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		c.Process.Signal(os.Interrupt)
		c.Wait()
	}()
	sc := bufio.NewScanner(out)
	var lines []string
	base := ""
	re := regexp.MustCompile(`^mlrun ui: (http://127\.0\.0\.1:\d+)$`)
	deadline := time.Now().Add(30 * time.Second)
	for len(lines) < 4 && time.Now().Before(deadline) && sc.Scan() {
		lines = append(lines, sc.Text())
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
		}
	}
	go io.Copy(io.Discard, out)
	if base == "" || !strings.Contains(strings.Join(lines, "\n"), "holds 0 run(s)") || !strings.Contains(strings.Join(lines, "\n"), e.store) {
		t.Fatalf("mlrun ui said:\n%s", strings.Join(lines, "\n"))
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "No runs in this store yet") || !strings.Contains(string(b), e.store) {
		t.Errorf("GET /: %d\n%s", resp.StatusCode, b)
	}
}

func TestUICommandBadPort(t *testing.T) {
	e := newEnv(t)
	r := e.run(t.TempDir(), "ui", "--port", "70000")
	if r.code != 2 || !strings.Contains(r.stderr, "--port must be between 0 and 65535") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

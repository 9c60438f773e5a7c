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

// TestUICommandAuth: `mlrun ui --auth` wires the UI to the users of
// auth.db: without credentials a page is a 401 with a basic-auth challenge
// (the browser's login dialog); signed in, the page says who.
func TestUICommandAuth(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	c := e.command(dir, "ui", "--port", "0", "--auth")
	c.Env = append(c.Env, "MLRUN_AUTH_ADMIN_USERNAME=admin", "MLRUN_AUTH_ADMIN_PASSWORD=admin-password")
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
	base := ""
	re := regexp.MustCompile(`^mlrun ui: (http://127\.0\.0\.1:\d+)$`)
	for base == "" && sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
		}
	}
	go io.Copy(io.Discard, out)
	if base == "" {
		t.Fatal("mlrun ui --auth did not say where it serves")
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("GET / without credentials: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	req, _ := http.NewRequest("GET", base+"/", nil)
	req.SetBasicAuth("admin", "admin-password")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `Signed in as <strong id="signed-in">admin</strong>`) {
		t.Errorf("GET / as admin: %d\n%s", resp.StatusCode, b)
	}
}

func TestUICommandBadPort(t *testing.T) {
	e := newEnv(t)
	r := e.run(t.TempDir(), "ui", "--port", "70000")
	if r.code != 2 || !strings.Contains(r.stderr, "--port must be between 0 and 65535") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

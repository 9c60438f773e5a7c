package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlrun/mlrun/sqlite"
)

// serveOn runs a Server with opts through Serve (the http.Server mlrun
// server uses) on a loopback port and returns its address.
func serveOn(t *testing.T, opts Options) string {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		st.Close()
	})
	return ln.Addr().String()
}

// waitClosed reads conn until the server closes it and fails the test if
// that takes longer than limit. The limit is a generous margin over the
// server's timeout, far below the defaults (10 s, 2 min) the test sets
// smaller ones against.
func waitClosed(t *testing.T, conn net.Conn, limit time.Duration) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(limit))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %v", limit)
	}
}

// TestSlowHeadersAreCutOff sends request headers one line at a time, slower
// than the whole header timeout allows (a slowloris client): the server
// must close the connection even though bytes keep arriving.
func TestSlowHeadersAreCutOff(t *testing.T) {
	addr := serveOn(t, Options{ReadHeaderTimeout: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		io.WriteString(conn, "GET /health HTTP/1.1\r\nHost: x\r\n")
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := io.WriteString(conn, "X-Slow: 1\r\n"); err != nil {
				return // the server closed the connection
			}
		}
	}()
	waitClosed(t, conn, 5*time.Second)
}

// TestIdleConnectionIsClosed checks that a keep-alive connection that has
// been answered and then sends nothing is closed after the idle timeout.
func TestIdleConnectionIsClosed(t *testing.T) {
	addr := serveOn(t, Options{IdleTimeout: 300 * time.Millisecond, ReadHeaderTimeout: time.Minute})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil || !strings.Contains(status, "200") {
		t.Fatalf("GET /health: %q %v", status, err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(io.Discard, br)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the idle connection stayed open 5s with a 300ms idle timeout")
	}
}

// Package pgtest starts a throwaway PostgreSQL server for tests, once per
// test process, and hands each test its own database.
//
// The server comes from Debian's postgresql package (/usr/lib/postgresql/N/bin).
// initdb and postgres refuse to run as root, so when the tests run as root
// the server runs as the postgres user the package created. It listens on
// 127.0.0.1 at a free port, with its socket in a private directory, trust
// authentication and fsync off (unless MLRUN_PGTEST_DURABLE is set): it is
// for tests only. When no server binary
// is installed, tests call testenv.Missing (skip, or fail in CI).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mlrun/mlrun/internal/testenv"
)

// Server is a running throwaway PostgreSQL.
type Server struct {
	Dir  string // data directory
	Port int
	bin  string
	asPG bool   // commands run as the postgres user
	opts string // server options, for restarts
}

var (
	once    sync.Once
	server  *Server
	initErr error
)

// Start returns the process's server, starting it on first use; it skips
// (or fails, under MLRUN_REQUIRE_INTEGRATION=1) when PostgreSQL is absent.
// The server is stopped by Stop, which a TestMain should call; otherwise it
// stops when its data directory's parent is cleaned up by the OS.
func Start(t testing.TB) *Server {
	t.Helper()
	once.Do(func() { server, initErr = start() })
	if initErr != nil {
		if _, ok := initErr.(missingError); ok {
			testenv.Missing(t, "%s", initErr.Error())
		}
		t.Fatalf("start PostgreSQL: %v", initErr)
	}
	return server
}

// missingError says PostgreSQL is not installed.
type missingError string

func (e missingError) Error() string { return string(e) }

func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi < vj
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", missingError("PostgreSQL is not installed (no initdb; install Debian's postgresql package, see .ci/install-postgres.sh)")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start() (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, asPG: os.Geteuid() == 0}
	var pgUser *user.User
	if s.asPG {
		if pgUser, err = user.Lookup("postgres"); err != nil {
			return nil, missingError("running as root and there is no postgres user to run the server as")
		}
	}
	base := filepath.Join(os.TempDir(), "mlrun-pgtest")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(base, "pg")
	if err != nil {
		return nil, err
	}
	s.Dir = dir
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	if s.asPG {
		uid, _ := strconv.Atoi(pgUser.Uid)
		gid, _ := strconv.Atoi(pgUser.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	if out, err := s.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if out, err := s.run("mkdir", "-p", sock); err != nil {
		return nil, fmt.Errorf("mkdir %s: %v\n%s", sock, err, out)
	}
	for attempt := 0; ; attempt++ {
		if s.Port, err = freePort(); err != nil {
			return nil, err
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=300", s.Port, sock)
		if os.Getenv("MLRUN_PGTEST_DURABLE") == "" {
			// Tests need no durability; benchmarks that quote absolute
			// rates set MLRUN_PGTEST_DURABLE=1 to keep PostgreSQL's
			// defaults (fsync and synchronous commit on).
			opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
		}
		s.opts = opts
		out, err := s.run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "30", "-o", opts, "start")
		if err == nil {
			break
		}
		if attempt == 2 {
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			return nil, fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
		}
	}
	if out, err := s.run("createdb", "-h", sock, "-p", strconv.Itoa(s.Port), "-U", "postgres", "mlrun_test"); err != nil {
		return nil, fmt.Errorf("createdb: %v\n%s", err, out)
	}
	return s, nil
}

// run runs a server binary (or mkdir), as the postgres user when needed.
func (s *Server) run(name string, args ...string) ([]byte, error) {
	path := name
	if name != "mkdir" {
		path = filepath.Join(s.bin, name)
	}
	cmd := exec.Command(path, args...)
	if s.asPG {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	cmd.Dir = "/"
	return cmd.CombinedOutput()
}

// Stop stops the server of this process, if one was started, and removes
// its files. Call it from TestMain after m.Run.
func Stop() {
	if server == nil {
		return
	}
	server.run("pg_ctl", "-D", filepath.Join(server.Dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(server.Dir)
}

// Restart stops the server (fast shutdown: open connections are cut, as a
// crash or an administrator's restart would) and starts it again on the
// same port.
func (s *Server) Restart() error {
	data := filepath.Join(s.Dir, "data")
	if out, err := s.run("pg_ctl", "-D", data, "-l", filepath.Join(s.Dir, "server.log"), "-m", "fast", "-w", "-t", "30", "-o", s.opts, "restart"); err != nil {
		return fmt.Errorf("pg_ctl restart: %v\n%s", err, out)
	}
	return nil
}

// DSN returns the connection string of database db on the server.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// NewDatabase gives one test an empty schema of its own in the server's
// mlrun_test database, dropped when the test ends, and returns a DSN whose
// search_path selects it. (A schema costs milliseconds; a database, seconds.)
func NewDatabase(t testing.TB) string {
	t.Helper()
	s := Start(t)
	b := make([]byte, 6)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN("mlrun_test"))
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, s.DSN("mlrun_test"))
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE")
	})
	return s.DSN("mlrun_test") + "&search_path=" + name
}

// CPU returns the processor time (user and system) that the server's
// processes have used so far: the postmaster and its live children (the
// backends serving connections, and the background workers), read from
// /proc. A backend that has exited no longer counts, so measure across
// work done on connections that stay open. Linux only.
func (s *Server) CPU() (time.Duration, error) {
	pidFile, err := os.ReadFile(filepath.Join(s.Dir, "data", "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("read the server's pid: %w", err)
	}
	first, _, _ := strings.Cut(string(pidFile), "\n")
	master := strings.TrimSpace(first)
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var ticks int64
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", p.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// The fields after the command name (in parentheses, which may
		// hold spaces): state ppid ... utime (14th field) stime (15th).
		i := strings.LastIndexByte(string(stat), ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 13 || (p.Name() != master && f[1] != master) {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	// /proc counts in USER_HZ ticks, 100 per second on Linux.
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

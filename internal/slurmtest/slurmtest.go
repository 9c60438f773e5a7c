// Package slurmtest starts a throwaway single-node Slurm for tests, once
// per test process: munged, slurmctld and slurmd by hand (no systemd), and
// slurmdbd with a private MariaDB so that sacct works, all under a
// temporary base directory (start.sh, embedded, does the work; it follows
// the recipe checked on this machine kind). Jobs run as the user running
// the tests, which must be root (slurmd runs jobs as the submitting user and
// must be root to do so). When the Slurm binaries are missing or the tests
// do not run as root, tests call testenv.Missing (skip, or fail in CI).
package slurmtest

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mlrun/mlrun/internal/testenv"
)

//go:embed start.sh
var startScript []byte

// Cluster is a running single-node Slurm.
type Cluster struct {
	Base string // the base directory: slurm.conf, state, logs
	// Conf is the path of slurm.conf; clients find it through SLURM_CONF,
	// which Start sets in the test process's environment.
	Conf string

	shared bool // given by MLRUN_TEST_SLURM_CONF: not ours to stop
}

var (
	once    sync.Once
	cluster *Cluster
	initErr error
	missing string
)

// Start returns the process's cluster, starting it on first use.
func Start(t testing.TB) *Cluster {
	t.Helper()
	once.Do(func() { cluster, missing, initErr = start() })
	if missing != "" {
		testenv.Missing(t, "%s", missing)
	}
	if initErr != nil {
		t.Fatalf("start Slurm: %v", initErr)
	}
	return cluster
}

func start() (*Cluster, string, error) {
	// MLRUN_TEST_SLURM_CONF names the slurm.conf of a cluster that is
	// already running (a developer's, or one another test process left):
	// it is used as is and not stopped.
	if conf := os.Getenv("MLRUN_TEST_SLURM_CONF"); conf != "" {
		if _, err := os.Stat(conf); err != nil {
			return nil, "", fmt.Errorf("MLRUN_TEST_SLURM_CONF: %w", err)
		}
		return &Cluster{Base: filepath.Dir(conf), Conf: conf, shared: true}, "", os.Setenv("SLURM_CONF", conf)
	}
	for _, bin := range []string{"sbatch", "squeue", "sacct", "scancel", "slurmctld", "slurmd", "slurmdbd", "munged", "mariadbd", "mariadb-install-db"} {
		if _, err := exec.LookPath(bin); err != nil {
			if _, err2 := os.Stat(filepath.Join("/usr/sbin", bin)); err2 != nil {
				return nil, "Slurm is not installed (" + bin + " is missing; .ci/install-slurm.sh installs slurm-wlm, slurmdbd, munge and mariadb-server)", nil
			}
		}
	}
	if os.Geteuid() != 0 {
		return nil, "the test Slurm runs its daemons as root, and the tests do not run as root", nil
	}
	// The daemons listen on fixed ports: a cluster left by a test process
	// that was killed (a go test timeout, say) would hold them.
	stopStale()
	base, err := os.MkdirTemp("", "mlrun-slurmtest-")
	if err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(filepath.Join(base, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, "", err
	}
	// MariaDB runs as mysql and must reach its data directory.
	if err := os.Chmod(base, 0o755); err != nil {
		return nil, "", err
	}
	script := filepath.Join(base, "start.sh")
	if err := os.WriteFile(script, startScript, 0o755); err != nil {
		return nil, "", err
	}
	cmd := exec.Command("bash", script, base)
	cmd.Env = append(os.Environ(), "PATH=/usr/sbin:/usr/bin:/sbin:/bin:"+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		stopAt(base)
		return nil, "", fmt.Errorf("start.sh: %v\n%s", err, out)
	}
	c := &Cluster{Base: base, Conf: filepath.Join(base, "slurm.conf")}
	if err := os.Setenv("SLURM_CONF", c.Conf); err != nil {
		return nil, "", err
	}
	return c, "", nil
}

// ownerFile, in a cluster's base directory, holds the pid of the test
// process that started it.
const ownerFile = "owner.pid"

// stopStale stops the test clusters whose owning process is gone.
func stopStale() {
	bases, _ := filepath.Glob(filepath.Join(os.TempDir(), "mlrun-slurmtest-*"))
	for _, base := range bases {
		data, err := os.ReadFile(filepath.Join(base, ownerFile))
		if err != nil {
			// Not ours to judge unless it is old: a cluster being set up
			// writes its owner first.
			if fi, err := os.Stat(base); err != nil || time.Since(fi.ModTime()) < time.Minute {
				continue
			}
		} else if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && syscall.Kill(pid, 0) == nil {
			continue // its owner is alive
		}
		if _, err := os.Stat(filepath.Join(base, "start.sh")); err == nil {
			stopAt(base)
		}
	}
}

func stopAt(base string) {
	exec.Command("bash", filepath.Join(base, "start.sh"), "stop", base).Run()
	os.RemoveAll(base)
}

// Stop stops the cluster of this process, if one was started, and removes
// its files. Call it from TestMain after m.Run.
func Stop() {
	if cluster == nil || cluster.shared {
		return
	}
	stopAt(cluster.Base)
}

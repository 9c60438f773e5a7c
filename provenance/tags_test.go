package provenance

import (
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"testing"
)

var testSystem = System{MlrunVersion: "0.1.0", GoVersion: "go1.26.0", OS: "linux", Arch: "amd64", Host: "box", User: "ada"}

func TestTags(t *testing.T) {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name  string
		git   *Git
		locks []Lockfile
		want  map[string]string
	}{
		{
			name:  "clean",
			git:   &Git{Root: "/p", Commit: commit, Branch: "main", RemoteURL: "https://example.com/p.git"},
			locks: []Lockfile{{"go.sum", "aa"}},
			want: map[string]string{
				"mlflow.source.git.commit":     commit,
				"mlflow.source.git.branch":     "main",
				"mlflow.source.git.repoURL":    "https://example.com/p.git",
				"mlflow.gitRepoURL":            "https://example.com/p.git",
				"mlflow.source.git.dirty":      "false",
				"mlflow.user":                  "ada",
				"mlrun.version":                "0.1.0",
				"mlrun.go_version":             "go1.26.0",
				"mlrun.os":                     "linux/amd64",
				"mlrun.host":                   "box",
				"mlrun.lockfile":               "go.sum",
				"mlrun.lockfile.sha256":        "aa",
				"mlrun.lockfile.sha256.go.sum": "aa",
			},
		},
		{
			name:  "dirty, detached, no remote, several lockfiles",
			git:   &Git{Root: "/p", Commit: commit, Dirty: true, Diff: []byte("x"), DiffSHA256: "dd"},
			locks: []Lockfile{{"go.sum", "aa"}, {"requirements.txt", "bb"}, {"uv.lock", "cc"}},
			want: map[string]string{
				"mlflow.source.git.commit":               commit,
				"mlflow.source.git.dirty":                "true",
				"mlrun.git.diff_sha256":                  "dd",
				"mlflow.user":                            "ada",
				"mlrun.version":                          "0.1.0",
				"mlrun.go_version":                       "go1.26.0",
				"mlrun.os":                               "linux/amd64",
				"mlrun.host":                             "box",
				"mlrun.lockfile":                         "uv.lock",
				"mlrun.lockfile.sha256":                  "cc",
				"mlrun.lockfiles":                        "go.sum,requirements.txt,uv.lock",
				"mlrun.lockfile.sha256.go.sum":           "aa",
				"mlrun.lockfile.sha256.requirements.txt": "bb",
				"mlrun.lockfile.sha256.uv.lock":          "cc",
			},
		},
		{
			// mlrun's build is the lockfile of a project that has none, and
			// never outranks a project's lockfile.
			name:  "mlrun's build only",
			locks: []Lockfile{{BuildLockfile, "ee"}},
			want: map[string]string{
				"mlrun.git.repo":                        "none",
				"mlrun.git.message":                     "the project directory is not inside a git repository",
				"mlflow.user":                           "ada",
				"mlrun.version":                         "0.1.0",
				"mlrun.go_version":                      "go1.26.0",
				"mlrun.os":                              "linux/amd64",
				"mlrun.host":                            "box",
				"mlrun.lockfile":                        "mlrun.buildinfo",
				"mlrun.lockfile.sha256":                 "ee",
				"mlrun.lockfile.sha256.mlrun.buildinfo": "ee",
			},
		},
		{
			name:  "mlrun's build beside a project lockfile",
			locks: []Lockfile{{"requirements-dev (1).txt", "bb"}, {BuildLockfile, "ee"}},
			want: map[string]string{
				"mlrun.git.repo":        "none",
				"mlrun.git.message":     "the project directory is not inside a git repository",
				"mlflow.user":           "ada",
				"mlrun.version":         "0.1.0",
				"mlrun.go_version":      "go1.26.0",
				"mlrun.os":              "linux/amd64",
				"mlrun.host":            "box",
				"mlrun.lockfile":        "requirements-dev (1).txt",
				"mlrun.lockfile.sha256": "bb",
				"mlrun.lockfiles":       "mlrun.buildinfo,requirements-dev (1).txt",
				"mlrun.lockfile.sha256.requirements-dev _1_.txt": "bb",
				"mlrun.lockfile.sha256.mlrun.buildinfo":          "ee",
			},
		},
		{
			name: "no repository, no lockfile",
			want: map[string]string{
				"mlrun.git.repo":    "none",
				"mlrun.git.message": "the project directory is not inside a git repository",
				"mlflow.user":       "ada",
				"mlrun.version":     "0.1.0",
				"mlrun.go_version":  "go1.26.0",
				"mlrun.os":          "linux/amd64",
				"mlrun.host":        "box",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Tags(tc.git, tc.locks, testSystem)
			for k, w := range tc.want {
				if got[k] != w {
					t.Errorf("tag %s = %q, want %q", k, got[k], w)
				}
			}
			for k, v := range got {
				if _, ok := tc.want[k]; !ok {
					t.Errorf("unexpected tag %s = %q", k, v)
				}
			}
		})
	}
}

func TestCurrentSystem(t *testing.T) {
	s := CurrentSystem("1.2.3")
	host, _ := os.Hostname()
	if s.MlrunVersion != "1.2.3" || s.GoVersion != runtime.Version() || s.OS != runtime.GOOS || s.Arch != runtime.GOARCH || s.Host != host || s.User == "" {
		t.Fatalf("CurrentSystem = %+v", s)
	}
}

func TestProcessAlive(t *testing.T) {
	if !ProcessAlive(os.Getpid()) {
		t.Fatal("ProcessAlive(own pid) = false")
	}
	for _, pid := range []int{0, -1} {
		if ProcessAlive(pid) {
			t.Fatalf("ProcessAlive(%d) = true", pid)
		}
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if ProcessAlive(cmd.Process.Pid) {
		t.Fatalf("ProcessAlive(pid %d of an exited, reaped child) = true", cmd.Process.Pid)
	}
}

func TestTagSafe(t *testing.T) {
	for in, want := range map[string]string{
		"data/iris.csv":   "data/iris.csv",
		"/abs/x.csv":      "abs/x.csv",
		"../up/x.csv":     "_/up/x.csv",
		"a b(1)=2.csv":    "a b_1__2.csv",
		"":                "_",
		"é.csv":           "_.csv",
		`dir\file.csv`:    "dir_file.csv",
		"mlrun.buildinfo": "mlrun.buildinfo",
	} {
		if got := TagSafe(in); got != want {
			t.Errorf("TagSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestUserNameAsGetpass: the user is read from the environment in
// getpass.getuser's order, as MLflow's mlflow.user is; with none of its
// variables set, it is the process's user.
func TestUserNameAsGetpass(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	cases := []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"LOGNAME": "ada", "USER": "bob", "USERNAME": "cy"}, "ada"},
		{map[string]string{"USER": "bob", "LNAME": "dee", "USERNAME": "cy"}, "bob"},
		{map[string]string{"LNAME": "dee", "USERNAME": "cy"}, "dee"},
		{map[string]string{"USERNAME": "cy"}, "cy"},
	}
	for _, c := range cases {
		if got := userName(env(c.vars)); got != c.want {
			t.Errorf("userName(%v) = %q, want %q", c.vars, got, c.want)
		}
	}
	u, err := user.Current()
	if err != nil {
		t.Skipf("no current user: %v", err)
	}
	if got := userName(env(nil)); got != u.Username {
		t.Errorf("userName without variables = %q, want the process's user %q", got, u.Username)
	}
}

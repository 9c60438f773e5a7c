package main

import (
	"bufio"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mlrun/mlrun/tracking"
)

// remoteSetup is an `mlrun server` started in its own directory A with
// the relative --artifacts-destination ./artifacts, and a client env
// whose tracking URI is the server and whose own files (the step cache)
// go to a private cache directory.
type remoteSetup struct {
	serverDir string // A
	srv       *liveServer
	backend   *env // the server's store, opened directly
	client    *env
}

func newRemoteSetup(t *testing.T, serverArgs ...string) *remoteSetup {
	t.Helper()
	s := &remoteSetup{serverDir: t.TempDir(), backend: newEnv(t)}
	args := append([]string{"server", "--port", "0", "--artifacts-destination", "./artifacts"}, serverArgs...)
	s.srv = startServerIn(t, s.backend, s.serverDir, args...)
	s.client = newEnv(t)
	s.client.store = ""
	for i, kv := range s.client.vars {
		if strings.HasPrefix(kv, "MLRUN_TRACKING_URI=") {
			s.client.vars[i] = "MLRUN_TRACKING_URI=" + s.srv.url
		}
	}
	s.client.vars = append(s.client.vars, "XDG_CACHE_HOME="+t.TempDir())
	return s
}

// startServerIn is startServer with the server's working directory
// given, so that relative paths in args resolve there.
func startServerIn(t *testing.T, e *env, dir string, args ...string) *liveServer {
	t.Helper()
	c := e.command(dir, args...)
	stderr, err := c.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	s := &liveServer{cmd: c, done: make(chan error, 1), stderr: &lineLog{ch: make(chan string, 1000)}}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`listening on (http://\S+)`)
		for sc.Scan() {
			select {
			case s.stderr.ch <- sc.Text():
			default:
			}
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
		io.Copy(io.Discard, stderr) // a line too long for the scanner
		s.done <- c.Wait()
	}()
	select {
	case s.url = <-urlc:
	case err := <-s.done:
		t.Fatalf("mlrun server exited before listening: %v\n%s", err, s.drain())
	case <-time.After(60 * time.Second):
		c.Process.Kill()
		t.Fatalf("mlrun server did not listen within 60s\n%s", s.drain())
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// filesUnder lists the files below dir, relative and sorted.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// runJSON returns `runs show RUN -o json` through env e.
func runJSON(t *testing.T, e *env, dir, id string) (*tracking.Run, []string) {
	t.Helper()
	var out struct {
		Run       *tracking.Run `json:"run"`
		Artifacts []struct {
			Path  string `json:"path"`
			IsDir bool   `json:"is_dir"`
		} `json:"artifacts"`
	}
	r := e.ok(dir, "runs", "show", id, "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("runs show -o json: %v\n%s", err, r.stdout)
	}
	var files []string
	for _, f := range out.Artifacts {
		if !f.IsDir {
			files = append(files, f.Path)
		}
	}
	return out.Run, files
}

// Over --tracking-uri http://, a run's artifacts go through the server's
// artifact proxy: the run records an mlflow-artifacts:/ URI, the files
// land in the server's --artifacts-destination (relative to the server's
// directory A), nothing is written where the client runs (B), and
// runs show, log artifact, serve models:/…@alias, reproduce and gc work
// from yet another directory.
func TestRemoteArtifactsGoThroughTheProxy(t *testing.T) {
	s := newRemoteSetup(t)
	e := s.client
	projectDir := irisDir(t) // B
	before := filesUnder(t, projectDir)
	e.ok(projectDir, "run", ".", "-P", "register_as=iris")
	if after := filesUnder(t, projectDir); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("the run wrote into the client's directory:\nbefore %v\nafter  %v", before, after)
	}

	run := e.onlyRun()
	id := run.Info.ID
	wantURI := "mlflow-artifacts:/" + run.Info.ExperimentID + "/" + id + "/artifacts"
	if run.Info.Status != tracking.StatusFinished || run.Info.ArtifactURI != wantURI {
		t.Fatalf("run %s %s with artifact URI %q; want FINISHED with %q", id, run.Info.Status, run.Info.ArtifactURI, wantURI)
	}
	serverRunDir := filepath.Join(s.serverDir, "artifacts", run.Info.ExperimentID, id, "artifacts")
	onServer := filesUnder(t, serverRunDir)
	for _, want := range []string{"model/MLmodel", "model/model.json", "confusion_matrix.png", "classification_report.json", "lockfiles/mlrun.buildinfo"} {
		if !hasString(onServer, want) {
			t.Fatalf("%s is not in the server's artifact directory %s: %v", want, serverRunDir, onServer)
		}
	}

	// Another directory (C) sees the same artifacts through the server.
	elsewhere := t.TempDir()
	_, listed := runJSON(t, e, elsewhere, id[:8])
	if strings.Join(listed, "\n") != strings.Join(onServer, "\n") {
		t.Fatalf("runs show lists %v; the server holds %v", listed, onServer)
	}
	// The server's own store keeps the file:// location, which a local
	// command on the server's machine reads.
	direct, directFiles := runJSON(t, s.backend, elsewhere, id)
	if !strings.HasPrefix(direct.Info.ArtifactURI, "file://") || !strings.HasSuffix(direct.Info.ArtifactURI, "/artifacts/"+run.Info.ExperimentID+"/"+id+"/artifacts") ||
		strings.Join(directFiles, "\n") != strings.Join(onServer, "\n") {
		t.Fatalf("the server's store: %q with %v", direct.Info.ArtifactURI, directFiles)
	}

	// mlrun log artifact uploads too.
	note := filepath.Join(t.TempDir(), "note.txt")
	if err := os.WriteFile(note, []byte("uploaded"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok(elsewhere, "log", "--run-id", id, "artifact", note, "--path", "notes")
	if data, err := os.ReadFile(filepath.Join(serverRunDir, "notes", "note.txt")); err != nil || string(data) != "uploaded" {
		t.Fatalf("log artifact: %q, %v", data, err)
	}
	if r := e.run(elsewhere, "log", "--run-id", id, "artifact", note, "--path", "../../x"); r.code != 2 {
		t.Fatalf("log artifact outside the run: exit %d\n%s", r.code, r.stderr)
	}

	// The registered version's source is the proxy's too, and serving it
	// downloads the model through the server.
	versions := e.ok(elsewhere, "models", "versions", "iris").stdout
	if !strings.Contains(versions, wantURI+"/model") {
		t.Fatalf("models versions:\n%s", versions)
	}
	url := startServe(t, e, elsewhere, "models:/iris@champion")
	if got, err := predict(&http.Client{Timeout: 10 * time.Second}, url); err != nil || got != "setosa" {
		t.Fatalf("prediction %q, %v; want setosa", got, err)
	}

	// reproduce reads the recorded files and the new run's models through
	// the server.
	rep := e.ok(projectDir, "reproduce", id[:8], "-o", "json")
	var verdict struct {
		RunID   string `json:"run_id"`
		Verdict struct {
			Reproduced bool `json:"reproduced"`
			Rows       []struct {
				What string `json:"what"`
			} `json:"rows"`
		} `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(rep.stdout), &verdict); err != nil {
		t.Fatalf("reproduce -o json: %v\n%s", err, rep.stdout)
	}
	models := 0
	for _, r := range verdict.Verdict.Rows {
		if r.What == "model" {
			models++
		}
	}
	if !verdict.Verdict.Reproduced || models == 0 {
		t.Fatalf("reproduce: %s", rep.stdout)
	}
	if after := filesUnder(t, projectDir); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("reproduce wrote into the client's directory: %v", after)
	}

	// gc removes a deleted run's artifacts on the server (--force: the
	// reproduction registered its model too).
	var repro *tracking.Run
	for _, r := range e.runs() {
		if r.Info.ID != id {
			repro = r
		}
	}
	if repro == nil {
		t.Fatal("the reproduction run is missing")
	}
	reproDir := filepath.Join(s.serverDir, "artifacts", repro.Info.ExperimentID, repro.Info.ID)
	if _, err := os.Stat(filepath.Join(reproDir, "artifacts", "model", "MLmodel")); err != nil {
		t.Fatalf("the reproduction's model is not on the server: %v", err)
	}
	e.ok(elsewhere, "runs", "delete", repro.Info.ID)
	if out := e.ok(elsewhere, "gc", "--force", "--run-ids", repro.Info.ID).stdout; !strings.Contains(out, "removed "+repro.Info.ID) {
		t.Fatalf("gc:\n%s", out)
	}
	if _, err := os.Stat(reproDir); !os.IsNotExist(err) {
		t.Fatalf("gc left %s: %v", reproDir, err)
	}
}

// With --no-serve-artifacts the server names file:// locations and the
// client writes there itself, as MLflow's client does: the files land in
// the server's artifact directory (a path every client must share), not
// in the client's.
func TestRemoteArtifactsWithoutTheProxy(t *testing.T) {
	s := newRemoteSetup(t, "--no-serve-artifacts")
	e := s.client
	projectDir := irisDir(t)
	before := filesUnder(t, projectDir)
	e.ok(projectDir, "run", ".")
	if after := filesUnder(t, projectDir); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("the run wrote into the client's directory: %v", after)
	}
	run := e.onlyRun()
	serverRunDir := filepath.Join(s.serverDir, "artifacts", run.Info.ExperimentID, run.Info.ID, "artifacts")
	real, err := filepath.EvalSymlinks(serverRunDir)
	if err != nil {
		t.Fatalf("no artifacts in the server's directory: %v", err)
	}
	if !strings.HasPrefix(run.Info.ArtifactURI, "file:///") || artifactDir(run) != real && artifactDir(run) != serverRunDir {
		t.Fatalf("artifact URI %q; want the file:// URI of %s", run.Info.ArtifactURI, serverRunDir)
	}
	if !hasString(filesUnder(t, serverRunDir), "model/MLmodel") {
		t.Fatalf("no model in %s", serverRunDir)
	}
	_, listed := runJSON(t, e, t.TempDir(), run.Info.ID)
	if !hasString(listed, "model/MLmodel") {
		t.Fatalf("runs show lists %v", listed)
	}
}

// startServe starts `mlrun serve uri` in dir on a free port and returns
// its URL; the server is killed when the test ends.
func startServe(t *testing.T, e *env, dir, uri string) string {
	t.Helper()
	cmd := e.command(dir, "serve", uri, "--port", "0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	urls := make(chan string, 1)
	var lines strings.Builder
	addrRE := regexp.MustCompile(`^serving ` + regexp.QuoteMeta(uri) + ` on (http://\S+)$`)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines.WriteString(sc.Text() + "\n")
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		close(urls)
	}()
	select {
	case url, ok := <-urls:
		if !ok {
			t.Fatalf("serve %s exited before listening:\n%s", uri, lines.String())
		}
		return url
	case <-time.After(60 * time.Second):
		t.Fatalf("serve %s did not start", uri)
	}
	return ""
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

package server

import (
	"path/filepath"
	"testing"
)

// Locations under the proxied root are shown as mlflow-artifacts:/ URIs
// and read back to the file:// URI of the same directory; others pass
// through; a proxy path leaving the root is refused.
func TestPublicAndPrivateLocations(t *testing.T) {
	root := t.TempDir()
	s := &Server{opts: Options{ServeArtifacts: true}, root: root}
	plain := &Server{opts: Options{}, root: root}
	run := filepath.Join(root, "0", "abc", "artifacts")
	for _, c := range []struct {
		srv      *Server
		loc, pub string
	}{
		{s, run, "mlflow-artifacts:/0/abc/artifacts"},
		{s, "file://" + filepath.ToSlash(run), "mlflow-artifacts:/0/abc/artifacts"},
		{s, root, "mlflow-artifacts:/"},
		{s, "/elsewhere/x", "file:///elsewhere/x"},
		{s, "s3://bucket/x", "s3://bucket/x"},
		{s, "runs:/abc/model", "runs:/abc/model"},
		{s, "mlflow-artifacts:/0/x", "mlflow-artifacts:/0/x"},
		{s, "", ""},
		{plain, run, "file://" + filepath.ToSlash(run)},
		{plain, "file://" + filepath.ToSlash(run), "file://" + filepath.ToSlash(run)},
	} {
		if got := c.srv.publicLocation(c.loc); got != c.pub {
			t.Errorf("publicLocation(%q) (serving artifacts: %v) = %q, want %q", c.loc, c.srv.opts.ServeArtifacts, got, c.pub)
		}
	}
	for uri, want := range map[string]string{
		"mlflow-artifacts:/0/abc/artifacts":                 "file://" + filepath.ToSlash(run),
		"mlflow-artifacts://127.0.0.1:5000/0/abc/artifacts": "file://" + filepath.ToSlash(run),
	} {
		got, err := s.privateLocation(uri)
		if err != nil || got != want {
			t.Errorf("privateLocation(%q) = %q, %v, want %q", uri, got, err, want)
		}
	}
	if got, err := s.privateLocation("mlflow-artifacts:/../outside"); err == nil {
		t.Errorf("privateLocation of a path leaving the root = %q, want an error", got)
	}
}

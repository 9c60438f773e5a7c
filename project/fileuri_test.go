package project

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/artifact"
)

// A path parameter given as a percent-encoded file:// URI (as mlrun writes
// them, RFC 8089) names the decoded local path; file://relative is refused.
func TestPathParamFromEncodedFileURI(t *testing.T) {
	ep := loadGood(t, "main")
	dir := filepath.Join(t.TempDir(), "my data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join(dir, "iris.csv")
	if err := os.WriteFile(csv, []byte("a\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	uri := artifact.URI(csv)
	if !strings.Contains(uri, "%20") {
		t.Fatalf("URI(%q) = %q, not percent-encoded", csv, uri)
	}
	got, err := ep.ResolveParams([]KV{{"alpha", "1"}, {"data", uri}})
	if err != nil || got.Values["data"] != csv {
		t.Fatalf("data=%s: %v, %v; want %s", uri, got, err, csv)
	}
	_, err = ep.ResolveParams([]KV{{"alpha", "1"}, {"data", "file://data/iris.csv"}})
	if err == nil || !strings.Contains(err.Error(), "is not a local file URI") {
		t.Errorf("file://data/iris.csv: %v, want a not-a-local-file-URI error", err)
	}
}

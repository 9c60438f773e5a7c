package artifact

import (
	"testing"

	"github.com/mlrun/mlrun/errs"
)

func TestProxyURIs(t *testing.T) {
	for rel, want := range map[string]string{
		"":             "mlflow-artifacts:/",
		".":            "mlflow-artifacts:/",
		"0/abc/model":  "mlflow-artifacts:/0/abc/model",
		"my dir/x.bin": "mlflow-artifacts:/my dir/x.bin",
	} {
		if got := ProxyURI(rel); got != want {
			t.Errorf("ProxyURI(%q) = %q, want %q", rel, got, want)
		}
	}
	for uri, want := range map[string]string{
		"mlflow-artifacts:/":                        "",
		"mlflow-artifacts:/0/abc/model":             "0/abc/model",
		"mlflow-artifacts:0/abc":                    "0/abc",
		"mlflow-artifacts://127.0.0.1:5000/1/r/a/m": "1/r/a/m",
		"mlflow-artifacts://host":                   "",
		"mlflow-artifacts:/../escape":               "../escape", // unchecked: Join refuses it
	} {
		got, ok := ProxyPath(uri)
		if !ok || got != want {
			t.Errorf("ProxyPath(%q) = %q, %v, want %q", uri, got, ok, want)
		}
		if !IsProxyURI(uri) {
			t.Errorf("IsProxyURI(%q) = false", uri)
		}
	}
	for _, uri := range []string{"file:///x", "/x", "s3://b/k", "runs:/abc/model"} {
		if _, ok := ProxyPath(uri); ok || IsProxyURI(uri) {
			t.Errorf("%q taken for a proxy URI", uri)
		}
	}
}

func TestFilePath(t *testing.T) {
	for uri, want := range map[string]string{
		"file:///data/iris.csv":        "/data/iris.csv",
		"file:///my%20data/iris.csv":   "/my data/iris.csv",
		"file:///":                     "/",
		"file:///bad%zzencoding/x.csv": "/bad%zzencoding/x.csv",
	} {
		if got, err := FilePath(uri); err != nil || got != want {
			t.Errorf("FilePath(%q) = %q, %v, want %q", uri, got, err, want)
		}
	}
	for _, uri := range []string{"file://data/iris.csv", "file://", "s3://b/k", "/plain/path", "mlflow-artifacts:/x"} {
		if _, err := FilePath(uri); errs.Code(err) != errs.Invalid {
			t.Errorf("FilePath(%q): %v, want an invalid-argument error", uri, err)
		}
	}
}

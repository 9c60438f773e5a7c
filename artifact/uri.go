package artifact

import (
	"net/url"
	"path/filepath"
	"strings"

	"github.com/mlrun/mlrun/errs"
)

// ProxyScheme is the scheme of the URIs of artifacts served by an MLflow
// artifact proxy: mlflow-artifacts:/<path> or
// mlflow-artifacts://host:port/<path>, the path relative to the proxy's root.
const ProxyScheme = "mlflow-artifacts"

// IsProxyURI reports whether uri is an mlflow-artifacts: URI.
func IsProxyURI(uri string) bool { return strings.HasPrefix(uri, ProxyScheme+":") }

// ProxyURI returns the mlflow-artifacts:/ URI of rel, a clean
// slash-separated path relative to the proxy's root ("" or "." is the root).
func ProxyURI(rel string) string {
	if rel == "." {
		rel = ""
	}
	return ProxyScheme + ":/" + rel
}

// ProxyPath returns the slash-separated path, relative to the proxy's root,
// of an mlflow-artifacts: URI, dropping any host and port; ok is false when
// uri has another scheme. The path is not checked: callers join it under
// their root with Join.
func ProxyPath(uri string) (rel string, ok bool) {
	rest, ok := strings.CutPrefix(uri, ProxyScheme+":")
	if !ok {
		return "", false
	}
	if after, hasHost := strings.CutPrefix(rest, "//"); hasHost {
		_, p, _ := strings.Cut(after, "/")
		rest = p
	}
	return strings.TrimPrefix(rest, "/"), true
}

// FilePath returns the absolute local path of a file:// URI, decoding its
// percent-encoding; errs.Invalid for a file URI with a relative path (file://x/y
// names host x) or for any other scheme.
func FilePath(uri string) (string, error) {
	rest, ok := strings.CutPrefix(uri, "file://")
	if !ok {
		return "", errs.Errorf(errs.Invalid, "%q is not a file:// URI", uri)
	}
	if !strings.HasPrefix(rest, "/") {
		return "", errs.Errorf(errs.Invalid, "%q is not a local file URI (write file:///absolute/path)", uri)
	}
	p := rest
	if u, err := url.Parse(uri); err == nil {
		p = u.Path
	}
	return filepath.FromSlash(p), nil
}

// Package storeuri turns tracking URIs into stores. It is the one place that
// reads a --tracking-uri / MLRUN_TRACKING_URI:
//
//	mlruns, ./team/store          a directory: SQLite file <dir>/mlrun.db
//	./x.db                        a SQLite file
//	sqlite:///rel/x.db            SQLite, relative path (as SQLAlchemy)
//	sqlite:////abs/x.db           SQLite, absolute path
//	postgresql://user@host:5432/db?sslmode=disable   (or postgres://)
//	http://127.0.0.1:5000         an mlrun server (or https://; package httpstore)
//
// Each scheme's Opener builds the store; New registers the built-in ones
// and Register adds more.
//
// Artifacts go under an artifact root: --artifacts-destination (a directory
// or a file:// URI) when given, else <store dir>/artifacts for SQLite and
// ./mlruns/artifacts for a database server. An mlrun server (http://) names
// its runs' artifact locations itself; the client keeps its local files in
// <user cache dir>/mlrun/<host>_<port>.
package storeuri

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/httpstore"
	"github.com/mlrun/mlrun/postgres"
	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
)

// DefaultURI is the tracking URI when none is given.
const DefaultURI = "mlruns"

// Location is a parsed tracking URI with the artifact root that goes with it.
type Location struct {
	// URI is the canonical tracking URI, as handed to child processes
	// (MLRUN_TRACKING_URI): sqlite:////abs/path/mlrun.db, postgresql://...
	URI string
	// Scheme is the store's kind: sqlite, postgresql, or a registered one.
	Scheme string
	// Path is the database file of a SQLite store.
	Path string
	// ArtifactRoot is the artifact root URI (file:///...).
	ArtifactRoot string
	// Dir is a local directory for the files kept beside the store on this
	// machine (step-cache data sets, scheduler logs): the SQLite file's
	// directory, or the artifact root's directory for other stores.
	Dir string
}

// String names the store for messages: a SQLite file's path, else the
// URI with any password hidden.
func (l *Location) String() string {
	if l.Path != "" {
		return l.Path
	}
	u, err := url.Parse(l.URI)
	if err != nil || u.User == nil {
		return l.URI
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Opener opens the store a Location names.
type Opener func(ctx context.Context, loc *Location) (tracking.Store, error)

// Registry maps URI schemes to Openers.
type Registry struct {
	openers map[string]Opener
}

// New returns a registry of the built-in schemes: sqlite (and plain paths),
// postgresql and postgres, and http and https (an mlrun server, package
// httpstore).
func New() *Registry {
	r := &Registry{openers: map[string]Opener{}}
	r.Register("sqlite", openSQLite)
	r.Register("postgresql", openPostgres)
	r.Register("postgres", openPostgres)
	r.Register("http", openHTTP)
	r.Register("https", openHTTP)
	return r
}

// Register makes scheme (without "://") open with open, replacing any
// opener it had.
func (r *Registry) Register(scheme string, open Opener) { r.openers[strings.ToLower(scheme)] = open }

// schemes lists the registered schemes, for messages.
func (r *Registry) schemes() string {
	var out []string
	for s := range r.openers {
		out = append(out, s+"://")
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// Parse reads a tracking URI ("" is DefaultURI) and the artifact
// destination ("" for the default). Errors are errs.Invalid naming the URI.
func (r *Registry) Parse(uri, artifactsDestination string) (*Location, error) {
	if uri == "" {
		uri = DefaultURI
	}
	scheme := ""
	if i := strings.Index(uri, "://"); i > 0 {
		scheme = strings.ToLower(uri[:i])
	}
	loc := &Location{Scheme: scheme}
	switch scheme {
	case "", "sqlite":
		path := uri
		if scheme == "sqlite" {
			path = strings.TrimPrefix(uri[len("sqlite://"):], "/") // sqlite:////abs or sqlite:///rel, as SQLAlchemy
			if strings.HasPrefix(uri[len("sqlite://"):], "//") {
				path = "/" + path
			}
		} else if !strings.HasSuffix(uri, ".db") {
			path = filepath.Join(uri, "mlrun.db")
		}
		if path == "" || path == "/" {
			return nil, errs.Errorf(errs.Invalid, "tracking URI %q names no file", uri)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", path, err)
		}
		loc.Scheme, loc.Path, loc.URI = "sqlite", abs, "sqlite:///"+abs
		loc.Dir = filepath.Dir(abs)
		if artifactsDestination == "" {
			artifactsDestination = filepath.Join(loc.Dir, "artifacts")
		}
	default:
		if _, ok := r.openers[scheme]; !ok {
			return nil, errs.Errorf(errs.Invalid, "tracking URI %q is not supported: use a directory, sqlite:///path/to/mlrun.db or one of %s", uri, r.schemes())
		}
		if _, err := url.Parse(uri); err != nil {
			return nil, errs.Errorf(errs.Invalid, "tracking URI %q is not a valid URI: %v", uri, err)
		}
		loc.URI = uri
		if artifactsDestination == "" && (scheme == "http" || scheme == "https") {
			// An mlrun server names where artifacts go; what this machine
			// keeps (step-cache data sets, scheduler logs) goes to the
			// user's cache directory, not into the working directory.
			dir, err := clientDir(uri)
			if err != nil {
				return nil, err
			}
			loc.Dir = dir
			artifactsDestination = filepath.Join(dir, "artifacts")
		}
		if artifactsDestination == "" {
			artifactsDestination = filepath.Join(DefaultURI, "artifacts")
		}
	}
	root, err := artifact.RootURI(artifactsDestination)
	if err != nil {
		return nil, err
	}
	loc.ArtifactRoot = root
	if loc.Dir == "" {
		if dir, err := artifact.LocalDir(root); err == nil {
			loc.Dir = dir
		}
	}
	return loc, nil
}

// clientDir is the local directory of an http(s) tracking URI's client:
// <user cache dir>/mlrun/<host>_<port>.
func clientDir(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", errs.Errorf(errs.Invalid, "tracking URI %q is not a valid URI: %v", uri, err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, u.Host)
	return filepath.Join(cache, "mlrun", name), nil
}

// Open opens the store at loc.
func (r *Registry) Open(ctx context.Context, loc *Location) (tracking.Store, error) {
	open, ok := r.openers[loc.Scheme]
	if !ok {
		return nil, errs.Errorf(errs.Invalid, "tracking URI %q is not supported: use one of %s", loc, r.schemes())
	}
	return open(ctx, loc)
}

func openPostgres(ctx context.Context, loc *Location) (tracking.Store, error) {
	return postgres.Open(ctx, loc.URI, loc.ArtifactRoot)
}

// openHTTP opens the store an mlrun server serves, with the credentials
// of MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD.
func openHTTP(ctx context.Context, loc *Location) (tracking.Store, error) {
	return httpstore.Open(ctx, loc.URI, httpstore.OptionsFromEnv())
}

func openSQLite(ctx context.Context, loc *Location) (tracking.Store, error) {
	return sqlite.Open(ctx, loc.Path, loc.ArtifactRoot)
}

package artifact

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlrun/mlrun/errs"
)

// Repository holds the artifacts below one root URI (an experiment's or a
// run's artifact location). Paths are relative to the root, slash-separated,
// and may not leave it. Implementations exist per URI scheme: file:// now
// (Local); mlflow-artifacts:/ and s3:// plug in through Schemes.
type Repository interface {
	// Put copies the local file or directory src to rel.
	Put(ctx context.Context, src, rel string) error
	// Get copies rel (a file or a directory) to the local path dst.
	Get(ctx context.Context, rel, dst string) error
	// Open opens the file rel for reading.
	Open(ctx context.Context, rel string) (io.ReadCloser, error)
	// List returns every file and directory below rel ("" is the root),
	// sorted by path, with paths relative to the root; an absent rel is an
	// empty list.
	List(ctx context.Context, rel string) ([]File, error)
	// Delete removes rel and everything below it ("" is the whole root);
	// an absent rel is not an error.
	Delete(ctx context.Context, rel string) error
	// Size returns the total size in bytes of the files below rel.
	Size(ctx context.Context, rel string) (int64, error)
}

// Opener returns the repository rooted at uri.
type Opener func(uri string) (Repository, error)

// Schemes maps URI schemes to the repositories that serve them.
type Schemes struct {
	openers map[string]Opener
}

// NewSchemes returns the schemes mlrun knows: file (and plain paths).
// Other packages add theirs with Register.
func NewSchemes() *Schemes {
	s := &Schemes{openers: map[string]Opener{}}
	s.Register("file", func(uri string) (Repository, error) {
		dir, err := LocalDir(uri)
		if err != nil {
			return nil, err
		}
		return Local{Root: dir}, nil
	})
	return s
}

// Register makes scheme (without "://") served by open.
func (s *Schemes) Register(scheme string, open Opener) { s.openers[scheme] = open }

// Open returns the repository rooted at uri: a URI with a registered
// scheme or a plain local path.
func (s *Schemes) Open(uri string) (Repository, error) {
	scheme := Scheme(uri)
	if scheme == "" {
		scheme = "file"
	}
	open, ok := s.openers[scheme]
	if !ok {
		known := make([]string, 0, len(s.openers))
		for k := range s.openers {
			known = append(known, k)
		}
		sort.Strings(known)
		hint := ""
		if scheme == "mlflow-artifacts" {
			hint = "; mlflow-artifacts:/ locations are reached through the mlrun server that serves them: give its --tracking-uri http://host:port"
		}
		return nil, errs.Errorf(errs.Invalid, "artifact location %q has scheme %q, which this mlrun cannot store artifacts in (known: %s)%s", uri, scheme, strings.Join(known, ", "), hint)
	}
	return open(uri)
}

// Scheme returns the scheme of uri ("file" for file:///x), or "" for a
// plain path.
func Scheme(uri string) string {
	i := strings.Index(uri, ":")
	if i <= 0 || !strings.HasPrefix(uri[i:], ":/") {
		return ""
	}
	for _, c := range uri[:i] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return ""
		}
	}
	if i == 1 { // a Windows drive letter, C:/...
		return ""
	}
	return strings.ToLower(uri[:i])
}

// RootURI turns an artifact root given by a user (a directory, relative or
// absolute, or a URI) into a URI: file:///abs/dir for a directory.
func RootURI(root string) (string, error) {
	if root == "" {
		return "", errs.Errorf(errs.Invalid, "the artifact root is empty")
	}
	if Scheme(root) != "" {
		if Scheme(root) == "file" {
			dir, err := LocalDir(root)
			if err != nil {
				return "", err
			}
			if !filepath.IsAbs(dir) {
				return "", errs.Errorf(errs.Invalid, "artifact root %q is not an absolute file:// URI (write file:///absolute/path or a plain directory)", root)
			}
			return FileURI(filepath.Clean(dir)), nil
		}
		return strings.TrimSuffix(root, "/"), nil
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("resolve artifact root %s: %w", root, err)
	}
	return FileURI(abs), nil
}

// FileURI returns the file:// URI of an absolute local path.
func FileURI(dir string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}
	return u.String()
}

// JoinURI appends slash-separated elements to an artifact location: a URI
// or a plain local directory (which becomes a file:// URI). Elements may
// not be empty, ".", ".." or contain a slash.
func JoinURI(base string, elems ...string) (string, error) {
	for _, e := range elems {
		if e == "" || e == "." || e == ".." || strings.ContainsAny(e, `/\`) {
			return "", errs.Errorf(errs.Invalid, "artifact path element %q is not a plain name", e)
		}
	}
	if Scheme(base) == "" {
		return FileURI(filepath.Join(append([]string{base}, elems...)...)), nil
	}
	return strings.TrimSuffix(base, "/") + "/" + path.Join(elems...), nil
}

// LocalDir returns the local directory of an artifact location: a file://
// URI or a plain path. Other schemes are errs.Invalid.
func LocalDir(uri string) (string, error) { return DirFromURI(uri) }

// Local is the Repository of a directory on a local (or mounted shared)
// file system. Every path goes through Join, so none escapes Root, and
// symbolic links are not followed out of it.
type Local struct {
	Root string // absolute directory
}

// path resolves rel inside the root, refusing paths that leave it, also
// through symbolic links.
func (l Local) path(rel string) (string, error) {
	p, err := Join(l.Root, filepath.FromSlash(rel))
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		root, rerr := filepath.EvalSymlinks(l.Root)
		if rerr == nil {
			if r, err := filepath.Rel(root, real); err != nil || !filepath.IsLocal(r) && r != "." {
				return "", errs.Errorf(errs.Invalid, "artifact path %q leads outside the artifact root through a symbolic link", rel)
			}
		}
	}
	return p, nil
}

// Put implements Repository.
func (l Local) Put(ctx context.Context, src, rel string) error {
	dst, err := l.path(rel)
	if err != nil {
		return err
	}
	return Copy(src, dst)
}

// Get implements Repository.
func (l Local) Get(ctx context.Context, rel, dst string) error {
	src, err := l.path(rel)
	if err != nil {
		return err
	}
	if _, err := os.Stat(src); os.IsNotExist(err) {
		return errs.Errorf(errs.NotFound, "artifact %q does not exist", rel)
	}
	return Copy(src, dst)
}

// Open implements Repository.
func (l Local) Open(ctx context.Context, rel string) (io.ReadCloser, error) {
	p, err := l.path(rel)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if os.IsNotExist(err) {
		return nil, errs.Errorf(errs.NotFound, "artifact %q does not exist", rel)
	}
	if err != nil {
		return nil, fmt.Errorf("open artifact %s: %w", rel, err)
	}
	return f, nil
}

// List implements Repository.
func (l Local) List(ctx context.Context, rel string) ([]File, error) {
	p, err := l.path(rel)
	if err != nil {
		return nil, err
	}
	files, err := List(p)
	if err != nil {
		return nil, err
	}
	if rel != "" && rel != "." {
		for i := range files {
			files[i].Path = path.Join(filepath.ToSlash(rel), files[i].Path)
		}
	}
	return files, nil
}

// Delete implements Repository.
func (l Local) Delete(ctx context.Context, rel string) error {
	p, err := l.path(rel)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("delete artifacts %s: %w", p, err)
	}
	return nil
}

// Size implements Repository.
func (l Local) Size(ctx context.Context, rel string) (int64, error) {
	files, err := l.List(ctx, rel)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, f := range files {
		n += f.Size
	}
	return n, nil
}

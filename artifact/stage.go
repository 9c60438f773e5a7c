package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Registrar is a tracking store that serves artifact locations of its own:
// an mlrun server's store serves mlflow-artifacts:/ through its proxy,
// with the HTTP client and credentials the store was opened with.
type Registrar interface {
	RegisterArtifacts(s *Schemes)
}

// SchemesFor returns the schemes a command that opened store can reach:
// file:// and plain paths, plus those the store registers when it is a
// Registrar.
func SchemesFor(store any) *Schemes {
	s := NewSchemes()
	if r, ok := store.(Registrar); ok {
		r.RegisterArtifacts(s)
	}
	return s
}

// Rebase rewrites uri when it is root or lies below it (compared as URIs,
// segment by segment) to the same path below newRoot; ok is false and uri
// is returned unchanged otherwise.
func Rebase(uri, root, newRoot string) (string, bool) {
	root = strings.TrimSuffix(root, "/")
	if root == "" {
		return uri, false
	}
	rest, found := strings.CutPrefix(uri, root)
	if !found || rest != "" && rest != "/" && !strings.HasPrefix(rest, "/") {
		return uri, false
	}
	rest = strings.Trim(rest, "/")
	newRoot = strings.TrimSuffix(newRoot, "/")
	if rest == "" {
		if strings.HasSuffix(newRoot, ":") { // mlflow-artifacts: is the root mlflow-artifacts:/
			return newRoot + "/", true
		}
		return newRoot, true
	}
	return newRoot + "/" + rest, true
}

// JoinPath returns the location of the slash-separated relative path rel
// below base (a URI or a plain directory). rel may not leave base.
func JoinPath(base, rel string) (string, error) {
	rel = strings.Trim(rel, "/")
	if rel == "" || rel == "." {
		if Scheme(base) == "" {
			return FileURI(base), nil
		}
		return base, nil
	}
	return JoinURI(base, strings.Split(rel, "/")...)
}

// Staging is a local directory where a run writes its artifacts, and the
// Repository they belong to. For a local repository the directory is the
// repository's own (nothing to copy); for another one (an mlrun server's
// mlflow-artifacts:/) it is a temporary directory whose new and changed
// files Sync uploads.
type Staging struct {
	// Dir is where the run's artifacts are written.
	Dir string
	// Repo is the run's repository.
	Repo Repository
	temp bool

	mu     sync.Mutex // one Sync at a time
	synced map[string]stamp
}

// stamp is what Sync remembers of an uploaded file.
type stamp struct {
	size int64
	mod  time.Time
}

// Stage returns the staging directory of repo, created.
func Stage(repo Repository) (*Staging, error) {
	if l, ok := repo.(Local); ok {
		if err := os.MkdirAll(l.Root, 0o755); err != nil {
			return nil, fmt.Errorf("create artifact directory: %w", err)
		}
		return &Staging{Dir: l.Root, Repo: repo}, nil
	}
	dir, err := os.MkdirTemp("", "mlrun-artifacts-")
	if err != nil {
		return nil, fmt.Errorf("create a staging directory for artifacts: %w", err)
	}
	return &Staging{Dir: dir, Repo: repo, temp: true, synced: map[string]stamp{}}, nil
}

// Remote reports whether the files written to Dir reach the repository
// only through Sync.
func (s *Staging) Remote() bool { return s.temp }

// Sync uploads the files of Dir that are new or changed since the last
// Sync (a no-op for a local repository).
func (s *Staging) Sync(ctx context.Context) error {
	if !s.temp {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return filepath.WalkDir(s.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("upload artifacts: %w", err)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("upload artifacts: %w", err)
		}
		rel, err := filepath.Rel(s.Dir, p)
		if err != nil {
			return fmt.Errorf("upload artifacts: %w", err)
		}
		rel = filepath.ToSlash(rel)
		now := stamp{size: info.Size(), mod: info.ModTime()}
		if s.synced[rel] == now {
			return nil
		}
		if err := s.Repo.Put(ctx, p, rel); err != nil {
			return fmt.Errorf("upload artifact %s: %w", rel, err)
		}
		s.synced[rel] = now
		return nil
	})
}

// Close removes a temporary staging directory; call it after the last
// Sync.
func (s *Staging) Close() error {
	if !s.temp {
		return nil
	}
	return os.RemoveAll(s.Dir)
}

// LocalCopy returns a local directory or file holding rel of repo: the
// path itself for a local repository, else a download into a new
// temporary directory. release removes what was downloaded.
func LocalCopy(ctx context.Context, repo Repository, rel string) (path string, release func(), err error) {
	if l, ok := repo.(Local); ok {
		p, err := l.path(rel)
		if err != nil {
			return "", nil, err
		}
		return p, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "mlrun-download-")
	if err != nil {
		return "", nil, fmt.Errorf("create a download directory: %w", err)
	}
	release = func() { os.RemoveAll(tmp) }
	name := strings.Trim(rel, "/")
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	if name == "" || name == "." {
		name = "artifacts"
	}
	dst := filepath.Join(tmp, name)
	if err := repo.Get(ctx, rel, dst); err != nil {
		release()
		return "", nil, err
	}
	return dst, release, nil
}

// ReadFile returns the content of the file rel of repo; errs.NotFound
// when it does not exist.
func ReadFile(ctx context.Context, repo Repository, rel string) ([]byte, error) {
	f, err := repo.Open(ctx, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read artifact %s: %w", rel, err)
	}
	return data, nil
}

// HashFile returns the hex sha256 of the file rel of repo; errs.NotFound
// when it does not exist.
func HashFile(ctx context.Context, repo Repository, rel string) (string, error) {
	f, err := repo.Open(ctx, rel)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash artifact %s: %w", rel, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

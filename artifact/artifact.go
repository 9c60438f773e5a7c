// Package artifact stores and reads run artifacts on the local file system.
// Every path a user or a request names goes through Join, so that no
// artifact path can escape its root.
package artifact

import (
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlrun/mlrun/errs"
)

// DirFromURI returns the local directory of an artifact URI (file:// or a
// plain path).
func DirFromURI(uri string) (string, error) {
	if strings.HasPrefix(uri, "file://") {
		u, err := url.Parse(uri)
		if err != nil {
			return "", fmt.Errorf("parse artifact uri %q: %w", uri, err)
		}
		return u.Path, nil
	}
	if strings.Contains(uri, "://") {
		return "", errs.Errorf(errs.Invalid, "artifact location %q is not on the local file system", uri)
	}
	return uri, nil
}

// Join returns root joined with rel, and an error if rel is absolute or
// would leave root (through "..").
func Join(root, rel string) (string, error) {
	if rel == "" || rel == "." {
		return root, nil
	}
	if filepath.IsAbs(rel) || !filepath.IsLocal(rel) {
		return "", errs.Errorf(errs.Invalid, "artifact path %q must be relative and stay inside the run's artifacts", rel)
	}
	return filepath.Join(root, rel), nil
}

// Copy copies the file or directory src to dst, creating parents. Symbolic
// links inside a copied directory are skipped.
func Copy(src, dst string) error {
	info, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if !info.IsDir() {
		return copyFile(src, dst, info.Mode())
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return copyFile(path, target, fi.Mode())
		}
		return nil
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode.Perm()|0o600)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return out.Close()
}

// File describes one artifact, as MLflow's FileInfo.
type File struct {
	Path  string `json:"path"` // relative to the run's artifact root, with forward slashes
	IsDir bool   `json:"is_dir"`
	Size  int64  `json:"file_size,omitempty"`
}

// List returns every file below root, sorted by path; an absent root is an
// empty list.
func List(root string) ([]File, error) {
	var out []File
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path == root {
				return filepath.SkipAll
			}
			return err
		}
		if path == root {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		f := File{Path: filepath.ToSlash(rel), IsDir: d.IsDir()}
		if !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				f.Size = fi.Size()
			}
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list artifacts in %s: %w", root, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Package artifact stores and reads run artifacts on the local file system.
// Every path a user or a request names goes through Join, so that no
// artifact path can escape its root, by ".." or by a symbolic link.
package artifact

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/mlrun/mlrun/errs"
)

// URI returns the file:// URI of a local directory, percent-encoded as
// RFC 8089 asks (file:///home/me/my%20project/mlruns/...).
func URI(dir string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String()
}

// DirFromURI returns the local directory of an artifact URI (file:// or a
// plain path). A file:// URI that is not valid percent-encoding (written
// by an older mlrun, which did not encode) is read as the plain path.
func DirFromURI(uri string) (string, error) {
	if rest, ok := strings.CutPrefix(uri, "file://"); ok {
		u, err := url.Parse(uri)
		if err != nil {
			return filepath.FromSlash(rest), nil
		}
		return filepath.FromSlash(u.Path), nil
	}
	if strings.Contains(uri, "://") {
		return "", errs.Errorf(errs.Invalid, "artifact location %q is not on the local file system", uri)
	}
	return uri, nil
}

// Join returns root joined with rel, and an error if rel is absolute,
// would leave root through "..", or would leave it through a symbolic link:
// the part of the path that exists is resolved, and must stay inside root
// (resolved likewise). A dangling symbolic link on the way is refused too.
func Join(root, rel string) (string, error) {
	if rel == "" || rel == "." {
		return root, nil
	}
	if filepath.IsAbs(rel) || !filepath.IsLocal(rel) {
		return "", errs.Errorf(errs.Invalid, "artifact path %q must be relative and stay inside the run's artifacts", rel)
	}
	path := filepath.Join(root, rel)
	if noLinkBelow(root, rel) {
		return path, nil
	}
	ok, err := Inside(root, path)
	if err != nil {
		return "", errs.Errorf(errs.Invalid, "artifact path %q: %v", rel, err)
	}
	if !ok {
		return "", errs.Errorf(errs.Invalid, "artifact path %q leaves the run's artifacts through a symbolic link", rel)
	}
	return path, nil
}

// noLinkBelow reports whether no existing path of rel's components below
// root is a symbolic link (nor unreadable): then root/rel stays inside root
// wherever root itself leads, and Join needs no more checks. It costs a
// stat per component, where resolving both paths costs one per component
// of each from the file system root.
func noLinkBelow(root, rel string) bool {
	cur := root
	for elem := range strings.SplitSeq(filepath.Clean(rel), string(filepath.Separator)) {
		cur = filepath.Join(cur, elem)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return true // nothing further exists to lead elsewhere
		}
		if err != nil || fi.Mode()&fs.ModeSymlink != 0 {
			return false
		}
	}
	return true
}

// Inside reports whether path stays inside dir once the symbolic links of
// both are resolved (as far as they exist). A dangling symbolic link on
// path's way is an error: what it would create cannot be checked.
func Inside(dir, path string) (bool, error) {
	realDir, err := resolve(dir)
	if err != nil {
		return false, err
	}
	realPath, err := resolve(path)
	if err != nil {
		return false, err
	}
	rel, err := filepath.Rel(realDir, realPath)
	if err != nil {
		return false, nil
	}
	return rel == "." || filepath.IsLocal(rel), nil
}

// resolve returns the absolute path with the symbolic links of its longest
// existing prefix resolved and the rest appended as written.
func resolve(path string) (string, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	rest := ""
	for {
		real, err := filepath.EvalSymlinks(path)
		if err == nil {
			return filepath.Join(real, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("resolve %s: %w", path, err)
		}
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return "", fmt.Errorf("%s is a symbolic link to nothing", path)
		}
		parent := filepath.Dir(path)
		if parent == path {
			return filepath.Join(path, rest), nil
		}
		rest = filepath.Join(filepath.Base(path), rest)
		path = parent
	}
}

// Copy copies the file or directory src to dst, creating parents. Symbolic
// links inside a copied directory are skipped, and a symbolic link where a
// copied file or directory would go is an error (nothing is written
// through it).
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
			if err := noSymlink(target); err != nil {
				return err
			}
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

// noSymlink returns an error when path is a symbolic link.
func noSymlink(path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return errs.Errorf(errs.Invalid, "artifact %s is a symbolic link; nothing is written through it", path)
	}
	return nil
}

func copyFile(src, dst string, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := noSymlink(dst); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer in.Close()
	// A file already there is replaced, not rewritten: other runs may
	// share it as a hard link (see pipeline's provenance artifacts).
	if err := removeRegular(dst); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	// O_NOFOLLOW: a link put there since the check is not followed either.
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|syscall.O_NOFOLLOW, mode.Perm()|0o600)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return out.Close()
}

// removeRegular removes path if it is a regular file; anything else (no
// file, a directory) is left for the caller to meet.
func removeRegular(path string) error {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	return os.Remove(path)
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

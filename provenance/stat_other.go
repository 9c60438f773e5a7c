//go:build !linux

package provenance

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// dirHandle is an open directory of the working tree.
type dirHandle struct {
	f    *os.File
	path string
}

// openDir opens directory name in parent, or the absolute path abs when
// parent is nil.
func openDir(parent *dirHandle, name, abs string) (*dirHandle, error) {
	f, err := os.Open(abs)
	if err != nil {
		return nil, err
	}
	return &dirHandle{f: f, path: abs}, nil
}

// close closes the directory.
func (d *dirHandle) close() { d.f.Close() }

// entries returns the directory's entries sorted by name.
func (d *dirHandle) entries(*[]byte) ([]dirEntry, error) {
	des, err := d.f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	out := make([]dirEntry, len(des))
	for i, de := range des {
		out[i] = dirEntry{name: de.Name(), isDir: de.IsDir()}
	}
	slices.SortFunc(out, func(a, b dirEntry) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// statOne returns the lstat data of name in the directory; ok is false
// when it cannot be stat'ed, for the caller to stat it by path.
func (d *dirHandle) statOne(name string) (fileStat, bool) {
	fi, err := os.Lstat(filepath.Join(d.path, name))
	if err != nil {
		return fileStat{}, false
	}
	return statOf(fi), true
}

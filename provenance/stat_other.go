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

// stat calls found(i, st) with the lstat data of each names[i] in the
// directory. A name that cannot be stat'ed is skipped, for the caller to
// stat by path.
func (d *dirHandle) stat(names []string, found func(i int, st fileStat)) {
	for i, name := range names {
		if fi, err := os.Lstat(filepath.Join(d.path, name)); err == nil {
			found(i, statOf(fi))
		}
	}
}

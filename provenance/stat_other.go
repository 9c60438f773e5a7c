//go:build !linux

package provenance

import (
	"os"
	"path/filepath"
)

// statNames calls found(i, st) with the lstat data of each names[i] in
// directory d. A name that cannot be stat'ed is skipped, for the caller to
// stat by path.
func statNames(d *os.File, names []string, found func(i int, st fileStat)) {
	for i, name := range names {
		if fi, err := os.Lstat(filepath.Join(d.Name(), name)); err == nil {
			found(i, statOf(fi))
		}
	}
}

//go:build linux

package provenance

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// statNames calls found(i, st) with the lstat data of each names[i] in
// directory d (open), looked up relative to it: cheaper than os.Lstat of
// full paths. A name that cannot be stat'ed is skipped, for the caller to
// stat by path.
func statNames(d *os.File, names []string, found func(i int, st fileStat)) {
	rc, err := d.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		var st unix.Stat_t
		for i, name := range names {
			if err := unix.Fstatat(int(fd), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				continue
			}
			mode := os.FileMode(st.Mode & 0o777)
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFREG:
			case unix.S_IFLNK:
				mode |= os.ModeSymlink
			case unix.S_IFDIR:
				mode |= os.ModeDir
			default:
				mode |= os.ModeIrregular
			}
			found(i, fileStat{mode: mode, size: st.Size, mtime: time.Unix(st.Mtim.Unix())})
		}
	})
}

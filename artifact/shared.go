package artifact

import (
	"crypto/sha256"
	"os"
	"sync"
)

// SharedFiles stores files of identical bytes once, as hard links to the
// first file written with them: a sweep's trials write the same code.diff
// and build info, and often the same classification report, projection
// and plots (the trials classify the test set alike), and creating a file
// costs several times more than a link. Artifacts are never rewritten in
// place (Copy and the writers that use SharedFiles replace a file), so the
// runs cannot tell. A file replaced since it was written is not linked to.
// The zero value is ready; it is safe for concurrent use.
type SharedFiles struct {
	mu    sync.Mutex
	files map[[sha256.Size]byte]sharedFile
}

// sharedFile is the first file written with some bytes, and what it was
// then.
type sharedFile struct {
	path string
	info os.FileInfo
}

// maxSharedFiles bounds the files a SharedFiles remembers; beyond it, it
// starts afresh.
const maxSharedFiles = 1024

// Write writes data to path, replacing a file there, or makes path a hard
// link to an earlier file of the same bytes that is still the file it was.
func (s *SharedFiles) Write(path string, data []byte) error {
	sum := sha256.Sum256(data)
	s.mu.Lock()
	f, ok := s.files[sum]
	s.mu.Unlock()
	if err := removeRegular(path); err != nil {
		return err
	}
	if ok {
		now, err := os.Lstat(f.path)
		if err == nil && os.SameFile(now, f.info) && now.Size() == int64(len(data)) && os.Link(f.path, path) == nil {
			return nil
		}
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	info, err := os.Lstat(path)
	if err != nil {
		return nil // written; just not shared
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files == nil || len(s.files) >= maxSharedFiles {
		s.files = map[[sha256.Size]byte]sharedFile{}
	}
	s.files[sum] = sharedFile{path, info}
	return nil
}

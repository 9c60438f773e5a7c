package provenance

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// TestObjectReader checks that the direct object reader returns every
// object of a repository exactly as go-git's storage does: whole and
// deltified objects in packs (also past a second pack and with a large
// offset table absent), and loose objects.
func TestObjectReader(t *testing.T) {
	dir := newRepo(t)
	var body strings.Builder
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&body, "line %d of a file that changes a little between commits\n", i)
	}
	for c := 0; c < 6; c++ {
		write(t, dir, "big.txt", body.String()+strings.Repeat("tail\n", c))
		write(t, dir, fmt.Sprintf("d%d/small.txt", c%3), fmt.Sprintf("small %d\n", c))
		write(t, dir, "bin.dat", "\x00\x01"+strings.Repeat("b", 100*c))
		commitAll(t, dir, fmt.Sprintf("commit %d", c))
		if c == 2 {
			run(t, dir, "gc", "-q", "--aggressive") // deltas in a first pack
		}
	}
	run(t, dir, "repack", "-q", "-d") // a second pack with the newer objects
	write(t, dir, "big.txt", body.String()+"loose\n")
	commitAll(t, dir, "loose objects")

	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	fsStorage := repo.Storer.(*filesystem.Storage)
	for _, bulk := range []int{4096, 0} { // names read at once, or probed
		r := &objectReader{fs: fsStorage.Filesystem(), bulkNames: bulk}
		checkObjectReader(t, dir, fsStorage, r)
		r.close()
	}
}

// checkObjectReader compares every object r reads with go-git's.
func checkObjectReader(t *testing.T, dir string, fsStorage *filesystem.Storage, r *objectReader) {
	t.Helper()

	all := strings.Fields(run(t, dir, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)"))
	idxs, err := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.idx"))
	if err != nil {
		t.Fatal(err)
	}
	deltas := 0
	for _, idx := range idxs {
		for _, l := range strings.Split(run(t, dir, "verify-pack", "-v", idx), "\n") {
			if f := strings.Fields(l); len(f) >= 7 && len(f[0]) == 40 {
				deltas++ // a deltified object lists its depth and base
			}
		}
	}
	loose, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "??", "*"))
	if len(all) < 30 || deltas == 0 || len(idxs) < 2 || len(loose) == 0 {
		t.Fatalf("test repository too simple: %d objects, %d deltas, %d packs, %d loose", len(all), deltas, len(idxs), len(loose))
	}
	for _, hex := range all {
		h := plumbing.NewHash(hex)
		want, err := fsStorage.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			t.Fatal(err)
		}
		wantData := readAll(t, want)
		typ, data, err := r.read(h)
		if err != nil {
			t.Fatalf("read %s: %v", h, err)
		}
		if typ != want.Type() || !bytes.Equal(data, wantData) {
			t.Fatalf("read %s: %v of %d bytes, want %v of %d bytes", h, typ, len(data), want.Type(), len(wantData))
		}
		if typ != plumbing.BlobObject {
			continue
		}
		size, rc, err := r.openBlob(h)
		if err != nil {
			t.Fatalf("openBlob %s: %v", h, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || size != int64(len(wantData)) || !bytes.Equal(got, wantData) {
			t.Fatalf("openBlob %s: %d bytes (size %d, %v), want %d", h, len(got), size, err, len(wantData))
		}
	}
	if _, _, err := r.read(plumbing.NewHash(strings.Repeat("ab", 20))); err != errNoFastObject {
		t.Fatalf("read of a missing object: %v, want errNoFastObject", err)
	}
}

// readAll returns the content of an object.
func readAll(t *testing.T, o plumbing.EncodedObject) []byte {
	t.Helper()
	rc, err := o.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

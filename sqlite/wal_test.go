package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
)

// walFrameBytes is the size of one WAL frame of a 4 KiB page: a 24-byte
// frame header and the page.
const walFrameBytes = 24 + 4096

// TestCloseLeavesTheWAL checks that closing the last connection leaves the
// WAL and its index for the next process instead of checkpointing and
// deleting them, and that the next opening sees every write kept there.
func TestCloseLeavesTheWAL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "mlrun.db")
	var ids []string
	for i := range 3 {
		s, err := sqlite.Open(ctx, path, filepath.Join(dir, "artifacts"))
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			mustGetRun(t, s, id) // written by an earlier opening
		}
		r := mustCreateRun(t, s, tracking.NewRun{Name: "run-" + strconv.Itoa(i), Params: []tracking.Param{{Key: "i", Value: strconv.Itoa(i)}}})
		mustLog(t, s, r.ID, []tracking.Metric{{Key: "acc", Value: float64(i)}}, nil, nil)
		ids = append(ids, r.ID)
		before, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		after, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatalf("after Close: %v; want the WAL kept", err)
		}
		if after.Size() < before.Size() || !os.SameFile(before, after) {
			t.Fatalf("Close changed the WAL from %d to %d bytes (same file: %v); want it kept", before.Size(), after.Size(), os.SameFile(before, after))
		}
		if _, err := os.Stat(path + "-shm"); err != nil {
			t.Fatalf("after Close: %v; want the WAL index kept", err)
		}
	}
	s, err := sqlite.Open(ctx, path, filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, id := range ids {
		r := mustGetRun(t, s, id)
		if r.Info.Name != "run-"+strconv.Itoa(i) || len(r.Metrics) != 1 || r.Metrics[0].Value != float64(i) {
			t.Errorf("run %d reads back as %+v", i, r)
		}
	}
}

// fillWAL logs batches to a new run of s until its WAL file holds more
// than bytes.
func fillWAL(t *testing.T, s *sqlite.Store, bytes int64) string {
	t.Helper()
	r := mustCreateRun(t, s, tracking.NewRun{})
	for step := int64(0); ; step++ {
		var points []tracking.Metric
		for k := range 100 {
			points = append(points, tracking.Metric{Key: "m" + strconv.Itoa(k), Value: float64(step), Step: step, Timestamp: step})
		}
		mustLog(t, s, r.ID, points, nil, nil)
		st, err := os.Stat(s.Path() + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > bytes {
			return r.ID
		}
	}
}

// TestWALStaysBounded writes through one store more frames than the
// autocheckpoint threshold (4000) and checks that the WAL is checkpointed
// and restarted as it grows: its file never holds many more frames.
func TestWALStaysBounded(t *testing.T) {
	s := openStore(t)
	const limit = 4300 // frames: the threshold and the transaction that passed it
	fillWAL(t, s, 3900*walFrameBytes)
	for range 300 {
		fillWAL(t, s, 0) // a new run and a batch: a few frames more
	}
	st, err := os.Stat(s.Path() + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if frames := st.Size() / walFrameBytes; frames > limit {
		t.Fatalf("the WAL holds %d frames; want at most %d", frames, limit)
	}
}

// TestWALFileShrinksAfterALongLog writes through one store past the
// autocheckpoint threshold (4000 frames, 16 MiB) and checks that once the
// log starts over, its file is cut back to 4 MiB (journal_size_limit): a
// long process does not leave every later one a 16 MiB file.
func TestWALFileShrinksAfterALongLog(t *testing.T) {
	s := openStore(t)
	id := fillWAL(t, s, 4001*walFrameBytes)
	mustLog(t, s, id, []tracking.Metric{{Key: "after", Value: 1}}, nil, nil)
	st, err := os.Stat(s.Path() + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 4<<20 {
		t.Fatalf("after the log started over, the WAL file holds %d bytes; want at most 4 MiB", st.Size())
	}
}

// TestCloseCheckpointsALongWAL checks when the WAL is checkpointed and its
// log started over, so that the next process does not read it all:
//   - a process that leaves more than 4 MiB of log does it at Close;
//   - one that made the log pass 2 MiB leaves it to the next;
//   - the next, if it creates a run, copies the log into the database file
//     in the background while it works, and its Close starts the log over;
//   - one that only reads leaves the log as it is;
//   - a short log in a long file is not checkpointed again;
//   - a reader of another connection holding an old snapshot makes Close
//     leave the WAL rather than wait or fail.
func TestCloseCheckpointsALongWAL(t *testing.T) {
	ctx := context.Background()
	open := func(path string) *sqlite.Store {
		t.Helper()
		s, err := sqlite.Open(ctx, path, filepath.Join(filepath.Dir(path), "artifacts"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	closeStore := func(s *sqlite.Store) {
		t.Helper()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	restarted := func(path, when string) {
		t.Helper()
		if n, size := walLogFrames(t, path); n > 1 || size < 2<<20 {
			t.Fatalf("%s, the WAL's log holds %d frames in a file of %d bytes; want it started over in the same file", when, n, size)
		}
	}
	kept := func(path, when string) {
		t.Helper()
		if n, _ := walLogFrames(t, path); n*walFrameBytes < 2<<20 {
			t.Fatalf("%s, the WAL's log holds %d frames; want it kept (more than 2 MiB)", when, n)
		}
	}
	readDB := func(path string) []byte {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	long := filepath.Join(t.TempDir(), "mlrun.db")
	s := open(long)
	id := fillWAL(t, s, 4<<20)
	closeStore(s)
	restarted(long, "after a process wrote 4 MiB")
	s = open(long)
	if n := len(mustGetRun(t, s, id).Metrics); n != 100 {
		t.Fatalf("the run has %d metrics after the checkpoint; want 100", n)
	}
	closeStore(s)

	path := filepath.Join(t.TempDir(), "mlrun.db")
	s = open(path)
	id = fillWAL(t, s, 2<<20)
	closeStore(s)
	kept(path, "after a process made the log pass 2 MiB")

	before := readDB(path)
	s = open(path)
	mustGetRun(t, s, id)
	closeStore(s)
	kept(path, "after a process that only read")
	if !bytes.Equal(before, readDB(path)) {
		t.Fatal("a process that only read checkpointed the WAL")
	}

	s = open(path)
	mustCreateRun(t, s, tracking.NewRun{})
	for deadline := time.Now().Add(10 * time.Second); bytes.Equal(before, readDB(path)); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("10 s after a run was created in a store with a long WAL, the database file has none of its frames; want them copied in the background")
		}
	}
	closeStore(s)
	restarted(path, "after a process that created a run")
	s = open(path)
	if n := len(mustGetRun(t, s, id).Metrics); n != 100 {
		t.Fatalf("the run has %d metrics after the checkpoint; want 100", n)
	}
	before = readDB(path)
	mustCreateRun(t, s, tracking.NewRun{})
	closeStore(s)
	if !bytes.Equal(before, readDB(path)) {
		t.Fatal("Close checkpointed a short log")
	}

	s = open(path)
	other, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	reader, err := other.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback()
	var runs int
	if err := reader.QueryRow(`SELECT COUNT(*) FROM runs`).Scan(&runs); err != nil {
		t.Fatal(err)
	}
	id = fillWAL(t, s, 4<<20)
	if err := s.Close(); err != nil {
		t.Fatalf("Close with another connection reading: %v", err)
	}
	reader.Rollback()
	s = open(path)
	defer s.Close()
	if n := len(mustGetRun(t, s, id).Metrics); n != 100 {
		t.Fatalf("the run written while another connection read has %d metrics; want 100", n)
	}
}

// walLogFrames returns how many frames the log in the WAL file of the
// database at path holds: the frames from the start of the file that
// carry the WAL header's salts (checksums unchecked), and the file's size.
func walLogFrames(t *testing.T, path string) (frames int, size int64) {
	t.Helper()
	b, err := os.ReadFile(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 32 {
		return 0, int64(len(b))
	}
	frame := 24 + int(binary.BigEndian.Uint32(b[8:12]))
	for off := 32; off+frame <= len(b) && bytes.Equal(b[off+8:off+16], b[16:24]); off += frame {
		frames++
	}
	return frames, int64(len(b))
}

// TestOpenAndEnsureExperimentDoNotWaitForAWriter opens an up-to-date store
// and looks up an existing experiment while another connection holds the
// write lock: neither has anything to write, so neither may queue behind
// the writer (they took the lock for an empty transaction before, and so
// did the statistics check of Open and Close).
func TestOpenAndEnsureExperimentDoNotWaitForAWriter(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path, artifacts := filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts")
	s, err := sqlite.Open(ctx, path, artifacts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureExperiment(ctx, "exp"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Once more: the statistics of the new tables settle.
	if s, err = sqlite.Open(ctx, path, artifacts); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	writer, err := sql.Open("sqlite3", path+"?_busy_timeout=1000")
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	conn, err := writer.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, `ROLLBACK`)

	done := make(chan error, 1)
	go func() {
		s, err := sqlite.Open(ctx, path, artifacts)
		if err != nil {
			done <- err
			return
		}
		defer s.Close()
		_, err = s.EnsureExperiment(ctx, "exp")
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		conn.ExecContext(ctx, `ROLLBACK`)
		t.Fatal("Open and EnsureExperiment of an existing experiment waited for another connection's write lock")
	}
}

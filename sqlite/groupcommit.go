package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// writeGroup commits concurrent small writes (runs created, batches
// logged) together: while one transaction is being written, the writes
// that arrive queue up, and the next transaction carries all of them, each
// inside its own savepoint. A write that fails is rolled back to its
// savepoint alone; the others commit. Every caller returns only after the
// transaction holding its write has committed (or failed), so an
// acknowledged write is as durable as one committed alone. The zero value
// is ready to use.
//
// There is no goroutine of its own: the caller that finds the group idle
// becomes its leader and writes transactions until the queue is empty.
type writeGroup struct {
	mu      sync.Mutex
	queue   []*groupWrite
	leading bool
}

// groupWrite is one queued write.
type groupWrite struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error
}

// maxGroup bounds how many writes one transaction carries, so that a
// long queue still commits (and answers) in steps.
const maxGroup = 64

// writeGrouped runs fn in a write transaction shared with other concurrent
// writeGrouped calls and returns once that transaction has committed. fn
// gets a context that is not canceled when ctx is: once fn has started, a
// caller that goes away cannot interrupt the transaction the others share
// (its write may then commit unacknowledged, as a request whose answer was
// lost). A ctx already done before fn starts skips the write.
func (s *Store) writeGrouped(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	w := &groupWrite{ctx: ctx, fn: fn, done: make(chan error, 1)}
	g := &s.group
	g.mu.Lock()
	g.queue = append(g.queue, w)
	if g.leading {
		g.mu.Unlock()
		return <-w.done
	}
	g.leading = true
	g.mu.Unlock()
	for {
		g.mu.Lock()
		n := min(len(g.queue), maxGroup)
		batch := g.queue[:n:n]
		g.queue = g.queue[n:]
		if n == 0 {
			g.leading = false
			g.queue = nil
		}
		g.mu.Unlock()
		if n == 0 {
			break
		}
		s.commitGroup(batch)
	}
	return <-w.done
}

// commitGroup writes batch in one transaction and answers each write.
func (s *Store) commitGroup(batch []*groupWrite) {
	results := make([]error, len(batch))
	fail := func(err error) {
		for _, w := range batch {
			w.done <- err
		}
	}
	tx, err := s.db.BeginTx(context.Background(), nil)
	if err != nil {
		fail(fmt.Errorf("begin write transaction on %s: %w", s.path, err))
		return
	}
	if len(batch) == 1 {
		// Alone in its transaction, a write needs no savepoint: if it
		// fails, the transaction is rolled back.
		w := batch[0]
		if err := w.ctx.Err(); err != nil {
			tx.Rollback()
			w.done <- err
			return
		}
		if err := callWrite(context.WithoutCancel(w.ctx), tx, w.fn); err != nil {
			tx.Rollback()
			w.done <- err
			return
		}
		if err := tx.Commit(); err != nil {
			w.done <- fmt.Errorf("commit to %s: %w", s.path, err)
			return
		}
		w.done <- nil
		return
	}
	for i, w := range batch {
		if err := w.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		ctx := context.WithoutCancel(w.ctx)
		if _, err := tx.ExecContext(ctx, `SAVEPOINT group_write`); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("write to %s: %w", s.path, err))
			return
		}
		results[i] = callWrite(ctx, tx, w.fn)
		if results[i] != nil {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO group_write`); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("write to %s: %w", s.path, err))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE group_write`); err != nil {
			// SQLite rolled the whole transaction back (a full disk, an
			// I/O error): no write of the group is kept.
			tx.Rollback()
			fail(fmt.Errorf("write to %s: %w", s.path, err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("commit to %s: %w", s.path, err))
		return
	}
	for i, w := range batch {
		w.done <- results[i]
	}
}

// callWrite calls fn, turning a panic into its error so that the group's
// other writers are still answered.
func callWrite(ctx context.Context, tx *sql.Tx, fn func(ctx context.Context, tx *sql.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write failed: %v", r)
		}
	}()
	return fn(ctx, tx)
}

package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// GetStepCache returns the cache entry stored under key, or (nil, nil)
// when there is none.
func (s *Store) GetStepCache(ctx context.Context, key string) ([]byte, error) {
	var entry []byte
	err := s.read(ctx, func(tx *txn) error {
		return tx.QueryRowContext(ctx, `SELECT entry FROM step_cache WHERE cache_key = ?`, key).Scan(&entry)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read step cache %s: %w", key, err)
	}
	return entry, nil
}

// PutStepCache stores a cache entry, replacing any under the same key.
func (s *Store) PutStepCache(ctx context.Context, key, kind, step, runID string, entry []byte) error {
	return s.write(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO step_cache (cache_key, kind, step, run_id, created, entry)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (cache_key) DO UPDATE SET kind = excluded.kind, step = excluded.step,
				run_id = excluded.run_id, created = excluded.created, entry = excluded.entry`,
			key, kind, step, runID, time.Now().UnixMilli(), entry)
		if err != nil {
			return fmt.Errorf("write step cache %s: %w", key, err)
		}
		return nil
	})
}

// DeleteStepCache removes the entry under key (used when its files are gone).
func (s *Store) DeleteStepCache(ctx context.Context, key string) error {
	return s.write(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM step_cache WHERE cache_key = ?`, key)
		return err
	})
}

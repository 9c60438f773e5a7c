package httpstore

import "context"

// ClaimRun takes a SCHEDULED run for host and pid; the server makes the
// conditional update (see tracking.RunStore).
func (s *Store) ClaimRun(ctx context.Context, id, host string, pid int) error {
	return s.call(ctx, "ClaimRun", args(id, host, pid), nil)
}

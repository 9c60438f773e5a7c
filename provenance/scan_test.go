package provenance

import (
	"context"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// TestCmpJoined checks cmpJoined against comparing with the joined string.
func TestCmpJoined(t *testing.T) {
	names := []string{"", "a", "ab", "a-b", "a.b", "a/", "a/b", "a0", "b", "b/x"}
	for _, s := range names {
		for _, name := range []string{"a", "ab", "b"} {
			want := 0
			switch j := name + "/"; {
			case s < j:
				want = -1
			case s > j:
				want = 1
			}
			if got := cmpJoined(s, name, '/'); got != want {
				t.Errorf("cmpJoined(%q, %q, '/') = %d, want %d", s, name, got, want)
			}
		}
	}
}

// TestIndexSorted checks which indexes the fast scan accepts: sorted by
// path, then stage, and whether a path repeats (conflict stages).
func TestIndexSorted(t *testing.T) {
	entry := func(name string, stage index.Stage) *index.Entry { return &index.Entry{Name: name, Stage: stage} }
	tests := []struct {
		name           string
		entries        []*index.Entry
		sorted, unique bool
	}{
		{"empty", nil, true, true},
		{"sorted", []*index.Entry{entry("a", 0), entry("a.b", 0), entry("a/b", 0), entry("b", 0)}, true, true},
		{"conflict", []*index.Entry{entry("a", 1), entry("a", 2), entry("a", 3), entry("b", 0)}, true, false},
		{"out of order", []*index.Entry{entry("a/b", 0), entry("a.b", 0)}, false, false},
		{"stages out of order", []*index.Entry{entry("a", 2), entry("a", 1)}, false, false},
		{"duplicate", []*index.Entry{entry("a", 0), entry("a", 0)}, false, false},
	}
	for _, tc := range tests {
		sorted, unique := indexSorted(tc.entries)
		if sorted != tc.sorted || unique != tc.unique {
			t.Errorf("%s: indexSorted = %v, %v; want %v, %v", tc.name, sorted, unique, tc.sorted, tc.unique)
		}
	}
}

// TestChangesFastDeclinesUnsortedIndex checks that the fast scan leaves an
// index that is not in git's order to the plain scan.
func TestChangesFastDeclinesUnsortedIndex(t *testing.T) {
	s := &scanner{idx: &index.Index{Entries: []*index.Entry{{Name: "b"}, {Name: "a"}}}}
	if _, _, ok, err := s.changesFast(context.Background(), ""); ok || err != nil {
		t.Fatalf("changesFast on an unsorted index: ok %v, err %v; want false, nil", ok, err)
	}
}

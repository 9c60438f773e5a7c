package sqlite

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/tracking"
)

// TestSearchQueryBindsUserValues checks that no key or value from a filter
// or order_by reaches the SQL text: they must all be bound parameters.
func TestSearchQueryBindsUserValues(t *testing.T) {
	const mark = "zq9"
	f, err := tracking.ParseFilter(`metrics."` + mark + `m" > 1 and params.` + mark + `p LIKE '` + mark + `%' and tags.` + mark +
		`t ILIKE '` + mark + `' and run_id IN ('` + mark + `a', '` + mark + `b') and user_id = '` + mark + `'' OR 1=1 --'`)
	if err != nil {
		t.Fatal(err)
	}
	var orders []tracking.OrderBy
	for _, o := range []string{"metrics." + mark + "o DESC", "params." + mark + "q", "tags." + mark + "r"} {
		ob, err := tracking.ParseOrderBy(o)
		if err != nil {
			t.Fatal(err)
		}
		orders = append(orders, ob)
	}
	sq, err := buildSearchQuery([]string{"3"}, tracking.All, f, orders)
	if err != nil {
		t.Fatal(err)
	}
	if sq.rest == nil {
		t.Fatal("a search ordered by a metric the filter does not name has no rest part")
	}
	for _, p := range []*searchPart{sq.ranked, sq.rest} {
		query := p.from + p.order
		if strings.Contains(query, mark) {
			t.Fatalf("a user value reached the SQL text:\n%s", query)
		}
		if got, want := strings.Count(query, "?"), len(p.args); got != want {
			t.Fatalf("query has %d placeholders but %d args:\n%s", got, want, query)
		}
		joined := fmt.Sprint(p.args...)
		for _, v := range []string{mark + "m", mark + "p", mark + "*", mark + "t", mark + "a", mark + "b", mark + "' OR 1=1 --", mark + "o", mark + "q", mark + "r"} {
			if !strings.Contains(joined, v) {
				t.Errorf("args %v lack %q", p.args, v)
			}
		}
	}
}

func TestLikeToGlob(t *testing.T) {
	tests := []struct{ like, glob string }{
		{"abc", "abc"},
		{"a%", "a*"},
		{"a_c", "a?c"},
		{"*?[]", "[*][?][[]]"},
		{"%ü_", "*ü?"},
	}
	for _, tt := range tests {
		if got := likeToGlob(tt.like); got != tt.glob {
			t.Errorf("likeToGlob(%q) = %q, want %q", tt.like, got, tt.glob)
		}
	}
}

package tracking

import (
	"testing"

	"github.com/mlrun/mlrun/errs"
)

// FuzzParseFilter: any string gives a filter or an errs.Invalid error,
// never a panic.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"metrics.acc > 0.5 and params.model = 'a'",
		"tags.`mlflow.runName` LIKE '%x%'",
		`metrics."my loss" <= -1e3`,
		"run_id IN ('a', 'b') AND status != 'FAILED'",
		"attributes.start_time >= 0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := ParseFilter(s); err != nil && errs.Code(err) != errs.Invalid {
			t.Fatalf("ParseFilter(%q): %v has code %s", s, err, errs.Code(err))
		}
		if _, err := ParseOrderBy(s); err != nil && errs.Code(err) != errs.Invalid {
			t.Fatalf("ParseOrderBy(%q): %v has code %s", s, err, errs.Code(err))
		}
	})
}

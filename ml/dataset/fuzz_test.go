package dataset

import (
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
)

// FuzzParse: any bytes give a data set or a one-line errs.Invalid error,
// never a panic. `go test -fuzz FuzzParse ./ml/dataset` explores; plain
// `go test` runs the seeds.
func FuzzParse(f *testing.F) {
	f.Add([]byte("a,b,y\n1,2,0\n3,4,1\n"), "y", "")
	f.Add([]byte("a,b,y\n1,,0\nx,4,1\n"), "y", "mean")
	f.Add([]byte("\ufeffa;y\n1;2\n"), "y", "drop")
	f.Add([]byte("a,y\n\"1\n2\",0\n"), "y", "most_frequent")
	f.Fuzz(func(t *testing.T, data []byte, target, missing string) {
		ds, err := Parse("f.csv", data, LoadOptions{Target: target, Missing: missing})
		if err != nil {
			if errs.Code(err) != errs.Invalid || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q: code %s, want one line of %s", err, errs.Code(err), errs.Invalid)
			}
			return
		}
		if ds.Rows != ds.Features.NRows || len(ds.Target.Y) != ds.Rows {
			t.Fatalf("inconsistent data set: %d rows, %d feature rows, %d targets", ds.Rows, ds.Features.NRows, len(ds.Target.Y))
		}
	})
}

// Package mltest holds the helpers that the tests of the ml estimator
// packages share: finding and reading their CSV data sets and JSON
// fixtures, taking row subsets, and scoring predictions. It is imported
// only by _test.go files.
//
// Data files are looked up by name, first in the testdata directory of the
// package under test (go test runs a package's tests in its source
// directory), then in this package's testdata directory, which holds the
// data sets several packages share: iris.csv, wine.csv and regression.csv
// (see testdata/README.md).
package mltest

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/mlrun/mlrun/ml"
	"gonum.org/v1/gonum/mat"
)

// SharedDir returns the directory of the shared data sets,
// ml/internal/mltest/testdata, located from this source file's path as
// the compiler recorded it.
func SharedDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata")
}

// DataPath returns the path of the data file name: testdata/name when the
// package under test has one, otherwise name in SharedDir. The test fails
// when neither exists.
func DataPath(t testing.TB, name string) string {
	t.Helper()
	local := filepath.Join("testdata", name)
	if _, err := os.Stat(local); err == nil {
		return local
	} else if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("data file %s: %v", name, err)
	}
	shared := filepath.Join(SharedDir(), name)
	if _, err := os.Stat(shared); err != nil {
		t.Fatalf("data file %s is neither in testdata/ nor in %s: %v", name, SharedDir(), err)
	}
	return shared
}

// LoadCSV reads the data file name (found by DataPath): a header row, then
// rows of numbers whose last column is the target. It returns the feature
// matrix and the targets.
func LoadCSV(t testing.TB, name string) (*mat.Dense, []float64) {
	t.Helper()
	path := DataPath(t, name)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if len(rows) < 2 || len(rows[0]) < 2 {
		t.Fatalf("%s: want a header, at least one row and at least two columns", path)
	}
	n, p := len(rows)-1, len(rows[0])-1
	X := mat.NewDense(n, p, nil)
	y := make([]float64, n)
	for i, row := range rows[1:] {
		for j, s := range row {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("%s row %d: %v", path, i, err)
			}
			if j < p {
				X.Set(i, j, v)
			} else {
				y[i] = v
			}
		}
	}
	return X, y
}

// LoadSplit reads the data file name with LoadCSV and returns its train
// rows and its test rows, in the order given (typically the indices that
// scikit-learn's train_test_split chose, stored in a fixture).
func LoadSplit(t testing.TB, name string, train, test []int) (Xtr *mat.Dense, ytr []float64, Xte *mat.Dense, yte []float64) {
	t.Helper()
	X, y := LoadCSV(t, name)
	Xtr, ytr = Subset(X, y, train)
	Xte, yte = Subset(X, y, test)
	return Xtr, ytr, Xte, yte
}

// Subset returns a copy of the given rows of X and y, in that order.
func Subset(X *mat.Dense, y []float64, rows []int) (*mat.Dense, []float64) {
	_, p := X.Dims()
	Xs := mat.NewDense(len(rows), p, nil)
	ys := make([]float64, len(rows))
	for i, r := range rows {
		Xs.SetRow(i, X.RawRowView(r))
		ys[i] = y[r]
	}
	return Xs, ys
}

// ReadJSON decodes the fixture testdata/name of the package under test
// into v.
func ReadJSON(t testing.TB, name string, v any) {
	t.Helper()
	path := filepath.Join("testdata", name)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}

// FitJSON fits est on X and y (without progress reports) and returns its
// JSON encoding, for the tests that check a fit is deterministic and
// survives a JSON round trip. The test fails on any error.
func FitJSON(t testing.TB, est ml.Estimator, X *mat.Dense, y []float64) []byte {
	t.Helper()
	if err := est.Fit(context.Background(), X, y, nil); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(est)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Accuracy returns the fraction of pred equal to y (same length).
func Accuracy(pred, y []float64) float64 {
	ok := 0
	for i := range y {
		if pred[i] == y[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(y))
}

package neighbors

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// loadCSV reads testdata/name: feature columns then a "target" column.
func loadCSV(t testing.TB, name string) (*mat.Dense, []float64) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	n, p := len(rows)-1, len(rows[0])-1
	X := mat.NewDense(n, p, nil)
	y := make([]float64, n)
	for i, row := range rows[1:] {
		for j, s := range row {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("%s row %d: %v", name, i, err)
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

// subset returns the given rows of X and y.
func subset(X *mat.Dense, y []float64, rows []int) (*mat.Dense, []float64) {
	_, p := X.Dims()
	Xs := mat.NewDense(len(rows), p, nil)
	ys := make([]float64, len(rows))
	for i, r := range rows {
		Xs.SetRow(i, X.RawRowView(r))
		ys[i] = y[r]
	}
	return Xs, ys
}

func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
}

func accuracy(pred, y []float64) float64 {
	ok := 0
	for i := range pred {
		if pred[i] == y[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(y))
}

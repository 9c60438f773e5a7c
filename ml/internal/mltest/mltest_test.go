package mltest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadCSVFindsSharedData(t *testing.T) {
	// From a directory without testdata/, LoadCSV falls back to the
	// shared data sets.
	cases := []struct {
		name      string
		rows      int
		features  int
		x00, yEnd float64 // X[0][0] and the last target
	}{
		{"iris.csv", 150, 4, 5.1, 2},
		{"wine.csv", 178, 13, 14.23, 2},
	}
	t.Chdir(t.TempDir())
	for _, c := range cases {
		X, y := LoadCSV(t, c.name)
		n, p := X.Dims()
		if n != c.rows || p != c.features || len(y) != c.rows {
			t.Fatalf("%s: %d×%d with %d targets, want %d×%d", c.name, n, p, len(y), c.rows, c.features)
		}
		if X.At(0, 0) != c.x00 || y[n-1] != c.yEnd {
			t.Fatalf("%s: X[0][0] = %v and last target %v, want %v and %v", c.name, X.At(0, 0), y[n-1], c.x00, c.yEnd)
		}
	}
}

func TestDataPathPrefersTheLocalFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "testdata"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "testdata", "iris.csv"), []byte("a,target\n1.5,3\n2.5,4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if got := DataPath(t, "iris.csv"); got != filepath.Join("testdata", "iris.csv") {
		t.Fatalf("DataPath = %s, want the local testdata/iris.csv", got)
	}
	X, y := LoadCSV(t, "iris.csv")
	if X.At(1, 0) != 2.5 || y[1] != 4 {
		t.Fatalf("LoadCSV read %v and %v, want the local file's 2.5 and 4", X.At(1, 0), y[1])
	}
	Xs, ys := Subset(X, y, []int{1, 0})
	if Xs.At(0, 0) != 2.5 || ys[1] != 3 {
		t.Fatalf("Subset(rows 1, 0) = %v, %v", Xs.RawMatrix().Data, ys)
	}
}

func TestAccuracy(t *testing.T) {
	if got := Accuracy([]float64{0, 1, 2, 2}, []float64{0, 1, 1, 2}); got != 0.75 {
		t.Fatalf("Accuracy = %v, want 0.75", got)
	}
}

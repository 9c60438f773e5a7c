package linear

import (
	"bufio"
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/internal/mltest"
	"gonum.org/v1/gonum/mat"
)

// benchData returns n samples with p features in k classes: class centres
// drawn from N(0, 1) per feature, samples = centre + N(0, 1.5²) noise, from
// a fixed PCG seed. Labels cycle 0, 1, ..., k-1.
func benchData(n, p, k int) (*mat.Dense, []float64) {
	rng := rand.New(rand.NewPCG(42, 1))
	centres := make([]float64, k*p)
	for i := range centres {
		centres[i] = rng.NormFloat64()
	}
	X := mat.NewDense(n, p, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		c := i % k
		y[i] = float64(c)
		row := X.RawRowView(i)
		for j := range row {
			row[j] = centres[c*p+j] + 1.5*rng.NormFloat64()
		}
	}
	return X, y
}

// writeBenchData writes X then y as little-endian float64, for
// testdata/bench_sklearn.py.
func writeBenchData(path string, X *mat.Dense, y []float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	n, _ := X.Dims()
	buf := make([]byte, 8)
	put := func(v float64) {
		binary.LittleEndian.PutUint64(buf, math.Float64bits(v))
		w.Write(buf)
	}
	for i := 0; i < n; i++ {
		for _, v := range X.RawRowView(i) {
			put(v)
		}
	}
	for _, v := range y {
		put(v)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// BenchmarkLogisticRegression100kx50 fits the default logistic regression
// (multinomial, C=1, max_iter=100) on 100,000 × 50 with 5 classes. Set
// MLRUN_BENCH_DATA=/path/file.bin to also write the data for
// testdata/bench_sklearn.py.
func BenchmarkLogisticRegression100kx50(b *testing.B) {
	X, y := benchData(100_000, 50, 5)
	if path := os.Getenv("MLRUN_BENCH_DATA"); path != "" {
		if err := writeBenchData(path, X, y); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		est := newEstimator(b, "logistic_regression", ml.Classification, nil)
		if err := est.Fit(context.Background(), X, y, nil); err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			m := est.(*LogisticRegression)
			b.ReportMetric(float64(m.NIter[0]), "iterations")
			b.ReportMetric(mltest.Accuracy(m.Predict(X), y), "train_acc")
		}
	}
}

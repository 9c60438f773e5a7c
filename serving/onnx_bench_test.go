package serving

import (
	"context"
	"net/http"
	"testing"

	"github.com/mlrun/mlrun/ml/dataset"
)

// BenchmarkServeONNX measures one-row predictions of the Iris logistic
// regression served through ONNX Runtime against the same model served
// natively, in the same run (32 connections on 127.0.0.1): onnx_rps,
// native_rps and their ratio. scripts/bench.sh runs it with BenchmarkServe
// (its pattern "Serve" matches both).
func BenchmarkServeONNX(b *testing.B) {
	lib := onnxLibrary(b)
	_, m := irisModel(b)
	dir := withONNX(b, m, irisCSV, dataset.LoadOptions{Target: "target"})
	start := func(o Options) string {
		s, err := New(context.Background(), newSource(dir), o)
		if err != nil {
			b.Fatal(err)
		}
		addr, stop := serve(b, s)
		b.Cleanup(func() { stop() })
		return "http://" + addr + "/invocations"
	}
	nativeURL := start(Options{})
	// One ONNX Runtime thread per call: the 32 connections already keep the
	// cores busy, as the native model does.
	onnxURL := start(Options{ONNX: ONNXOptions{Library: lib, Backend: BackendONNX, Threads: 1}})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * benchConns, MaxConnsPerHost: benchConns, DisableCompression: true}}
	defer client.CloseIdleConnections()
	const body, want = `{"data": [[5.1, 3.5, 1.4, 0.2]]}`, "{\"predictions\": [0]}\n"

	b.ResetTimer()
	for range b.N {
		drive(b, client, nativeURL, body, want, benchConns, benchWarmup)
		drive(b, client, onnxURL, body, want, benchConns, benchWarmup)
		n := drive(b, client, nativeURL, body, want, benchConns, benchRequests)
		o := drive(b, client, onnxURL, body, want, benchConns, benchRequests)
		b.ReportMetric(o.rps, "onnx_rps")
		b.ReportMetric(n.rps, "native_rps")
		b.ReportMetric(o.rps/n.rps, "ratio")
		b.ReportMetric(float64(o.p50.Microseconds())/1000, "onnx_p50_ms")
		b.ReportMetric(float64(n.p50.Microseconds())/1000, "native_p50_ms")
		b.Logf("onnx: %.0f req/s, p50 %v, p99 %v; native: %.0f req/s, p50 %v, p99 %v; ratio %.2f",
			o.rps, o.p50, o.p99, n.rps, n.p50, n.p99, o.rps/n.rps)
	}
}

package serving

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlrun/mlrun/internal/benchcmp"
)

// Load-generator settings of BenchmarkServe.
const (
	benchConns    = 32
	benchRequests = 10000
	benchWarmup   = 2000
	benchMaxTime  = 30 * time.Second
)

// loadStats summarises one load run.
type loadStats struct {
	requests int
	rps      float64
	p50, p99 time.Duration
}

// drive sends n POSTs of body to url over conns concurrent keep-alive
// connections (stopping early after benchMaxTime) and measures them. Every
// answer must be 200 with the body want.
func drive(tb testing.TB, client *http.Client, url, body, want string, conns, n int) loadStats {
	tb.Helper()
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Value
	deadline := time.Now().Add(benchMaxTime)
	start := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || time.Now().After(deadline) || failed.Load() != nil {
					return
				}
				t0 := time.Now()
				resp, err := client.Post(url, "application/json", strings.NewReader(body))
				if err != nil {
					failed.Store(err.Error())
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if err != nil || resp.StatusCode != 200 || string(b) != want {
					failed.Store(fmt.Sprintf("status %d body %q %v", resp.StatusCode, b, err))
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if f := failed.Load(); f != nil {
		tb.Fatalf("load on %s failed: %v", url, f)
	}
	done := min(int(next.Load()), n)
	lat = lat[:done]
	slices.Sort(lat)
	return loadStats{
		requests: done,
		rps:      float64(done) / elapsed.Seconds(),
		p50:      lat[done/2],
		p99:      lat[done*99/100],
	}
}

// BenchmarkServe compares one-row JSON predictions with a Go hello-world
// handler, both on 127.0.0.1 driven by 32 keep-alive connections from the
// same process, in alternating pairs of benchRequests requests each
// (MLRUN_BENCH_PAIRS, default 5; see internal/benchcmp): throughput and p99
// latency, as median ratios with their spread.
//
//	go test -run '^$' -bench Serve -benchtime 1x ./serving/
func BenchmarkServe(b *testing.B) {
	dir, _ := irisModel(b)
	s, err := New(context.Background(), newSource(dir), Options{})
	if err != nil {
		b.Fatal(err)
	}
	addr, stop := serve(b, s)
	defer stop()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hello := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "Hello, World!\n")
	})}
	go hello.Serve(ln)
	defer hello.Close()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * benchConns, MaxConnsPerHost: benchConns, DisableCompression: true}}
	defer client.CloseIdleConnections()
	const body = `{"data": [[5.1, 3.5, 1.4, 0.2]]}`
	serveURL, helloURL := "http://"+addr+"/invocations", "http://"+ln.Addr().String()+"/"
	const serveWant, helloWant = "{\"predictions\": [0]}\n", "Hello, World!\n"

	pairs := 5
	if n, err := strconv.Atoi(os.Getenv("MLRUN_BENCH_PAIRS")); err == nil && n > 0 {
		pairs = n
	}
	b.ResetTimer()
	for range b.N {
		drive(b, client, helloURL, body, helloWant, benchConns, benchWarmup)
		drive(b, client, serveURL, body, serveWant, benchConns, benchWarmup)
		var hs, ss []loadStats
		benchcmp.Alternate(pairs, func() float64 {
			ss = append(ss, drive(b, client, serveURL, body, serveWant, benchConns, benchRequests))
			return 0
		}, func() float64 {
			hs = append(hs, drive(b, client, helloURL, body, helloWant, benchConns, benchRequests))
			return 0
		})
		var srps, hrps, sp99, hp99 []float64
		for i := range ss {
			srps, hrps = append(srps, ss[i].rps), append(hrps, hs[i].rps)
			sp99 = append(sp99, float64(ss[i].p99.Microseconds())/1000)
			hp99 = append(hp99, float64(hs[i].p99.Microseconds())/1000)
		}
		benchcmp.Figure{Name: "serving throughput (req/s)", Anchor: "Go hello-world handler", Goal: ">= 0.8"}.Report(b, srps, hrps)
		benchcmp.Figure{Name: "serving p99 latency (ms)", Anchor: "Go hello-world handler", Goal: "<= 1.5"}.Report(b, sp99, hp99)
	}
}

// TestHandlerAllocations bounds the allocations of one classic scoring
// request in the handler (without the network), so that the hot path stays lean.
func TestHandlerAllocations(t *testing.T) {
	dir, _ := irisModel(t)
	s, err := New(context.Background(), newSource(dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	w := &discardWriter{header: http.Header{}}
	body := strings.NewReader(`{"data": [[5.1, 3.5, 1.4, 0.2]]}`)
	req, err := http.NewRequest("POST", "/invocations", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	allocs := testing.AllocsPerRun(200, func() {
		body.Seek(0, io.SeekStart)
		req.Body = io.NopCloser(body)
		clear(w.header)
		w.status = 0
		h.ServeHTTP(w, req)
	})
	if w.status != 200 {
		t.Fatalf("status %d", w.status)
	}
	t.Logf("%.0f allocations per classic request in the handler", allocs)
	if allocs > 60 {
		t.Fatalf("%.0f allocations per request, want at most 60", allocs)
	}
}

// discardWriter is an http.ResponseWriter that keeps only the status.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}
func (w *discardWriter) Write(b []byte) (int, error) {
	w.WriteHeader(200)
	return len(b), nil
}

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
	"syscall"
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
	// cpu is the process's CPU time (user + system) per request: the
	// server's and the client's, which is the same on both sides.
	cpu time.Duration
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
	cpu0 := cpuTime(tb)
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
	cpu := cpuTime(tb) - cpu0
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
		cpu:      cpu / time.Duration(done),
	}
}

// cpuTime returns the user plus system CPU time of this process so far. On a
// machine shared with other work it is a steadier measure than wall time.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// servePairs is the fewest pairs BenchmarkServe measures. A pair takes
// about half a second. Its throughput ratio sits near its goal (0.8), and
// single pairs range from 0.65 to 1.3: with 5 pairs, two full make bench
// runs read 0.782 and 0.797 (NOT met) while runs of the benchmark alone
// just before or after read 0.877-0.968.
const servePairs = 15

// BenchmarkServe compares one-row JSON predictions with a Go hello-world
// handler, both on 127.0.0.1 driven by 32 keep-alive connections from the
// same process, in alternating pairs of benchRequests requests each
// (MLRUN_BENCH_PAIRS, default 5, at least servePairs; see
// internal/benchcmp): throughput, p99
// latency and CPU time per request, as median ratios with their spread.
//
// Both sides do the same HTTP work: the same client and payload, and the
// anchor's handler runs in the http.Server that Serve uses (same timeouts)
// and reads the request body as the scoring handler does; it answers a
// reply of about the same size. What differs is the scoring itself. The CPU
// time (user + system, of the whole process, so the client's too) is the
// figure that holds on a busy machine, where wall-clock throughput swings.
//
//	go test -run '^$' -bench 'Serve$' -benchtime 1x ./serving/
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
	hello := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "Hello, World!\n")
	}), s.log)
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
	pairs = max(pairs, servePairs)
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
		var srps, hrps, sp99, hp99, scpu, hcpu []float64
		for i := range ss {
			srps, hrps = append(srps, ss[i].rps), append(hrps, hs[i].rps)
			sp99 = append(sp99, float64(ss[i].p99.Microseconds())/1000)
			hp99 = append(hp99, float64(hs[i].p99.Microseconds())/1000)
			scpu = append(scpu, float64(ss[i].cpu.Nanoseconds())/1000)
			hcpu = append(hcpu, float64(hs[i].cpu.Nanoseconds())/1000)
		}
		const anchor = "Go hello-world handler"
		benchcmp.Figure{Name: "serving throughput (req/s)", Anchor: anchor, Goal: ">= 0.8"}.Report(b, srps, hrps)
		benchcmp.Figure{Name: "serving p99 latency (ms)", Anchor: anchor, Goal: "<= 1.5"}.Report(b, sp99, hp99)
		// CPU time per request, client included: a ratio <= 1.25 is the
		// throughput goal (>= 0.8×) on a machine where CPU is the limit.
		benchcmp.Figure{Name: "serving CPU time per request (µs)", Anchor: anchor, Goal: "<= 1.25"}.Report(b, scpu, hcpu)
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
	if allocs > 20 {
		t.Fatalf("%.0f allocations per request, want at most 20", allocs)
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

// BenchmarkHandler measures the CPU cost of one classic scoring request in
// the handler, without the network: decoding, predicting and answering.
//
//	go test -run '^$' -bench Handler -benchmem ./serving/
func BenchmarkHandler(b *testing.B) {
	dir, _ := irisModel(b)
	s, err := New(context.Background(), newSource(dir), Options{})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	w := &discardWriter{header: http.Header{}}
	body := strings.NewReader(`{"data": [[5.1, 3.5, 1.4, 0.2]]}`)
	req, err := http.NewRequest("POST", "/invocations", body)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	b.ReportAllocs()
	for b.Loop() {
		body.Seek(0, io.SeekStart)
		req.Body = io.NopCloser(body)
		clear(w.header)
		w.status = 0
		h.ServeHTTP(w, req)
	}
	if w.status != 200 {
		b.Fatalf("status %d", w.status)
	}
}

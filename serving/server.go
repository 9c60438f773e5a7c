package serving

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/catalog"
	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/ml/modelfile"
)

// Defaults. Port and ReloadEvery are zero-means-off options (Port 0 is any
// free port, ReloadEvery 0 no polling), so a command line should offer
// DefaultPort and DefaultReloadEvery as its flag defaults.
const (
	DefaultHost            = "127.0.0.1"
	DefaultPort            = 5000 // as `mlflow models serve`
	DefaultMaxBodyBytes    = 8 << 20
	DefaultReloadEvery     = 2 * time.Second
	DefaultShutdownTimeout = 10 * time.Second
)

// Timeouts of the HTTP server.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second // MLflow's default request timeout
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
	// pooledBufferMax is the largest buffer kept for reuse between requests.
	pooledBufferMax = 1 << 20
	// retryFailedEvery is how long Reload waits before loading again a
	// token whose directory failed to load.
	retryFailedEvery = 30 * time.Second
)

// Source says which model directory to serve. The server calls Resolve at
// start and then every Options.ReloadEvery; when the token changes (e.g.
// the alias models:/iris@champion was moved to another version), it loads
// the new directory and swaps it in atomically.
type Source interface {
	// Resolve returns the model directory to serve now and a token that
	// changes whenever the directory or its content does.
	Resolve(ctx context.Context) (dir, token string, err error)
	// String returns the model URI, for /metadata and logs.
	String() string
}

// Options configure a Server. The zero value serves on 127.0.0.1, any free
// port, without polling the Source.
type Options struct {
	// Host is the address to listen on; "" means 127.0.0.1. Listening on
	// all interfaces ("0.0.0.0" or "::") must be asked for.
	Host string
	// Port is the TCP port; 0 means any free port (Serve's ready callback
	// says which). A command line should default to DefaultPort.
	Port int
	// MaxBodyBytes caps a request body; 0 means DefaultMaxBodyBytes (8 MiB).
	// A larger body is answered 413.
	MaxBodyBytes int64
	// ReloadEvery is how often Serve asks the Source whether the model
	// changed; 0 disables polling. A command line should default to
	// DefaultReloadEvery.
	ReloadEvery time.Duration
	// ShutdownTimeout bounds how long Serve waits for requests in flight
	// once its context is done; 0 means DefaultShutdownTimeout (10 s).
	ShutdownTimeout time.Duration
	// Version is the mlrun version that GET /version returns; "" means "dev".
	Version string
	// Logger receives load, reload and internal-error records; nil discards them.
	Logger *slog.Logger
	// Specs looks estimators up by name for loading models; nil means the
	// built-in catalog.
	Specs func(name string) (ml.Spec, bool)
	// ONNX says how to serve ONNX models (see ONNXOptions).
	ONNX ONNXOptions
}

// Server serves one model (the one its Source names now) over HTTP.
type Server struct {
	src     Source
	o       Options
	log     *slog.Logger
	handler http.Handler

	// cur is the model requests use; only Reload replaces it.
	cur atomic.Pointer[model]

	// mu serialises Reload; the fields below are its state.
	mu          sync.Mutex
	failedToken string    // token whose directory failed to load
	failedErr   error     // and why
	failedAt    time.Time // and when
	resolveErr  string    // last Resolve error logged, to log each error once

	// bufs recycles request and response buffers (*bytes.Buffer).
	bufs sync.Pool

	// beforePredict, when set (by tests only), runs in each scoring
	// request just before the model predicts.
	beforePredict func()
}

// New resolves src, loads the model and returns a server for it. It fails
// when the Source cannot be resolved or the model directory not loaded.
func New(ctx context.Context, src Source, o Options) (*Server, error) {
	if o.Host == "" {
		o.Host = DefaultHost
	}
	if o.Port < 0 || o.Port > 65535 {
		return nil, errs.Errorf(errs.Invalid, "port %d is outside 0..65535", o.Port)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.ReloadEvery < 0 {
		return nil, errs.Errorf(errs.Invalid, "reload interval %s is negative; use 0 to disable reloading", o.ReloadEvery)
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Specs == nil {
		o.Specs = catalog.Builtin().Lookup
	}
	s := &Server{src: src, o: o, log: o.Logger}
	s.bufs.New = func() any { return new(bytes.Buffer) }

	dir, token, err := src.Resolve(ctx)
	if err != nil {
		return nil, fmt.Errorf("serve %s: %w", src, err)
	}
	mdl, err := loadModel(dir, token, src.String(), o.Version, o.Specs, o.ONNX)
	if err != nil {
		return nil, fmt.Errorf("serve %s: %w", src, err)
	}
	s.cur.Store(mdl)
	s.log.Info("model loaded", "model", src.String(), "dir", dir, "estimator", mdl.m.EstimatorName, "task", mdl.m.Task)
	s.handler = s.routes()
	return s, nil
}

// Handler returns the server's HTTP handler (all endpoints, with the body
// size limit). It does not poll the Source; Serve does.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve listens on Options.Host:Port and serves until ctx is done, then
// shuts down gracefully: it stops accepting connections and lets requests
// in flight finish, for at most Options.ShutdownTimeout. It calls ready
// with the listening address (host:port) once it listens, and polls the
// Source every Options.ReloadEvery while it serves. It returns nil after a
// graceful shutdown.
func (s *Server) Serve(ctx context.Context, ready func(addr string)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	addr := net.JoinHostPort(s.o.Host, strconv.Itoa(s.o.Port))
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return errs.Errorf(errs.Invalid, "cannot listen on %s: another program uses the port; choose another port: %w", addr, err)
	}
	if err != nil {
		return errs.Errorf(errs.Invalid, "cannot listen on %s: %w", addr, err)
	}
	srv := newHTTPServer(s.handler, s.log)
	s.log.Info("serving", "model", s.src.String(), "url", "http://"+ln.Addr().String())
	if ready != nil {
		ready(ln.Addr().String())
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	pollCtx, stopPolling := context.WithCancel(ctx)
	var polling sync.WaitGroup
	if s.o.ReloadEvery > 0 {
		polling.Go(func() { s.poll(pollCtx) })
	}
	defer func() {
		stopPolling()
		polling.Wait()
	}()

	select {
	case err := <-served:
		return fmt.Errorf("serve on %s: %w", addr, err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "url", "http://"+ln.Addr().String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	<-served // http.ErrServerClosed once Shutdown has begun
	if err != nil {
		srv.Close()
		return fmt.Errorf("shut down the server on %s: requests still running after %s: %w", addr, s.o.ShutdownTimeout, err)
	}
	return nil
}

// newHTTPServer returns the HTTP server Serve runs h in: its timeouts and
// header limit. (BenchmarkServe runs its hello-world anchor in one too.)
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// poll calls Reload every ReloadEvery until ctx is done.
func (s *Server) poll(ctx context.Context) {
	t := time.NewTicker(s.o.ReloadEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Reload(ctx) // logs its own errors
		}
	}
}

// Reload resolves the Source once and, when its token differs from the
// served model's, loads the new directory and swaps it in. It reports
// whether the model changed. A failed resolve or load keeps the old model
// and is returned. A resolve error is logged once until it changes; a token
// whose load failed is logged and then not tried again for 30 s (unless the
// token changes), so that polling does not flood the log.
func (s *Server) Reload(ctx context.Context) (changed bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dir, token, err := s.src.Resolve(ctx)
	if err != nil {
		if msg := err.Error(); msg != s.resolveErr {
			s.log.Warn("cannot resolve the model; keeping the current one", "model", s.src.String(), "error", msg)
			s.resolveErr = msg
		}
		return false, fmt.Errorf("resolve %s: %w", s.src, err)
	}
	if s.resolveErr != "" {
		s.log.Info("model resolves again", "model", s.src.String())
		s.resolveErr = ""
	}
	old := s.cur.Load()
	if token == old.token {
		return false, nil
	}
	if token == s.failedToken && time.Since(s.failedAt) < retryFailedEvery {
		return false, s.failedErr
	}
	mdl, err := loadModel(dir, token, s.src.String(), s.o.Version, s.o.Specs, s.o.ONNX)
	if err != nil {
		s.failedToken, s.failedErr, s.failedAt = token, fmt.Errorf("reload %s from %s: %w", s.src, dir, err), time.Now()
		s.log.Error("cannot load the new model; keeping the current one", "model", s.src.String(), "dir", dir, "error", err)
		return false, s.failedErr
	}
	s.failedToken, s.failedErr = "", nil
	s.cur.Store(mdl)
	s.log.Info("model reloaded", "model", s.src.String(), "old_dir", old.dir, "dir", dir, "estimator", mdl.m.EstimatorName)
	return true, nil
}

// routes returns the handler of every endpoint.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /invocations", s.invocations)
	mux.HandleFunc("GET /ping", s.ping)
	mux.HandleFunc("GET /health", s.ping)
	mux.HandleFunc("GET /version", s.version)
	mux.HandleFunc("GET /metadata", s.metadata)
	// The same paths without a method pattern catch the other methods, so
	// that they get a JSON 405 rather than the mux's plain-text one.
	for path, allow := range map[string]string{"/invocations": "POST", "/ping": "GET, HEAD", "/health": "GET, HEAD", "/version": "GET, HEAD", "/metadata": "GET, HEAD"} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			e := badRequest("method %s is not allowed on %s; use %s", r.Method, path, allow)
			e.status = http.StatusMethodNotAllowed
			writeError(w, e)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{http.StatusNotFound, codeEndpointNotFound,
			fmt.Sprintf("there is no endpoint %s; this server answers POST /invocations and GET /ping, /health, /version, /metadata", r.URL.Path)})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes)
		// The hot path skips the mux's pattern matching.
		if r.Method == http.MethodPost && r.URL.Path == "/invocations" {
			s.invocations(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// ping answers /ping and /health as MLflow does.
func (s *Server) ping(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, "\n")
}

// version answers /version with the version string.
func (s *Server) version(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, s.o.Version)
}

// metadata answers /metadata with the served model's description.
func (s *Server) metadata(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.cur.Load().metadata)
}

// invocations scores the rows of a request.
func (s *Server) invocations(w http.ResponseWriter, r *http.Request) {
	mdl := s.cur.Load() // one model for the whole request, even if a reload swaps it
	kind, aerr := contentKind(r.Header.Get("Content-Type"))
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if r.ContentLength > s.o.MaxBodyBytes {
		writeError(w, s.tooLarge())
		return
	}
	proba, aerr := queryProba(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}

	buf := s.bufs.Get().(*bytes.Buffer)
	defer s.putBuffer(buf)
	buf.Reset()
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(r.Body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, s.tooLarge())
			return
		}
		writeError(w, badRequest("cannot read the request body: %v", err))
		return
	}
	body := buf.Bytes()

	frame, bodyProba, aerr := mdl.decode(kind, body)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	proba = proba || bodyProba
	if proba && !mdl.proba {
		if mdl.m.Task == ml.Classification {
			writeError(w, invalid("this %s classifier gives no probabilities; do not ask for predict_proba", mdl.m.EstimatorName))
		} else {
			writeError(w, invalid("this model is a regressor, it has no class probabilities; do not ask for predict_proba"))
		}
		return
	}

	p, err := s.predict(mdl, frame, proba)
	if err != nil {
		s.writePredictError(w, err)
		return
	}
	// The body has been decoded into the frame: reuse the buffer for the answer.
	out, err := mdl.appendPredictions(body[:0], p, proba)
	if err != nil {
		s.writePredictError(w, err)
		return
	}
	// A shared, never modified value: Header.Set would allocate one per request.
	w.Header()["Content-Type"] = jsonContentType
	w.Write(out)
}

// jsonContentType is the Content-Type header value of scoring answers.
var jsonContentType = []string{"application/json"}

// predict runs the model on frame. A panic in it (a bug in an estimator,
// in the request's goroutine or in one of the estimator's own) becomes an
// error, logged with its stack, so that the client gets a 500 and the server
// goes on serving.
func (s *Server) predict(mdl *model, frame *dataset.Frame, proba bool) (p *modelfile.Prediction, err error) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("prediction panicked", "model", s.src.String(), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	if s.beforePredict != nil {
		s.beforePredict()
	}
	return mdl.predict(frame, proba)
}

// tooLarge is the 413 error.
func (s *Server) tooLarge() *apiError {
	e := badRequest("the request body is larger than the limit of %d bytes; send fewer rows per request", s.o.MaxBodyBytes)
	e.status = http.StatusRequestEntityTooLarge
	return e
}

// writePredictError answers a failed prediction: bad input found by the
// model (an unknown category, say) is a 400, anything else a logged 500.
func (s *Server) writePredictError(w http.ResponseWriter, err error) {
	if errs.Code(err) == errs.Invalid {
		writeError(w, invalid("%s", errs.Message(err)))
		return
	}
	s.log.Error("prediction failed", "model", s.src.String(), "error", err)
	writeError(w, &apiError{http.StatusInternalServerError, errs.Internal, "the model failed to predict: " + err.Error()})
}

// putBuffer returns buf to the pool unless it grew too large to keep.
func (s *Server) putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= pooledBufferMax {
		s.bufs.Put(buf)
	}
}

// DirSource is a Source for a fixed model directory. Its token changes
// when the directory's MLmodel file is rewritten (its modification time or
// size change), so a model replaced in place is reloaded.
type DirSource struct {
	// Dir is the model directory.
	Dir string
	// URI is the model URI for /metadata and logs; "" means Dir.
	URI string
}

// Resolve returns the directory and a token from its MLmodel file.
func (d DirSource) Resolve(context.Context) (dir, token string, err error) {
	st, err := os.Stat(filepath.Join(d.Dir, modelfile.MLmodelFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", "", errs.Errorf(errs.NotFound, "%s is not a model directory: it has no %s file", d.Dir, modelfile.MLmodelFile)
	}
	if err != nil {
		return "", "", fmt.Errorf("resolve %s: %w", d.Dir, err)
	}
	return d.Dir, st.ModTime().UTC().Format(time.RFC3339Nano) + " " + strconv.FormatInt(st.Size(), 10), nil
}

// String returns the URI, or the directory.
func (d DirSource) String() string {
	if d.URI != "" {
		return d.URI
	}
	return d.Dir
}

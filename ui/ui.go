// Package ui serves mlrun's web interface: experiments, the runs table,
// run pages with provenance, pipeline timelines and artifact previews,
// comparison of runs, and the model registry.
//
// The interface is server-rendered html/template pages (contextual escaping
// of every user string) with a little JavaScript for charts (uPlot, embedded
// from static/vendor), copying, selection and live updates. Every view's
// state (filter, sort, columns, selection) is in its URL. New returns an
// http.Handler built only on the tracking.Store and tracking.Registry
// interfaces, meant to be mounted at "/" by a server.
//
// Security: the UI's Content-Security-Policy forbids inline scripts and
// styles; state-changing requests are POSTs checked by
// http.CrossOriginProtection; artifacts are read through os.Root, so no path
// or symlink escapes a run's artifact directory; HTML artifacts are shown
// only in a sandboxed iframe and served with a CSP sandbox.
package ui

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the UI handler.
type Options struct {
	// Store is the tracking store shown. Required.
	Store tracking.Store
	// Registry is the model registry; nil hides the models pages.
	Registry tracking.Registry
	// ArtifactRoot is the local directory under which run artifacts live;
	// "" takes the store's artifact root. No artifact
	// outside it is ever served.
	ArtifactRoot string
	// StoreLabel names the store on every page (e.g. sqlite:///…/mlrun.db).
	StoreLabel string
	// PollInterval is how often live updates look at the store; 0 is 1s.
	PollInterval time.Duration
	// Access, when set, limits each user to what its permissions allow
	// (mlrun server --auth); nil lets every request see and change all.
	Access Access
}

// Handler serves the UI. Build it with New.
type Handler struct {
	opt   Options
	mux   *http.ServeMux
	pages map[string]*template.Template
	cop   *http.CrossOriginProtection
}

// maxFormBytes bounds the body of every POST.
const maxFormBytes = 64 << 10

// contentSecurityPolicy is the UI's own policy: nothing inline, nothing
// from elsewhere. Artifacts get a stricter one (see artifacts.go).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"

// New returns the UI handler.
func New(opt Options) (*Handler, error) {
	if opt.Store == nil {
		return nil, fmt.Errorf("ui: no store")
	}
	if opt.ArtifactRoot == "" {
		// The store's root is a URI; the UI reads local directories only.
		dir, err := artifact.LocalDir(opt.Store.ArtifactRoot())
		if err != nil {
			return nil, fmt.Errorf("ui: the store's artifacts are not in a local directory: %w", err)
		}
		opt.ArtifactRoot = dir
	}
	if opt.StoreLabel == "" {
		opt.StoreLabel = opt.ArtifactRoot
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = time.Second
	}
	h := &Handler{opt: opt, mux: http.NewServeMux(), cop: http.NewCrossOriginProtection()}
	if err := h.parseTemplates(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("ui: static files: %w", err)
	}
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	h.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	}))
	h.mux.HandleFunc("GET /{$}", h.experimentsPage)
	h.mux.HandleFunc("POST /experiments/create", h.createExperiment)
	h.mux.HandleFunc("POST /experiments/{id}/{action}", h.experimentAction)
	h.mux.HandleFunc("GET /experiments/{id}", h.runsPage)
	h.mux.HandleFunc("POST /runs/lifecycle", h.runsLifecycle)
	h.mux.HandleFunc("GET /runs/{id}", h.runPage)
	h.mux.HandleFunc("GET /runs/{id}/artifacts/{path...}", h.artifactRaw)
	h.mux.HandleFunc("GET /compare", h.comparePage)
	h.mux.HandleFunc("GET /models", h.modelsPage)
	h.mux.HandleFunc("GET /models/{name}", h.modelPage)
	h.mux.HandleFunc("POST /models/{name}/alias", h.moveAlias)
	h.mux.HandleFunc("POST /models/{name}/stage", h.changeStage)
	h.mux.HandleFunc("GET /ui/api/metric-history", h.metricHistory)
	h.mux.HandleFunc("GET /ui/api/runs", h.runsJSON)
	h.mux.HandleFunc("GET /ui/api/experiment-stats", h.experimentStats)
	h.mux.HandleFunc("GET /ui/api/events", h.events)
	return h, nil
}

// ServeHTTP sets the security headers, rejects cross-origin writes and
// bounds request bodies, then dispatches.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	if err := h.cop.Check(r); err != nil {
		h.fail(w, r, errs.Errorf(errs.Invalid, "cross-origin %s refused: changes can only be made from the mlrun UI's own pages", r.Method), http.StatusForbidden)
		return
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	h.mux.ServeHTTP(w, r)
}

// page is what every template receives.
type page struct {
	Title      string
	Store      string
	User       string // who is signed in (mlrun server --auth), else ""
	HasModels  bool
	Nav        string // "experiments" or "models": the current section
	Data       any
	Error      string
	PageScript string // extra script under /static/, loaded deferred
}

func (h *Handler) parseTemplates() error {
	funcs := template.FuncMap{
		"time":     formatTime,
		"ago":      ago,
		"duration": formatDuration,
		"num":      formatNumber,
		"short":    shortID,
		"join":     strings.Join,
		"query":    func(v url.Values) string { return v.Encode() },
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return fmt.Errorf("ui: parse layout: %w", err)
	}
	h.pages = map[string]*template.Template{}
	for _, name := range []string{"experiments", "runs", "run", "compare", "models", "model", "confirm", "error"} {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("ui: parse %s: %w", name, err)
		}
		h.pages[name] = t
	}
	return nil
}

// render writes a page with status 200.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, name string, p page) {
	h.renderStatus(w, r, name, p, http.StatusOK)
}

func (h *Handler) renderStatus(w http.ResponseWriter, r *http.Request, name string, p page, status int) {
	p.Store = h.opt.StoreLabel
	p.User = h.user(r)
	p.HasModels = h.opt.Registry != nil
	var b strings.Builder
	if err := h.pages[name].ExecuteTemplate(&b, "layout.html", p); err != nil {
		http.Error(w, "internal error: render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprint(w, b.String())
}

// fail renders an error page; status 0 derives it from the error's code.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error, status int) {
	if errs.Code(err) == permissionDenied {
		status = http.StatusForbidden
	}
	if status == 0 {
		status = errs.HTTPStatus(errs.Code(err))
	}
	if strings.HasPrefix(r.URL.Path, "/ui/api/") {
		writeJSONError(w, err, status)
		return
	}
	h.renderStatus(w, r, "error", page{Title: http.StatusText(status), Error: errs.Message(err)}, status)
}

// redirect answers a successful POST with a redirect to a local path.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	if !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") || strings.HasPrefix(to, "/\\") {
		to = "/"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// formatTime renders Unix milliseconds in UTC.
func formatTime(ms int64) string {
	if ms == 0 {
		return "—"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05")
}

// ago renders how long ago a time was, coarsely.
func ago(ms int64) string {
	if ms == 0 {
		return "never"
	}
	d := time.Since(time.UnixMilli(ms))
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
}

// formatDuration renders a run's duration; a running run's so far.
func formatDuration(start, end int64) string {
	if start == 0 {
		return "—"
	}
	if end == 0 {
		end = time.Now().UnixMilli()
	}
	d := time.Duration(end-start) * time.Millisecond
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// formatNumber renders a metric value compactly but exactly enough.
func formatNumber(v float64) string {
	return strings.TrimSuffix(fmt.Sprintf("%.6g", v), ".")
}

// shortID is the first 8 characters of a run id.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// Package httpstore is a tracking.Store served by an `mlrun server` over
// HTTP: a tracking URI http://host:port (or https://) opens it.
//
// The methods whose request and answer MLflow's REST API carries fully are
// MLflow's own endpoints under /api/2.0/mlflow/ (mlflow.go): creating,
// reading, listing, updating, deleting, restoring, renaming and tagging experiments;
// updating, deleting and restoring runs and their tags; metric histories;
// getting, creating, renaming, updating and deleting registered models;
// getting, updating and deleting versions; tags, aliases and stages. They are
// checked against the user's permissions as for MLflow's Python client.
// The others are one POST each to the server's store API,
// /api/2.0/mlrun/store/<Method> (see package server), which carries the
// tracking types with the fields MLflow's shapes drop (run owners and
// heartbeats in GetRun and SearchRuns, file:// artifact URIs), params
// logged with the run that creates them, versions that create their model
// (CreateModelVersion), the registry's lists (ListRegisteredModels,
// ListModelVersions, LatestVersion), LogBatch in one transaction of any
// size (MLflow's log-batch caps a request at 1000 metrics, 100 params and
// 100 tags), and what MLflow has no endpoint for: reaping, schedules and
// their leases, the step cache, run id prefixes. Under --auth the store API
// checks each method's permission on its run, experiment or model as the
// MLflow endpoints do; global methods (purging, schedules) are for admins.
// Errors come back in MLflow's shape {"error_code", "message"} and become
// *errs.Error values with the same code, so callers see what a local store
// returns. Artifacts of mlflow-artifacts:/ locations go through the
// server's artifact proxy (Artifacts).
//
// Methods that take a callback run it here, not on the server:
// ReapDeadRuns and ReapFires ask the server which pids of this host own
// RUNNING runs and fires, check them with alive, and send the dead ones;
// ClaimFire decides on the schedule as the server last showed it and the
// server applies the decision only if the schedule has not changed since
// (else the client decides again on the new state).
//
// Credentials come from MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD
// (HTTP basic authentication), as MLflow's client reads them.
package httpstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/server"
	"github.com/mlrun/mlrun/tracking"
)

// maxResponseBytes bounds one response body.
const maxResponseBytes = 256 << 20

// Store is a tracking.Store on an mlrun server.
type Store struct {
	base     string // http://host:port, no trailing slash
	client   *http.Client
	user     string
	password string
	root     string // the artifact root clients see: mlflow-artifacts:/ when the server serves artifacts
	fileRoot string // the server store's own artifact root (file://...)
	serving  bool   // the server proxies artifacts
}

var _ tracking.Store = (*Store)(nil)

// Options configures Open.
type Options struct {
	// Client is the HTTP client; nil: one with a 5-minute timeout.
	Client *http.Client
	// Username and Password, when set, are sent as HTTP basic credentials.
	Username, Password string
}

// Open connects to the server at uri (http:// or https://, with an
// optional path prefix) and checks that it answers.
func Open(ctx context.Context, uri string, opts Options) (*Store, error) {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errs.Errorf(errs.Invalid, "tracking URI %q is not an http:// or https:// server address", uri)
	}
	u.RawQuery, u.Fragment = "", ""
	if u.User != nil {
		// http://user:password@host: the credentials, unless the options
		// (MLFLOW_TRACKING_USERNAME/PASSWORD) give them, and never in
		// messages.
		if opts.Username == "" && opts.Password == "" {
			opts.Username = u.User.Username()
			opts.Password, _ = u.User.Password()
		}
		u.User = nil
	}
	s := &Store{base: strings.TrimSuffix(u.String(), "/"), client: opts.Client, user: opts.Username, password: opts.Password}
	if s.client == nil {
		s.client = &http.Client{Timeout: 5 * time.Minute}
	}
	if err := s.call(ctx, "ArtifactRoot", nil, &s.fileRoot); err != nil {
		return nil, fmt.Errorf("connect to the tracking server %s: %w", s.base, err)
	}
	if s.serving, err = s.probeArtifacts(ctx); err != nil {
		return nil, err
	}
	s.root = s.public(s.fileRoot)
	return s, nil
}

// String names the server.
func (s *Store) String() string { return s.base }

// ArtifactRoot is the server's artifact root: mlflow-artifacts:/ when the
// server serves artifacts, else the file:// root it stores them in.
func (s *Store) ArtifactRoot() string { return s.root }

// Close releases idle connections.
func (s *Store) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// apiError is MLflow's error body.
type apiError struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

// knownCodes are the error codes errs defines; others become errs.Internal
// (keeping the server's code in the message).
var knownCodes = map[string]bool{errs.Invalid: true, errs.NotFound: true, errs.Conflict: true, errs.Failed: true, errs.Killed: true, errs.Internal: true}

// send makes a request to path (with the query and body given) and returns
// the response when its status is 200; any other status becomes the
// *errs.Error the server's MLflow error JSON names.
func (s *Store) send(ctx context.Context, method, path string, query url.Values, body io.Reader, contentType string) (*http.Response, error) {
	u := s.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if s.user != "" || s.password != "" {
		req.SetBasicAuth(s.user, s.password)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, internal(fmt.Errorf("the tracking server %s does not answer: %w", s.base, err))
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e apiError
	if json.Unmarshal(data, &e) != nil || e.ErrorCode == "" {
		return nil, errs.Errorf(errs.Internal, "the tracking server %s answered %s to %s: %.200s", s.base, resp.Status, path, data)
	}
	switch {
	case e.ErrorCode == "UNAUTHENTICATED" || e.ErrorCode == "PERMISSION_DENIED":
		return nil, errs.Errorf(errs.Invalid, "the tracking server %s refused %s: %s (%s; the credentials are MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)", s.base, path, e.Message, e.ErrorCode)
	case e.ErrorCode == "ENDPOINT_NOT_FOUND":
		return nil, errs.Errorf(errs.Invalid, "the tracking server %s has no endpoint %s: is it an mlrun server? (%s)", s.base, path, e.Message)
	case !knownCodes[e.ErrorCode]:
		return nil, errs.Errorf(errs.Internal, "the tracking server %s refused %s: %s (%s)", s.base, path, e.Message, e.ErrorCode)
	}
	return nil, errs.Errorf(e.ErrorCode, "%s", e.Message)
}

// do posts body as JSON to path and decodes the JSON answer into out.
func (s *Store) do(ctx context.Context, path string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode request %s: %w", path, err)
	}
	resp, err := s.send(ctx, http.MethodPost, path, nil, bytes.NewReader(b), "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return internal(fmt.Errorf("read the answer of %s%s: %w", s.base, path, err))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return errs.Errorf(errs.Internal, "the tracking server %s answered %s with bad JSON: %v", s.base, path, err)
	}
	return nil
}

// call calls a store API method with args and decodes its result into out.
func (s *Store) call(ctx context.Context, method string, args []any, out any) error {
	if args == nil {
		args = []any{}
	}
	var resp struct {
		Result json.RawMessage `json:"result"`
	}
	if err := s.do(ctx, server.MlrunAPIPrefix+"/store/"+method, map[string]any{"args": args}, &resp); err != nil {
		return err
	}
	if out == nil || len(resp.Result) == 0 || string(resp.Result) == "null" {
		return nil
	}
	if err := json.Unmarshal(resp.Result, out); err != nil {
		return errs.Errorf(errs.Internal, "the tracking server %s answered %s with an unexpected result: %v", s.base, method, err)
	}
	s.publicLocations(out)
	return nil
}

// args makes an argument list.
func args(a ...any) []any { return a }

// pair decodes a two-element result array.
func pair(raw []json.RawMessage, a, b any) error {
	if len(raw) != 2 {
		return errs.Errorf(errs.Internal, "the tracking server answered %d values, want 2", len(raw))
	}
	if err := json.Unmarshal(raw[0], a); err != nil {
		return internal(err)
	}
	if err := json.Unmarshal(raw[1], b); err != nil {
		return internal(err)
	}
	return nil
}

// internal wraps err as errs.Internal: a fault of the connection or the
// server, not of the caller's input.
func internal(err error) error {
	return &errs.Error{Code: errs.Internal, Message: err.Error(), Err: err}
}

package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	_ "github.com/mattn/go-sqlite3" // the auth database is a SQLite file
	"golang.org/x/crypto/bcrypt"

	"github.com/mlrun/mlrun/errs"
)

// This file is HTTP basic authentication with users and permissions, as
// MLflow's basic-auth app has them: every request names a user and a
// password (the client's MLFLOW_TRACKING_USERNAME and
// MLFLOW_TRACKING_PASSWORD); admins may do anything; other users need, on
// the experiment or registered model a request touches, READ to read it,
// EDIT to log to it or change it, and MANAGE to delete it or grant
// permissions on it. Whoever creates an experiment or a registered model
// gets MANAGE on it; on the rest a user has the default permission, READ.
// Users and permissions live in their own SQLite file; passwords are kept
// as bcrypt hashes.

// Permissions, from weakest to strongest.
const (
	PermNone   = "NO_PERMISSIONS"
	PermRead   = "READ"
	PermEdit   = "EDIT"
	PermManage = "MANAGE"
)

// permRank orders permissions.
var permRank = map[string]int{PermNone: 0, PermRead: 1, PermEdit: 2, PermManage: 3}

// Environment variables that bootstrap the first admin.
const (
	AdminUserEnv     = "MLRUN_AUTH_ADMIN_USERNAME"
	AdminPasswordEnv = "MLRUN_AUTH_ADMIN_PASSWORD"
)

// Kinds of resources permissions are granted on.
const (
	kindExperiment = "experiment"
	kindModel      = "registered_model"
)

// Auth holds users and permissions.
type Auth struct {
	db          *sql.DB
	defaultPerm string
	mu          sync.Mutex
	verified    map[string][32]byte // user → sha256 of a password bcrypt accepted
}

// OpenAuth opens (creating it if needed) the users database at path. When
// getenv yields MLRUN_AUTH_ADMIN_USERNAME and MLRUN_AUTH_ADMIN_PASSWORD,
// that admin is created (or its password reset); a database with no user
// at all and no admin in the environment is an error.
func OpenAuth(ctx context.Context, path string, getenv func(string) string) (*Auth, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=60000&_journal_mode=WAL&_foreign_keys=1&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open auth database %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	a := &Auth{db: db, defaultPerm: PermRead, verified: map[string][32]byte{}}
	_, err = db.ExecContext(ctx, `
		CREATE TABLE IF NOT EXISTS users (
			username      TEXT NOT NULL PRIMARY KEY,
			password_hash TEXT NOT NULL,
			is_admin      INTEGER NOT NULL DEFAULT 0
		);
		CREATE TABLE IF NOT EXISTS permissions (
			kind       TEXT NOT NULL,
			resource   TEXT NOT NULL,
			username   TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
			permission TEXT NOT NULL,
			PRIMARY KEY (kind, resource, username)
		);`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("create auth tables in %s: %w", path, err)
	}
	user, pass := getenv(AdminUserEnv), getenv(AdminPasswordEnv)
	if user != "" || pass != "" {
		if user == "" || pass == "" {
			db.Close()
			return nil, errs.Errorf(errs.Invalid, "set both %s and %s to bootstrap the admin", AdminUserEnv, AdminPasswordEnv)
		}
		if err := a.putUser(ctx, user, pass, true); err != nil {
			db.Close()
			return nil, err
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		db.Close()
		return nil, fmt.Errorf("count users: %w", err)
	}
	if n == 0 {
		db.Close()
		return nil, errs.Errorf(errs.Invalid, "--auth needs a first admin: set %s and %s", AdminUserEnv, AdminPasswordEnv)
	}
	return a, nil
}

// Close closes the users database.
func (a *Auth) Close() error { return a.db.Close() }

// putUser creates a user or resets its password and admin flag.
func (a *Auth) putUser(ctx context.Context, user, pass string, admin bool) error {
	if err := validateUsername(user); err != nil {
		return err
	}
	if len(pass) < 8 || len(pass) > 72 {
		return errs.Errorf(errs.Invalid, "the password of user %q must be 8 to 72 characters long", user)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	_, err = a.db.ExecContext(ctx, `INSERT INTO users (username, password_hash, is_admin) VALUES (?, ?, ?)
		ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, is_admin = excluded.is_admin`, user, string(hash), admin)
	if err != nil {
		return fmt.Errorf("store user %q: %w", user, err)
	}
	a.forget(user)
	return nil
}

func validateUsername(user string) error {
	if user == "" || len(user) > 256 || strings.ContainsAny(user, ":\x00") {
		return errs.Errorf(errs.Invalid, "username %q is not valid: 1 to 256 characters, no ':'", user)
	}
	return nil
}

func (a *Auth) forget(user string) {
	a.mu.Lock()
	delete(a.verified, user)
	a.mu.Unlock()
}

// principal is an authenticated user.
type principal struct {
	name  string
	admin bool
}

type principalKey struct{}

// authenticate checks the request's basic credentials. bcrypt is slow by
// design, so a password it accepted is remembered (as its SHA-256) until
// the user's password changes.
func (a *Auth) authenticate(r *http.Request) (*principal, bool) {
	user, pass, ok := r.BasicAuth()
	if !ok || user == "" {
		return nil, false
	}
	var hash string
	var admin bool
	err := a.db.QueryRowContext(r.Context(), `SELECT password_hash, is_admin FROM users WHERE username = ?`, user).Scan(&hash, &admin)
	if err != nil {
		return nil, false
	}
	sum := sha256.Sum256([]byte(pass))
	a.mu.Lock()
	known, cached := a.verified[user]
	a.mu.Unlock()
	if !cached || subtle.ConstantTimeCompare(known[:], sum[:]) != 1 {
		if bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass)) != nil {
			return nil, false
		}
		a.mu.Lock()
		a.verified[user] = sum
		a.mu.Unlock()
	}
	return &principal{name: user, admin: admin}, true
}

// userOf returns the authenticated user of r ("" without auth).
func (a *Auth) userOf(r *http.Request) string {
	if a == nil {
		return ""
	}
	if p, ok := r.Context().Value(principalKey{}).(*principal); ok {
		return p.name
	}
	return ""
}

// permission returns the user's permission on a resource.
func (a *Auth) permission(ctx context.Context, p *principal, kind, resource string) (string, error) {
	if p.admin {
		return PermManage, nil
	}
	var perm string
	err := a.db.QueryRowContext(ctx, `SELECT permission FROM permissions WHERE kind = ? AND resource = ? AND username = ?`, kind, resource, p.name).Scan(&perm)
	if errors.Is(err, sql.ErrNoRows) {
		return a.defaultPerm, nil
	}
	if err != nil {
		return "", fmt.Errorf("read permission: %w", err)
	}
	return perm, nil
}

// allowed reports whether the request's user has at least need on a
// resource; without auth everything is allowed.
func (a *Auth) allowed(r *http.Request, kind, resource, need string) bool {
	if a == nil {
		return true
	}
	p, ok := r.Context().Value(principalKey{}).(*principal)
	if !ok {
		return false
	}
	perm, err := a.permission(r.Context(), p, kind, resource)
	return err == nil && permRank[perm] >= permRank[need]
}

// The methods below let the web UI (ui.Access) apply the same users and
// permissions to its pages as the REST API applies to its endpoints. The
// request must have passed the server's authentication.

// User names the request's authenticated user.
func (a *Auth) User(r *http.Request) string { return a.userOf(r) }

// ExperimentPermission is the request's user's permission on an experiment
// (PermNone when the request is not authenticated).
func (a *Auth) ExperimentPermission(r *http.Request, experimentID string) string {
	return a.permissionOf(r, kindExperiment, experimentID)
}

// ModelPermission is the request's user's permission on a registered model.
func (a *Auth) ModelPermission(r *http.Request, model string) string {
	return a.permissionOf(r, kindModel, model)
}

// ExperimentCreated gives the request's user MANAGE on the experiment it
// created, as the REST API's experiments/create does.
func (a *Auth) ExperimentCreated(r *http.Request, experimentID string) error {
	return a.grantCreator(r, kindExperiment, experimentID)
}

func (a *Auth) permissionOf(r *http.Request, kind, resource string) string {
	p, ok := r.Context().Value(principalKey{}).(*principal)
	if !ok {
		return PermNone
	}
	perm, err := a.permission(r.Context(), p, kind, resource)
	if err != nil {
		return PermNone
	}
	return perm
}

// grant sets a user's permission on a resource.
func (a *Auth) grant(ctx context.Context, kind, resource, user, perm string) error {
	if _, ok := permRank[perm]; !ok {
		return errs.Errorf(errs.Invalid, "permission %q is not one of READ, EDIT, MANAGE, NO_PERMISSIONS", perm)
	}
	_, err := a.db.ExecContext(ctx, `INSERT INTO permissions (kind, resource, username, permission) VALUES (?, ?, ?, ?)
		ON CONFLICT (kind, resource, username) DO UPDATE SET permission = excluded.permission`, kind, resource, user, perm)
	if err != nil {
		if strings.Contains(err.Error(), "FOREIGN KEY") {
			return errs.Errorf(errs.NotFound, "user %q does not exist", user)
		}
		return fmt.Errorf("grant %s on %s %s to %s: %w", perm, kind, resource, user, err)
	}
	return nil
}

// grantCreator gives the requesting user MANAGE on what it just created.
func (a *Auth) grantCreator(r *http.Request, kind, resource string) error {
	if a == nil {
		return nil
	}
	p, ok := r.Context().Value(principalKey{}).(*principal)
	if !ok || p.admin {
		return nil
	}
	return a.grant(r.Context(), kind, resource, p.name, PermManage)
}

// wrap returns h behind authentication and permission checks.
func (a *Auth) wrap(s *Server, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" || r.URL.Path == "/version" {
			h.ServeHTTP(w, r)
			return
		}
		p, ok := a.authenticate(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="mlrun"`)
			writeCodeError(w, codeUnauthenticated, "You are not authenticated. Please see the documentation on how to authenticate: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD.")
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		if !p.admin {
			if err := a.authorize(s, r); err != nil {
				if errs.Code(err) == errs.Internal {
					s.writeError(w, r, err)
					return
				}
				writeCodeError(w, codePermissionDenied, errs.Message(err))
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// endpoint returns the path of r after an API prefix ("/runs/get"), and
// whether it is an MLflow API path.
func endpoint(path string) (string, bool) {
	for _, p := range apiPrefixes {
		if rest, ok := strings.CutPrefix(path, p); ok {
			return rest, true
		}
	}
	return "", false
}

// authorize checks that a non-admin user may make the request. It reads
// (and restores) a JSON body to find the run, experiment or model named.
func (a *Auth) authorize(s *Server, r *http.Request) error {
	deny := func() error {
		return errs.Errorf(errs.Invalid, "Permission denied")
	}
	for _, p := range artifactPrefixes {
		if rest, ok := strings.CutPrefix(r.URL.Path, p+"/artifacts"); ok {
			rel := strings.TrimPrefix(rest, "/")
			if r.Method == http.MethodGet && rel == "" {
				rel = r.URL.Query().Get("path")
			}
			exp, _, _ := strings.Cut(rel, "/")
			if exp == "" {
				return deny() // listing the root names every experiment
			}
			need := map[string]string{http.MethodGet: PermRead, http.MethodPut: PermEdit, http.MethodDelete: PermManage}[r.Method]
			if need == "" || !a.allowed(r, kindExperiment, exp, need) {
				return deny()
			}
			return nil
		}
		if strings.HasPrefix(r.URL.Path, p+"/") {
			return deny()
		}
	}
	switch _, ok := endpoint(r.URL.Path); {
	case ok:
	case r.URL.Path == "/get-artifact" || r.URL.Path == "/model-versions/get-artifact":
	default:
		// The web UI's pages and forms (not JSON) check each user's
		// permissions themselves (ui.Access), and /health.
		return nil
	}
	// The fields come from where decode takes them: the query of a GET
	// that has one, else the JSON body (unwrapped when double-encoded).
	fields := map[string]any{}
	if r.Method == http.MethodGet && r.URL.RawQuery != "" {
		for k, v := range r.URL.Query() {
			if len(v) == 1 {
				fields[k] = v[0]
			} else {
				fields[k] = v
			}
		}
	} else if r.Body != nil && r.Method != http.MethodPut {
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, s.opts.MaxRequestBytes))
		if err != nil {
			return errs.Errorf(errs.Invalid, "cannot read the request body: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		raw := bytes.TrimSpace(body)
		if len(raw) > 0 && raw[0] == '"' {
			var inner string
			if json.Unmarshal(raw, &inner) == nil {
				raw = []byte(inner)
			}
		}
		if len(raw) > 0 && json.Unmarshal(raw, &fields) != nil {
			return deny() // the handler could not read it either
		}
	}
	str := func(k string) string {
		if v, ok := fields[k].(string); ok {
			return v
		}
		if v, ok := fields[k].(float64); ok {
			return fmt.Sprint(v)
		}
		return ""
	}
	ctx := r.Context()
	runExp := func(need string) error {
		id := str("run_id")
		if id == "" {
			id = str("run_uuid")
		}
		run, err := s.store.GetRun(ctx, id)
		if err != nil {
			return nil // the handler answers "does not exist"
		}
		if !a.allowed(r, kindExperiment, run.Info.ExperimentID, need) {
			return deny()
		}
		return nil
	}
	exp := func(id, need string) error {
		if !a.allowed(r, kindExperiment, id, need) {
			return deny()
		}
		return nil
	}
	model := func(need string) error {
		if !a.allowed(r, kindModel, str("name"), need) {
			return deny()
		}
		return nil
	}
	switch r.URL.Path {
	case "/get-artifact", "/ajax-api/2.0/mlflow/get-artifact":
		return runExp(PermRead)
	case "/model-versions/get-artifact", "/ajax-api/2.0/mlflow/model-versions/get-artifact":
		return model(PermRead)
	}
	ep, ok := endpoint(r.URL.Path)
	if !ok {
		return nil // the UI's pages and /health
	}
	switch ep {
	case "/experiments/create", "/experiments/search", "/registered-models/create",
		"/registered-models/search", "/model-versions/search", "/users/get", "/users/update-password":
		return nil // open to every user; results are filtered, users checked in the handler
	case "/experiments/get":
		return exp(str("experiment_id"), PermRead)
	case "/experiments/get-by-name":
		e, err := s.store.GetExperimentByName(ctx, str("experiment_name"))
		if err != nil {
			return nil
		}
		return exp(e.ID, PermRead)
	case "/experiments/update", "/experiments/set-experiment-tag":
		return exp(str("experiment_id"), PermEdit)
	case "/experiments/delete", "/experiments/restore",
		"/experiments/permissions/create", "/experiments/permissions/update", "/experiments/permissions/delete", "/experiments/permissions/get":
		return exp(str("experiment_id"), PermManage)
	case "/runs/create":
		id := str("experiment_id")
		if id == "" {
			id = "0"
		}
		return exp(id, PermEdit)
	case "/runs/get", "/metrics/get-history", "/artifacts/list":
		return runExp(PermRead)
	case "/runs/update", "/runs/log-metric", "/runs/log-parameter", "/runs/set-tag", "/runs/delete-tag",
		"/runs/log-batch", "/runs/log-model", "/runs/log-inputs":
		return runExp(PermEdit)
	case "/runs/delete", "/runs/restore":
		return runExp(PermManage)
	case "/runs/search":
		ids, _ := fields["experiment_ids"].([]any)
		if s, ok := fields["experiment_ids"].(string); ok {
			ids = []any{s}
		}
		for _, id := range ids {
			if err := exp(fmt.Sprint(id), PermRead); err != nil {
				return err
			}
		}
		return nil
	case "/registered-models/get", "/registered-models/get-latest-versions", "/model-versions/get", "/model-versions/get-download-uri":
		return model(PermRead)
	case "/registered-models/alias":
		if r.Method == http.MethodGet {
			return model(PermRead)
		}
		return model(PermEdit)
	case "/registered-models/rename", "/registered-models/update", "/registered-models/set-tag", "/registered-models/delete-tag",
		"/model-versions/create", "/model-versions/update", "/model-versions/transition-stage", "/model-versions/set-tag", "/model-versions/delete-tag":
		return model(PermEdit)
	case "/registered-models/delete", "/model-versions/delete",
		"/registered-models/permissions/create", "/registered-models/permissions/update", "/registered-models/permissions/delete", "/registered-models/permissions/get":
		return model(PermManage)
	}
	return deny() // user administration and anything unknown: admins only
}

// authRoutes serves MLflow's basic-auth endpoints: users and permissions.
func (s *Server) authRoutes() {
	if s.opts.Auth == nil {
		return
	}
	a := s.opts.Auth
	type userReq struct {
		Username Str  `json:"username"`
		Password Str  `json:"password"`
		IsAdmin  Bool `json:"is_admin"`
	}
	me := func(r *http.Request) *principal {
		p, _ := r.Context().Value(principalKey{}).(*principal)
		return p
	}
	s.handle("POST", "/users/create", handler(s, func(r *http.Request, req *userReq) (any, error) {
		if req.Username == "" {
			return nil, missing("username")
		}
		var n int
		a.db.QueryRowContext(r.Context(), `SELECT count(*) FROM users WHERE username = ?`, string(req.Username)).Scan(&n)
		if n > 0 {
			return nil, errs.Errorf(errs.Conflict, "user %q already exists", req.Username)
		}
		if err := a.putUser(r.Context(), string(req.Username), string(req.Password), false); err != nil {
			return nil, err
		}
		return map[string]any{"user": map[string]any{"username": req.Username, "is_admin": false}}, nil
	}))
	s.handle("GET", "/users/get", handler(s, func(r *http.Request, req *userReq) (any, error) {
		if p := me(r); p == nil || (!p.admin && p.name != string(req.Username)) {
			return nil, errs.Errorf(errs.Invalid, "only admins may look up other users")
		}
		var admin bool
		err := a.db.QueryRowContext(r.Context(), `SELECT is_admin FROM users WHERE username = ?`, string(req.Username)).Scan(&admin)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.Errorf(errs.NotFound, "user %q does not exist", req.Username)
		}
		if err != nil {
			return nil, fmt.Errorf("read user: %w", err)
		}
		return map[string]any{"user": map[string]any{"username": req.Username, "is_admin": admin}}, nil
	}))
	s.handle("PATCH", "/users/update-password", handler(s, func(r *http.Request, req *userReq) (any, error) {
		p := me(r)
		if p == nil || (!p.admin && p.name != string(req.Username)) {
			return nil, errs.Errorf(errs.Invalid, "only admins may change other users' passwords")
		}
		var admin bool
		if err := a.db.QueryRowContext(r.Context(), `SELECT is_admin FROM users WHERE username = ?`, string(req.Username)).Scan(&admin); err != nil {
			return nil, errs.Errorf(errs.NotFound, "user %q does not exist", req.Username)
		}
		return empty{}, a.putUser(r.Context(), string(req.Username), string(req.Password), admin)
	}))
	s.handle("PATCH", "/users/update-admin", handler(s, func(r *http.Request, req *userReq) (any, error) {
		res, err := a.db.ExecContext(r.Context(), `UPDATE users SET is_admin = ? WHERE username = ?`, bool(req.IsAdmin), string(req.Username))
		if err != nil {
			return nil, fmt.Errorf("update user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, errs.Errorf(errs.NotFound, "user %q does not exist", req.Username)
		}
		return empty{}, nil
	}))
	s.handle("DELETE", "/users/delete", handler(s, func(r *http.Request, req *userReq) (any, error) {
		res, err := a.db.ExecContext(r.Context(), `DELETE FROM users WHERE username = ?`, string(req.Username))
		if err != nil {
			return nil, fmt.Errorf("delete user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, errs.Errorf(errs.NotFound, "user %q does not exist", req.Username)
		}
		a.forget(string(req.Username))
		return empty{}, nil
	}))
	type permReq struct {
		ExperimentID Str `json:"experiment_id"`
		Name         Str `json:"name"`
		Username     Str `json:"username"`
		Permission   Str `json:"permission"`
	}
	for _, kind := range []string{kindExperiment, kindModel} {
		kind := kind
		base := "/experiments/permissions"
		if kind == kindModel {
			base = "/registered-models/permissions"
		}
		resource := func(q *permReq) string {
			if kind == kindExperiment {
				return string(q.ExperimentID)
			}
			return string(q.Name)
		}
		set := handler(s, func(r *http.Request, req *permReq) (any, error) {
			if resource(req) == "" || req.Username == "" || req.Permission == "" {
				return nil, errs.Errorf(errs.Invalid, "a permission needs the %s, username and permission", map[string]string{kindExperiment: "experiment_id", kindModel: "name"}[kind])
			}
			return empty{}, a.grant(r.Context(), kind, resource(req), string(req.Username), string(req.Permission))
		})
		s.handle("POST", base+"/create", set)
		s.handle("PATCH", base+"/update", set)
		s.handle("GET", base+"/get", handler(s, func(r *http.Request, req *permReq) (any, error) {
			var perm string
			err := a.db.QueryRowContext(r.Context(), `SELECT permission FROM permissions WHERE kind = ? AND resource = ? AND username = ?`,
				kind, resource(req), string(req.Username)).Scan(&perm)
			if errors.Is(err, sql.ErrNoRows) {
				return nil, errs.Errorf(errs.NotFound, "user %q has no permission on %s %q", req.Username, kind, resource(req))
			}
			if err != nil {
				return nil, fmt.Errorf("read permission: %w", err)
			}
			key := map[string]string{kindExperiment: "experiment_permission", kindModel: "registered_model_permission"}[kind]
			return map[string]any{key: map[string]any{"username": req.Username, "permission": perm}}, nil
		}))
		s.handle("DELETE", base+"/delete", handler(s, func(r *http.Request, req *permReq) (any, error) {
			_, err := a.db.ExecContext(r.Context(), `DELETE FROM permissions WHERE kind = ? AND resource = ? AND username = ?`, kind, resource(req), string(req.Username))
			if err != nil {
				return nil, fmt.Errorf("delete permission: %w", err)
			}
			return empty{}, nil
		}))
	}
}

package server

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
)

// artifactPrefixes are the prefixes of the artifact proxy.
var artifactPrefixes = []string{"/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts"}

func (s *Server) artifactRoutes() {
	for _, p := range artifactPrefixes {
		s.mux.HandleFunc("GET "+p+"/artifacts", s.proxied(s.proxyList))
		s.mux.HandleFunc("GET "+p+"/artifacts/{path...}", s.proxied(s.proxyDownload))
		s.mux.HandleFunc("PUT "+p+"/artifacts/{path...}", s.proxied(s.proxyUpload))
		s.mux.HandleFunc("DELETE "+p+"/artifacts/{path...}", s.proxied(s.proxyDelete))
		s.mux.HandleFunc("POST "+p+"/mpu/{op}/{path...}", s.proxied(func(w http.ResponseWriter, r *http.Request) {
			writeCodeError(w, "NOT_IMPLEMENTED", "multipart uploads are not supported; the client uploads each file with one PUT")
		}))
	}
	s.handle("GET", "/artifacts/list", s.listRunArtifacts)
	s.mux.HandleFunc("GET /get-artifact", s.getRunArtifact)
	s.mux.HandleFunc("GET /ajax-api/2.0/mlflow/get-artifact", s.getRunArtifact)
	s.mux.HandleFunc("GET /model-versions/get-artifact", s.getModelVersionArtifact)
	s.mux.HandleFunc("GET /ajax-api/2.0/mlflow/model-versions/get-artifact", s.getModelVersionArtifact)
}

// proxied answers 503 when the server does not serve artifacts, as
// mlflow server --no-serve-artifacts does.
func (s *Server) proxied(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.opts.ServeArtifacts {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "Endpoint: "+r.URL.Path+" disabled due to the mlflow server running with `--no-serve-artifacts`. To enable artifacts server functionality, run `mlrun server` with `--serve-artifacts`\n")
			return
		}
		h(w, r)
	}
}

// cleanRel checks an artifact path from a request and returns it in
// slash form: relative, no "." or ".." segment (also when percent-encoded,
// once or twice), no NUL or backslash. "" is the root.
func cleanRel(p string) (string, error) {
	bad := func() (string, error) {
		return "", errs.Errorf(errs.Invalid, "Invalid path %q: artifact paths must be relative and stay inside the artifact root", p)
	}
	cur := p
	for i := 0; i < 3; i++ {
		if strings.ContainsAny(cur, "\x00\\") || strings.HasPrefix(cur, "/") || filepath.IsAbs(cur) {
			return bad()
		}
		for _, seg := range strings.Split(cur, "/") {
			if seg == ".." || seg == "." && cur != "." {
				return bad()
			}
		}
		dec, err := url.PathUnescape(cur)
		if err != nil || dec == cur {
			break
		}
		cur = dec
	}
	p = strings.TrimSuffix(p, "/")
	if p == "." {
		p = ""
	}
	if strings.Contains(p, "//") {
		return bad()
	}
	return p, nil
}

// within resolves rel under root and checks that no symbolic link on the
// way leads outside root. The target itself need not exist.
func within(root, rel string) (string, error) {
	clean, err := cleanRel(rel)
	if err != nil {
		return "", err
	}
	full, err := artifact.Join(root, filepath.FromSlash(clean))
	if err != nil {
		return "", err
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if errors.Is(err, fs.ErrNotExist) {
		return full, nil // nothing exists yet, so no link either
	}
	if err != nil {
		return "", fmt.Errorf("resolve artifact root %s: %w", root, err)
	}
	// The deepest existing ancestor must resolve inside the root.
	probe := full
	for {
		real, err := filepath.EvalSymlinks(probe)
		if err == nil {
			r, err := filepath.Rel(realRoot, real)
			if err != nil || !(r == "." || filepath.IsLocal(r)) {
				return "", errs.Errorf(errs.Invalid, "Invalid path %q: it leads outside the artifact root through a symbolic link", rel)
			}
			return full, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("resolve artifact path %s: %w", rel, err)
		}
		parent := filepath.Dir(probe)
		if parent == probe || len(parent) < len(root) {
			return full, nil
		}
		probe = parent
	}
}

// isProxyURI reports whether uri is an mlflow-artifacts: URI.
func isProxyURI(uri string) bool { return artifact.IsProxyURI(uri) }

// publicLocation turns an artifact location the store keeps (a directory
// or a file:// URI) into what clients see: an mlflow-artifacts:/ URI when
// the server proxies artifacts and the location lies under the root, else
// a file:// URI.
func (s *Server) publicLocation(loc string) string {
	if loc == "" {
		return ""
	}
	scheme := artifact.Scheme(loc)
	if scheme != "" && scheme != "file" {
		return loc
	}
	local, err := artifact.DirFromURI(loc)
	if err != nil {
		return loc
	}
	if s.opts.ServeArtifacts {
		if rel, err := filepath.Rel(s.root, local); err == nil && (rel == "." || filepath.IsLocal(rel)) {
			return artifact.ProxyURI(filepath.ToSlash(rel))
		}
	}
	if scheme == "file" {
		return loc
	}
	return artifact.FileURI(local)
}

// privateLocation turns an mlflow-artifacts:/<path> (or
// mlflow-artifacts://host:port/<path>) URI into the file:// URI of the
// proxied files, checking the path.
func (s *Server) privateLocation(uri string) (string, error) {
	rel, ok := artifact.ProxyPath(uri)
	if !ok {
		return "", errs.Errorf(errs.Invalid, "artifact location %q is not an mlflow-artifacts: URI", uri)
	}
	full, err := within(s.root, rel)
	if err != nil {
		return "", err
	}
	return artifact.FileURI(full), nil
}

func (s *Server) proxyDownload(w http.ResponseWriter, r *http.Request) {
	full, err := within(s.root, r.PathValue("path"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.serveFile(w, r, full, r.PathValue("path"))
}

// serveFile streams one artifact file as an attachment.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, full, name string) {
	f, err := os.Open(full)
	if errors.Is(err, fs.ErrNotExist) {
		s.writeError(w, r, errs.Errorf(errs.NotFound, "artifact %q does not exist", name))
		return
	}
	if err != nil {
		s.writeError(w, r, fmt.Errorf("open artifact %s: %w", full, err))
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		s.writeError(w, r, fmt.Errorf("stat artifact %s: %w", full, err))
		return
	}
	if info.IsDir() {
		s.writeError(w, r, errs.Errorf(errs.Invalid, "artifact %q is a directory; list it instead", name))
		return
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", path.Base(filepath.ToSlash(name))))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	http.ServeContent(w, r, "", info.ModTime(), f)
}

func (s *Server) proxyUpload(w http.ResponseWriter, r *http.Request) {
	rel := r.PathValue("path")
	full, err := within(s.root, rel)
	if err != nil || full == s.root {
		if err == nil {
			err = errs.Errorf(errs.Invalid, "an upload needs a file path")
		}
		s.writeError(w, r, err)
		return
	}
	if err := s.writeUpload(r, full); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, empty{})
}

// writeUpload streams the request body into full through a temporary file
// in the same directory, so that a failed upload leaves nothing behind.
func (s *Server) writeUpload(r *http.Request, full string) error {
	dir := filepath.Dir(full)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create artifact directory: %w", err)
	}
	// MkdirAll may have followed a link created meanwhile: check again.
	rel, _ := filepath.Rel(s.root, full)
	if _, err := within(s.root, filepath.ToSlash(rel)); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return fmt.Errorf("create artifact file: %w", err)
	}
	body := http.MaxBytesReader(nil, r.Body, s.opts.MaxUploadBytes)
	_, err = io.Copy(tmp, body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errs.Errorf(errs.Invalid, "the artifact is larger than the upload limit of %d bytes", s.opts.MaxUploadBytes)
		}
		return errs.Errorf(errs.Invalid, "the upload was interrupted: %v", err)
	}
	if info, err := os.Lstat(full); err == nil && (info.IsDir() || info.Mode()&fs.ModeSymlink != 0) {
		os.Remove(tmp.Name())
		return errs.Errorf(errs.Invalid, "artifact %q exists and is not a regular file", rel)
	}
	if err := os.Rename(tmp.Name(), full); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("store artifact: %w", err)
	}
	return nil
}

func (s *Server) proxyList(w http.ResponseWriter, r *http.Request) {
	rel := r.URL.Query().Get("path")
	full, err := within(s.root, rel)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	files, err := listDir(full)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for i := range files {
		files[i].Path = path.Base(files[i].Path)
	}
	writeJSON(w, http.StatusOK, map[string]any{"files": files})
}

// listDir lists the direct children of dir, with paths relative to dir;
// a missing directory or a file is an empty list.
func listDir(dir string) ([]wFileInfo, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || err != nil && isNotDir(err) {
		return []wFileInfo{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list artifacts: %w", err)
	}
	out := make([]wFileInfo, 0, len(entries))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".upload-") {
			continue
		}
		fi := wFileInfo{Path: e.Name(), IsDir: e.IsDir()}
		if !e.IsDir() {
			info, err := e.Info()
			if err != nil {
				continue
			}
			if !info.Mode().IsRegular() {
				continue // symbolic links and devices are not artifacts
			}
			n := info.Size()
			fi.FileSize = &n
		}
		out = append(out, fi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func isNotDir(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "not a directory")
}

func (s *Server) proxyDelete(w http.ResponseWriter, r *http.Request) {
	rel := r.PathValue("path")
	full, err := within(s.root, rel)
	if err == nil && full == s.root {
		err = errs.Errorf(errs.Invalid, "the artifact root cannot be deleted")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := os.Lstat(full); errors.Is(err, fs.ErrNotExist) {
		s.writeError(w, r, errs.Errorf(errs.NotFound, "artifact %q does not exist", rel))
		return
	}
	if err := os.RemoveAll(full); err != nil {
		s.writeError(w, r, fmt.Errorf("delete artifact: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, empty{})
}

// runArtifactDir returns the local artifact directory of a run.
func (s *Server) runArtifactDir(r *http.Request, runID string) (string, string, error) {
	run, err := s.store.GetRun(r.Context(), runID)
	if err != nil {
		return "", "", err
	}
	dir, err := artifact.DirFromURI(run.Info.ArtifactURI)
	if err != nil {
		return "", "", err
	}
	return dir, run.Info.ArtifactURI, nil
}

type listArtifactsReq struct {
	runIDReq
	Path      Str `json:"path"`
	PageToken Str `json:"page_token"`
}

func (s *Server) listRunArtifacts(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *listArtifactsReq) (any, error) {
		id, err := req.id()
		if err != nil {
			return nil, err
		}
		dir, uri, err := s.runArtifactDir(r, id)
		if err != nil {
			return nil, err
		}
		rel, err := cleanRel(string(req.Path))
		if err != nil {
			return nil, err
		}
		full, err := within(dir, rel)
		if err != nil {
			return nil, err
		}
		files, err := listDir(full)
		if err != nil {
			return nil, err
		}
		for i := range files {
			files[i].Path = path.Join(rel, files[i].Path)
		}
		return map[string]any{"root_uri": s.publicLocation(uri), "files": files}, nil
	})(w, r)
}

func (s *Server) getRunArtifact(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("run_id")
	if id == "" {
		id = q.Get("run_uuid")
	}
	if id == "" {
		s.writeError(w, r, missing("run_id"))
		return
	}
	if q.Get("path") == "" {
		s.writeError(w, r, missing("path"))
		return
	}
	dir, _, err := s.runArtifactDir(r, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	full, err := within(dir, q.Get("path"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.serveFile(w, r, full, q.Get("path"))
}

func (s *Server) getModelVersionArtifact(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := modelReq{Name: Str(q.Get("name")), Version: Str(q.Get("version"))}
	name, v, err := req.nameVersion()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if q.Get("path") == "" {
		s.writeError(w, r, missing("path"))
		return
	}
	mv, err := s.store.GetModelVersion(r.Context(), name, v)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	dir, err := artifact.DirFromURI(mv.Source)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	full, err := within(dir, q.Get("path"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.serveFile(w, r, full, q.Get("path"))
}

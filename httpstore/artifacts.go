package httpstore

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// artifactsAPI is the path of the server's artifact proxy, MLflow's
// mlflow-artifacts service.
const artifactsAPI = "/api/2.0/mlflow-artifacts/artifacts"

// Artifacts is the artifact.Repository of one mlflow-artifacts:/ location
// (an experiment's or a run's), read and written through the server's
// artifact proxy as MLflow's client does.
type Artifacts struct {
	store *Store
	root  string // path below the proxy's root, slash-separated, no leading slash
}

var _ artifact.Repository = (*Artifacts)(nil)

// Artifacts returns the repository of an mlflow-artifacts:/<path> URI
// (also mlflow-artifacts://host:port/<path>, whose host is ignored: the
// store's server serves it).
func (s *Store) Artifacts(uri string) (*Artifacts, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "mlflow-artifacts" {
		return nil, errs.Errorf(errs.Invalid, "artifact location %q is not an mlflow-artifacts:/ URI", uri)
	}
	root, err := cleanRel(u.Path)
	if err != nil {
		return nil, errs.Errorf(errs.Invalid, "artifact location %q: %s", uri, errs.Message(err))
	}
	return &Artifacts{store: s, root: root}, nil
}

// RegisterArtifacts makes schemes open mlflow-artifacts:/ URIs through s.
func (s *Store) RegisterArtifacts(schemes *artifact.Schemes) {
	schemes.Register("mlflow-artifacts", func(uri string) (artifact.Repository, error) { return s.Artifacts(uri) })
}

// cleanRel checks a slash-separated relative path: no "..", no absolute
// path. "" and "." are the root ("").
func cleanRel(rel string) (string, error) {
	rel = strings.Trim(rel, "/")
	if rel == "" || rel == "." {
		return "", nil
	}
	for _, part := range strings.Split(rel, "/") {
		if part == ".." || strings.ContainsRune(part, '\\') {
			return "", errs.Errorf(errs.Invalid, "artifact path %q leaves its root", rel)
		}
	}
	return path.Clean(rel), nil
}

// full returns the proxy path of rel inside the repository.
func (a *Artifacts) full(rel string) (string, error) {
	r, err := cleanRel(rel)
	if err != nil {
		return "", err
	}
	return strings.Trim(a.root+"/"+r, "/"), nil
}

// endpoint returns the URL path of p below the proxy, each segment escaped.
func endpoint(p string) string {
	parts := strings.Split(p, "/")
	for i := range parts {
		parts[i] = url.PathEscape(parts[i])
	}
	return artifactsAPI + "/" + strings.Join(parts, "/")
}

// Put uploads the local file or directory src to rel.
func (a *Artifacts) Put(ctx context.Context, src, rel string) error {
	info, err := os.Stat(src)
	if err != nil {
		return errs.Errorf(errs.NotFound, "artifact source %s: %v", src, err)
	}
	if !info.IsDir() {
		return a.putFile(ctx, src, rel)
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		sub, err := filepath.Rel(src, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		return a.putFile(ctx, p, path.Join(rel, filepath.ToSlash(sub)))
	})
}

// putFile uploads one file.
func (a *Artifacts) putFile(ctx context.Context, src, rel string) error {
	full, err := a.full(rel)
	if err != nil {
		return err
	}
	if full == "" {
		return errs.Errorf(errs.Invalid, "an upload needs a file path")
	}
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("upload %s: %w", src, err)
	}
	defer f.Close()
	resp, err := a.store.send(ctx, http.MethodPut, endpoint(full), nil, f, "application/octet-stream")
	if err != nil {
		return fmt.Errorf("upload %s to %s: %w", src, rel, err)
	}
	resp.Body.Close()
	return nil
}

// Open downloads the file rel.
func (a *Artifacts) Open(ctx context.Context, rel string) (io.ReadCloser, error) {
	full, err := a.full(rel)
	if err != nil {
		return nil, err
	}
	resp, err := a.store.send(ctx, http.MethodGet, endpoint(full), nil, nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// wireFile is an entry of the proxy's listing.
type wireFile struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize int64  `json:"file_size"`
}

// children lists the direct children of the proxy path full.
func (a *Artifacts) children(ctx context.Context, full string) ([]wireFile, error) {
	resp, err := a.store.send(ctx, http.MethodGet, artifactsAPI, url.Values{"path": {full}}, nil, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Files []wireFile `json:"files"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes)).Decode(&out); err != nil {
		return nil, errs.Errorf(errs.Internal, "the tracking server %s sent a bad artifact listing: %v", a.store.base, err)
	}
	return out.Files, nil
}

// List returns every file and directory below rel, sorted by path,
// relative to the repository's root.
func (a *Artifacts) List(ctx context.Context, rel string) ([]artifact.File, error) {
	r, err := cleanRel(rel)
	if err != nil {
		return nil, err
	}
	var out []artifact.File
	var walk func(sub string) error
	walk = func(sub string) error {
		full := strings.Trim(a.root+"/"+sub, "/")
		files, err := a.children(ctx, full)
		if err != nil {
			return err
		}
		for _, f := range files {
			p := strings.Trim(sub+"/"+path.Base(f.Path), "/")
			out = append(out, artifact.File{Path: p, IsDir: f.IsDir, Size: f.FileSize})
			if f.IsDir {
				if err := walk(p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(r); err != nil {
		return nil, err
	}
	if out == nil {
		out = []artifact.File{}
	}
	return out, nil
}

// Get downloads rel (a file or a directory) to the local path dst.
func (a *Artifacts) Get(ctx context.Context, rel, dst string) error {
	r, err := cleanRel(rel)
	if err != nil {
		return err
	}
	files, err := a.List(ctx, r)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return a.getFile(ctx, r, dst) // a file, or a NotFound from the server
	}
	for _, f := range files {
		local := filepath.Join(dst, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(f.Path, r), "/")))
		if f.IsDir {
			if err := os.MkdirAll(local, 0o755); err != nil {
				return fmt.Errorf("download %s: %w", f.Path, err)
			}
			continue
		}
		if err := a.getFile(ctx, f.Path, local); err != nil {
			return err
		}
	}
	return nil
}

// getFile downloads one file to dst, through a temporary file so that a
// failed download leaves nothing half-written.
func (a *Artifacts) getFile(ctx context.Context, rel, dst string) error {
	body, err := a.Open(ctx, rel)
	if err != nil {
		return err
	}
	defer body.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("download %s: %w", rel, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".download-*")
	if err != nil {
		return fmt.Errorf("download %s: %w", rel, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, body); err != nil {
		tmp.Close()
		return fmt.Errorf("download %s: %w", rel, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("download %s: %w", rel, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("download %s: %w", rel, err)
	}
	return nil
}

// Delete removes rel and everything below it; an absent rel is not an
// error.
func (a *Artifacts) Delete(ctx context.Context, rel string) error {
	full, err := a.full(rel)
	if err != nil {
		return err
	}
	resp, err := a.store.send(ctx, http.MethodDelete, endpoint(full), nil, nil, "")
	if errs.Code(err) == errs.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Size returns the total size of the files below rel.
func (a *Artifacts) Size(ctx context.Context, rel string) (int64, error) {
	files, err := a.List(ctx, rel)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, f := range files {
		n += f.Size
	}
	return n, nil
}

// probeArtifacts asks the server whether it serves artifacts (it does not
// with --no-serve-artifacts). Listing the proxy's root would tell too, but
// under --auth only admins may list it.
func (s *Store) probeArtifacts(ctx context.Context) (bool, error) {
	var serving bool
	if err := s.call(ctx, "ServesArtifacts", nil, &serving); err != nil {
		return false, fmt.Errorf("ask the tracking server %s whether it serves artifacts: %w", s.base, err)
	}
	return serving, nil
}

// public turns an artifact location the server's store keeps (file://
// below the server's artifact root) into the mlflow-artifacts:/ URI this
// client reads and writes it through, when the server serves artifacts.
// Other locations are returned unchanged: with --no-serve-artifacts the
// client uses the file:// locations the server names, which must then be
// on a file system this machine shares at the same path.
func (s *Store) public(loc string) string {
	if !s.serving {
		return loc
	}
	out, _ := artifact.Rebase(loc, s.fileRoot, proxyRoot)
	return out
}

// private is the inverse of public, for locations sent to the server
// (a model version's source): the store keeps file:// URIs.
func (s *Store) private(loc string) string {
	if !s.serving {
		return loc
	}
	out, _ := artifact.Rebase(loc, proxyRoot, s.fileRoot)
	return out
}

// proxyRoot is the root of the artifact proxy's locations.
const proxyRoot = "mlflow-artifacts:"

// publicLocations rewrites, in place, the artifact locations inside a
// decoded answer (see public).
func (s *Store) publicLocations(out any) {
	if !s.serving {
		return
	}
	version := func(v *tracking.ModelVersion) {
		if v != nil {
			v.Source = s.public(v.Source)
		}
	}
	model := func(m *tracking.RegisteredModel) {
		if m != nil {
			for _, v := range m.LatestVersions {
				version(v)
			}
		}
	}
	switch x := out.(type) {
	case *tracking.Experiment:
		x.ArtifactLocation = s.public(x.ArtifactLocation)
	case *[]*tracking.Experiment:
		for _, e := range *x {
			e.ArtifactLocation = s.public(e.ArtifactLocation)
		}
	case *tracking.RunInfo:
		x.ArtifactURI = s.public(x.ArtifactURI)
	case *tracking.Run:
		x.Info.ArtifactURI = s.public(x.Info.ArtifactURI)
	case *[]*tracking.Run:
		for _, r := range *x {
			r.Info.ArtifactURI = s.public(r.Info.ArtifactURI)
		}
	case *tracking.ModelVersion:
		version(x)
	case *[]*tracking.ModelVersion:
		for _, v := range *x {
			version(v)
		}
	case *tracking.RegisteredModel:
		model(x)
	case *[]*tracking.RegisteredModel:
		for _, m := range *x {
			model(m)
		}
	}
}

package ui

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"github.com/mlrun/mlrun/artifact"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// Limits of artifact previews.
const (
	maxPreviewBytes = 512 << 10 // text shown inline
	maxCSVRows      = 200
	maxTreeEntries  = 5000
)

// artifactCSP is served with every raw artifact: an HTML report may show
// its own inline styles and data: images, but runs no script, loads
// nothing and is a unique origin (sandbox), even when opened directly.
const artifactCSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"

// openRunRoot opens a run's artifact directory as an os.Root, through
// which no path or symlink can reach outside it. The directory must lie
// under the UI's artifact root.
func (h *Handler) openRunRoot(info *tracking.RunInfo) (*os.Root, error) {
	dir, err := artifact.LocalDir(info.ArtifactURI)
	if err != nil {
		return nil, errs.Errorf(errs.NotFound, "run %s keeps its artifacts at %q, which this UI cannot read", info.ID, info.ArtifactURI)
	}
	dir = filepath.Clean(dir)
	rootAbs, err := filepath.Abs(h.opt.ArtifactRoot)
	if err != nil {
		return nil, errs.Errorf(errs.Internal, "artifact root %s: %v", h.opt.ArtifactRoot, err)
	}
	if rel, err := filepath.Rel(rootAbs, dir); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, errs.Errorf(errs.NotFound, "run %s keeps its artifacts outside the store's artifact root", info.ID)
	}
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // no artifacts yet
	}
	if err != nil {
		return nil, errs.Errorf(errs.NotFound, "the artifacts of run %s cannot be read: %v", info.ID, err)
	}
	return root, nil
}

// cleanArtifactPath checks a slash-separated artifact path from a URL.
func cleanArtifactPath(p string) (string, error) {
	if p == "" {
		return "", errs.Errorf(errs.Invalid, "no artifact path given")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsRune(seg, '\\') {
			return "", errs.Errorf(errs.NotFound, "artifact path %q is not valid: it must stay inside the run's artifacts", p)
		}
	}
	return p, nil
}

// artifactRaw serves one artifact's bytes, inline or (with ?download=1)
// as an attachment.
func (h *Handler) artifactRaw(w http.ResponseWriter, r *http.Request) {
	run, err := h.opt.Store.GetRun(r.Context(), r.PathValue("id"))
	if err == nil {
		err = h.needRun(r, run, permRead)
	}
	if err != nil {
		h.fail(w, r, err, 0)
		return
	}
	p, err := cleanArtifactPath(r.PathValue("path"))
	if err != nil {
		h.fail(w, r, err, 0)
		return
	}
	root, err := h.openRunRoot(&run.Info)
	if err == nil && root == nil {
		err = errs.Errorf(errs.NotFound, "run %s has no artifacts", run.Info.ID)
	}
	if err != nil {
		h.fail(w, r, err, 0)
		return
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(p))
	if err != nil {
		h.fail(w, r, errs.Errorf(errs.NotFound, "run %s has no artifact %q inside its artifact directory", run.Info.ID, p), 0)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		h.fail(w, r, errs.Errorf(errs.NotFound, "artifact %q of run %s is a directory, not a file", p, run.Info.ID), 0)
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", artifactCSP)
	hd.Set("Content-Type", contentType(p))
	if r.URL.Query().Get("download") != "" {
		hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(p)}))
	}
	http.ServeContent(w, r, path.Base(p), st.ModTime(), f)
}

// contentType names an artifact's media type from its extension; unknown
// types are served as plain text or octets, never sniffed.
func contentType(p string) string {
	switch strings.ToLower(path.Ext(p)) {
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".svg":
		return "image/svg+xml"
	case ".html", ".htm":
		return "text/html; charset=utf-8"
	case ".json":
		return "application/json"
	case ".csv":
		return "text/csv; charset=utf-8"
	case ".txt", ".log", ".yaml", ".yml", ".diff", ".md", ".lock", ".toml", ".cfg", ".ini", ".py", ".sh":
		return "text/plain; charset=utf-8"
	}
	if path.Base(p) == "MLmodel" {
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// artifactNode is one entry of a run's artifact tree.
type artifactNode struct {
	Path     string // slash-separated, relative to the run's artifacts
	Name     string
	Dir      bool
	Size     int64
	Depth    int
	Escapes  bool // a symlink pointing outside the run: listed, never served
	Selected bool
}

// artifactTree lists a run's artifacts, depth first, directories first.
func artifactTree(root *os.Root) []artifactNode {
	if root == nil {
		return nil
	}
	var out []artifactNode
	fsys := root.FS()
	fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return nil
		}
		if len(out) >= maxTreeEntries {
			return fs.SkipAll
		}
		n := artifactNode{Path: p, Name: d.Name(), Dir: d.IsDir(), Depth: strings.Count(p, "/")}
		if d.Type()&fs.ModeSymlink != 0 {
			st, err := fs.Stat(fsys, p) // follows the link, inside the root only
			if err != nil {
				n.Escapes = true
			} else {
				n.Dir, n.Size = st.IsDir(), st.Size()
			}
		} else if info, err := d.Info(); err == nil && !d.IsDir() {
			n.Size = info.Size()
		}
		out = append(out, n)
		return nil
	})
	return out
}

// preview is what the run page shows for the selected artifact.
type preview struct {
	Path     string
	Kind     string // image, html, csv, json, yaml, text, diff, mlmodel, binary, dir, missing
	RawURL   string
	Download string
	Text     string
	Header   []string
	Rows     [][]string
	More     bool // truncated
	Lines    []diffLine
	Model    *mlmodel
	Size     int64
	Error    string
}

type diffLine struct {
	Class, Text string
}

// mlmodel is the part of an MLmodel file worth showing.
type mlmodel struct {
	Flavors      []string
	Inputs       string
	Outputs      string
	InputExample string
	Raw          string
	RunPath      string // artifact directory of the model, for the serve command
}

// buildPreview reads an artifact for display.
func buildPreview(root *os.Root, runID, p string) *preview {
	pv := &preview{Path: p, RawURL: artifactURL(runID, p)}
	pv.Download = pv.RawURL + "?download=1"
	if _, err := cleanArtifactPath(p); err != nil || root == nil {
		pv.Kind, pv.Error = "missing", "no such artifact in this run"
		return pv
	}
	st, err := root.Stat(filepath.FromSlash(p))
	if err != nil {
		pv.Kind, pv.Error = "missing", "no such artifact in this run (or it points outside the run's artifacts)"
		return pv
	}
	if st.IsDir() {
		pv.Kind = "dir"
		if _, err := root.Stat(filepath.FromSlash(p + "/MLmodel")); err == nil {
			sub := buildPreview(root, runID, p+"/MLmodel")
			sub.Path = p
			return sub
		}
		return pv
	}
	pv.Size = st.Size()
	ext := strings.ToLower(path.Ext(p))
	switch {
	case ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".svg":
		pv.Kind = "image"
		return pv
	case ext == ".html" || ext == ".htm":
		pv.Kind = "html"
		return pv
	}
	data, more, err := readHead(root, p)
	if err != nil {
		pv.Kind, pv.Error = "missing", err.Error()
		return pv
	}
	pv.More = more
	switch {
	case path.Base(p) == "MLmodel":
		pv.Kind = "mlmodel"
		pv.Model = parseMLmodel(root, p, data)
		pv.Model.RunPath = path.Dir(p)
		pv.Text = string(data)
	case ext == ".csv":
		pv.Kind = "csv"
		rd := csv.NewReader(bytes.NewReader(data))
		rd.FieldsPerRecord = -1
		for i := 0; ; i++ {
			rec, err := rd.Read()
			if err != nil {
				if err != io.EOF {
					pv.More = true
				}
				break
			}
			if i == 0 {
				pv.Header = rec
				continue
			}
			if len(pv.Rows) == maxCSVRows {
				pv.More = true
				break
			}
			pv.Rows = append(pv.Rows, rec)
		}
	case ext == ".diff" || ext == ".patch":
		pv.Kind = "diff"
		for _, l := range strings.Split(string(data), "\n") {
			c := ""
			switch {
			case strings.HasPrefix(l, "+++") || strings.HasPrefix(l, "---") || strings.HasPrefix(l, "diff "):
				c = "file"
			case strings.HasPrefix(l, "+"):
				c = "add"
			case strings.HasPrefix(l, "-"):
				c = "del"
			case strings.HasPrefix(l, "@@"):
				c = "hunk"
			}
			pv.Lines = append(pv.Lines, diffLine{c, l})
		}
	case ext == ".json":
		pv.Kind = "json"
		var v any
		if json.Unmarshal(data, &v) == nil {
			if b, err := json.MarshalIndent(v, "", "  "); err == nil {
				data = b
			}
		}
		pv.Text = string(data)
	case ext == ".yaml" || ext == ".yml":
		pv.Kind = "yaml"
		pv.Text = string(data)
	case utf8.Valid(data) && !bytes.ContainsRune(data, 0):
		pv.Kind = "text"
		pv.Text = string(data)
	default:
		pv.Kind = "binary"
	}
	return pv
}

// readHead reads at most maxPreviewBytes of an artifact.
func readHead(root *os.Root, p string) ([]byte, bool, error) {
	f, err := root.Open(filepath.FromSlash(p))
	if err != nil {
		return nil, false, errs.Errorf(errs.NotFound, "artifact %q cannot be read", p)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPreviewBytes+1))
	if err != nil {
		return nil, false, errs.Errorf(errs.NotFound, "artifact %q cannot be read: %v", p, err)
	}
	if len(data) > maxPreviewBytes {
		return data[:maxPreviewBytes], true, nil
	}
	return data, false, nil
}

// parseMLmodel reads the flavors, signature and input example of an
// MLmodel file.
func parseMLmodel(root *os.Root, p string, data []byte) *mlmodel {
	m := &mlmodel{Raw: string(data)}
	var doc struct {
		Flavors   map[string]any `yaml:"flavors"`
		Signature struct {
			Inputs  string `yaml:"inputs"`
			Outputs string `yaml:"outputs"`
		} `yaml:"signature"`
		SavedInputExample map[string]any `yaml:"saved_input_example_info"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return m
	}
	for k := range doc.Flavors {
		m.Flavors = append(m.Flavors, k)
	}
	slices.Sort(m.Flavors)
	m.Inputs = prettyJSON(doc.Signature.Inputs)
	m.Outputs = prettyJSON(doc.Signature.Outputs)
	ex := "input_example.json"
	if a, ok := doc.SavedInputExample["artifact_path"].(string); ok && a != "" {
		ex = a
	}
	if b, _, err := readHead(root, path.Join(path.Dir(p), ex)); err == nil {
		m.InputExample = prettyJSON(string(b))
	}
	return m
}

func prettyJSON(s string) string {
	var v any
	if s == "" || json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return s
	}
	return string(b)
}

// artifactURL is the raw URL of an artifact, each segment escaped.
func artifactURL(runID, p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "/runs/" + url.PathEscape(runID) + "/artifacts/" + strings.Join(segs, "/")
}

// modelDirs returns the artifact directories holding an MLmodel file.
func modelDirs(tree []artifactNode) []string {
	var out []string
	for _, n := range tree {
		if !n.Dir && n.Name == "MLmodel" && !n.Escapes {
			out = append(out, path.Dir(n.Path))
		}
	}
	return out
}

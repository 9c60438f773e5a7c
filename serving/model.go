package serving

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/ml/modelfile"
	"github.com/mlrun/mlrun/ml/preprocess"
)

// model is a loaded model directory with everything the request path needs
// computed once, at load. It is never modified after loadModel returns, so
// requests share it without locks.
type model struct {
	m        *modelfile.Model
	dir      string
	token    string
	loadedAt time.Time

	// inputs are the signature's input columns, in signature order; kinds
	// holds the frame column kind of each.
	inputs []modelfile.ColumnSpec
	kinds  []dataset.ColumnKind
	// numeric counts the numeric inputs.
	numeric int
	// categories holds, for each categorical input the model refuses
	// unknown categories of, the categories seen in training (nil for other
	// columns), and known the same list for messages.
	categories []map[string]bool
	known      []string
	// index maps an input column name to its position in inputs.
	index map[string]int
	// names lists the input columns for messages: "a, b, c".
	names string

	// labels maps a class name to its JSON text in responses (classifiers).
	labels map[string][]byte
	// classesJSON is the JSON list of the classes, as labels writes them.
	classesJSON []byte
	// proba says whether the estimator gives class probabilities.
	proba bool

	// metadata is the body of GET /metadata.
	metadata []byte

	// onnx, when set, predicts instead of m's estimator (see onnx.go).
	onnx *onnxBackend
}

// loadModel reads the model directory dir and prepares it for serving.
func loadModel(dir, token, uri, serverVersion string, specs func(string) (ml.Spec, bool), onnxOpts ONNXOptions) (*model, error) {
	m, backend, err := loadBackend(dir, specs, onnxOpts)
	if err != nil {
		return nil, err
	}
	sig := m.Signature()
	mdl := &model{
		m:        m,
		dir:      dir,
		token:    token,
		loadedAt: time.Now().UTC(),
		inputs:   sig.Inputs,
		kinds:    make([]dataset.ColumnKind, len(sig.Inputs)),
		index:    make(map[string]int, len(sig.Inputs)),
		onnx:     backend,
	}
	closeWhenUnreachable(mdl)
	names := make([]string, len(sig.Inputs))
	for i, c := range sig.Inputs {
		switch c.Type {
		case "double":
			mdl.kinds[i] = dataset.Numeric
			mdl.numeric++
		case "string":
			mdl.kinds[i] = dataset.Categorical
		default:
			return nil, fmt.Errorf("load %s: input column %q has type %q, which serving does not handle", dir, c.Name, c.Type)
		}
		if _, dup := mdl.index[c.Name]; dup {
			return nil, fmt.Errorf("load %s: input column %q appears twice in the signature", dir, c.Name)
		}
		mdl.index[c.Name] = i
		names[i] = c.Name
	}
	mdl.names = strings.Join(names, ", ")
	mdl.categories = make([]map[string]bool, len(sig.Inputs))
	mdl.known = make([]string, len(sig.Inputs))
	if m.Preprocess.HandleUnknown != preprocess.UnknownIgnore {
		for _, c := range m.Preprocess.Columns {
			i, ok := mdl.index[c.Name]
			if !ok || c.Kind != dataset.Categorical {
				continue
			}
			mdl.categories[i] = make(map[string]bool, len(c.Categories))
			for _, cat := range c.Categories {
				mdl.categories[i][cat] = true
			}
			mdl.known[i] = quoteList(c.Categories, 10)
		}
	}

	if m.Task == ml.Classification {
		mdl.labels = classLabels(m.Target.Classes)
		list := []byte{'['}
		for i, c := range m.Target.Classes {
			if i > 0 {
				list = append(list, ", "...)
			}
			list = append(list, mdl.labels[c]...)
		}
		mdl.classesJSON = append(list, ']')
		mdl.proba = m.HasProbabilities()
		if backend != nil {
			mdl.proba = backend.proba != ""
		}
	}

	mdl.metadata, err = mdl.encodeMetadata(uri, serverVersion, sig)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	return mdl, nil
}

// quoteList formats at most max quoted items, then "…" and the count left.
func quoteList(items []string, max int) string {
	var b strings.Builder
	for i, it := range items {
		if i == max {
			fmt.Fprintf(&b, ", … %d more", len(items)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(it))
	}
	return b.String()
}

// knownCategory reports whether v is allowed in categorical input i: a
// category seen in training, or anything when the pipeline ignores
// unknown categories.
func (mdl *model) knownCategory(i int, v string) bool {
	cats := mdl.categories[i]
	return cats == nil || cats[v]
}

// unknownCategory is the error for value v of input i that knownCategory
// refuses; row is "row 3" or "CSV row 3 (line 5)".
func (mdl *model) unknownCategory(i int, v, row string) *apiError {
	return invalid("column %q in %s holds %q, a category not seen in training (known: %s)", mdl.inputs[i].Name, row, v, mdl.known[i])
}

// classLabels returns the JSON text of each class name in responses: the
// bare integer when every name is an integer literal in canonical form
// ("0", "-3", not "01" or "1.0"), otherwise the quoted string.
func classLabels(classes []string) map[string][]byte {
	allInts := true
	for _, c := range classes {
		v, err := strconv.ParseInt(c, 10, 64)
		if err != nil || strconv.FormatInt(v, 10) != c {
			allInts = false
			break
		}
	}
	labels := make(map[string][]byte, len(classes))
	for _, c := range classes {
		if allInts {
			labels[c] = []byte(c)
			continue
		}
		b, _ := json.Marshal(c) // marshalling a string cannot fail
		labels[c] = b
	}
	return labels
}

// metadataJSON is the body of GET /metadata.
type metadataJSON struct {
	ModelURI       string          `json:"model_uri"`
	LoadedAt       string          `json:"loaded_at"`
	Estimator      string          `json:"estimator"`
	Task           ml.Task         `json:"task"`
	Target         string          `json:"target"`
	Classes        json.RawMessage `json:"classes,omitempty"`
	Probabilities  bool            `json:"probabilities"`
	Signature      signatureJSON   `json:"signature"`
	RunID          string          `json:"run_id"`
	ModelUUID      string          `json:"model_uuid"`
	UTCTimeCreated string          `json:"utc_time_created"`
	MLrunVersion   string          `json:"mlrun_version"`
	ServerVersion  string          `json:"server_version"`
}

type signatureJSON struct {
	Inputs  []modelfile.ColumnSpec `json:"inputs"`
	Outputs []modelfile.ColumnSpec `json:"outputs"`
}

// encodeMetadata returns the /metadata body.
func (mdl *model) encodeMetadata(uri, serverVersion string, sig modelfile.Signature) ([]byte, error) {
	m := mdl.m
	doc := metadataJSON{
		ModelURI:       uri,
		LoadedAt:       mdl.loadedAt.Format(time.RFC3339Nano),
		Estimator:      m.EstimatorName,
		Task:           m.Task,
		Target:         m.Target.Name,
		Classes:        mdl.classesJSON,
		Probabilities:  mdl.proba,
		Signature:      signatureJSON{Inputs: sig.Inputs, Outputs: sig.Outputs},
		RunID:          m.RunID,
		ModelUUID:      m.UUID,
		UTCTimeCreated: m.Created.UTC().Format(modelfile.TimeLayout),
		MLrunVersion:   m.MLrunVersion,
		ServerVersion:  serverVersion,
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	return append(b, '\n'), nil
}

// newFrame returns a frame of n rows with the model's input columns, in
// signature order, ready to be filled.
func (mdl *model) newFrame(n int) *dataset.Frame {
	f := &dataset.Frame{Columns: make([]dataset.Column, len(mdl.inputs)), NRows: n}
	// The numeric columns share one allocation (capped, so that appending
	// to one cannot overwrite the next).
	var nums []float64
	if mdl.numeric > 0 && n > 0 {
		nums = make([]float64, mdl.numeric*n)
	}
	for i, c := range mdl.inputs {
		col := dataset.Column{Name: c.Name, Kind: mdl.kinds[i]}
		if col.Kind == dataset.Numeric {
			if n == 0 {
				col.Num = make([]float64, 0)
			} else {
				col.Num, nums = nums[:n:n], nums[n:]
			}
		} else {
			col.Str = make([]string, n)
		}
		f.Columns[i] = col
	}
	return f
}

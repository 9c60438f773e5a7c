package serving

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml/modelfile"
)

// MLflow error codes used by the server besides those of package errs.
const (
	codeBadRequest       = "BAD_REQUEST"
	codeEndpointNotFound = "ENDPOINT_NOT_FOUND"
)

// apiError is a request the server refuses: an HTTP status, an MLflow
// error code and a one-sentence message.
type apiError struct {
	status  int
	code    string
	message string
}

// Error returns the message.
func (e *apiError) Error() string { return e.message }

// badRequest is a 400 BAD_REQUEST: the body is not a scoring request.
func badRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, codeBadRequest, fmt.Sprintf(format, args...)}
}

// invalid is a 400 INVALID_PARAMETER_VALUE: the rows do not fit the model.
func invalid(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, errs.Invalid, fmt.Sprintf(format, args...)}
}

// errorBody is MLflow's error JSON.
type errorBody struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

// writeError writes e as MLflow's error JSON.
func writeError(w http.ResponseWriter, e *apiError) {
	b, err := json.Marshal(errorBody{ErrorCode: e.code, Message: e.message})
	if err != nil { // cannot happen for two strings; keep the status anyway
		b = []byte(`{"error_code":"INTERNAL_ERROR","message":"cannot encode the error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.status)
	w.Write(append(b, '\n'))
}

// appendPredictions appends the JSON response for p to b: the predictions
// and, when withProba, the classes and probabilities.
func (mdl *model) appendPredictions(b []byte, p *modelfile.Prediction, withProba bool) ([]byte, error) {
	b = append(b, `{"predictions": [`...)
	for i, v := range p.Labels {
		if i > 0 {
			b = append(b, ", "...)
		}
		switch v := v.(type) {
		case string:
			label, ok := mdl.labels[v]
			if !ok {
				return nil, fmt.Errorf("model predicted %q, which is not one of its classes", v)
			}
			b = append(b, label...)
		case float64:
			b = appendFloat(b, v)
		default:
			return nil, fmt.Errorf("model predicted a %T, neither a class name nor a number", v)
		}
	}
	b = append(b, ']')
	if withProba {
		b = append(b, `, "classes": `...)
		b = append(b, mdl.classesJSON...)
		b = append(b, `, "probabilities": [`...)
		for i, row := range p.Proba {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, '[')
			for j, v := range row {
				if j > 0 {
					b = append(b, ", "...)
				}
				b = appendFloat(b, v)
			}
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	return append(b, "}\n"...), nil
}

// appendFloat appends f as encoding/json writes a float64 (shortest exact
// form, exponent only for very small or large values), and null for a
// non-finite value, which JSON cannot hold.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

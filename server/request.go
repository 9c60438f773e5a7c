package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strings"

	"github.com/mlrun/mlrun/errs"
)

// errTooLarge is returned when a request body exceeds its limit.
var errTooLarge = errs.Errorf(errs.Invalid, "the request body is too large")

// decode reads a request message into v (a pointer to a struct with json
// tags), as MLflow's server does: a GET with a query string takes its
// fields from the query (repeated fields as repeated keys, also spelled
// key[]), anything else from a JSON body ({} when empty; a body that is a
// JSON string holding JSON is decoded twice, for old clients).
func (s *Server) decode(r *http.Request, v any) error {
	if r.Method == http.MethodGet && r.URL.RawQuery != "" {
		return decodeQuery(r, v)
	}
	if r.Body == nil {
		return nil
	}
	buf, _ := s.bodies.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer s.putBody(buf)
	buf.Reset()
	if n := r.ContentLength; n > 0 && n <= s.opts.MaxRequestBytes {
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, s.opts.MaxRequestBytes)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errs.Errorf(errs.Invalid, "the request body is larger than the limit of %d bytes", s.opts.MaxRequestBytes)
		}
		return errs.Errorf(errs.Invalid, "cannot read the request body: %v", err)
	}
	body := bytes.TrimSpace(buf.Bytes())
	if len(body) == 0 {
		return nil
	}
	if r.Method != http.MethodGet && r.Method != http.MethodDelete {
		ct := r.Header.Get("Content-Type")
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return errs.Errorf(errs.Invalid, "Bad Request. Content-Type must be one of ['application/json'], not %q", ct)
		}
	}
	if body[0] == '"' {
		var inner string
		if err := json.Unmarshal(body, &inner); err == nil {
			body = []byte(inner)
		}
	}
	if bd, ok := v.(bodyDecoder); ok {
		return bd.decodeBody(body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badJSON(err)
	}
	return nil
}

// putBody returns a request body buffer to the pool unless it grew
// unusually large. Decoded messages never point into their buffer
// (strings are copied out), so it is reused at once.
func (s *Server) putBody(buf *bytes.Buffer) {
	if buf.Cap() <= 4<<20 {
		s.bodies.Put(buf)
	}
}

// badJSON turns a JSON decoding error into MLflow's message.
func badJSON(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return errs.Errorf(errs.Invalid, "Invalid value for parameter '%s' supplied: expected %s", te.Field, te.Type)
	}
	msg := err.Error()
	if i := strings.Index(msg, "Go struct field "); i >= 0 {
		// "json: cannot unmarshal ... into Go struct field req.max_results of type ..."
		rest := msg[i+len("Go struct field "):]
		if j := strings.Index(rest, " of type"); j >= 0 {
			rest = rest[:j]
		}
		if k := strings.LastIndex(rest, "."); k >= 0 {
			rest = rest[k+1:]
		}
		return errs.Errorf(errs.Invalid, "Invalid value for parameter '%s' supplied", rest)
	}
	return errs.Errorf(errs.Invalid, "the request body is not valid JSON for this request: %s", strings.TrimPrefix(msg, "json: "))
}

// decodeQuery fills v from the query string. Fields whose Go type is a
// slice take every value of their key; others take the last one.
func decodeQuery(r *http.Request, v any) error {
	q := r.URL.Query()
	m := map[string]any{}
	queryFields(q, reflect.TypeOf(v).Elem(), m)
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("re-encode query: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badJSON(err)
	}
	return nil
}

// queryFields copies the query values of t's fields (and of its embedded
// structs' fields) into m.
func queryFields(q url.Values, t reflect.Type, m map[string]any) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			queryFields(q, f.Type, m)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		vals := append(q[name], q[name+"[]"]...)
		if len(vals) == 0 {
			continue
		}
		if f.Type.Kind() == reflect.Slice {
			m[name] = vals
		} else {
			m[name] = vals[len(vals)-1]
		}
	}
}

// missing is MLflow's error for a required field that was not given.
func missing(name string) error {
	return errs.Errorf(errs.Invalid, "Missing value for required parameter '%s'. See the API docs for more information about request parameters.", name)
}

// apiError is MLflow's error body.
type apiError struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

// Codes of errors this package answers with that errs does not define.
const (
	codeUnauthenticated  = "UNAUTHENTICATED"
	codePermissionDenied = "PERMISSION_DENIED"
	codeEndpointNotFound = "ENDPOINT_NOT_FOUND"
	codeBadRequest       = "BAD_REQUEST"
	codeUnavailable      = "TEMPORARILY_UNAVAILABLE"
)

// statusOf maps an error code to its HTTP status, as MLflow does.
func statusOf(code string) int {
	switch code {
	case codeUnauthenticated:
		return http.StatusUnauthorized
	case codePermissionDenied:
		return http.StatusForbidden
	case codeEndpointNotFound:
		return http.StatusNotFound
	case codeBadRequest:
		return http.StatusBadRequest
	case codeUnavailable:
		return http.StatusServiceUnavailable
	case "NOT_IMPLEMENTED":
		return http.StatusNotImplemented
	}
	return errs.HTTPStatus(code)
}

// writeError answers with MLflow's error JSON. Internal errors are logged
// with their detail and answered without it, so that no file path or stack
// leaks to the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := errs.Code(err)
	msg := errs.Message(err)
	if code == errs.Internal {
		s.opts.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal server error; the server's log has the details"
	}
	writeJSON(w, statusOf(code), apiError{ErrorCode: code, Message: msg})
}

// writeCodeError answers with an error code errs does not define.
func writeCodeError(w http.ResponseWriter, code, msg string) {
	writeJSON(w, statusOf(code), apiError{ErrorCode: code, Message: msg})
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error_code":"INTERNAL_ERROR","message":"cannot encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

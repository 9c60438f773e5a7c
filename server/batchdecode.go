package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/mlrun/mlrun/errs"
)

// The log-batch body (up to 1000 metric points) is the hottest request the
// server reads; encoding/json spends most of its time there in reflection
// and in the lenient scalar types' UnmarshalJSON methods. logBatchReq reads
// its body token by token instead, with the same leniency (numbers or
// strings for every scalar, "NaN"/"Infinity" for doubles, unknown fields
// ignored, field names matched case-insensitively as encoding/json does).

// bodyDecoder is a request message that parses its JSON body itself.
type bodyDecoder interface {
	decodeBody(body []byte) error
}

// newTokenDecoder reads body accepting what encoding/json accepts:
// repeated names (the last wins) and invalid UTF-8.
func newTokenDecoder(body []byte) *jsontext.Decoder {
	return jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}

// decodeBody reads {"run_id", "metrics", "params", "tags"}.
func (q *logBatchReq) decodeBody(body []byte) error {
	d := newTokenDecoder(body)
	err := readObject(d, "", func(name string) error {
		switch {
		case strings.EqualFold(name, "run_id"):
			return readStr(d, "run_id", &q.RunID)
		case strings.EqualFold(name, "metrics"):
			return readArray(d, "metrics", func(i int) error {
				q.Metrics = append(q.Metrics, batchMetric{})
				return q.Metrics[len(q.Metrics)-1].read(d, i)
			})
		case strings.EqualFold(name, "params"):
			return readKeyValues(d, "params", &q.Params)
		case strings.EqualFold(name, "tags"):
			return readKeyValues(d, "tags", &q.Tags)
		}
		return skipValue(d)
	})
	if err != nil {
		return err
	}
	if _, err := d.ReadToken(); !errors.Is(err, io.EOF) {
		return errs.Errorf(errs.Invalid, "the request body is not valid JSON for this request: it continues after its object")
	}
	return nil
}

// read reads one metric point {"key", "value", "timestamp", "step"}.
func (m *batchMetric) read(d *jsontext.Decoder, i int) error {
	return readObject(d, fmt.Sprintf("metrics[%d]", i), func(name string) error {
		switch {
		case strings.EqualFold(name, "key"):
			return readStr(d, "key", &m.Key)
		case strings.EqualFold(name, "value"):
			kind, text, err := readScalar(d, "value")
			if err != nil || kind == 'n' {
				return err
			}
			var v Float
			if kind == 't' || kind == 'f' {
				return invalidField("value", "a boolean is not a number")
			}
			if err := v.parse(text); err != nil {
				return invalidField("value", err.Error())
			}
			m.Value = &v
			return nil
		case strings.EqualFold(name, "timestamp"):
			kind, text, err := readScalar(d, "timestamp")
			if err != nil || kind == 'n' {
				return err
			}
			var v Int
			if err := v.parse(text); err != nil {
				return invalidField("timestamp", err.Error())
			}
			m.Timestamp = &v
			return nil
		case strings.EqualFold(name, "step"):
			kind, text, err := readScalar(d, "step")
			if err != nil || kind == 'n' {
				return err
			}
			if err := m.Step.parse(text); err != nil {
				return invalidField("step", err.Error())
			}
			return nil
		}
		return skipValue(d)
	})
}

// readKeyValues reads a list of {"key", "value"} into *out.
func readKeyValues(d *jsontext.Decoder, field string, out *[]KeyValue) error {
	return readArray(d, field, func(i int) error {
		var kv KeyValue
		err := readObject(d, fmt.Sprintf("%s[%d]", field, i), func(name string) error {
			switch {
			case strings.EqualFold(name, "key"):
				return readStr(d, "key", &kv.Key)
			case strings.EqualFold(name, "value"):
				return readStr(d, "value", &kv.Value)
			}
			return skipValue(d)
		})
		*out = append(*out, kv)
		return err
	})
}

// invalidField is MLflow's message for a value of the wrong type.
func invalidField(name, why string) error {
	return errs.Errorf(errs.Invalid, "Invalid value for parameter '%s' supplied: %s", name, why)
}

// syntaxError turns a tokenizer error into the message decode gives.
func syntaxError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errs.Errorf(errs.Invalid, "the request body is not valid JSON for this request: unexpected end of JSON input")
	}
	if errs.Code(err) != errs.Internal {
		return err
	}
	return errs.Errorf(errs.Invalid, "the request body is not valid JSON for this request: %v", err)
}

// readObject reads an object (null is an empty one), calling field for
// each member name with the decoder positioned at its value. where names
// the object in errors ("" for the body).
func readObject(d *jsontext.Decoder, where string, field func(name string) error) error {
	tok, err := d.ReadToken()
	if err != nil {
		return syntaxError(err)
	}
	switch tok.Kind() {
	case 'n':
		return nil
	case '{':
	default:
		if where == "" {
			return errs.Errorf(errs.Invalid, "the request body is not valid JSON for this request: it is not an object")
		}
		return invalidField(where, "expected an object")
	}
	for {
		tok, err := d.ReadToken()
		if err != nil {
			return syntaxError(err)
		}
		if tok.Kind() == '}' {
			return nil
		}
		if err := field(tok.String()); err != nil {
			return syntaxError(err)
		}
	}
}

// readArray reads an array (null is an empty one), calling elem for each
// element with the decoder positioned at it.
func readArray(d *jsontext.Decoder, field string, elem func(i int) error) error {
	tok, err := d.ReadToken()
	if err != nil {
		return syntaxError(err)
	}
	switch tok.Kind() {
	case 'n':
		return nil
	case '[':
	default:
		return invalidField(field, "expected a list")
	}
	for i := 0; ; i++ {
		if d.PeekKind() == ']' {
			_, err := d.ReadToken()
			return syntaxError(err)
		}
		if err := elem(i); err != nil {
			return syntaxError(err)
		}
	}
}

// readScalar reads a string, number, boolean or null: its kind ('"', '0',
// 't', 'f', 'n') and its text (a string unquoted, a number as written).
func readScalar(d *jsontext.Decoder, name string) (kind jsontext.Kind, text string, err error) {
	switch d.PeekKind() {
	case '{', '[':
		return 0, "", invalidField(name, "expected a string or a number")
	}
	tok, err := d.ReadToken()
	if err != nil {
		return 0, "", syntaxError(err)
	}
	return tok.Kind(), tok.String(), nil
}

// readStr reads a Str: a string, or a number as its text; null leaves it.
func readStr(d *jsontext.Decoder, name string, out *Str) error {
	kind, text, err := readScalar(d, name)
	if err != nil {
		return err
	}
	switch kind {
	case '"', '0':
		*out = Str(text)
	case 'n':
	default:
		return invalidField(name, text+" is not a string")
	}
	return nil
}

// skipValue skips an unknown member's value.
func skipValue(d *jsontext.Decoder) error {
	if err := d.SkipValue(); err != nil {
		return syntaxError(err)
	}
	return nil
}

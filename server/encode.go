package server

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/mlrun/mlrun/tracking"
)

// Search answers carry up to thousands of runs; encoding/json spends its
// time there in reflection over wRun. runsPage writes the same JSON by
// appending to one buffer.

// jsonAppender is a response message that appends its JSON itself.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// runsPage is a runs/search answer: {"runs": [...], "next_page_token"}.
type runsPage struct {
	s    *Server
	runs []*tracking.Run
	next string
}

func (p runsPage) appendJSON(b []byte) []byte {
	b = append(b, `{"runs":[`...)
	for i, r := range p.runs {
		if i > 0 {
			b = append(b, ',')
		}
		b = p.s.appendRun(b, r)
	}
	b = append(b, ']')
	if p.next != "" {
		b = append(b, `,"next_page_token":`...)
		b = appendString(b, p.next)
	}
	return append(b, '}')
}

// appendRun appends r as MLflow's Run message, the JSON json.Marshal
// gives for s.run(r).
func (s *Server) appendRun(b []byte, r *tracking.Run) []byte {
	for _, t := range r.Tags {
		if strings.HasPrefix(t.Key, datasetInputTagPrefix) || t.Key == legacyDatasetInputsTag {
			// A run with dataset inputs (rare) shows them as inputs,
			// not tags: s.run builds that, through reflection.
			if data, err := json.Marshal(s.run(r)); err == nil {
				return append(b, data...)
			}
			break
		}
	}
	i := &r.Info
	b = append(b, `{"info":{"run_id":`...)
	b = appendString(b, i.ID)
	b = append(b, `,"run_uuid":`...)
	b = appendString(b, i.ID)
	b = append(b, `,"run_name":`...)
	b = appendString(b, i.Name)
	b = append(b, `,"experiment_id":`...)
	b = appendString(b, i.ExperimentID)
	b = append(b, `,"user_id":`...)
	b = appendString(b, i.UserID)
	b = append(b, `,"status":`...)
	b = appendString(b, string(i.Status))
	b = append(b, `,"start_time":`...)
	b = strconv.AppendInt(b, i.StartTime, 10)
	if i.EndTime != 0 {
		b = append(b, `,"end_time":`...)
		b = strconv.AppendInt(b, i.EndTime, 10)
	}
	b = append(b, `,"artifact_uri":`...)
	b = appendString(b, s.publicLocation(i.ArtifactURI))
	b = append(b, `,"lifecycle_stage":`...)
	b = appendString(b, i.LifecycleStage)
	b = append(b, `},"data":{`...)
	sep := ""
	if len(r.Metrics) > 0 {
		b = append(b, `"metrics":[`...)
		for j, m := range r.Metrics {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"key":`...)
			b = appendString(b, m.Key)
			b = append(b, `,"value":`...)
			b = appendFloat(b, m.Value)
			b = append(b, `,"timestamp":`...)
			b = strconv.AppendInt(b, m.Timestamp, 10)
			b = append(b, `,"step":`...)
			b = strconv.AppendInt(b, m.Step, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
		sep = ","
	}
	if len(r.Params) > 0 {
		b = append(b, sep...)
		b = append(b, `"params":[`...)
		for j, p := range r.Params {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendKeyValue(b, p.Key, p.Value)
		}
		b = append(b, ']')
		sep = ","
	}
	if len(r.Tags) > 0 {
		b = append(b, sep...)
		b = append(b, `"tags":[`...)
		for j, t := range r.Tags {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendKeyValue(b, t.Key, t.Value)
		}
		b = append(b, ']')
	}
	return append(b, `},"inputs":{}}`...)
}

func appendKeyValue(b []byte, k, v string) []byte {
	b = append(b, `{"key":`...)
	b = appendString(b, k)
	b = append(b, `,"value":`...)
	b = appendString(b, v)
	return append(b, '}')
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json writes it.
func appendString(b []byte, s string) []byte {
	// On invalid UTF-8, AppendQuote has written U+FFFD in place of the
	// invalid bytes; its error only reports them.
	out, _ := jsontext.AppendQuote(b, s)
	return out
}

// appendFloat appends a double as Float.MarshalJSON writes it.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// writeAppended answers 200 with the JSON a writes, built in a pooled
// buffer.
func (s *Server) writeAppended(w http.ResponseWriter, a jsonAppender) {
	buf := s.encodeBuffer()
	defer s.putEncodeBuffer(buf)
	*buf = a.appendJSON((*buf)[:0])
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(*buf)))
	w.WriteHeader(http.StatusOK)
	w.Write(*buf)
}

// encodeBuffer returns a buffer for an answer from the pool.
func (s *Server) encodeBuffer() *[]byte {
	if b, ok := s.answers.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 64<<10)
	return &b
}

// putEncodeBuffer returns an answer buffer to the pool unless it grew
// unusually large.
func (s *Server) putEncodeBuffer(b *[]byte) {
	if cap(*b) <= 4<<20 {
		s.answers.Put(b)
	}
}

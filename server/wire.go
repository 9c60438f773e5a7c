package server

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/tracking"
)

// This file holds MLflow's wire shapes (proto-JSON with snake_case names,
// enums as names, int64 as numbers, unset fields omitted) and the scalar
// types that read them leniently: the MLflow client sends int64 fields as
// numbers or strings, and query strings carry every value as a string.

// Float is a double in proto-JSON: a number, or "NaN", "Infinity",
// "-Infinity" for the values JSON cannot spell.
type Float float64

// MarshalJSON writes non-finite values as protobuf's strings.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON reads a number or a string holding one.
func (f *Float) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if b[0] != '"' && (s == "true" || s == "false") {
		return fmt.Errorf("a boolean is not a number")
	}
	return f.parse(s)
}

// parse reads a number's text, or one of the non-finite values' names.
func (f *Float) parse(s string) error {
	switch s {
	case "NaN", "nan":
		*f = Float(math.NaN())
		return nil
	case "Infinity", "inf", "+Infinity":
		*f = Float(math.Inf(1))
		return nil
	case "-Infinity", "-inf":
		*f = Float(math.Inf(-1))
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%s is not a number", s)
	}
	*f = Float(v)
	return nil
}

// Int is an int64 in proto-JSON: a number or a string holding one.
type Int int64

// UnmarshalJSON reads a number or a string holding a whole number.
func (n *Int) UnmarshalJSON(b []byte) error {
	return n.parse(strings.Trim(string(b), `"`))
}

// parse reads a whole number's text (1e3 is accepted, 1.5 is not).
func (n *Int) parse(s string) error {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return fmt.Errorf("%s is not a whole number", s)
		}
		v = int64(f)
	}
	*n = Int(v)
	return nil
}

// Bool is a bool in proto-JSON, also read from "true"/"false" strings.
type Bool bool

// UnmarshalJSON reads true, false, "true" or "false".
func (v *Bool) UnmarshalJSON(b []byte) error {
	switch strings.ToLower(strings.Trim(string(b), `"`)) {
	case "true", "1":
		*v = true
	case "false", "0":
		*v = false
	default:
		return fmt.Errorf("%s is not true or false", b)
	}
	return nil
}

// Str is a string in proto-JSON; numbers are accepted and kept as written
// (old clients send experiment ids as numbers).
type Str string

// UnmarshalJSON reads a string, or a number as its text.
func (s *Str) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = Str(v)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	if _, err := strconv.ParseFloat(string(b), 64); err != nil {
		return fmt.Errorf("%s is not a string", b)
	}
	*s = Str(b)
	return nil
}

// KeyValue is a tag or param on the wire.
type KeyValue struct {
	Key   Str `json:"key"`
	Value Str `json:"value"`
}

// wExperiment is MLflow's Experiment message.
type wExperiment struct {
	ExperimentID     string     `json:"experiment_id"`
	Name             string     `json:"name"`
	ArtifactLocation string     `json:"artifact_location,omitempty"`
	LifecycleStage   string     `json:"lifecycle_stage"`
	LastUpdateTime   int64      `json:"last_update_time,omitempty"`
	CreationTime     int64      `json:"creation_time,omitempty"`
	Tags             []KeyValue `json:"tags,omitempty"`
}

// wRunInfo is MLflow's RunInfo message.
type wRunInfo struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time"`
	EndTime        int64  `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
}

// wMetric is MLflow's Metric message.
type wMetric struct {
	Key       string `json:"key"`
	Value     Float  `json:"value"`
	Timestamp int64  `json:"timestamp"`
	Step      int64  `json:"step"`
}

// wRunData is MLflow's RunData message.
type wRunData struct {
	Metrics []wMetric  `json:"metrics,omitempty"`
	Params  []KeyValue `json:"params,omitempty"`
	Tags    []KeyValue `json:"tags,omitempty"`
}

// wRun is MLflow's Run message.
type wRun struct {
	Info   wRunInfo       `json:"info"`
	Data   wRunData       `json:"data"`
	Inputs map[string]any `json:"inputs"`
}

// wFileInfo is MLflow's FileInfo message.
type wFileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *int64 `json:"file_size,omitempty"`
}

// wRegisteredModel is MLflow's RegisteredModel message.
type wRegisteredModel struct {
	Name                 string          `json:"name"`
	CreationTimestamp    int64           `json:"creation_timestamp"`
	LastUpdatedTimestamp int64           `json:"last_updated_timestamp"`
	Description          string          `json:"description,omitempty"`
	LatestVersions       []wModelVersion `json:"latest_versions,omitempty"`
	Tags                 []KeyValue      `json:"tags,omitempty"`
	Aliases              []wAlias        `json:"aliases,omitempty"`
}

// wAlias is MLflow's RegisteredModelAlias message.
type wAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// wModelVersion is MLflow's ModelVersion message.
type wModelVersion struct {
	Name                 string     `json:"name"`
	Version              string     `json:"version"`
	CreationTimestamp    int64      `json:"creation_timestamp"`
	LastUpdatedTimestamp int64      `json:"last_updated_timestamp"`
	CurrentStage         string     `json:"current_stage"`
	Description          string     `json:"description,omitempty"`
	Source               string     `json:"source"`
	RunID                string     `json:"run_id,omitempty"`
	Status               string     `json:"status"`
	Tags                 []KeyValue `json:"tags,omitempty"`
	Aliases              []string   `json:"aliases,omitempty"`
}

// tagList turns a tag map into MLflow's list, sorted by key.
func tagList(m map[string]string) []KeyValue {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]KeyValue, len(keys))
	for i, k := range keys {
		out[i] = KeyValue{Key: Str(k), Value: Str(m[k])}
	}
	return out
}

// tagMap turns MLflow's tag list into a map (the last value of a key wins).
func tagMap(l []KeyValue) map[string]string {
	if len(l) == 0 {
		return nil
	}
	m := make(map[string]string, len(l))
	for _, kv := range l {
		m[string(kv.Key)] = string(kv.Value)
	}
	return m
}

func (s *Server) experiment(e *tracking.Experiment) wExperiment {
	return wExperiment{
		ExperimentID:     e.ID,
		Name:             e.Name,
		ArtifactLocation: s.publicLocation(e.ArtifactLocation),
		LifecycleStage:   e.LifecycleStage,
		LastUpdateTime:   e.LastUpdateTime,
		CreationTime:     e.CreationTime,
		Tags:             tagList(e.Tags),
	}
}

func (s *Server) runInfo(i *tracking.RunInfo) wRunInfo {
	return wRunInfo{
		RunID:          i.ID,
		RunUUID:        i.ID,
		RunName:        i.Name,
		ExperimentID:   i.ExperimentID,
		UserID:         i.UserID,
		Status:         string(i.Status),
		StartTime:      i.StartTime,
		EndTime:        i.EndTime,
		ArtifactURI:    s.publicLocation(i.ArtifactURI),
		LifecycleStage: i.LifecycleStage,
	}
}

func (s *Server) run(r *tracking.Run) wRun {
	out := wRun{Info: s.runInfo(&r.Info), Inputs: map[string]any{}}
	for _, m := range r.Metrics {
		out.Data.Metrics = append(out.Data.Metrics, wMetric{Key: m.Key, Value: Float(m.Value), Timestamp: m.Timestamp, Step: m.Step})
	}
	for _, p := range r.Params {
		out.Data.Params = append(out.Data.Params, KeyValue{Key: Str(p.Key), Value: Str(p.Value)})
	}
	var datasets []json.RawMessage
	for _, t := range r.Tags {
		switch {
		case strings.HasPrefix(t.Key, datasetInputTagPrefix) && json.Valid([]byte(t.Value)):
			datasets = append(datasets, json.RawMessage(t.Value))
			continue
		case t.Key == legacyDatasetInputsTag:
			var old []json.RawMessage
			_ = json.Unmarshal([]byte(t.Value), &old) // a corrupt list shows no datasets
			datasets = append(datasets, old...)
			continue
		}
		out.Data.Tags = append(out.Data.Tags, KeyValue{Key: Str(t.Key), Value: Str(t.Value)})
	}
	if len(datasets) > 0 {
		out.Inputs["dataset_inputs"] = datasets
	}
	return out
}

func (s *Server) registeredModel(m *tracking.RegisteredModel) wRegisteredModel {
	out := wRegisteredModel{
		Name:                 m.Name,
		CreationTimestamp:    m.CreationTime,
		LastUpdatedTimestamp: m.LastUpdatedTime,
		Description:          m.Description,
		Tags:                 tagList(m.Tags),
	}
	for _, v := range m.LatestVersions {
		out.LatestVersions = append(out.LatestVersions, s.modelVersion(v))
	}
	aliases := make([]string, 0, len(m.Aliases))
	for a := range m.Aliases {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases)
	for _, a := range aliases {
		out.Aliases = append(out.Aliases, wAlias{Alias: a, Version: strconv.Itoa(m.Aliases[a])})
	}
	return out
}

func (s *Server) modelVersion(v *tracking.ModelVersion) wModelVersion {
	return wModelVersion{
		Name:                 v.Name,
		Version:              strconv.Itoa(v.Version),
		CreationTimestamp:    v.CreationTime,
		LastUpdatedTimestamp: v.LastUpdatedTime,
		CurrentStage:         string(v.Stage),
		Description:          v.Description,
		Source:               s.publicLocation(v.Source),
		RunID:                v.RunID,
		Status:               v.Status,
		Tags:                 tagList(v.Tags),
		Aliases:              v.Aliases,
	}
}

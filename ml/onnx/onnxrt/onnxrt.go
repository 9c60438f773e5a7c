// Package onnxrt runs ONNX models with ONNX Runtime, through
// github.com/yalue/onnxruntime_go, which loads the runtime's shared library
// (libonnxruntime.so) when Open is called: mlrun builds and runs without
// it, and only serving or checking ONNX models needs it.
//
// The library is ONNX Runtime 1.30's C API (onnxruntime_go v1.36.0 asks for
// API version 29; a newer binding needs a newer library). .ci/install-onnx.sh
// installs one from npm's onnxruntime-node into /opt/mlrun-onnx; Library
// finds it there or through MLRUN_ONNXRUNTIME_LIB.
//
// ONNX Runtime's environment is one per process, so Open initialises it
// once and later calls must name the same library.
package onnxrt

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml/dataset"
)

// EnvLibrary is the environment variable naming the ONNX Runtime library.
const EnvLibrary = "MLRUN_ONNXRUNTIME_LIB"

// DefaultLibrary is where .ci/install-onnx.sh puts the library.
const DefaultLibrary = "/opt/mlrun-onnx/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"

// InstallHint says how to get the library; it ends error messages.
const InstallHint = "install ONNX Runtime 1.30 with `sudo .ci/install-onnx.sh` (npm's onnxruntime-node, " +
	"its CPU library lands in " + DefaultLibrary + ") and pass --onnxruntime PATH or set " + EnvLibrary

// Library returns the ONNX Runtime library to use: flag when not empty,
// else $MLRUN_ONNXRUNTIME_LIB, else DefaultLibrary when it exists. It
// returns "" when none is configured or installed.
func Library(flag string) string {
	if flag != "" {
		return flag
	}
	if v := os.Getenv(EnvLibrary); v != "" {
		return v
	}
	if _, err := os.Stat(DefaultLibrary); err == nil {
		return DefaultLibrary
	}
	return ""
}

// Runtime is an initialised ONNX Runtime.
type Runtime struct {
	lib string
}

// env guards ONNX Runtime's process-wide environment, which
// onnxruntime_go keeps in package state.
var env struct {
	sync.Mutex
	lib string
}

// Open loads the library at lib and initialises ONNX Runtime. A missing
// file is a NotFound error that says how to install the runtime.
func Open(lib string) (*Runtime, error) {
	if lib == "" {
		return nil, errs.Errorf(errs.NotFound, "no ONNX Runtime library is configured: %s", InstallHint)
	}
	if _, err := os.Stat(lib); errors.Is(err, fs.ErrNotExist) {
		return nil, errs.Errorf(errs.NotFound, "ONNX Runtime library %s does not exist: %s", lib, InstallHint)
	}
	env.Lock()
	defer env.Unlock()
	if ort.IsInitialized() {
		if env.lib != lib {
			return nil, fmt.Errorf("ONNX Runtime is already loaded from %s in this process, not %s", env.lib, lib)
		}
		return &Runtime{lib: lib}, nil
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return nil, errs.Errorf(errs.Invalid, "load ONNX Runtime from %s (it must be ONNX Runtime 1.30's libonnxruntime.so): %v", lib, err)
	}
	env.lib = lib
	return &Runtime{lib: lib}, nil
}

// Version returns the ONNX Runtime version.
func (r *Runtime) Version() string { return ort.GetVersion() }

// Tensor describes one input or output of a model.
type Tensor struct {
	Name string
	// Type is the element type: "float", "double", "string", "int64", ...
	Type string
	// Shape has -1 for symbolic dimensions such as the batch.
	Shape []int64
}

// Session is a model loaded into ONNX Runtime. Run and Predict may be
// called from several goroutines at once.
type Session struct {
	s       *ort.DynamicAdvancedSession
	Inputs  []Tensor
	Outputs []Tensor
}

func describe(infos []ort.InputOutputInfo) ([]Tensor, error) {
	out := make([]Tensor, len(infos))
	for i, in := range infos {
		if in.OrtValueType != ort.ONNXTypeTensor {
			return nil, fmt.Errorf("%q is a %v, not a tensor; only tensor inputs and outputs are supported (export without ZipMap)", in.Name, in.OrtValueType)
		}
		out[i] = Tensor{Name: in.Name, Type: typeName(in.DataType), Shape: append([]int64(nil), in.Dimensions...)}
	}
	return out, nil
}

func typeName(t ort.TensorElementDataType) string {
	switch t {
	case ort.TensorElementDataTypeFloat:
		return "float"
	case ort.TensorElementDataTypeDouble:
		return "double"
	case ort.TensorElementDataTypeString:
		return "string"
	case ort.TensorElementDataTypeInt64:
		return "int64"
	case ort.TensorElementDataTypeInt32:
		return "int32"
	case ort.TensorElementDataTypeBool:
		return "bool"
	}
	return t.String()
}

// NewSession loads the ONNX model in data. intraOpThreads > 0 sets the
// number of threads one Run uses (0: ONNX Runtime's default).
func (r *Runtime) NewSession(data []byte, intraOpThreads int) (*Session, error) {
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(data)
	if err != nil {
		return nil, errs.Errorf(errs.Invalid, "ONNX Runtime cannot read the model: %v", err)
	}
	s := &Session{}
	if s.Inputs, err = describe(ins); err != nil {
		return nil, errs.Errorf(errs.Invalid, "model input %v", err)
	}
	if s.Outputs, err = describe(outs); err != nil {
		return nil, errs.Errorf(errs.Invalid, "model output %v", err)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("onnx session options: %w", err)
	}
	defer opts.Destroy()
	if intraOpThreads > 0 {
		if err := opts.SetIntraOpNumThreads(intraOpThreads); err != nil {
			return nil, fmt.Errorf("onnx session options: %w", err)
		}
	}
	inNames, outNames := names(s.Inputs), names(s.Outputs)
	s.s, err = ort.NewDynamicAdvancedSessionWithONNXData(data, inNames, outNames, opts)
	if err != nil {
		return nil, errs.Errorf(errs.Invalid, "ONNX Runtime cannot load the model: %v", err)
	}
	return s, nil
}

func names(ts []Tensor) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

// Close releases the session.
func (s *Session) Close() error {
	if s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.s = nil
	return err
}

// Output is one output of a Run: Numbers for numeric tensors (converted to
// float64), Strings for string tensors, and the shape.
type Output struct {
	Name    string
	Shape   []int64
	Numbers []float64
	Strings []string
}

// Predict feeds the raw frame f to the model and returns every output by
// name. Inputs are matched to f's columns by name; a model with a single
// input of shape [N, k] that names no column of f (such as skl2onnx's
// "X" or "float_input") gets all of f's numeric columns, in frame order.
// A missing column or a column of the wrong kind is an Invalid error.
func (s *Session) Predict(f *dataset.Frame) (map[string]*Output, error) {
	if f == nil || f.NRows == 0 {
		return nil, errs.Errorf(errs.Invalid, "the data has no rows")
	}
	feeds, err := s.feeds(f)
	defer func() {
		for _, v := range feeds {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	outs := make([]ort.Value, len(s.Outputs))
	defer func() {
		for _, v := range outs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	if err := s.s.Run(feeds, outs); err != nil {
		return nil, errs.Errorf(errs.Invalid, "ONNX Runtime rejected the data: %v", err)
	}
	res := make(map[string]*Output, len(outs))
	for i, v := range outs {
		o := &Output{Name: s.Outputs[i].Name, Shape: append([]int64(nil), v.GetShape()...)}
		switch t := v.(type) {
		case *ort.StringTensor:
			if o.Strings, err = t.GetContents(); err != nil {
				return nil, fmt.Errorf("read onnx output %s: %w", o.Name, err)
			}
		case *ort.Tensor[float32]:
			o.Numbers = toFloat64(t.GetData())
		case *ort.Tensor[float64]:
			o.Numbers = append([]float64(nil), t.GetData()...)
		case *ort.Tensor[int64]:
			o.Numbers = toFloat64(t.GetData())
		case *ort.Tensor[int32]:
			o.Numbers = toFloat64(t.GetData())
		default:
			return nil, fmt.Errorf("onnx output %s has unsupported type %T", o.Name, v)
		}
		res[o.Name] = o
	}
	return res, nil
}

func toFloat64[T float32 | int64 | int32](v []T) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// feeds builds one tensor per model input from f.
func (s *Session) feeds(f *dataset.Frame) ([]ort.Value, error) {
	byName := make(map[string]*dataset.Column, len(f.Columns))
	for i := range f.Columns {
		byName[f.Columns[i].Name] = &f.Columns[i]
	}
	n := int64(f.NRows)
	feeds := make([]ort.Value, len(s.Inputs))
	if len(s.Inputs) == 1 && byName[s.Inputs[0].Name] == nil && len(s.Inputs[0].Shape) == 2 {
		in := s.Inputs[0]
		var cols []*dataset.Column
		for i := range f.Columns {
			c := &f.Columns[i]
			if c.Kind != dataset.Numeric {
				return nil, errs.Errorf(errs.Invalid, "column %q holds text but the model's single input %q takes numbers", c.Name, in.Name)
			}
			cols = append(cols, c)
		}
		if k := in.Shape[1]; k > 0 && int64(len(cols)) != k {
			return nil, errs.Errorf(errs.Invalid, "the model's input %q takes %d columns, the data has %d", in.Name, k, len(cols))
		}
		flat := make([]float64, 0, int(n)*len(cols))
		for r := range f.NRows {
			for _, c := range cols {
				flat = append(flat, c.Num[r])
			}
		}
		v, err := numericTensor(in, ort.NewShape(n, int64(len(cols))), flat)
		feeds[0] = v
		return feeds, err
	}
	for i, in := range s.Inputs {
		c := byName[in.Name]
		if c == nil {
			return feeds, errs.Errorf(errs.Invalid, "the data has no column %q, which the model needs", in.Name)
		}
		shape := ort.NewShape(n)
		if len(in.Shape) == 2 {
			shape = ort.NewShape(n, 1)
		} else if len(in.Shape) != 1 {
			return feeds, errs.Errorf(errs.Invalid, "the model's input %q has rank %d; only one column per input ([N] or [N, 1]) is supported", in.Name, len(in.Shape))
		}
		var err error
		switch {
		case in.Type == "string" && c.Kind == dataset.Categorical:
			var t *ort.StringTensor
			if t, err = ort.NewStringTensor(shape); err == nil {
				feeds[i] = t
				err = t.SetContents(c.Str)
			}
		case in.Type != "string" && c.Kind == dataset.Numeric:
			feeds[i], err = numericTensor(in, shape, c.Num)
		case in.Type == "string":
			return feeds, errs.Errorf(errs.Invalid, "column %q must be text (the model's input is a string tensor) but holds numbers", in.Name)
		default:
			return feeds, errs.Errorf(errs.Invalid, "column %q must be numeric (the model's input is a %s tensor) but holds text", in.Name, in.Type)
		}
		if err != nil {
			return feeds, fmt.Errorf("onnx input %s: %w", in.Name, err)
		}
	}
	return feeds, nil
}

// numericTensor converts v to a tensor of in's element type.
func numericTensor(in Tensor, shape ort.Shape, v []float64) (ort.Value, error) {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, errs.Errorf(errs.Invalid, "input %q has a missing or non-finite value in row %d", in.Name, i+1)
		}
	}
	switch in.Type {
	case "double":
		return ort.NewTensor(shape, append([]float64(nil), v...))
	case "float":
		return ort.NewTensor(shape, convert[float32](v))
	case "int64":
		return ort.NewTensor(shape, convert[int64](v))
	case "int32":
		return ort.NewTensor(shape, convert[int32](v))
	}
	return nil, errs.Errorf(errs.Invalid, "the model's input %q has element type %s, which mlrun cannot feed", in.Name, in.Type)
}

func convert[T float32 | int64 | int32](v []float64) []T {
	out := make([]T, len(v))
	for i, x := range v {
		out[i] = T(x)
	}
	return out
}

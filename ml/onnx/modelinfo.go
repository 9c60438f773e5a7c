package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// ModelInfo is what ReadModelInfo reads of an ONNX model.
type ModelInfo struct {
	// Metadata holds the model's metadata_props (for a model Export wrote:
	// MetaEstimator, MetaTask, MetaTarget and, for a classifier,
	// MetaClasses). A key given twice keeps its last value.
	Metadata map[string]string
	// Classes are the class labels of the graph's classifier operator: the
	// first node attribute named classlabels_strings, classlabels_ints or
	// classlabels_int64s, integers written in decimal. Nil when no node has
	// such an attribute.
	Classes []string
}

// ReadModelInfo reads the metadata and the class labels of the ONNX model
// data (a serialised ModelProto, from Export or any other writer). It
// decodes only the messages that hold them, with protobuf's rules: unknown
// fields are skipped, repeated integers may be packed or not, a singular
// field given twice keeps its last value and messages given twice are
// merged. Malformed or truncated data, and the deprecated groups, are an
// error.
func ReadModelInfo(data []byte) (*ModelInfo, error) {
	info := &ModelInfo{Metadata: map[string]string{}}
	found := false // whether info.Classes is set
	err := eachField(data, func(f field) error {
		switch {
		case f.num == 14 && f.wire == wireBytes: // metadata_props
			key, value, err := readEntry(f.bytes)
			if err != nil {
				return fmt.Errorf("metadata_props: %w", err)
			}
			info.Metadata[key] = value
		case f.num == 7 && f.wire == wireBytes: // graph
			err := eachField(f.bytes, func(f field) error {
				if f.num != 1 || f.wire != wireBytes { // not a node
					return nil
				}
				classes, ok, err := readNodeClasses(f.bytes)
				if err != nil {
					return fmt.Errorf("node: %w", err)
				}
				if ok && !found {
					info.Classes, found = classes, true
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("graph: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

// readEntry reads a StringStringEntryProto.
func readEntry(msg []byte) (key, value string, err error) {
	err = eachField(msg, func(f field) error {
		switch {
		case f.num == 1 && f.wire == wireBytes:
			key = string(f.bytes)
		case f.num == 2 && f.wire == wireBytes:
			value = string(f.bytes)
		}
		return nil
	})
	return key, value, err
}

// readNodeClasses reads a NodeProto and returns the class labels of its
// first attribute named classlabels_strings, classlabels_ints or
// classlabels_int64s; ok is false when it has none.
func readNodeClasses(msg []byte) (classes []string, ok bool, err error) {
	err = eachField(msg, func(f field) error {
		if f.num != 5 || f.wire != wireBytes { // not an attribute
			return nil
		}
		a, err := readAttribute(f.bytes)
		if err != nil {
			return fmt.Errorf("attribute: %w", err)
		}
		if ok {
			return nil
		}
		switch a.name {
		case "classlabels_strings":
			classes, ok = append([]string{}, a.strings...), true
		case "classlabels_ints", "classlabels_int64s":
			classes, ok = make([]string, len(a.ints)), true
			for i, v := range a.ints {
				classes[i] = strconv.FormatInt(v, 10)
			}
		}
		return nil
	})
	return classes, ok, err
}

// attributeValues is what readAttribute reads of an AttributeProto.
type attributeValues struct {
	name    string
	ints    []int64
	strings []string
}

// readAttribute reads the name, ints and strings of an AttributeProto.
func readAttribute(msg []byte) (attributeValues, error) {
	var a attributeValues
	err := eachField(msg, func(f field) error {
		switch {
		case f.num == 1 && f.wire == wireBytes:
			a.name = string(f.bytes)
		case f.num == 8 && f.wire == wireVarint: // one element of ints
			a.ints = append(a.ints, int64(f.value))
		case f.num == 8 && f.wire == wireBytes: // ints, packed
			for b := f.bytes; len(b) > 0; {
				v, n := binary.Uvarint(b)
				if n <= 0 {
					return errors.New("ints: malformed packed varint")
				}
				a.ints = append(a.ints, int64(v))
				b = b[n:]
			}
		case f.num == 9 && f.wire == wireBytes:
			a.strings = append(a.strings, string(f.bytes))
		}
		return nil
	})
	return a, err
}

// field is one field of a protobuf message.
type field struct {
	num   int    // field number
	wire  int    // wire type: wireVarint, wireFixed64, wireBytes or wireFixed32
	value uint64 // the value of a varint field
	bytes []byte // the contents of a length-delimited field (not a copy)
}

// eachField calls fn with the fields of the protobuf message msg in order,
// and stops at the first error fn returns. A field of a known number but
// of an unexpected wire type is protobuf's unknown field: fn skips it by
// checking the wire type. It returns an error when msg is malformed: a
// truncated field, a varint longer than 64 bits, a field number out of
// range, a group or an invalid wire type.
func eachField(msg []byte, fn func(field) error) error {
	for len(msg) > 0 {
		tag, n := binary.Uvarint(msg)
		if n <= 0 {
			return errors.New("malformed field tag")
		}
		msg = msg[n:]
		num, wire := tag>>3, int(tag&7)
		if num == 0 || num > maxFieldNumber {
			return fmt.Errorf("invalid field number %d", num)
		}
		f := field{num: int(num), wire: wire}
		switch wire {
		case wireVarint:
			v, n := binary.Uvarint(msg)
			if n <= 0 {
				return fmt.Errorf("field %d: malformed varint", num)
			}
			f.value, msg = v, msg[n:]
		case wireFixed64, wireFixed32:
			size := 8
			if wire == wireFixed32 {
				size = 4
			}
			if len(msg) < size {
				return fmt.Errorf("field %d: truncated", num)
			}
			msg = msg[size:]
		case wireBytes:
			length, n := binary.Uvarint(msg)
			if n <= 0 {
				return fmt.Errorf("field %d: malformed length", num)
			}
			msg = msg[n:]
			if length > uint64(len(msg)) {
				return fmt.Errorf("field %d: %d bytes long but %d are left", num, length, len(msg))
			}
			f.bytes, msg = msg[:length], msg[length:]
		case wireStartGroup, wireEndGroup:
			return fmt.Errorf("field %d: a group (deprecated, not supported)", num)
		default:
			return fmt.Errorf("field %d: invalid wire type %d", num, wire)
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

package metrics

import (
	"bytes"
	"encoding/json"
)

// ClassificationReport is scikit-learn's classification_report with
// output_dict=True, for labels=range(len(Classes)). Its JSON encoding has
// the same keys in the same order: one entry per class name, then
// "accuracy" (a number), "macro avg" and "weighted avg". As in
// scikit-learn, when some class occurs neither in the true labels nor in the
// predictions, "accuracy" is replaced by a "micro avg" entry.
type ClassificationReport struct {
	Classes     []string // class names, by class index
	PerClass    []Scores // by class index
	Accuracy    float64  // the micro-averaged precision, which is the accuracy
	Micro       *Scores  // set only when some class is absent from both label sets
	MacroAvg    Scores
	WeightedAvg Scores
}

// NewClassificationReport scores predictions yPred against true labels
// yTrue, both class indices into classes.
func NewClassificationReport(yTrue, yPred []float64, classes []string) *ClassificationReport {
	prf := PrecisionRecallF1(yTrue, yPred, len(classes))
	r := &ClassificationReport{
		Classes:     classes,
		PerClass:    prf.PerClass,
		Accuracy:    prf.Micro.Precision,
		MacroAvg:    prf.Macro,
		WeightedAvg: prf.Weighted,
	}
	for _, p := range prf.Present {
		if !p {
			micro := prf.Micro
			r.Micro = &micro
			break
		}
	}
	return r
}

// MarshalJSON encodes the report as classification_report(output_dict=True)
// does, keys in scikit-learn's order.
func (r *ClassificationReport) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	entry := func(key string, v any) error {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(key)
		if err != nil {
			return err
		}
		b.Write(k)
		b.WriteByte(':')
		val, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(val)
		return nil
	}
	for i, name := range r.Classes {
		if err := entry(name, r.PerClass[i]); err != nil {
			return nil, err
		}
	}
	var err error
	if r.Micro != nil {
		err = entry("micro avg", r.Micro)
	} else {
		err = entry("accuracy", r.Accuracy)
	}
	if err != nil {
		return nil, err
	}
	if err := entry("macro avg", r.MacroAvg); err != nil {
		return nil, err
	}
	if err := entry("weighted avg", r.WeightedAvg); err != nil {
		return nil, err
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

package ui

import (
	"testing"

	"github.com/mlrun/mlrun/tracking"
)

// The summary tag mlrun.dataset.sha256 repeats the first dataset's hash:
// the provenance lists each dataset once.
func TestProvenanceListsEachDatasetOnce(t *testing.T) {
	run := &tracking.Run{Tags: []tracking.Tag{
		{Key: "mlrun.dataset.data/iris.csv", Value: "abc"},
		{Key: "mlrun.dataset.sha256", Value: "abc"},
	}}
	p, _, system := layOutTags(run)
	if len(p.Datasets) != 1 || p.Datasets[0].Key != "data/iris.csv" {
		t.Errorf("datasets %v, want data/iris.csv alone", p.Datasets)
	}
	found := false
	for _, kv := range system {
		found = found || kv.Key == "mlrun.dataset.sha256"
	}
	if !found {
		t.Errorf("the summary tag is not among the system tags: %v", system)
	}
}

// Package catalog lists mlrun's built-in estimators by name, for the train
// step and for loading saved models.
package catalog

import (
	"sort"

	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/linear"
	"github.com/mlrun/mlrun/ml/naivebayes"
	"github.com/mlrun/mlrun/ml/neighbors"
	"github.com/mlrun/mlrun/ml/svm"
	"github.com/mlrun/mlrun/ml/tree"
)

// Catalog names estimator specs.
type Catalog struct {
	specs map[string]ml.Spec
}

// New returns a catalog of the given specs.
func New(specs ...ml.Spec) *Catalog {
	c := &Catalog{specs: map[string]ml.Spec{}}
	for _, s := range specs {
		c.specs[s.Name] = s
	}
	return c
}

// Builtin returns a catalog of every built-in estimator.
func Builtin() *Catalog {
	var all []ml.Spec
	for _, specs := range [][]ml.Spec{linear.Specs(), svm.Specs(), tree.Specs(), neighbors.Specs(), naivebayes.Specs()} {
		all = append(all, specs...)
	}
	return New(all...)
}

// Lookup returns the spec called name.
func (c *Catalog) Lookup(name string) (ml.Spec, bool) {
	s, ok := c.specs[name]
	return s, ok
}

// Names returns the estimator names, sorted.
func (c *Catalog) Names() []string {
	names := make([]string, 0, len(c.specs))
	for n := range c.specs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Specs returns every spec, sorted by name.
func (c *Catalog) Specs() []ml.Spec {
	out := make([]ml.Spec, 0, len(c.specs))
	for _, n := range c.Names() {
		out = append(out, c.specs[n])
	}
	return out
}

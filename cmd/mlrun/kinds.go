package main

import (
	"github.com/mlrun/mlrun/ml/catalog"
	"github.com/mlrun/mlrun/ml/report"
	"github.com/mlrun/mlrun/steps"
)

// builtinKinds lists every step kind mlrun knows.
func builtinKinds(version string) []steps.Kind {
	// One renderer for every plot of the process (the trials of a sweep).
	plots := report.NewRenderer()
	return append([]steps.Kind{
		steps.Command{MLflowEndpoint: mlflowEndpoint},
		steps.Log{},
		steps.Load{},
		steps.Split{},
		steps.Train{Estimators: catalog.Builtin(), Version: version, Plots: plots},
		steps.Evaluate{Plots: plots},
		steps.Register{},
		steps.Serve{Specs: catalog.Builtin().Lookup, Version: version},
	}, testKinds()...)
}

package main

import (
	"github.com/mlrun/mlrun/ml/catalog"
	"github.com/mlrun/mlrun/steps"
)

// builtinKinds lists every step kind mlrun knows.
func builtinKinds(version string) []steps.Kind {
	return append([]steps.Kind{
		steps.Command{MLflowEndpoint: mlflowEndpoint},
		steps.Log{},
		steps.Load{},
		steps.Split{},
		steps.Train{Estimators: catalog.Builtin(), Version: version},
		steps.Evaluate{},
		steps.Register{},
		steps.Serve{Specs: catalog.Builtin().Lookup, Version: version},
	}, testKinds()...)
}

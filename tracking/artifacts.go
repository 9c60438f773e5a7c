package tracking

import (
	"strings"

	"github.com/mlrun/mlrun/artifact"
)

// ArtifactRootURI turns a store's artifact root as given (a directory or a
// URI such as file:///srv/mlrun/artifacts) into the URI stores record.
func ArtifactRootURI(root string) (string, error) { return artifact.RootURI(root) }

// ExperimentArtifactLocation is the artifact location of a new experiment
// under the store's artifact root URI: <root>/<experiment id>.
func ExperimentArtifactLocation(root, experimentID string) (string, error) {
	return artifact.JoinURI(root, experimentID)
}

// RunArtifactURI is the artifact URI of a new run in an experiment whose
// artifact location is loc (a URI, or a plain directory written by older
// versions): <loc>/<run id>/artifacts.
func RunArtifactURI(loc, runID string) (string, error) {
	return artifact.JoinURI(strings.TrimSuffix(loc, "/"), runID, "artifacts")
}

package tracking

import (
	"context"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mlrun/mlrun/errs"
)

// This file holds the model registry's domain, in MLflow's shape: registered
// models, their numbered versions, stages (deprecated in MLflow 2.9 but still
// served) and aliases, and the model URIs that name them.

// Stage is a model version's stage, spelled as MLflow spells it.
type Stage string

// Model version stages.
const (
	StageNone       Stage = "None"
	StageStaging    Stage = "Staging"
	StageProduction Stage = "Production"
	StageArchived   Stage = "Archived"
)

// Stages lists the stages in MLflow's order.
var Stages = [...]Stage{StageNone, StageStaging, StageProduction, StageArchived}

// ParseStage returns the stage named s, matched case-insensitively
// ("production" is Production), or errs.Invalid.
func ParseStage(s string) (Stage, error) {
	for _, st := range Stages {
		if strings.EqualFold(s, string(st)) {
			return st, nil
		}
	}
	return "", errs.Errorf(errs.Invalid, "stage %q is not valid; use None, Staging, Production or Archived", s)
}

// Active reports whether the stage is one that archiveExisting applies to:
// Staging or Production.
func (s Stage) Active() bool { return s == StageStaging || s == StageProduction }

// VersionReady is the status of every model version: mlrun registers a
// model synchronously, so versions are never pending.
const VersionReady = "READY"

// RegisteredModel is a named model with numbered versions.
type RegisteredModel struct {
	Name            string            `json:"name"`
	CreationTime    int64             `json:"creation_timestamp"`
	LastUpdatedTime int64             `json:"last_updated_timestamp"`
	Description     string            `json:"description,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	// Aliases maps each alias to the version it points to.
	Aliases map[string]int `json:"aliases,omitempty"`
	// LatestVersions holds, for each stage that has versions, the highest
	// version in that stage (MLflow's latest_versions), ordered by stage.
	LatestVersions []*ModelVersion `json:"latest_versions,omitempty"`
}

// ModelVersion is one registered version of a model.
type ModelVersion struct {
	Name            string `json:"name"`
	Version         int    `json:"version"`
	CreationTime    int64  `json:"creation_timestamp"`
	LastUpdatedTime int64  `json:"last_updated_timestamp"`
	Description     string `json:"description,omitempty"`
	// Source is the artifact URI of the model directory
	// (file:///.../artifacts/model).
	Source  string            `json:"source"`
	RunID   string            `json:"run_id,omitempty"`
	Stage   Stage             `json:"current_stage"`
	Status  string            `json:"status"`
	Tags    map[string]string `json:"tags,omitempty"`
	Aliases []string          `json:"aliases,omitempty"` // sorted
}

// Registry stores registered models and their versions. Methods return
// errs.NotFound naming the missing model, version or alias, errs.Conflict
// for a model created twice, and errs.Invalid for bad names, aliases,
// stages and tags. Implementations are safe for many goroutines and
// processes.
type Registry interface {
	// CreateRegisteredModel creates a model with no versions; errs.Conflict
	// if the name exists.
	CreateRegisteredModel(ctx context.Context, name, description string, tags map[string]string) (*RegisteredModel, error)
	// GetRegisteredModel returns a model with its tags, aliases and latest
	// versions.
	GetRegisteredModel(ctx context.Context, name string) (*RegisteredModel, error)
	// ListRegisteredModels returns every model, ordered by name.
	ListRegisteredModels(ctx context.Context) ([]*RegisteredModel, error)
	// DeleteRegisteredModel deletes a model with its versions and aliases.
	DeleteRegisteredModel(ctx context.Context, name string) error
	// RenameRegisteredModel renames a model, its versions, tags and aliases
	// following; errs.Conflict if newName is taken.
	RenameRegisteredModel(ctx context.Context, name, newName string) (*RegisteredModel, error)
	// UpdateRegisteredModel sets a model's description.
	UpdateRegisteredModel(ctx context.Context, name, description string) (*RegisteredModel, error)
	// SetRegisteredModelTag sets a tag on a model.
	SetRegisteredModelTag(ctx context.Context, name, key, value string) error
	// DeleteRegisteredModelTag removes a model's tag; errs.NotFound if unset.
	DeleteRegisteredModelTag(ctx context.Context, name, key string) error

	// CreateModelVersion registers source (the artifact URI of a model
	// directory) as the next version of the model name, creating the model
	// if it does not exist. Versions are numbered 1, 2, 3... atomically,
	// even across processes, and a number is never reused.
	CreateModelVersion(ctx context.Context, name, source, runID, description string, tags map[string]string) (*ModelVersion, error)
	// GetModelVersion returns one version.
	GetModelVersion(ctx context.Context, name string, version int) (*ModelVersion, error)
	// ListModelVersions returns a model's versions, ordered by version.
	ListModelVersions(ctx context.Context, name string) ([]*ModelVersion, error)
	// DeleteModelVersion deletes a version and the aliases pointing to it.
	DeleteModelVersion(ctx context.Context, name string, version int) error
	// UpdateModelVersion sets a version's description.
	UpdateModelVersion(ctx context.Context, name string, version int, description string) (*ModelVersion, error)
	// SetModelVersionTag sets a tag on a version.
	SetModelVersionTag(ctx context.Context, name string, version int, key, value string) error
	// DeleteModelVersionTag removes a version's tag; errs.NotFound if unset.
	DeleteModelVersionTag(ctx context.Context, name string, version int, key string) error
	// LatestVersion returns the highest version in stage, or in any stage
	// when stage is "".
	LatestVersion(ctx context.Context, name string, stage Stage) (*ModelVersion, error)

	// SetAlias points alias at version, moving it atomically if it pointed
	// at another version.
	SetAlias(ctx context.Context, name, alias string, version int) error
	// DeleteAlias removes an alias.
	DeleteAlias(ctx context.Context, name, alias string) error
	// GetVersionByAlias returns the version an alias points to.
	GetVersionByAlias(ctx context.Context, name, alias string) (*ModelVersion, error)

	// TransitionStage moves a version to stage. With archiveExisting (only
	// for Staging and Production), the other versions in that stage move to
	// Archived in the same transaction.
	TransitionStage(ctx context.Context, name string, version int, stage Stage, archiveExisting bool) (*ModelVersion, error)
}

// Limits of registry names, as in MLflow.
const (
	MaxModelNameLen = 256
	MaxAliasLen     = 255
)

// ValidateModelName checks a registered model's name: not empty, at most
// 256 characters, no surrounding spaces, no control characters, and none
// of '/', ':', '@' or '%', which would make model URIs ambiguous.
func ValidateModelName(name string) error {
	if name == "" {
		return errs.Errorf(errs.Invalid, "the registered model name is empty")
	}
	if n := utf8.RuneCountInString(name); n > MaxModelNameLen {
		return errs.Errorf(errs.Invalid, "registered model name %q is %d characters long; the limit is %d", name, n, MaxModelNameLen)
	}
	if strings.TrimSpace(name) != name {
		return errs.Errorf(errs.Invalid, "registered model name %q starts or ends with spaces", name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || strings.ContainsRune("/:@%", r) {
			return errs.Errorf(errs.Invalid, "registered model name %q contains %q; names may not contain '/', ':', '@', '%%' or control characters", name, r)
		}
	}
	return nil
}

// ValidateAlias checks an alias as MLflow does: letters, digits, '_' and
// '-' only (^[\w\-]*$), not empty, at most 255 characters, and neither
// "latest" nor v<digits> (in any case), which name versions in model URIs.
func ValidateAlias(alias string) error {
	if alias == "" {
		return errs.Errorf(errs.Invalid, "the alias is empty")
	}
	if n := utf8.RuneCountInString(alias); n > MaxAliasLen {
		return errs.Errorf(errs.Invalid, "alias %q is %d characters long; the limit is %d", alias, n, MaxAliasLen)
	}
	for _, r := range alias {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-') {
			return errs.Errorf(errs.Invalid, "alias %q contains %q; aliases may only contain letters, digits, '_' and '-'", alias, r)
		}
	}
	if strings.EqualFold(alias, "latest") {
		return errs.Errorf(errs.Invalid, "alias %q is reserved: models:/<name>/latest already names the highest version", alias)
	}
	if len(alias) > 1 && (alias[0] == 'v' || alias[0] == 'V') && allDigits(alias[1:]) {
		return errs.Errorf(errs.Invalid, "alias %q is reserved: v<number> aliases could be mistaken for version numbers", alias)
	}
	return nil
}

// ParseVersion parses a model version number (a positive integer), or
// returns errs.Invalid.
func ParseVersion(s string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 || !allDigits(s) {
		return 0, errs.Errorf(errs.Invalid, "model version %q is not a positive whole number", s)
	}
	return v, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// URIKind says what a model URI names.
type URIKind int

// Kinds of model URIs.
const (
	URIRun     URIKind = iota + 1 // runs:/<run-id>/<path>
	URIVersion                    // models:/<name>/<version>
	URIAlias                      // models:/<name>@<alias>
	URIStage                      // models:/<name>/<stage>
	URILatest                     // models:/<name>/latest
)

// ModelURI is a parsed model URI. Only the fields of its Kind are set.
type ModelURI struct {
	Kind    URIKind
	RunID   string // URIRun: the run id (or a unique prefix of it)
	Path    string // URIRun: the artifact path inside the run, slash-separated; "" is the artifact root
	Name    string // models:/ kinds: the registered model
	Version int    // URIVersion
	Alias   string // URIAlias
	Stage   Stage  // URIStage
}

// uriForms is the help text of ParseModelURI's errors.
const uriForms = "use runs:/<run-id>/<path>, models:/<name>/<version>, models:/<name>@<alias>, models:/<name>/<stage> or models:/<name>/latest"

// ParseModelURI parses runs:/<run-id>/<path>, models:/<name>/<version>,
// models:/<name>@<alias>, models:/<name>/<stage> (None, Staging, Production,
// Archived, any case) and models:/<name>/latest. Anything else is
// errs.Invalid naming the URI and the accepted forms.
func ParseModelURI(uri string) (ModelURI, error) {
	bad := func(why string) (ModelURI, error) {
		return ModelURI{}, errs.Errorf(errs.Invalid, "model URI %q %s; %s", uri, why, uriForms)
	}
	switch {
	case strings.HasPrefix(uri, "runs:/"):
		rest := strings.TrimPrefix(uri, "runs:/")
		id, path, _ := strings.Cut(rest, "/")
		if id == "" {
			return bad("names no run")
		}
		if !isRunID(id) {
			return bad("has a run id with characters other than letters, digits, '_' and '-'")
		}
		path = strings.TrimSuffix(path, "/")
		for _, seg := range strings.Split(path, "/") {
			if path != "" && (seg == "" || seg == "." || seg == "..") {
				return bad("has an artifact path with an empty, '.' or '..' segment")
			}
		}
		return ModelURI{Kind: URIRun, RunID: id, Path: path}, nil
	case strings.HasPrefix(uri, "models:/"):
		rest := strings.TrimPrefix(uri, "models:/")
		if name, alias, ok := strings.Cut(rest, "@"); ok {
			if err := ValidateModelName(name); err != nil {
				return bad("has an invalid model name (" + errs.Message(err) + ")")
			}
			if alias == "" || strings.ContainsAny(alias, "/@") {
				return bad("has an invalid alias")
			}
			return ModelURI{Kind: URIAlias, Name: name, Alias: alias}, nil
		}
		name, suffix, ok := strings.Cut(rest, "/")
		if !ok || suffix == "" {
			return bad("names no version, stage, alias or latest")
		}
		if err := ValidateModelName(name); err != nil {
			return bad("has an invalid model name (" + errs.Message(err) + ")")
		}
		if allDigits(suffix) {
			v, err := ParseVersion(suffix)
			if err != nil {
				return bad("has version 0 or a version too large")
			}
			return ModelURI{Kind: URIVersion, Name: name, Version: v}, nil
		}
		if strings.EqualFold(suffix, "latest") {
			return ModelURI{Kind: URILatest, Name: name}, nil
		}
		if st, err := ParseStage(suffix); err == nil {
			return ModelURI{Kind: URIStage, Name: name, Stage: st}, nil
		}
		return bad("ends in " + strconv.Quote(suffix) + ", which is no version number, stage or latest")
	}
	return bad("is not a model URI")
}

// String returns the URI in its canonical form.
func (u ModelURI) String() string {
	switch u.Kind {
	case URIRun:
		if u.Path == "" {
			return "runs:/" + u.RunID
		}
		return "runs:/" + u.RunID + "/" + u.Path
	case URIVersion:
		return "models:/" + u.Name + "/" + strconv.Itoa(u.Version)
	case URIAlias:
		return "models:/" + u.Name + "@" + u.Alias
	case URIStage:
		return "models:/" + u.Name + "/" + string(u.Stage)
	case URILatest:
		return "models:/" + u.Name + "/latest"
	}
	return ""
}

// isRunID reports whether s looks like a run id as MLflow validates them:
// ^[a-zA-Z0-9][\w\-]{0,255}$.
func isRunID(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !alnum && (i == 0 || c != '_' && c != '-') {
			return false
		}
	}
	return true
}

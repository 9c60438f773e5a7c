package server

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// Page sizes of registry searches, as in MLflow.
const (
	defaultModelResults   = 100
	maxModelResults       = 1000
	defaultVersionResults = 200000
	maxVersionResults     = 200000
)

func (s *Server) registryRoutes() {
	s.handle("POST", "/registered-models/create", s.createRegisteredModel)
	s.handle("GET", "/registered-models/get", s.getRegisteredModel)
	s.handle("POST", "/registered-models/rename", s.renameRegisteredModel)
	s.handle("PATCH", "/registered-models/update", s.updateRegisteredModel)
	s.handle("DELETE", "/registered-models/delete", s.deleteRegisteredModel)
	s.handle("GET", "/registered-models/search", s.searchRegisteredModels)
	s.handle("POST", "/registered-models/get-latest-versions", s.getLatestVersions)
	s.handle("GET", "/registered-models/get-latest-versions", s.getLatestVersions)
	s.handle("POST", "/registered-models/set-tag", s.setRegisteredModelTag)
	s.handle("DELETE", "/registered-models/delete-tag", s.deleteRegisteredModelTag)
	s.handle("POST", "/registered-models/alias", s.setAlias)
	s.handle("DELETE", "/registered-models/alias", s.deleteAlias)
	s.handle("GET", "/registered-models/alias", s.getByAlias)

	s.handle("POST", "/model-versions/create", s.createModelVersion)
	s.handle("GET", "/model-versions/get", s.getModelVersion)
	s.handle("PATCH", "/model-versions/update", s.updateModelVersion)
	s.handle("DELETE", "/model-versions/delete", s.deleteModelVersion)
	s.handle("GET", "/model-versions/search", s.searchModelVersions)
	s.handle("POST", "/model-versions/transition-stage", s.transitionStage)
	s.handle("GET", "/model-versions/get-download-uri", s.getDownloadURI)
	s.handle("POST", "/model-versions/set-tag", s.setModelVersionTag)
	s.handle("DELETE", "/model-versions/delete-tag", s.deleteModelVersionTag)
}

type modelReq struct {
	Name        Str        `json:"name"`
	NewName     Str        `json:"new_name"`
	Description *Str       `json:"description"`
	Tags        []KeyValue `json:"tags"`
	Key         Str        `json:"key"`
	Value       *Str       `json:"value"`
	Alias       Str        `json:"alias"`
	Version     Str        `json:"version"`
	Stages      []Str      `json:"stages"`
}

func (q *modelReq) name() (string, error) {
	if q.Name == "" {
		return "", missing("name")
	}
	return string(q.Name), nil
}

func (s *Server) createRegisteredModel(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *modelReq) (any, error) {
		name, err := req.name()
		if err != nil {
			return nil, err
		}
		desc := ""
		if req.Description != nil {
			desc = string(*req.Description)
		}
		m, err := s.store.CreateRegisteredModel(r.Context(), name, desc, tagMap(req.Tags))
		if errs.Code(err) == errs.Conflict {
			return nil, errs.Errorf(errs.Conflict, "Registered Model (name=%s) already exists.", name)
		}
		if err != nil {
			return nil, err
		}
		if err := s.opts.Auth.grantCreator(r, kindModel, m.Name); err != nil {
			return nil, err
		}
		return map[string]any{"registered_model": s.registeredModel(m)}, nil
	})(w, r)
}

func (s *Server) getRegisteredModel(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *modelReq) (any, error) {
		name, err := req.name()
		if err != nil {
			return nil, err
		}
		m, err := s.store.GetRegisteredModel(r.Context(), name)
		if err != nil {
			return nil, err
		}
		return map[string]any{"registered_model": s.registeredModel(m)}, nil
	})(w, r)
}

func (s *Server) renameRegisteredModel(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *modelReq) (any, error) {
		name, err := req.name()
		if err != nil {
			return nil, err
		}
		if req.NewName == "" {
			return nil, missing("new_name")
		}
		m, err := s.store.RenameRegisteredModel(r.Context(), name, string(req.NewName))
		if err != nil {
			return nil, err
		}
		return map[string]any{"registered_model": s.registeredModel(m)}, nil
	})(w, r)
}

func (s *Server) updateRegisteredModel(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *modelReq) (any, error) {
		name, err := req.name()
		if err != nil {
			return nil, err
		}
		if req.Description == nil {
			m, err := s.store.GetRegisteredModel(r.Context(), name)
			if err != nil {
				return nil, err
			}
			return map[string]any{"registered_model": s.registeredModel(m)}, nil
		}
		m, err := s.store.UpdateRegisteredModel(r.Context(), name, string(*req.Description))
		if err != nil {
			return nil, err
		}
		return map[string]any{"registered_model": s.registeredModel(m)}, nil
	})(w, r)
}

func (s *Server) deleteRegisteredModel(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *modelReq) (any, error) {
		name, err := req.name()
		if err != nil {
			return nil, err
		}
		return empty{}, s.store.DeleteRegisteredModel(r.Context(), name)
	})(w, r)
}

type searchReq struct {
	Filter     Str   `json:"filter"`
	MaxResults *Int  `json:"max_results"`
	OrderBy    []Str `json:"order_by"`
	PageToken  Str   `json:"page_token"`
}

func (s *Server) searchRegisteredModels(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *searchReq) (any, error) {
		limit, err := pageLimit(req.MaxResults, defaultModelResults, maxModelResults)
		if err != nil {
			return nil, err
		}
		offset, err := parseOffsetToken(string(req.PageToken))
		if err != nil {
			return nil, err
		}
		f, err := parseFilter(string(req.Filter), []string{"name"}, nil)
		if err != nil {
			return nil, err
		}
		order, err := parseOrder(req.OrderBy, []string{"name", "last_updated_timestamp", "creation_timestamp"})
		if err != nil {
			return nil, err
		}
		models, err := s.store.ListRegisteredModels(r.Context())
		if err != nil {
			return nil, err
		}
		var hits []*tracking.RegisteredModel
		for _, m := range models {
			if !s.opts.Auth.allowed(r, kindModel, m.Name, PermRead) {
				continue
			}
			if f.match(func(tag bool, key string) field {
				if tag {
					v, ok := m.Tags[key]
					return field{str: v, ok: ok}
				}
				return field{str: m.Name, ok: true}
			}) {
				hits = append(hits, m)
			}
		}
		sort.SliceStable(hits, func(i, j int) bool {
			a, b := hits[i], hits[j]
			for _, o := range order {
				var c int
				switch o.key {
				case "name":
					c = strings.Compare(a.Name, b.Name)
				case "last_updated_timestamp":
					c = cmpInt(a.LastUpdatedTime, b.LastUpdatedTime)
				case "creation_timestamp":
					c = cmpInt(a.CreationTime, b.CreationTime)
				}
				if c != 0 {
					return (c < 0) != o.desc
				}
			}
			return a.Name < b.Name
		})
		lo, hi, next := page(len(hits), offset, limit)
		out := make([]wRegisteredModel, 0, hi-lo)
		for _, m := range hits[lo:hi] {
			out = append(out, s.registeredModel(m))
		}
		return paged("registered_models", out, next), nil
	})(w, r)
}

func (s *Server) getLatestVersions(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *modelReq) (any, error) {
		name, err := req.name()
		if err != nil {
			return nil, err
		}
		m, err := s.store.GetRegisteredModel(r.Context(), name)
		if err != nil {
			return nil, err
		}
		var want []tracking.Stage
		for _, st := range req.Stages {
			stage, err := tracking.ParseStage(string(st))
			if err != nil {
				return nil, err
			}
			want = append(want, stage)
		}
		out := []wModelVersion{}
		for _, v := range m.LatestVersions {
			if len(want) == 0 || containsStage(want, v.Stage) {
				out = append(out, s.modelVersion(v))
			}
		}
		return map[string]any{"model_versions": out}, nil
	})(w, r)
}

func containsStage(list []tracking.Stage, st tracking.Stage) bool {
	for _, x := range list {
		if x == st {
			return true
		}
	}
	return false
}

func (s *Server) setRegisteredModelTag(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *modelReq) (any, error) {
		name, err := req.name()
		if err != nil {
			return nil, err
		}
		if req.Key == "" {
			return nil, missing("key")
		}
		if req.Value == nil {
			return nil, missing("value")
		}
		return empty{}, s.store.SetRegisteredModelTag(r.Context(), name, string(req.Key), string(*req.Value))
	})(w, r)
}

func (s *Server) deleteRegisteredModelTag(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *modelReq) (any, error) {
		name, err := req.name()
		if err != nil {
			return nil, err
		}
		if req.Key == "" {
			return nil, missing("key")
		}
		return empty{}, s.store.DeleteRegisteredModelTag(r.Context(), name, string(req.Key))
	})(w, r)
}

func (s *Server) setAlias(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *modelReq) (any, error) {
		name, v, err := req.nameVersion()
		if err != nil {
			return nil, err
		}
		if req.Alias == "" {
			return nil, missing("alias")
		}
		if err := tracking.ValidateAlias(string(req.Alias)); err != nil {
			return nil, err
		}
		return empty{}, s.store.SetAlias(r.Context(), name, string(req.Alias), v)
	})(w, r)
}

func (s *Server) deleteAlias(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *modelReq) (any, error) {
		name, err := req.name()
		if err != nil {
			return nil, err
		}
		if req.Alias == "" {
			return nil, missing("alias")
		}
		return empty{}, s.store.DeleteAlias(r.Context(), name, string(req.Alias))
	})(w, r)
}

func (s *Server) getByAlias(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *modelReq) (any, error) {
		name, err := req.name()
		if err != nil {
			return nil, err
		}
		if req.Alias == "" {
			return nil, missing("alias")
		}
		v, err := s.store.GetVersionByAlias(r.Context(), name, string(req.Alias))
		if err != nil {
			return nil, err
		}
		return map[string]any{"model_version": s.modelVersion(v)}, nil
	})(w, r)
}

// ---- model versions

// nameVersion returns the request's model name and version number.
func (q *modelReq) nameVersion() (string, int, error) {
	name, err := q.name()
	if err != nil {
		return "", 0, err
	}
	if q.Version == "" {
		return "", 0, missing("version")
	}
	v, err := strconv.Atoi(string(q.Version))
	if err != nil || v < 1 {
		return "", 0, errs.Errorf(errs.Invalid, "Model version must be an integer, got '%s'", q.Version)
	}
	return name, v, nil
}

type createVersionReq struct {
	Name        Str        `json:"name"`
	Source      Str        `json:"source"`
	RunID       Str        `json:"run_id"`
	Tags        []KeyValue `json:"tags"`
	RunLink     Str        `json:"run_link"`
	Description Str        `json:"description"`
}

func (s *Server) createModelVersion(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *createVersionReq) (any, error) {
		if req.Name == "" {
			return nil, missing("name")
		}
		if req.Source == "" {
			return nil, missing("source")
		}
		ctx := r.Context()
		if _, err := s.store.GetRegisteredModel(ctx, string(req.Name)); err != nil {
			return nil, err
		}
		source, err := s.storedSource(r, string(req.Source), string(req.RunID))
		if err != nil {
			return nil, err
		}
		v, err := s.store.CreateModelVersion(ctx, string(req.Name), source, string(req.RunID), string(req.Description), tagMap(req.Tags))
		if err != nil {
			return nil, err
		}
		return map[string]any{"model_version": s.modelVersion(v)}, nil
	})(w, r)
}

// storedSource turns a model version's source as the client sends it into
// the URI the store keeps: mlflow-artifacts:/ URIs become the file:// URIs
// of the proxied files, and runs:/<id>/<path> the run's artifact URI.
func (s *Server) storedSource(r *http.Request, source, runID string) (string, error) {
	if strings.HasPrefix(source, "runs:/") {
		u, err := tracking.ParseModelURI(source)
		if err != nil {
			return "", err
		}
		run, err := s.store.GetRun(r.Context(), u.RunID)
		if err != nil {
			return "", err
		}
		if u.Path == "" {
			return run.Info.ArtifactURI, nil
		}
		return strings.TrimSuffix(run.Info.ArtifactURI, "/") + "/" + u.Path, nil
	}
	if isProxyURI(source) {
		return s.privateLocation(source)
	}
	return source, nil
}

func (s *Server) getModelVersion(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *modelReq) (any, error) {
		name, v, err := req.nameVersion()
		if err != nil {
			return nil, err
		}
		mv, err := s.store.GetModelVersion(r.Context(), name, v)
		if err != nil {
			return nil, err
		}
		return map[string]any{"model_version": s.modelVersion(mv)}, nil
	})(w, r)
}

func (s *Server) updateModelVersion(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *modelReq) (any, error) {
		name, v, err := req.nameVersion()
		if err != nil {
			return nil, err
		}
		var mv *tracking.ModelVersion
		if req.Description == nil {
			mv, err = s.store.GetModelVersion(r.Context(), name, v)
		} else {
			mv, err = s.store.UpdateModelVersion(r.Context(), name, v, string(*req.Description))
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"model_version": s.modelVersion(mv)}, nil
	})(w, r)
}

func (s *Server) deleteModelVersion(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *modelReq) (any, error) {
		name, v, err := req.nameVersion()
		if err != nil {
			return nil, err
		}
		return empty{}, s.store.DeleteModelVersion(r.Context(), name, v)
	})(w, r)
}

func (s *Server) searchModelVersions(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *searchReq) (any, error) {
		limit, err := pageLimit(req.MaxResults, defaultVersionResults, maxVersionResults)
		if err != nil {
			return nil, err
		}
		offset, err := parseOffsetToken(string(req.PageToken))
		if err != nil {
			return nil, err
		}
		f, err := parseFilter(string(req.Filter), []string{"name", "run_id", "source_path", "current_stage"}, []string{"version_number"})
		if err != nil {
			return nil, err
		}
		order, err := parseOrder(req.OrderBy, []string{"name", "version_number", "current_stage", "last_updated_timestamp", "creation_timestamp"})
		if err != nil {
			return nil, err
		}
		models, err := s.store.ListRegisteredModels(r.Context())
		if err != nil {
			return nil, err
		}
		var hits []*tracking.ModelVersion
		for _, m := range models {
			if !s.opts.Auth.allowed(r, kindModel, m.Name, PermRead) {
				continue
			}
			versions, err := s.store.ListModelVersions(r.Context(), m.Name)
			if errs.Code(err) == errs.NotFound {
				continue // deleted meanwhile
			}
			if err != nil {
				return nil, err
			}
			for _, v := range versions {
				if f.match(func(tag bool, key string) field {
					if tag {
						t, ok := v.Tags[key]
						return field{str: t, ok: ok}
					}
					switch key {
					case "name":
						return field{str: v.Name, ok: true}
					case "run_id":
						return field{str: v.RunID, ok: true}
					case "source_path":
						return field{str: s.publicLocation(v.Source), ok: true}
					case "current_stage":
						return field{str: string(v.Stage), ok: true}
					case "version_number":
						return field{num: float64(v.Version), isNum: true, ok: true}
					}
					return field{}
				}) {
					hits = append(hits, v)
				}
			}
		}
		sort.SliceStable(hits, func(i, j int) bool {
			a, b := hits[i], hits[j]
			for _, o := range order {
				var c int
				switch o.key {
				case "name":
					c = strings.Compare(a.Name, b.Name)
				case "version_number":
					c = cmpInt(int64(a.Version), int64(b.Version))
				case "current_stage":
					c = strings.Compare(string(a.Stage), string(b.Stage))
				case "last_updated_timestamp":
					c = cmpInt(a.LastUpdatedTime, b.LastUpdatedTime)
				case "creation_timestamp":
					c = cmpInt(a.CreationTime, b.CreationTime)
				}
				if c != 0 {
					return (c < 0) != o.desc
				}
			}
			if a.Name != b.Name {
				return a.Name < b.Name
			}
			return a.Version > b.Version
		})
		lo, hi, next := page(len(hits), offset, limit)
		out := make([]wModelVersion, 0, hi-lo)
		for _, v := range hits[lo:hi] {
			out = append(out, s.modelVersion(v))
		}
		return paged("model_versions", out, next), nil
	})(w, r)
}

type transitionReq struct {
	Name                    Str   `json:"name"`
	Version                 Str   `json:"version"`
	Stage                   Str   `json:"stage"`
	ArchiveExistingVersions *Bool `json:"archive_existing_versions"`
}

func (s *Server) transitionStage(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *transitionReq) (any, error) {
		mr := modelReq{Name: req.Name, Version: req.Version}
		name, v, err := mr.nameVersion()
		if err != nil {
			return nil, err
		}
		if req.Stage == "" {
			return nil, missing("stage")
		}
		if req.ArchiveExistingVersions == nil {
			return nil, missing("archive_existing_versions")
		}
		stage, err := tracking.ParseStage(string(req.Stage))
		if err != nil {
			return nil, err
		}
		archive := bool(*req.ArchiveExistingVersions)
		if archive && !stage.Active() {
			archive = false // MLflow ignores it for None and Archived
		}
		mv, err := s.store.TransitionStage(r.Context(), name, v, stage, archive)
		if err != nil {
			return nil, err
		}
		return map[string]any{"model_version": s.modelVersion(mv)}, nil
	})(w, r)
}

func (s *Server) getDownloadURI(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *modelReq) (any, error) {
		name, v, err := req.nameVersion()
		if err != nil {
			return nil, err
		}
		mv, err := s.store.GetModelVersion(r.Context(), name, v)
		if err != nil {
			return nil, err
		}
		return map[string]string{"artifact_uri": s.publicLocation(mv.Source)}, nil
	})(w, r)
}

func (s *Server) setModelVersionTag(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *modelReq) (any, error) {
		name, v, err := req.nameVersion()
		if err != nil {
			return nil, err
		}
		if req.Key == "" {
			return nil, missing("key")
		}
		if req.Value == nil {
			return nil, missing("value")
		}
		return empty{}, s.store.SetModelVersionTag(r.Context(), name, v, string(req.Key), string(*req.Value))
	})(w, r)
}

func (s *Server) deleteModelVersionTag(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *modelReq) (any, error) {
		name, v, err := req.nameVersion()
		if err != nil {
			return nil, err
		}
		if req.Key == "" {
			return nil, missing("key")
		}
		return empty{}, s.store.DeleteModelVersionTag(r.Context(), name, v, string(req.Key))
	})(w, r)
}

package tracking

import (
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
)

func TestParseStage(t *testing.T) {
	for in, want := range map[string]Stage{
		"None": StageNone, "none": StageNone, "STAGING": StageStaging, "production": StageProduction,
		"Production": StageProduction, "archived": StageArchived,
	} {
		got, err := ParseStage(in)
		if err != nil || got != want {
			t.Errorf("ParseStage(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "prod", "Deleted_Internal", " Production"} {
		_, err := ParseStage(in)
		if errs.Code(err) != errs.Invalid || !strings.Contains(errs.Message(err), "None, Staging, Production or Archived") {
			t.Errorf("ParseStage(%q) error = %v, want Invalid listing the stages", in, err)
		}
	}
}

func TestValidateAlias(t *testing.T) {
	for _, ok := range []string{"champion", "challenger-2", "blue_green", "v", "vX1", "version1", "V1a", "été"} {
		if err := ValidateAlias(ok); err != nil {
			t.Errorf("ValidateAlias(%q) = %v, want nil", ok, err)
		}
	}
	for alias, why := range map[string]string{
		"":                          "empty",
		"latest":                    "reserved",
		"LaTeSt":                    "reserved",
		"v1":                        "reserved",
		"V42":                       "reserved",
		"my alias":                  "may only contain",
		"a/b":                       "may only contain",
		"a@b":                       "may only contain",
		"x.y":                       "may only contain",
		strings.Repeat("a", 256):    "limit is 255",
		strings.Repeat("é", 256):    "limit is 255",
		"champion\n":                "may only contain",
		"v0123456789012345678901x!": "may only contain",
	} {
		err := ValidateAlias(alias)
		if errs.Code(err) != errs.Invalid || !strings.Contains(errs.Message(err), why) {
			t.Errorf("ValidateAlias(%q) = %v, want Invalid containing %q", alias, err, why)
		}
	}
	if err := ValidateAlias(strings.Repeat("a", 255)); err != nil {
		t.Errorf("a 255-character alias: %v", err)
	}
}

func TestValidateModelName(t *testing.T) {
	for _, ok := range []string{"iris", "Iris Classifier", "iris-v2.1", "modèle"} {
		if err := ValidateModelName(ok); err != nil {
			t.Errorf("ValidateModelName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", " iris", "iris ", "a/b", "a:b", "a@b", "a%b", "a\tb", strings.Repeat("m", 257)} {
		if err := ValidateModelName(bad); errs.Code(err) != errs.Invalid {
			t.Errorf("ValidateModelName(%q) = %v, want Invalid", bad, err)
		}
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]int{"1": 1, "42": 42, "007": 7} {
		if got, err := ParseVersion(in); err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0", "-1", "+1", "1.0", "v1", "latest", "99999999999999999999"} {
		if _, err := ParseVersion(bad); errs.Code(err) != errs.Invalid {
			t.Errorf("ParseVersion(%q) = %v, want Invalid", bad, err)
		}
	}
}

func TestParseModelURI(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef"
	good := []struct {
		in, canonical string
		want          ModelURI
	}{
		{"runs:/" + id + "/model", "", ModelURI{Kind: URIRun, RunID: id, Path: "model"}},
		{"runs:/" + id + "/models/best/", "runs:/" + id + "/models/best", ModelURI{Kind: URIRun, RunID: id, Path: "models/best"}},
		{"runs:/" + id, "", ModelURI{Kind: URIRun, RunID: id}},
		{"runs:/0123/model", "", ModelURI{Kind: URIRun, RunID: "0123", Path: "model"}},
		{"models:/iris/3", "", ModelURI{Kind: URIVersion, Name: "iris", Version: 3}},
		{"models:/iris@champion", "", ModelURI{Kind: URIAlias, Name: "iris", Alias: "champion"}},
		{"models:/iris/Production", "", ModelURI{Kind: URIStage, Name: "iris", Stage: StageProduction}},
		{"models:/iris/staging", "models:/iris/Staging", ModelURI{Kind: URIStage, Name: "iris", Stage: StageStaging}},
		{"models:/iris/None", "", ModelURI{Kind: URIStage, Name: "iris", Stage: StageNone}},
		{"models:/iris/latest", "", ModelURI{Kind: URILatest, Name: "iris"}},
		{"models:/iris/LATEST", "models:/iris/latest", ModelURI{Kind: URILatest, Name: "iris"}},
		{"models:/Iris Classifier/1", "", ModelURI{Kind: URIVersion, Name: "Iris Classifier", Version: 1}},
	}
	for _, tc := range good {
		got, err := ParseModelURI(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseModelURI(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		canonical := tc.canonical
		if canonical == "" {
			canonical = tc.in
		}
		if got.String() != canonical {
			t.Errorf("ParseModelURI(%q).String() = %q, want %q", tc.in, got.String(), canonical)
		}
	}
	bad := []struct{ in, why string }{
		{"", "is not a model URI"},
		{"iris", "is not a model URI"},
		{"s3://bucket/model", "is not a model URI"},
		{"runs:", "is not a model URI"},
		{"runs:/", "names no run"},
		{"runs://model", "names no run"},
		{"runs:/" + id + "/../other", "'..' segment"},
		{"runs:/" + id + "/a//b", "empty"},
		{"runs:/" + id + "/./model", "'.'"},
		{"runs:/-abc/model", "run id"},
		{"runs:/ab!cd/model", "run id"},
		{"models:/", "names no version"},
		{"models:/iris", "names no version"},
		{"models:/iris/", "names no version"},
		{"models:/iris/0", "version 0"},
		{"models:/iris/99999999999999999999999", "too large"},
		{"models:/iris/prod", `ends in "prod"`},
		{"models:/iris/1/2", `ends in "1/2"`},
		{"models:/iris@", "invalid alias"},
		{"models:/iris@a/b", "invalid alias"},
		{"models:/@champion", "invalid model name"},
		{"models://3", "invalid model name"},
	}
	for _, tc := range bad {
		_, err := ParseModelURI(tc.in)
		msg := errs.Message(err)
		if errs.Code(err) != errs.Invalid || !strings.Contains(msg, tc.why) ||
			!strings.Contains(msg, "models:/<name>@<alias>") || !strings.Contains(msg, tc.in) {
			t.Errorf("ParseModelURI(%q) error = %q (%s), want Invalid naming the URI, %q and the forms", tc.in, msg, errs.Code(err), tc.why)
		}
	}
}

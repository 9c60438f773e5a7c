package reproduce

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/project"
	"github.com/mlrun/mlrun/provenance"
)

// Drift kinds.
const (
	DriftDataset    = "dataset"     // a data file the run read has other content now
	DriftLockfile   = "lockfile"    // a lockfile beside the project has other content now
	DriftParam      = "param"       // a parameter would resolve to another value now
	DriftEntryPoint = "entry_point" // the entry point no longer loads or resolves
)

// Drift is one thing that differs between what a run recorded and what a
// re-run would use now.
//
// Where "now" is looked at:
//   - dataset: the file at the recorded path in the directory the re-run
//     runs in. In a temporary worktree that is the file at the recorded
//     commit (plus the recorded diff) when git tracks it; data files that
//     are not in git (the usual case) are linked into the worktree from the
//     recorded project directory, so it is the file there. A path outside
//     the project is looked at where it is.
//   - lockfile: the lockfiles in the recorded project directory (the
//     checkout), because a lockfile stands for the environment installed on
//     this machine, which a worktree of old code does not bring back. The
//     lockfile mlrun.buildinfo is mlrun's own build (see
//     provenance.BuildLockfile): it is compared with the running binary's,
//     so a run recorded by another mlrun build (version, toolchain,
//     dependency or build flag) drifts. Runs recorded before mlrun recorded
//     its build are not checked for it.
//   - param: the entry point as the code the re-run runs declares it (the
//     recorded project directory, or the temporary worktree with the
//     recorded commit and diff), resolved with the values the original was
//     given (its recorded values that differ from the defaults of that
//     code), against the recorded values: a parameter that code declares
//     and the run did not record, or a value it would read otherwise. A
//     default changed in the checkout since the run is not drift when the
//     run repeats in a worktree: the worktree has the recorded default (and
//     the re-run passes every recorded value anyway).
type Drift struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Recorded string `json:"recorded"`
	Current  string `json:"current"`
}

// Placeholder values in a Drift.
const (
	valueMissing = "missing"
	valueNone    = "none"
)

// findDrift fills p.Drift.
func (p *Plan) findDrift(ctx context.Context) error {
	data, err := p.datasetDrift()
	if err != nil {
		return err
	}
	locks, err := p.lockfileDrift(ctx)
	if err != nil {
		return err
	}
	p.Drift = append(append(append(p.Drift, data...), locks...), p.paramDrift()...)
	return nil
}

// datasetDrift compares each recorded mlrun.dataset.<path> hash with the
// file the re-run would read.
func (p *Plan) datasetDrift() ([]Drift, error) {
	var out []Drift
	for _, t := range p.Original.Tags {
		rel, ok := datasetPath(t.Key)
		if !ok {
			continue
		}
		name := strings.TrimPrefix(t.Key, TagDatasetPrefix)
		current, err := hashIfPresent(filepath.Join(p.Dir, rel))
		if err == nil && current == "" && !filepath.IsAbs(rel) {
			// Recorded outside the project: the tag lost its leading "/".
			current, err = hashIfPresent(string(filepath.Separator) + rel)
		}
		if err != nil {
			return nil, fmt.Errorf("hash data file %s: %w", name, err)
		}
		if current == "" {
			current = valueMissing
		}
		if current != t.Value {
			out = append(out, Drift{Kind: DriftDataset, Name: name, Recorded: t.Value, Current: current})
		}
	}
	return out, nil
}

// hashIfPresent returns the sha256 of a file, or "" when it does not exist.
func hashIfPresent(path string) (string, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		return "", nil
	}
	return provenance.HashFile(path)
}

// lockfileDrift compares the recorded lockfiles with those in the recorded
// project directory now (changed, gone and new ones), and the recorded
// mlrun build with the running one.
func (p *Plan) lockfileDrift(ctx context.Context) ([]Drift, error) {
	recorded, err := p.recordedLockfiles(ctx)
	if err != nil {
		return nil, err
	}
	found, err := provenance.FindLockfiles(p.RecordedDir)
	if err != nil {
		return nil, fmt.Errorf("find lockfiles in %s: %w", p.RecordedDir, err)
	}
	current := map[string]string{}
	for _, l := range found {
		current[l.Path] = l.SHA256
	}
	var out []Drift
	for _, l := range recorded {
		if l.Path == provenance.BuildLockfile {
			out = append(out, buildDrift(l)...)
			continue
		}
		now, ok := current[l.Path]
		switch {
		case !ok:
			out = append(out, Drift{Kind: DriftLockfile, Name: l.Path, Recorded: l.SHA256, Current: valueMissing})
		case l.SHA256 != "" && now != l.SHA256:
			out = append(out, Drift{Kind: DriftLockfile, Name: l.Path, Recorded: l.SHA256, Current: now})
		}
		delete(current, l.Path)
	}
	for _, l := range found {
		if now, ok := current[l.Path]; ok {
			out = append(out, Drift{Kind: DriftLockfile, Name: l.Path, Recorded: valueNone, Current: now})
		}
	}
	return out, nil
}

// buildDrift compares the mlrun build a run recorded (the lockfile
// provenance.BuildLockfile) with the running binary's: another version,
// toolchain, dependency or build flag is drift, and so is a running binary
// without build info (its build is unknown). A build listed without its
// sum (neither tag nor saved copy) cannot be checked.
func buildDrift(recorded provenance.Lockfile) []Drift {
	now, ok := provenance.CurrentBuild()
	if !ok {
		return []Drift{{Kind: DriftLockfile, Name: recorded.Path, Recorded: recorded.SHA256, Current: valueMissing}}
	}
	if recorded.SHA256 == "" || recorded.SHA256 == now.SHA256 {
		return nil
	}
	return []Drift{{Kind: DriftLockfile, Name: recorded.Path, Recorded: recorded.SHA256, Current: now.SHA256}}
}

// recordedLockfiles lists the run's lockfiles with their recorded hashes:
// from the tag mlrun.lockfile.sha256.<name>, or for runs recorded before
// those tags, the primary one's from mlrun.lockfile.sha256 and the others'
// from the copies saved as artifacts (lockfiles/<path>); "" when none of
// these is there.
func (p *Plan) recordedLockfiles(ctx context.Context) ([]provenance.Lockfile, error) {
	run := p.Original
	primary, _ := run.Tag(provenance.TagLockfile)
	primarySum, _ := run.Tag(provenance.TagLockfileSHA256)
	paths := []string{primary}
	if all, ok := run.Tag(provenance.TagLockfiles); ok && all != "" {
		paths = strings.Split(all, ",")
	}
	var out []provenance.Lockfile
	for _, path := range paths {
		path = strings.TrimSpace(path)
		if path == "" {
			continue
		}
		l := provenance.Lockfile{Path: path}
		if sum, ok := run.Tag(provenance.TagLockfileSHA256Prefix + provenance.TagSafe(path)); ok {
			l.SHA256 = sum
		} else if path == primary {
			l.SHA256 = primarySum
		} else if filepath.IsLocal(path) {
			sum, err := artifact.HashFile(ctx, p.repo, "lockfiles/"+filepath.ToSlash(path))
			if err != nil && errs.Code(err) != errs.NotFound {
				return nil, fmt.Errorf("hash the saved lockfile %s: %w", path, err)
			}
			l.SHA256 = sum
		}
		out = append(out, l)
	}
	return out, nil
}

// paramDrift resolves the entry point of the code the re-run runs (the
// project in p.Dir: the recorded project directory, or the temporary
// worktree at the recorded commit with the recorded diff) with the values
// the original was given, and compares with what was recorded.
func (p *Plan) paramDrift() []Drift {
	ep, err := p.project.EntryPoint(p.EntryPoint)
	if err != nil {
		return nil // NewPlan checked it
	}

	// What the original was given: everything but values equal to the
	// defaults of the code.
	defaults := defaultTexts(ep, p.Params)
	var given []project.KV
	for _, kv := range p.Params {
		if d, ok := defaults[kv.Key]; !ok || d != kv.Value {
			given = append(given, kv)
		}
	}
	now, err := ep.ResolveParams(given)
	if err != nil {
		return []Drift{{Kind: DriftEntryPoint, Name: p.EntryPoint, Recorded: "parameters resolved", Current: errs.Message(err)}}
	}

	var out []Drift
	for _, d := range ep.Params {
		recorded, ok := p.Original.Param(d.Name)
		if !ok {
			recorded = valueMissing
		}
		if current := now.Strings[d.Name]; recorded != current {
			out = append(out, Drift{Kind: DriftParam, Name: d.Name, Recorded: recorded, Current: current})
		}
	}
	return out
}

// defaultTexts returns the default of each parameter of ep that has one,
// as it is logged. Required and path parameters are resolved with the
// recorded values (so that path checks pass). When ep cannot resolve them,
// only path defaults (kept as written) are known.
func defaultTexts(ep *project.EntryPoint, recorded []project.KV) map[string]string {
	byName := map[string]string{}
	for _, kv := range recorded {
		byName[kv.Key] = kv.Value
	}
	var given []project.KV
	out := map[string]string{}
	for _, d := range ep.Params {
		v, ok := byName[d.Name]
		if d.Type == project.TypePath && !d.Required {
			if s, isText := d.Default.(string); isText {
				out[d.Name] = s
			}
		}
		if ok && (d.Required || d.Type == project.TypePath) {
			given = append(given, project.KV{Key: d.Name, Value: v})
		}
	}
	res, err := ep.ResolveParams(given)
	if err != nil {
		return out
	}
	for _, d := range ep.Params {
		if !d.Required && d.Type != project.TypePath {
			out[d.Name] = res.Strings[d.Name]
		}
	}
	return out
}

// driftTags turns drift into tags for the new run: mlrun.drift.<kind>.<name>
// = "recorded X, now Y" and the summary mlrun.drift. Empty for no drift.
func driftTags(drift []Drift) map[string]string {
	if len(drift) == 0 {
		return nil
	}
	tags := map[string]string{TagDrift: driftSummary(drift)}
	for _, d := range drift {
		tags[TagDriftPrefix+d.Kind+"."+provenance.TagSafe(d.Name)] = fmt.Sprintf("recorded %s, now %s", d.Recorded, d.Current)
	}
	return tags
}

// driftSummary says how many drifts there are and names them:
// "2 drifts: dataset data/iris.csv, param C".
func driftSummary(drift []Drift) string {
	names := make([]string, len(drift))
	for i, d := range drift {
		names[i] = d.Kind + " " + d.Name
	}
	noun := "drifts"
	if len(drift) == 1 {
		noun = "drift"
	}
	return fmt.Sprintf("%d %s: %s", len(drift), noun, strings.Join(names, ", "))
}

// sha256Hex returns the hex sha256 of data.
func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

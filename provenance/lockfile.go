package provenance

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// lockfileNames lists the dependency lockfiles and environment files that
// FindLockfiles recognises, most specific first: Tags picks the first of
// these present as the primary lockfile. Patterns use path.Match syntax.
var lockfileNames = []string{
	// Python
	"conda-lock.yml",
	"pixi.lock",
	"uv.lock",
	"poetry.lock",
	"pdm.lock",
	"Pipfile.lock",
	"requirements*.txt",
	"constraints*.txt",
	"environment.yml",
	"environment.yaml",
	"conda.yaml", // MLproject's usual conda_env file
	"conda.yml",
	"python_env.yaml", // MLproject's python_env file
	// Go
	"go.sum",
	// JavaScript
	"package-lock.json",
	"npm-shrinkwrap.json",
	"yarn.lock",
	"pnpm-lock.yaml",
	"bun.lock",
	// Rust
	"Cargo.lock",
	// R
	"renv.lock",
	// Ruby
	"Gemfile.lock",
	// PHP
	"composer.lock",
	// Julia
	"Manifest.toml",
	// Elixir
	"mix.lock",
	// Nix
	"flake.lock",
}

// Lockfile is a dependency lockfile found in a project.
type Lockfile struct {
	Path   string // relative to the project dir
	SHA256 string // hex sha256 of the content
}

// lockfileRank returns the position of name's pattern in lockfileNames, or
// -1 when name is not a lockfile.
func lockfileRank(name string) int {
	for i, pattern := range lockfileNames {
		if ok, _ := filepath.Match(pattern, name); ok {
			return i
		}
	}
	return -1
}

// FindLockfiles returns the lockfiles directly in dir (not in
// subdirectories), sorted by path, with their sha256. The names recognised
// are: conda-lock.yml, pixi.lock, uv.lock, poetry.lock, pdm.lock,
// Pipfile.lock, requirements*.txt, constraints*.txt, environment.yml,
// environment.yaml, conda.yaml, conda.yml, python_env.yaml, go.sum,
// package-lock.json, npm-shrinkwrap.json, yarn.lock, pnpm-lock.yaml,
// bun.lock, Cargo.lock, renv.lock, Gemfile.lock, composer.lock,
// Manifest.toml, mix.lock and flake.lock. Only regular files (or symlinks
// to them) count.
func FindLockfiles(dir string) ([]Lockfile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("find lockfiles in %s: %w", dir, err)
	}
	var out []Lockfile
	for _, e := range entries {
		if lockfileRank(e.Name()) < 0 {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue // a dangling symlink or a directory: not a lockfile
		}
		sum, err := HashFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, Lockfile{Path: e.Name(), SHA256: sum})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// primaryLockfile returns the lockfile whose name ranks first in
// lockfileNames (ties broken by path).
func primaryLockfile(locks []Lockfile) Lockfile {
	best, bestRank := locks[0], lockfileRank(filepath.Base(locks[0].Path))
	for _, l := range locks[1:] {
		r := lockfileRank(filepath.Base(l.Path))
		if (r >= 0 && (bestRank < 0 || r < bestRank)) || (r == bestRank && l.Path < best.Path) {
			best, bestRank = l, r
		}
	}
	return best
}

// lockfilePaths joins the lockfile paths with commas, in path order.
func lockfilePaths(locks []Lockfile) string {
	paths := make([]string, len(locks))
	for i, l := range locks {
		paths[i] = l.Path
	}
	sort.Strings(paths)
	return strings.Join(paths, ",")
}

// HashFile returns the hex sha256 of a file's content, read as a stream.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

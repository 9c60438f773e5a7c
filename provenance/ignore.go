package provenance

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing/format/config"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// basePatterns returns the ignore patterns that apply to the whole working
// tree, lowest priority first: the excludes file (core.excludesFile from the
// repository, global or system config, in git's order of precedence, else
// $XDG_CONFIG_HOME/git/ignore), then .git/info/exclude, then the caller's
// extra patterns. localExcludes is core.excludesFile from the repository's
// own config.
func (s *scanner) basePatterns(localExcludes string) ([]gitignore.Pattern, error) {
	excludes := localExcludes
	if excludes == "" {
		excludes = configuredExcludesFile()
	}
	var patterns []gitignore.Pattern
	if excludes != "" {
		ps, err := readIgnoreFile(expandHome(excludes), nil)
		if err != nil {
			return nil, err
		}
		patterns = append(patterns, ps...)
	}
	if fs, ok := s.repo.Storer.(*filesystem.Storage); ok {
		f, err := fs.Filesystem().Open(fs.Filesystem().Join("info", "exclude"))
		if err == nil {
			ps, err := parseIgnore(f, nil)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("read .git/info/exclude of %s: %w", s.root, err)
			}
			patterns = append(patterns, ps...)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open .git/info/exclude of %s: %w", s.root, err)
		}
	}
	extra, err := parseIgnore(strings.NewReader(strings.Join(s.extraIgnores, "\n")), nil)
	if err != nil {
		return nil, fmt.Errorf("parse extra ignore patterns: %w", err)
	}
	return append(patterns, extra...), nil
}

// configuredExcludesFile returns core.excludesFile as git would read it from
// the global and system config files (GIT_CONFIG_GLOBAL, GIT_CONFIG_SYSTEM
// and GIT_CONFIG_NOSYSTEM are honoured), else the default global ignore file.
func configuredExcludesFile() string {
	var files []string // lowest precedence first
	if os.Getenv("GIT_CONFIG_NOSYSTEM") == "" {
		if f := os.Getenv("GIT_CONFIG_SYSTEM"); f != "" {
			files = append(files, f)
		} else {
			files = append(files, "/etc/gitconfig")
		}
	}
	xdg := os.Getenv("XDG_CONFIG_HOME")
	home, _ := os.UserHomeDir()
	if xdg == "" && home != "" {
		xdg = filepath.Join(home, ".config")
	}
	if f, ok := os.LookupEnv("GIT_CONFIG_GLOBAL"); ok {
		files = append(files, f)
	} else {
		if xdg != "" {
			files = append(files, filepath.Join(xdg, "git", "config"))
		}
		if home != "" {
			files = append(files, filepath.Join(home, ".gitconfig"))
		}
	}
	value := ""
	for _, f := range files {
		if v := excludesFileIn(f); v != "" {
			value = v
		}
	}
	if value == "" && xdg != "" {
		value = filepath.Join(xdg, "git", "ignore")
	}
	return value
}

// excludesFileIn returns core.excludesFile from one config file, "" when the
// file is missing, unreadable or does not set it.
func excludesFileIn(file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	cfg := config.New()
	if err := config.NewDecoder(bytes.NewReader(b)).Decode(cfg); err != nil {
		return ""
	}
	return cfg.Section("core").Option("excludesfile")
}

// expandHome replaces a leading "~/" with the user's home directory.
func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// readIgnoreFile reads the patterns of a gitignore-format file whose
// patterns are relative to domain (the path components of its directory).
// A missing file has no patterns.
func readIgnoreFile(file string, domain []string) ([]gitignore.Pattern, error) {
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open ignore file %s: %w", file, err)
	}
	defer f.Close()
	ps, err := parseIgnore(f, domain)
	if err != nil {
		return nil, fmt.Errorf("read ignore file %s: %w", file, err)
	}
	return ps, nil
}

// parseIgnore parses gitignore lines, skipping blanks and comments.
func parseIgnore(r io.Reader, domain []string) ([]gitignore.Pattern, error) {
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		if strings.HasPrefix(line, `\#`) {
			line = line[1:]
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps, sc.Err()
}

// untracked walks the working tree and returns the files (and symlinks)
// that are neither tracked nor ignored, as slash-separated relative paths.
// Ignored directories, nested repositories and .git are not entered.
//
// Unless s.legacy, the top-level directories are walked by up to
// maxWalkers goroutines (the walk is mostly system calls); the result,
// including which error is returned, is that of a sequential walk.
func (s *scanner) untracked(ctx context.Context, base []gitignore.Pattern, tracked map[string]bool) ([]string, error) {
	root := &walker{s: s, tracked: tracked, stats: s.stats}
	workers := min(runtime.GOMAXPROCS(0), maxWalkers)
	if s.legacy || workers < 2 {
		err := root.walkDir(ctx, nil, "", nil, base)
		return root.out, err
	}
	root.queue = true
	err := root.walkDir(ctx, nil, "", nil, base)
	if root.rootDir != nil {
		defer root.rootDir.close()
	}
	if err != nil {
		return nil, err
	}
	// Each job's results are kept apart so that the first error in walk
	// order is the one returned, as a sequential walk would.
	jobs := root.jobs
	done := make([]*walker, len(jobs))
	errs := make([]error, len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(len(jobs), workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				j := jobs[i]
				w := &walker{s: s, tracked: tracked, stats: make(map[string]fileStat), buf: buf}
				errs[i] = w.walkDir(ctx, root.rootDir, j.rel, j.comps, j.patterns)
				buf, w.buf = w.buf, nil
				done[i] = w
			}
		}()
	}
	wg.Wait()
	out := root.out
	for i, w := range done {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, w.out...)
		for p, st := range w.stats {
			s.stats[p] = st
		}
	}
	return out, nil
}

// maxWalkers bounds the goroutines of the untracked-file walk.
const maxWalkers = 4

// walker is one goroutine's share of the untracked-file walk.
type walker struct {
	s       *scanner
	tracked map[string]bool
	out     []string            // untracked files found
	stats   map[string]fileStat // stat data of the files listed
	buf     []byte              // for directory entries
	// queue, at the root of a parallel walk, makes walkDir queue the
	// top-level directories in jobs rather than enter them, keeping the
	// root open in rootDir.
	queue   bool
	jobs    []walkJob
	rootDir *dirHandle
}

// walkJob is a directory left for another walker.
type walkJob struct {
	rel      string
	comps    []string
	patterns []gitignore.Pattern
}

// dirEntry is an entry of a working tree directory.
type dirEntry struct {
	name  string
	isDir bool // a directory, not a symlink to one
}

// walkDir lists the untracked files under rel (comps are its path
// components; parent is the open directory holding it, nil for the root)
// into w.out. Unless s.legacy, it also records in w.stats the stat data of
// the tracked and untracked files it lists, looked up relative to the open
// directory, and it reads a .gitignore or recognises a nested repository
// from the directory's entries rather than by opening or stat'ing names
// that are usually absent.
func (w *walker) walkDir(ctx context.Context, parent *dirHandle, rel string, comps []string, patterns []gitignore.Pattern) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := w.s
	dir := filepath.Join(s.root, filepath.FromSlash(rel))
	var entries []dirEntry
	var d *dirHandle
	var err error
	if s.legacy {
		if patterns, err = withIgnoreFile(dir, comps, patterns); err != nil {
			return err
		}
		des, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("list %s: %w", dir, err)
		}
		for _, de := range des {
			entries = append(entries, dirEntry{name: de.Name(), isDir: de.IsDir()})
		}
	} else {
		name := ""
		if len(comps) > 0 {
			name = comps[len(comps)-1]
		}
		if d, err = openDir(parent, name, dir); err != nil {
			if rel != "" {
				if _, e := os.Lstat(filepath.Join(dir, ".git")); e == nil {
					return nil // a nested repository: not part of this one
				}
			}
			return fmt.Errorf("list %s: %w", dir, err)
		}
		if w.queue && rel == "" {
			w.rootDir = d // closed by untracked once the jobs are done
		} else {
			defer d.close()
		}
		if entries, err = d.entries(&w.buf); err != nil {
			return fmt.Errorf("list %s: %w", dir, err)
		}
		if rel != "" && hasEntry(entries, ".git") {
			return nil // a nested repository: not part of this one
		}
		if hasEntry(entries, ".gitignore") {
			if patterns, err = withIgnoreFile(dir, comps, patterns); err != nil {
				return err
			}
		}
	}
	matcher := gitignore.NewMatcher(patterns)
	var statNamesList, statPaths []string
	if d != nil {
		statNamesList = make([]string, 0, len(entries))
		statPaths = make([]string, 0, len(entries))
	}
	for _, de := range entries {
		name := de.name
		if name == ".git" {
			continue
		}
		// Entry names hold no "/" and are never "." or "..": no need to clean.
		p := name
		if rel != "" {
			p = rel + "/" + name
		}
		if !de.isDir && w.tracked[p] {
			if d != nil {
				statNamesList = append(statNamesList, name)
				statPaths = append(statPaths, p)
			}
			continue
		}
		pc := append(comps[:len(comps):len(comps)], name)
		if de.isDir {
			if s.gitlinks[p] || matcher.Match(pc, true) {
				continue // a submodule (tracked as a gitlink) or an ignored directory
			}
			if s.legacy {
				if _, err := os.Lstat(filepath.Join(dir, name, ".git")); err == nil {
					continue // a nested repository: not part of this one
				}
			}
			if w.queue && rel == "" {
				w.jobs = append(w.jobs, walkJob{rel: p, comps: pc, patterns: patterns})
				continue
			}
			if err := w.walkDir(ctx, d, p, pc, patterns); err != nil {
				return err
			}
			continue
		}
		if matcher.Match(pc, false) {
			continue
		}
		w.out = append(w.out, p)
		if d != nil {
			statNamesList = append(statNamesList, name)
			statPaths = append(statPaths, p)
		}
	}
	if len(statNamesList) > 0 {
		d.stat(statNamesList, func(i int, st fileStat) { w.stats[statPaths[i]] = st })
	}
	return nil
}

// withIgnoreFile returns patterns followed by those of dir's .gitignore,
// if any (comps are dir's path components).
func withIgnoreFile(dir string, comps []string, patterns []gitignore.Pattern) ([]gitignore.Pattern, error) {
	local, err := readIgnoreFile(filepath.Join(dir, ".gitignore"), comps)
	if err != nil {
		return nil, err
	}
	if len(local) == 0 {
		return patterns, nil
	}
	// Copy so that sibling directories do not share the appended tail.
	return append(append([]gitignore.Pattern(nil), patterns...), local...), nil
}

// hasEntry reports whether sorted entries include name.
func hasEntry(entries []dirEntry, name string) bool {
	_, found := slices.BinarySearchFunc(entries, name, func(e dirEntry, n string) int { return strings.Compare(e.name, n) })
	return found
}

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
	"slices"
	"strings"

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
// Ignored directories, nested repositories and .git are not entered. This
// is the plain walk (see changes); changesFast has its own.
func (s *scanner) untracked(ctx context.Context, base []gitignore.Pattern, tracked map[string]bool) ([]string, error) {
	w := &walker{s: s, tracked: tracked}
	err := w.walkDir(ctx, "", nil, base)
	return w.out, err
}

// walker is the state of the plain untracked-file walk.
type walker struct {
	s       *scanner
	tracked map[string]bool
	out     []string // untracked files found
}

// dirEntry is an entry of a working tree directory.
type dirEntry struct {
	name  string
	isDir bool // a directory, not a symlink to one
}

// walkDir lists the untracked files under rel (comps are its path
// components) into w.out.
func (w *walker) walkDir(ctx context.Context, rel string, comps []string, patterns []gitignore.Pattern) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := w.s
	dir := filepath.Join(s.root, filepath.FromSlash(rel))
	patterns, err := withIgnoreFile(dir, comps, patterns)
	if err != nil {
		return err
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	matcher := gitignore.NewMatcher(patterns)
	for _, de := range des {
		name := de.Name()
		if name == ".git" {
			continue
		}
		// Entry names hold no "/" and are never "." or "..": no need to clean.
		p := name
		if rel != "" {
			p = rel + "/" + name
		}
		if !de.IsDir() && w.tracked[p] {
			continue
		}
		pc := append(comps[:len(comps):len(comps)], name)
		if de.IsDir() {
			if s.gitlinks[p] || matcher.Match(pc, true) {
				continue // a submodule (tracked as a gitlink) or an ignored directory
			}
			if _, err := os.Lstat(filepath.Join(dir, name, ".git")); err == nil {
				continue // a nested repository: not part of this one
			}
			if err := w.walkDir(ctx, p, pc, patterns); err != nil {
				return err
			}
			continue
		}
		if matcher.Match(pc, false) {
			continue
		}
		w.out = append(w.out, p)
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

package provenance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// indexSorted reports whether the index entries are in git's order (by
// path bytes, then by stage), and whether no path appears twice (no
// conflict stages). The fast scan relies on the order to find the entries
// under a directory by binary search, instead of building maps.
func indexSorted(entries []*index.Entry) (sorted, unique bool) {
	unique = true
	for i := 1; i < len(entries); i++ {
		a, b := entries[i-1], entries[i]
		switch c := strings.Compare(a.Name, b.Name); {
		case c > 0:
			return false, false
		case c == 0:
			if a.Stage >= b.Stage {
				return false, false
			}
			unique = false
		}
	}
	return true, unique
}

// headVersion returns the HEAD version of the path of index entry e.
func (s *scanner) headVersion(e *index.Entry) version {
	if s.headIsIndex {
		return version{mode: normalMode(e.Mode), hash: e.Hash}
	}
	return s.head[e.Name]
}

// headOf returns the HEAD version of a path that is not in the index.
func (s *scanner) headOf(p string) version {
	if s.headIsIndex {
		return version{} // HEAD holds exactly the index's paths
	}
	return s.head[p]
}

// changesFast is changes without maps keyed by path: the index is sorted,
// so the walk finds each file's index entry by binary search within its
// directory's range of entries, and keeps stat data by entry position. It
// returns ok false, and the caller uses changes, when the index is not
// sorted as git writes it.
func (s *scanner) changesFast(ctx context.Context, excludesFile string) (out []change, staged, ok bool, err error) {
	entries := s.idx.Entries
	if sorted, _ := indexSorted(entries); !sorted {
		return nil, false, false, nil
	}
	inHead := 0 // distinct index paths that HEAD has
	var check []int
	for i, e := range entries {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, false, true, ctx.Err()
		}
		if i > 0 && entries[i-1].Name == e.Name {
			continue // a conflicted path has several stages; look at it once
		}
		h := s.headVersion(e)
		if h.exists() {
			inHead++
		}
		// Unconflicted entries are stage 0 (go-git's index.Merged is 1).
		if e.Stage != 0 || !h.exists() || h.hash != e.Hash || h.mode != normalMode(e.Mode) || e.IntentToAdd {
			staged = true
		}
		if e.Mode == filemode.Submodule || e.SkipWorktree {
			continue
		}
		check = append(check, i)
	}
	// HEAD paths no longer in the index ("git rm --cached"): staged.
	headOnly := !s.headIsIndex && inHead < len(s.head)
	if headOnly {
		staged = true
	}

	base, err := s.basePatterns(excludesFile)
	if err != nil {
		return nil, false, true, err
	}
	w := &fastWalker{s: s, entries: entries, stats: make([]fileStat, len(entries)), statted: make([]bool, len(entries))}
	if err := w.walk(ctx, nil, "", nil, base, 0, len(entries)); err != nil {
		return nil, false, true, err
	}

	for n, i := range check {
		if n%256 == 0 && ctx.Err() != nil {
			return nil, false, true, ctx.Err()
		}
		e := entries[i]
		h := s.headVersion(e)
		var st *fileStat
		if w.statted[i] {
			st = &w.stats[i]
		}
		v, err := s.worktreeVersionOf(e.Name, e, h, st, true)
		if err != nil {
			return nil, false, true, err
		}
		if v != h {
			out = append(out, change{path: e.Name, old: h, new: v})
		}
	}
	for k, p := range w.out {
		h := s.headOf(p)
		var st *fileStat
		if w.outOK[k] {
			st = &w.outStats[k]
		}
		// A new file needs no hash to be known as changed: writeDiff hashes it.
		v, err := s.worktreeVersionOf(p, nil, h, st, h.exists())
		if err != nil {
			return nil, false, true, err
		}
		if v != h {
			out = append(out, change{path: p, old: h, new: v})
		}
	}
	// HEAD paths neither in the index nor in the working tree are deleted.
	if headOnly {
		seen := make(map[string]bool, len(w.out))
		for _, p := range w.out {
			seen[p] = true
		}
		for p, h := range s.head {
			if !inIndex(entries, p) && !seen[p] && h.mode != filemode.Submodule {
				out = append(out, change{path: p, old: h})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, staged, true, nil
}

// inIndex reports whether sorted entries hold path p.
func inIndex(entries []*index.Entry, p string) bool {
	i := sort.Search(len(entries), func(i int) bool { return entries[i].Name >= p })
	return i < len(entries) && entries[i].Name == p
}

// fastWalker finds the untracked files of a working tree and the stat data
// of the files it lists (see changesFast).
type fastWalker struct {
	s       *scanner
	entries []*index.Entry // the index, sorted
	stats   []fileStat     // by index entry position
	statted []bool         // whether stats[i] was recorded
	// out are the untracked files found, with their stat data when
	// outOK.
	out      []string
	outStats []fileStat
	outOK    []bool
	buf      []byte // for directory entries
}

// walk lists the untracked files under rel (comps are its path components;
// parent is the open directory holding it, nil for the root), whose index
// entries are entries[lo:hi]. Ignored directories, nested repositories, .git
// and submodules are not entered. It records the stat data of the files it
// lists, tracked or untracked, looked up relative to the open directory.
func (w *fastWalker) walk(ctx context.Context, parent *dirHandle, rel string, comps []string,
	patterns []gitignore.Pattern, lo, hi int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := w.s
	dir := s.root
	name := ""
	if rel != "" {
		dir = filepath.Join(s.root, filepath.FromSlash(rel))
		name = comps[len(comps)-1]
	}
	d, err := openDir(parent, name, dir)
	if err != nil {
		if rel != "" {
			if _, e := os.Lstat(filepath.Join(dir, ".git")); e == nil {
				return nil // a nested repository: not part of this one
			}
		}
		return fmt.Errorf("list %s: %w", dir, err)
	}
	defer d.close()
	list, err := d.entries(&w.buf)
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	if rel != "" && hasEntry(list, ".git") {
		return nil // a nested repository: not part of this one
	}
	if hasEntry(list, ".gitignore") {
		if patterns, err = withIgnoreFile(dir, comps, patterns); err != nil {
			return err
		}
	}
	var matcher gitignore.Matcher // made when first needed
	match := func(pc []string, isDir bool) bool {
		if matcher == nil {
			matcher = gitignore.NewMatcher(patterns)
		}
		return matcher.Match(pc, isDir)
	}
	plen := 0 // entries[lo:hi] all start with rel + "/"
	if rel != "" {
		plen = len(rel) + 1
	}
	entries := w.entries
	j := lo
	for _, de := range list {
		name := de.name
		if name == ".git" {
			continue
		}
		// The first entry at or after name (names come in order, so the
		// search starts where the last one ended).
		j += sort.Search(hi-j, func(k int) bool { return entries[j+k].Name[plen:] >= name })
		exact := j < hi && entries[j].Name[plen:] == name
		if !de.isDir && exact {
			if st, ok := d.statOne(name); ok {
				w.stats[j], w.statted[j] = st, true
			}
			continue
		}
		// Entry names hold no "/" and are never "." or "..": no need to clean.
		p := name
		if rel != "" {
			p = rel + "/" + name
		}
		pc := append(comps[:len(comps):len(comps)], name)
		if de.isDir {
			if exact && entries[j].Mode == filemode.Submodule {
				continue // a submodule (tracked as a gitlink)
			}
			if match(pc, true) {
				continue // an ignored directory
			}
			// The entries under p: after name itself and any name+"-..."
			// or name+".*", those starting name+"/".
			sub := plen + len(name)
			a := j + sort.Search(hi-j, func(k int) bool { return cmpJoined(entries[j+k].Name[plen:], name, '/') >= 0 })
			b := a + sort.Search(hi-a, func(k int) bool {
				n := entries[a+k].Name
				return len(n) <= sub || n[sub] != '/' || n[plen:sub] != name
			})
			if err := w.walk(ctx, d, p, pc, patterns, a, b); err != nil {
				return err
			}
			continue
		}
		if match(pc, false) {
			continue
		}
		st, ok := d.statOne(name)
		w.out = append(w.out, p)
		w.outStats = append(w.outStats, st)
		w.outOK = append(w.outOK, ok)
	}
	return nil
}

// cmpJoined compares s with name+string(c) without building the latter.
func cmpJoined(s, name string, c byte) int {
	if len(s) <= len(name) {
		if r := strings.Compare(s, name); r != 0 {
			return r
		}
		return -1 // s == name, shorter than name+c
	}
	if r := strings.Compare(s[:len(name)], name); r != 0 {
		return r
	}
	switch {
	case s[len(name)] < c:
		return -1
	case s[len(name)] > c:
		return 1
	case len(s) == len(name)+1:
		return 0
	}
	return 1
}

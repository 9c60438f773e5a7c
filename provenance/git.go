// Package provenance captures where a run came from: the state of the git
// repository holding the project (commit, branch, remote, and a diff of any
// uncommitted work), the dependency lockfiles beside it, the mlrun build
// that ran it (itself a lockfile, see BuildLockfile), and the machine. Tags
// turns these facts into run tags, using MLflow's system tag keys where
// MLflow has them.
package provenance

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// ErrNotRepo is returned (wrapped; test with errors.Is) by InspectGit when
// the directory is not inside a git repository with a working tree.
var ErrNotRepo = errors.New("not inside a git repository")

// Git is the state of the git repository holding a directory.
type Git struct {
	Root      string // repository top level (absolute)
	Commit    string // HEAD sha (40 hex); "" for a repo with no commits
	Branch    string // short branch name; "" when detached
	RemoteURL string // URL of "origin", else of the first remote; "" if none
	// Dirty is true when tracked files are modified, deleted or staged, or
	// untracked files that are not ignored are present.
	Dirty bool
	// Diff, when Dirty, is a unified diff in git's format ("diff --git a/x
	// b/x", "new file mode"/"deleted file mode" headers, full-length blob
	// hashes on "index" lines, binary files noted but not included) of the
	// working tree against HEAD, including untracked files that are not
	// ignored as new files. Paths are relative to Root. It may be empty
	// when the only change is staged and then undone in the working tree.
	Diff []byte
	// DiffSHA256 is the hex sha256 of Diff when Dirty, else "".
	DiffSHA256 string
}

// InspectGit returns the git state of the repository containing dir, or an
// error wrapping ErrNotRepo when dir is not inside one.
//
// It works like "git status" without running git: a tracked file whose size,
// modification time and mode match its index entry (and that was not
// modified in the same instant the index was written, git's "racy" case) is
// taken as unchanged; any other file is hashed and compared with HEAD.
// Untracked files are found by walking the working tree, skipping ignored
// directories, nested repositories and .git. Ignore rules come from every
// .gitignore met on the way, .git/info/exclude and core.excludesFile (or the
// default $XDG_CONFIG_HOME/git/ignore), matched with go-git's gitignore
// matcher. Not handled: submodule contents (a submodule whose recorded
// commit is staged counts as dirty but has no diff), clean/smudge filters and
// end-of-line conversion (such files may show as modified).
//
// It reads no more than it must: objects (the HEAD commit, the trees not
// known from the index, the blobs a diff needs) are looked up in the pack
// indexes in place rather than through go-git's storage, which decodes
// every pack index whole first; HEAD subtrees whose hash the index's cache
// tree records are taken from the index; the index is decoded from one
// read; and one walk of the working tree, in one goroutine (its CPU time,
// not its latency, is what competes with a run), both finds the untracked
// files and stats the tracked ones, relative to their open directory and
// without maps keyed by path: a directory's index entries are found by
// binary search in the sorted index. Whatever these readers do not handle
// exactly (alternates, other index versions, required index extensions,
// damage, an unsorted index) is left to go-git or to the plain walk, so the
// result is the same.
//
// extraIgnores are further gitignore patterns, relative to the repository
// root, treated as if listed in .git/info/exclude: a caller passes its own
// output directories (for example "/mlruns/") so that earlier runs' files do
// not make the tree dirty. Like all ignore rules they never hide tracked
// files.
func InspectGit(ctx context.Context, dir string, extraIgnores ...string) (*Git, error) {
	return inspectGit(ctx, dir, false, extraIgnores)
}

// inspectGit is InspectGit; legacy turns off the shortcuts (the direct
// object reader, the index parser and the combined stat-and-walk) so that
// tests and benchmarks can compare them with go-git's plain path.
func inspectGit(ctx context.Context, dir string, legacy bool, extraIgnores []string) (*Git, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("inspect git at %s: %w", dir, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("inspect git at %s: %w", dir, err)
	}
	repo, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("%s: %w", abs, ErrNotRepo)
	}
	if err != nil {
		return nil, fmt.Errorf("open git repository at %s: %w", abs, err)
	}
	wt, err := repo.Worktree()
	if errors.Is(err, git.ErrIsBareRepository) {
		return nil, fmt.Errorf("%s is inside a bare repository: %w", abs, ErrNotRepo)
	}
	if err != nil {
		return nil, fmt.Errorf("open git worktree at %s: %w", abs, err)
	}
	g := &Git{Root: wt.Filesystem.Root()}

	// Branch: the target of a symbolic HEAD, which exists even before the
	// first commit. A detached HEAD holds a hash instead.
	headRef, err := repo.Storer.Reference(plumbing.HEAD)
	if err != nil {
		return nil, fmt.Errorf("read HEAD of %s: %w", g.Root, err)
	}
	if headRef.Type() == plumbing.SymbolicReference && headRef.Target().IsBranch() {
		g.Branch = headRef.Target().Short()
	}

	// Objects are read directly from the packs when possible (see
	// objectReader), else by go-git.
	var objects storer.EncodedObjectStorer = repo.Storer
	var fast *objectReader
	fsStorage, isFS := repo.Storer.(*filesystem.Storage)
	if isFS && !legacy {
		fast = &objectReader{fs: fsStorage.Filesystem(), bulkNames: 4096}
		defer fast.close()
		objects = fastStore{EncodedObjectStorer: repo.Storer, r: fast}
	}

	var headTree *object.Tree
	var head *plumbing.Reference
	if legacy {
		head, err = repo.Head()
	} else {
		head, err = resolveRef(repo.Storer, headRef) // without reading HEAD again
	}
	switch {
	case errors.Is(err, plumbing.ErrReferenceNotFound):
		// No commits yet: everything present is new.
	case err != nil:
		return nil, fmt.Errorf("resolve HEAD of %s: %w", g.Root, err)
	default:
		g.Commit = head.Hash().String()
		commit, err := object.GetCommit(objects, head.Hash())
		if err != nil {
			return nil, fmt.Errorf("read HEAD commit %s of %s: %w", g.Commit, g.Root, err)
		}
		if headTree, err = commit.Tree(); err != nil {
			return nil, fmt.Errorf("read tree of HEAD commit %s of %s: %w", g.Commit, g.Root, err)
		}
	}

	cfg, err := repo.Config()
	if err != nil {
		return nil, fmt.Errorf("read git config of %s: %w", g.Root, err)
	}
	g.RemoteURL = remoteURL(cfg.Remotes)

	var idx *index.Index
	var cacheTree []cacheNode
	decoded := false
	if isFS && !legacy {
		idx, cacheTree, decoded = readIndex(fsStorage.Filesystem())
	}
	if !decoded {
		if idx, err = repo.Storer.Index(); err != nil {
			return nil, fmt.Errorf("read git index of %s: %w", g.Root, err)
		}
	}
	trustMode := cfg.Raw.Section("core").Option("filemode") != "false"
	st := &scanner{repo: repo, root: g.Root, idx: idx, cacheTree: cacheTree, trustMode: trustMode, objects: repo.Storer,
		trees: objects, fast: fast, legacy: legacy, extraIgnores: extraIgnores}
	if isFS {
		// The same object database, but blobs over 1 MiB are read as streams.
		st.objects = filesystem.NewStorageWithOptions(fsStorage.Filesystem(), cache.NewObjectLRUDefault(),
			filesystem.Options{LargeObjectThreshold: 1 << 20})
	}
	if err := st.loadHead(ctx, headTree); err != nil {
		return nil, err
	}
	excludes := cfg.Raw.Section("core").Option("excludesfile")
	var changes []change
	var staged, done bool
	if !legacy {
		if changes, staged, done, err = st.changesFast(ctx, excludes); err != nil {
			return nil, err
		}
	}
	if !done {
		if changes, staged, err = st.changes(ctx, excludes); err != nil {
			return nil, err
		}
	}
	g.Dirty = staged || len(changes) > 0
	if g.Dirty {
		diff, err := st.writeDiff(ctx, changes)
		if err != nil {
			return nil, err
		}
		g.Diff = diff
		sum := sha256.Sum256(diff)
		g.DiffSHA256 = hex.EncodeToString(sum[:])
	}
	return g, nil
}

// resolveRef follows r through symbolic references as go-git's
// Repository.Head follows HEAD, starting from HEAD already read.
func resolveRef(s storer.ReferenceStorer, r *plumbing.Reference) (*plumbing.Reference, error) {
	for recursion := 0; r.Type() == plumbing.SymbolicReference; recursion++ {
		if recursion > storer.MaxResolveRecursion {
			return nil, storer.ErrMaxResolveRecursion
		}
		t, err := s.Reference(r.Target())
		if err != nil {
			return nil, err
		}
		if t == nil {
			return nil, plumbing.ErrReferenceNotFound
		}
		r = t
	}
	return r, nil
}

// remoteURL returns the first URL of "origin", else of the first remote by
// name, with any credentials removed from http(s) URLs.
func remoteURL(remotes map[string]*config.RemoteConfig) string {
	names := make([]string, 0, len(remotes))
	for name := range remotes {
		names = append(names, name)
	}
	sort.Strings(names)
	if _, ok := remotes["origin"]; ok {
		names = append([]string{"origin"}, names...)
	}
	for _, name := range names {
		if urls := remotes[name].URLs; len(urls) > 0 {
			return redactURL(urls[0])
		}
	}
	return ""
}

// redactURL removes the user information (which may hold a token) from a
// URL with a scheme; scp-like "git@host:path" addresses are kept as they are.
func redactURL(raw string) string {
	if !strings.Contains(raw, "://") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if u.Scheme == "ssh" {
		if _, hasPassword := u.User.Password(); !hasPassword {
			return raw
		}
		u.User = url.User(u.User.Username())
		return u.String()
	}
	u.User = nil
	return u.String()
}

// version is one side of a change: a blob and its mode. A zero mode means
// the path does not exist on that side. The hash of an untracked file is
// left zero by the scan and filled in when the diff is written.
type version struct {
	mode filemode.FileMode
	hash plumbing.Hash
}

func (v version) exists() bool { return v.mode != filemode.Empty }

// change is a path whose working tree content or mode differs from HEAD.
type change struct {
	path     string
	old, new version
}

// scanner compares a working tree with its index and HEAD.
type scanner struct {
	repo      *git.Repository
	root      string
	idx       *index.Index
	cacheTree []cacheNode                // the index's whole cache tree, when readIndex decoded it
	trustMode bool                       // core.fileMode: the executable bit is meaningful
	head      map[string]version         // HEAD tree: path -> blob (files, symlinks, gitlinks)
	objects   storer.EncodedObjectStorer // reads large blobs lazily
	gitlinks  map[string]bool            // paths of submodules in the index
	trees     storer.EncodedObjectStorer // the storer HEAD's trees were read from
	fast      *objectReader              // reads objects directly; nil to use objects only
	legacy    bool                       // no shortcuts (see inspectGit)
	// extraIgnores are the caller's ignore patterns (see InspectGit).
	extraIgnores []string
	// headIsIndex, set by loadHead instead of filling head (unless legacy),
	// says that HEAD holds exactly the index's entries, each once.
	headIsIndex bool
}

// loadHead records every blob of the HEAD tree (nothing when tree is nil).
// When the index's cached tree says the index equals HEAD exactly, the index
// entries are used instead of reading every tree object. Otherwise, a HEAD
// subtree whose hash is that of a valid cache-tree entry holds exactly the
// index entries that cache-tree entry covers, and is not read either (see
// coveredTrees).
func (s *scanner) loadHead(ctx context.Context, tree *object.Tree) error {
	s.head = make(map[string]version)
	if tree == nil {
		return nil
	}
	if c := s.idx.Cache; c != nil && len(c.Entries) > 0 && c.Entries[0].Path == "" &&
		c.Entries[0].Hash == tree.Hash && c.Entries[0].Entries == len(s.idx.Entries) {
		if !s.legacy {
			if sorted, unique := indexSorted(s.idx.Entries); sorted && unique {
				s.headIsIndex = true
				return nil
			}
		}
		for _, e := range s.idx.Entries {
			s.head[e.Name] = version{mode: normalMode(e.Mode), hash: e.Hash}
		}
		return nil
	}
	var covered map[plumbing.Hash]coveredDir
	if !s.legacy {
		if covered = s.coveredTrees(tree.Hash); len(covered) > 0 {
			// The same root, read through a storer that gives covered subtrees
			// no entries, so that the walker does not read them.
			t, err := object.GetTree(coverStore{EncodedObjectStorer: s.trees, covered: covered}, tree.Hash)
			if err == nil {
				tree = t
			} else {
				covered = nil
			}
		}
	}
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		name, entry, err := walker.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("walk HEAD tree of %s: %w", s.root, err)
		}
		if entry.Mode == filemode.Dir {
			if c, ok := covered[entry.Hash]; ok {
				for _, e := range s.idx.Entries[c.start:c.end] {
					s.head[name+e.Name[len(c.dir):]] = version{mode: normalMode(e.Mode), hash: e.Hash}
				}
			}
			continue
		}
		s.head[name] = version{mode: normalMode(entry.Mode), hash: entry.Hash}
	}
}

// coveredDir is a directory whose tree a valid cache-tree entry records:
// the index entries start:end are the files under dir, all of them.
type coveredDir struct {
	dir        string
	start, end int
}

// coveredTrees returns, by tree hash, the directories other than the root
// that the cache tree records as valid, after checking that each covers
// the number of index entries it claims and that these are plain (stage 0,
// not intent-to-add) entries, as git guarantees. A tree with such a hash,
// wherever it is in HEAD, holds exactly those entries (relative to dir).
func (s *scanner) coveredTrees(root plumbing.Hash) map[plumbing.Hash]coveredDir {
	paths := cacheTreePaths(s.cacheTree)
	if len(paths) == 0 {
		return nil
	}
	entries := s.idx.Entries
	out := make(map[plumbing.Hash]coveredDir)
	for _, p := range paths {
		if p.path == "" || p.node.entries < 0 || p.node.hash == root {
			continue
		}
		if _, ok := out[p.node.hash]; ok {
			continue
		}
		prefix := p.path + "/"
		start := sort.Search(len(entries), func(i int) bool { return entries[i].Name >= prefix })
		end := start
		for end < len(entries) && strings.HasPrefix(entries[end].Name, prefix) {
			if e := entries[end]; e.Stage != 0 || e.IntentToAdd {
				break
			}
			end++
		}
		if end-start != p.node.entries || (end < len(entries) && strings.HasPrefix(entries[end].Name, prefix)) {
			continue
		}
		out[p.node.hash] = coveredDir{dir: p.path, start: start, end: end}
	}
	return out
}

// cachePath is a cache-tree entry with its directory's path.
type cachePath struct {
	path string
	node cacheNode
}

// cacheTreePaths gives each cache-tree entry its path: the entries are in
// pre-order, each followed by its subtrees. It returns nil when they do not
// form one tree.
func cacheTreePaths(nodes []cacheNode) []cachePath {
	if len(nodes) == 0 || nodes[0].name != "" {
		return nil
	}
	out := make([]cachePath, 0, len(nodes))
	var walk func(i int, prefix string) int
	walk = func(i int, prefix string) int {
		if i >= len(nodes) {
			return -1
		}
		n := nodes[i]
		p := n.name
		if prefix != "" {
			p = prefix + "/" + n.name
		}
		if i > 0 && (n.name == "" || strings.Contains(n.name, "/")) {
			return -1
		}
		out = append(out, cachePath{path: p, node: n})
		j := i + 1
		for k := 0; k < n.trees; k++ {
			if j = walk(j, p); j < 0 {
				return -1
			}
		}
		return j
	}
	if walk(0, "") != len(nodes) {
		return nil
	}
	return out
}

// coverStore serves the trees of covered directories as empty trees, and
// every other object from the wrapped storer.
type coverStore struct {
	storer.EncodedObjectStorer
	covered map[plumbing.Hash]coveredDir
}

// EncodedObject returns object h, an empty tree for a covered one.
func (c coverStore) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	if _, ok := c.covered[h]; ok && (t == plumbing.TreeObject || t == plumbing.AnyObject) {
		return &rawObject{typ: plumbing.TreeObject, hash: h}, nil
	}
	return c.EncodedObjectStorer.EncodedObject(t, h)
}

// normalMode maps the deprecated group-writable mode to a regular file.
func normalMode(m filemode.FileMode) filemode.FileMode {
	if m == filemode.Deprecated {
		return filemode.Regular
	}
	return m
}

// changes lists the paths whose working tree differs from HEAD, sorted by
// path, and reports whether the index differs from HEAD (staged changes).
func (s *scanner) changes(ctx context.Context, excludesFile string) ([]change, bool, error) {
	staged := false
	tracked := make(map[string]bool, len(s.idx.Entries))
	s.gitlinks = make(map[string]bool)
	var check []*index.Entry // entries whose working tree file is compared
	for i, e := range s.idx.Entries {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		if tracked[e.Name] {
			continue // a conflicted path has several stages; look at it once
		}
		tracked[e.Name] = true
		if e.Mode == filemode.Submodule {
			s.gitlinks[e.Name] = true
		}
		h := s.head[e.Name]
		// Unconflicted entries are stage 0 (go-git's index.Merged is 1).
		if e.Stage != 0 || !h.exists() || h.hash != e.Hash || h.mode != normalMode(e.Mode) || e.IntentToAdd {
			staged = true
		}
		if e.Mode == filemode.Submodule || e.SkipWorktree {
			continue
		}
		check = append(check, e)
	}
	// HEAD paths no longer in the index ("git rm --cached"): staged.
	for p := range s.head {
		if !tracked[p] {
			staged = true
			break
		}
	}

	base, err := s.basePatterns(excludesFile)
	if err != nil {
		return nil, false, err
	}
	untracked, err := s.untracked(ctx, base, tracked)
	if err != nil {
		return nil, false, err
	}

	var out []change
	for i, e := range check {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		h := s.head[e.Name]
		w, err := s.worktreeVersion(e.Name, e, true)
		if err != nil {
			return nil, false, err
		}
		if w != h {
			out = append(out, change{path: e.Name, old: h, new: w})
		}
	}
	seen := make(map[string]bool, len(untracked))
	for _, p := range untracked {
		seen[p] = true
		h := s.head[p]
		// A new file needs no hash to be known as changed: writeDiff hashes it.
		w, err := s.worktreeVersion(p, nil, h.exists())
		if err != nil {
			return nil, false, err
		}
		if w != h {
			out = append(out, change{path: p, old: h, new: w})
		}
	}
	// HEAD paths neither in the index nor in the working tree are deleted.
	for p, h := range s.head {
		if !tracked[p] && !seen[p] && h.mode != filemode.Submodule {
			out = append(out, change{path: p, old: h})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, staged, nil
}

// fileStat is what the scan uses of a file's lstat data.
type fileStat struct {
	mode  os.FileMode
	size  int64
	mtime time.Time
}

// statOf returns the fileStat of fi.
func statOf(fi os.FileInfo) fileStat {
	return fileStat{mode: fi.Mode(), size: fi.Size(), mtime: fi.ModTime()}
}

// worktreeVersion is worktreeVersionOf with the HEAD version looked up by
// path and the stat data from os.Lstat.
func (s *scanner) worktreeVersion(rel string, e *index.Entry, needHash bool) (version, error) {
	return s.worktreeVersionOf(rel, e, s.head[rel], nil, needHash)
}

// worktreeVersionOf returns the mode and blob hash of a path in the working
// tree (a zero version when it is missing or is a directory); h is its
// version in HEAD. When e, its index entry, matches the file's stat data
// and is not racy, e's hash is trusted; otherwise the file is hashed,
// unless needHash is false (then the hash is left zero). The stat data is
// st when the walk met the file (non-nil), else from os.Lstat.
func (s *scanner) worktreeVersionOf(rel string, e *index.Entry, h version, st *fileStat, needHash bool) (version, error) {
	var fi fileStat
	if st != nil {
		fi = *st
	} else {
		abs := filepath.Join(s.root, filepath.FromSlash(rel))
		info, err := os.Lstat(abs)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return version{}, nil
		}
		if err != nil {
			return version{}, fmt.Errorf("stat %s: %w", abs, err)
		}
		fi = statOf(info)
	}
	var mode filemode.FileMode
	switch {
	case fi.mode&os.ModeSymlink != 0:
		mode = filemode.Symlink
	case fi.mode.IsRegular():
		mode = filemode.Regular
		if s.trustMode && fi.mode&0o100 != 0 {
			mode = filemode.Executable
		}
		if !s.trustMode {
			if h.mode == filemode.Executable {
				mode = filemode.Executable
			} else if e != nil && e.Mode == filemode.Executable {
				mode = filemode.Executable
			}
		}
	default:
		return version{}, nil // a directory, socket, fifo...: not a file git tracks
	}
	if e != nil && normalMode(e.Mode) == mode && e.Size == uint32(fi.size) &&
		e.ModifiedAt.Equal(fi.mtime) && fi.mtime.Before(s.idx.ModTime) {
		return version{mode: mode, hash: e.Hash}, nil
	}
	if !needHash {
		return version{mode: mode}, nil
	}
	hash, err := hashWorktree(filepath.Join(s.root, filepath.FromSlash(rel)), fi)
	if err != nil {
		return version{}, err
	}
	return version{mode: mode, hash: hash}, nil
}

// hashWorktree returns the git blob hash of a working tree file (the link
// target for a symlink), streaming the content.
func hashWorktree(abs string, fi fileStat) (plumbing.Hash, error) {
	if fi.mode&os.ModeSymlink != 0 {
		target, err := os.Readlink(abs)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("read link %s: %w", abs, err)
		}
		return blobHash([]byte(target)), nil
	}
	f, err := os.Open(abs)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("open %s: %w", abs, err)
	}
	defer f.Close()
	h := blobHasher(fi.size)
	n, err := io.Copy(h, f)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read %s: %w", abs, err)
	}
	if n != fi.size {
		return plumbing.ZeroHash, fmt.Errorf("read %s: file changed size while hashing (%d bytes, then %d)", abs, fi.size, n)
	}
	var sum plumbing.Hash
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// blobHasher returns a SHA-1 primed with the header of a git blob of size
// bytes: writing the content then gives the blob's hash. (crypto/sha1 is
// used rather than go-git's collision-detecting hasher: it is faster, and
// these hashes are only compared, never stored as objects.)
func blobHasher(size int64) hash.Hash {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", size)
	return h
}

// blobHash returns the git blob hash of data.
func blobHash(data []byte) plumbing.Hash {
	h := blobHasher(int64(len(data)))
	h.Write(data)
	var sum plumbing.Hash
	copy(sum[:], h.Sum(nil))
	return sum
}

// readWorktree returns the content of a working tree file (the target of
// a symlink) for a diff; see readForDiff.
func (s *scanner) readWorktree(rel string, mode filemode.FileMode) ([]byte, bool, error) {
	abs := filepath.Join(s.root, filepath.FromSlash(rel))
	if mode == filemode.Symlink {
		target, err := os.Readlink(abs)
		if err != nil {
			return nil, false, fmt.Errorf("read link %s: %w", abs, err)
		}
		return []byte(target), false, nil
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", abs, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("stat %s: %w", abs, err)
	}
	data, binary, err := readForDiff(f, fi.Size())
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", abs, err)
	}
	return data, binary, nil
}

// readBlob returns the content of a blob of the repository for a diff; see
// readForDiff. Large blobs are streamed, so a binary one is not inflated
// whole.
func (s *scanner) readBlob(h plumbing.Hash) ([]byte, bool, error) {
	if s.fast != nil {
		if size, r, err := s.fast.openBlob(h); err == nil {
			data, binary, err := readForDiff(r, size)
			r.Close()
			if err == nil {
				return data, binary, nil
			}
		}
	}
	obj, err := s.objects.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, false, fmt.Errorf("read blob %s of %s: %w", h, s.root, err)
	}
	r, err := obj.Reader()
	if err != nil {
		return nil, false, fmt.Errorf("read blob %s of %s: %w", h, s.root, err)
	}
	defer r.Close()
	data, binary, err := readForDiff(r, obj.Size())
	if err != nil {
		return nil, false, fmt.Errorf("read blob %s of %s: %w", h, s.root, err)
	}
	return data, binary, nil
}

// hashWorktreePath returns the git blob hash of a working tree path.
func (s *scanner) hashWorktreePath(rel string) (plumbing.Hash, error) {
	abs := filepath.Join(s.root, filepath.FromSlash(rel))
	fi, err := os.Lstat(abs)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("stat %s: %w", abs, err)
	}
	return hashWorktree(abs, statOf(fi))
}

package provenance

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing/filemode"

	"github.com/mlrun/mlrun/errs"
)

// filePatch is the parsed patch of one path.
type filePatch struct {
	path             string // slash-separated, relative to the root
	newFile, deleted bool
	oldMode, newMode filemode.FileMode // 0 when the patch does not say
	oldHash, newHash string            // hex, possibly abbreviated; "" when absent
	binary           bool
	hunks            []hunk
}

// hunk is one "@@ -a,b +c,d @@" section of a file patch.
type hunk struct {
	header             string
	oldStart, oldCount int
	newStart, newCount int
	lines              []op
}

// fileState is the content of one path while a diff is being applied.
type fileState struct {
	exists bool
	mode   filemode.FileMode
	data   []byte
}

// ApplyDiff applies a diff produced by InspectGit to a checkout at root
// (normally a clean worktree at Git.Commit), reproducing the dirty tree
// byte for byte: modified, new and deleted files, mode changes, symlinks and
// files without a trailing newline. Hunks must apply exactly at their
// recorded lines (no offset or fuzz), and content is checked against the
// blob hashes on the "index" lines. Nothing is written unless every file
// patch applies; an error names the file and, for a content mismatch, the
// hunk. Binary files, which the diff only notes, cannot be restored unless
// they were deleted.
func ApplyDiff(root string, diff []byte) error {
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return errs.Errorf(errs.NotFound, "cannot apply the diff: %s is not a directory", root)
	}
	patches, err := parsePatch(diff)
	if err != nil {
		return err
	}
	states := make(map[string]*fileState)
	var order []string
	for _, fp := range patches {
		st, ok := states[fp.path]
		if !ok {
			if st, err = readState(root, fp.path); err != nil {
				return err
			}
			states[fp.path] = st
			order = append(order, fp.path)
		}
		if err := applyFilePatch(fp, st); err != nil {
			return err
		}
	}

	// Deletions first, so that a file can turn into a directory.
	sort.Strings(order)
	for _, p := range order {
		if st := states[p]; !st.exists {
			if err := removeFile(root, p); err != nil {
				return err
			}
		}
	}
	for _, p := range order {
		if st := states[p]; st.exists {
			if err := writeFile(root, p, st); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyFilePatch applies one file patch to the in-memory state of its path.
func applyFilePatch(fp filePatch, st *fileState) error {
	switch {
	case fp.newFile && st.exists:
		return errs.Errorf(errs.Conflict, "diff creates %s, but it already exists", fp.path)
	case !fp.newFile && !st.exists:
		return errs.Errorf(errs.Conflict, "diff changes %s, but it does not exist", fp.path)
	}
	if fp.oldMode != 0 && st.exists && fp.oldMode != st.mode {
		return errs.Errorf(errs.Conflict, "diff expects %s to have mode %o, but it has mode %o", fp.path, uint32(fp.oldMode), uint32(st.mode))
	}
	if fp.binary && !fp.deleted {
		return errs.Errorf(errs.Invalid, "diff only notes that binary file %s changed; its content was not captured and cannot be restored", fp.path)
	}
	var data []byte
	if !fp.binary {
		var err error
		if data, err = applyHunks(fp, st.data); err != nil {
			return err
		}
	}
	if fp.oldHash != "" && st.exists && !hashMatches(fp.oldHash, st.data) {
		return errs.Errorf(errs.Conflict, "diff does not apply to %s: its content differs from the version the diff was made from (blob %s)", fp.path, fp.oldHash)
	}
	if fp.deleted {
		if !fp.binary && len(data) != 0 {
			return errs.Errorf(errs.Conflict, "diff deletes %s, but the file holds more than the diff removes", fp.path)
		}
		*st = fileState{}
		return nil
	}
	if fp.newHash != "" && !hashMatches(fp.newHash, data) {
		return errs.Errorf(errs.Conflict, "diff does not reproduce %s: the patched content does not match blob %s", fp.path, fp.newHash)
	}
	st.exists = true
	st.data = data
	if fp.newMode != 0 {
		st.mode = fp.newMode
	}
	return nil
}

// hashMatches reports whether the git blob hash of data starts with the
// (possibly abbreviated) hex hash want. An all-zero hash matches nothing.
func hashMatches(want string, data []byte) bool {
	got := blobHash(data).String()
	return strings.HasPrefix(got, strings.ToLower(want))
}

// applyHunks applies the hunks of fp to data; each must match exactly at
// its recorded line.
func applyHunks(fp filePatch, data []byte) ([]byte, error) {
	lines := splitLines(data)
	var out []string
	pos := 0
	for n, h := range fp.hunks {
		start := h.oldStart - 1
		if h.oldCount == 0 {
			start = h.oldStart
		}
		if start < pos {
			return nil, errs.Errorf(errs.Invalid, "diff of %s: hunk %d (%s) overlaps the hunk before it", fp.path, n+1, h.header)
		}
		if start > len(lines) {
			return nil, errs.Errorf(errs.Conflict, "diff does not apply to %s: hunk %d (%s) starts at line %d, but the file has %d lines", fp.path, n+1, h.header, start+1, len(lines))
		}
		out = append(out, lines[pos:start]...)
		j := start
		for _, o := range h.lines {
			if o.kind != '+' {
				if j >= len(lines) {
					return nil, errs.Errorf(errs.Conflict, "diff does not apply to %s: hunk %d (%s) expects line %d to be %s, but the file has only %d lines", fp.path, n+1, h.header, j+1, showLine(o.line), len(lines))
				}
				if lines[j] != o.line {
					return nil, errs.Errorf(errs.Conflict, "diff does not apply to %s: hunk %d (%s) expects line %d to be %s, but it is %s", fp.path, n+1, h.header, j+1, showLine(o.line), showLine(lines[j]))
				}
				j++
			}
			if o.kind != '-' {
				out = append(out, o.line)
			}
		}
		pos = j
	}
	out = append(out, lines[pos:]...)
	return []byte(strings.Join(out, "")), nil
}

// showLine quotes a line for an error message, shortened when long.
func showLine(l string) string {
	const maxLen = 60
	if len(l) > maxLen {
		return strconv.Quote(l[:maxLen]) + "..."
	}
	return strconv.Quote(l)
}

// readState reads the current content and mode of a path under root.
func readState(root, rel string) (*fileState, error) {
	abs := filepath.Join(root, filepath.FromSlash(rel))
	fi, err := os.Lstat(abs)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return &fileState{}, nil // ENOTDIR: a parent is a file (the diff may delete it)
	}
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", abs, err)
	}
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(abs)
		if err != nil {
			return nil, fmt.Errorf("read link %s: %w", abs, err)
		}
		return &fileState{exists: true, mode: filemode.Symlink, data: []byte(target)}, nil
	case fi.Mode().IsRegular():
		data, err := os.ReadFile(abs)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", abs, err)
		}
		mode := filemode.Regular
		if fi.Mode()&0o100 != 0 {
			mode = filemode.Executable
		}
		return &fileState{exists: true, mode: mode, data: data}, nil
	default:
		return nil, errs.Errorf(errs.Conflict, "diff changes %s, but it is not a regular file", rel)
	}
}

// removeFile deletes a file and then any parent directories it leaves empty.
func removeFile(root, rel string) error {
	abs := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.Remove(abs); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", abs, err)
	}
	for dir := path.Dir(rel); dir != "."; dir = path.Dir(dir) {
		if os.Remove(filepath.Join(root, filepath.FromSlash(dir))) != nil {
			break // not empty (or gone): stop climbing
		}
	}
	return nil
}

// writeFile writes the final state of a path: a symlink or a file with
// mode 0644 or 0755, creating parent directories as needed.
func writeFile(root, rel string, st *fileState) error {
	abs := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return fmt.Errorf("create directory for %s: %w", abs, err)
	}
	if st.mode == filemode.Symlink {
		if err := os.Remove(abs); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("replace %s: %w", abs, err)
		}
		if err := os.Symlink(string(st.data), abs); err != nil {
			return fmt.Errorf("create symlink %s: %w", abs, err)
		}
		return nil
	}
	if fi, err := os.Lstat(abs); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if err := os.Remove(abs); err != nil {
			return fmt.Errorf("replace symlink %s: %w", abs, err)
		}
	}
	perm := os.FileMode(0o644)
	if st.mode == filemode.Executable {
		perm = 0o755
	}
	if err := os.WriteFile(abs, st.data, perm); err != nil {
		return fmt.Errorf("write %s: %w", abs, err)
	}
	if err := os.Chmod(abs, perm); err != nil { // WriteFile keeps an existing file's mode
		return fmt.Errorf("set mode of %s: %w", abs, err)
	}
	return nil
}

// parsePatch parses a git-format diff as InspectGit writes it. Renames,
// copies and binary patch data are not supported.
func parsePatch(diff []byte) ([]filePatch, error) {
	lines := splitLines(diff)
	var patches []filePatch
	i := 0
	for i < len(lines) {
		l := strings.TrimSuffix(lines[i], "\n")
		if strings.TrimSpace(l) == "" {
			i++
			continue
		}
		rest, ok := strings.CutPrefix(l, "diff --git ")
		if !ok {
			return nil, errs.Errorf(errs.Invalid, "diff line %d: expected a \"diff --git\" header, found %s", i+1, showLine(l))
		}
		p, err := parseGitNames(rest)
		if err != nil {
			return nil, errs.Errorf(errs.Invalid, "diff line %d: %v", i+1, err)
		}
		fp := filePatch{path: p}
		i++
		if i, err = parseExtendedHeaders(lines, i, &fp); err != nil {
			return nil, err
		}
		for i < len(lines) && strings.HasPrefix(lines[i], "@@ ") {
			h, next, err := parseHunk(lines, i, fp.path)
			if err != nil {
				return nil, err
			}
			fp.hunks = append(fp.hunks, h)
			i = next
		}
		patches = append(patches, fp)
	}
	return patches, nil
}

// parseExtendedHeaders reads the lines after "diff --git" up to the first
// hunk or the next file, and returns the index of the line after them.
func parseExtendedHeaders(lines []string, i int, fp *filePatch) (int, error) {
	for ; i < len(lines); i++ {
		l := strings.TrimSuffix(lines[i], "\n")
		var err error
		switch {
		case strings.HasPrefix(l, "new file mode "):
			fp.newFile = true
			fp.newMode, err = parseMode(strings.TrimPrefix(l, "new file mode "))
		case strings.HasPrefix(l, "deleted file mode "):
			fp.deleted = true
			fp.oldMode, err = parseMode(strings.TrimPrefix(l, "deleted file mode "))
		case strings.HasPrefix(l, "old mode "):
			fp.oldMode, err = parseMode(strings.TrimPrefix(l, "old mode "))
		case strings.HasPrefix(l, "new mode "):
			fp.newMode, err = parseMode(strings.TrimPrefix(l, "new mode "))
		case strings.HasPrefix(l, "index "):
			err = parseIndexLine(strings.TrimPrefix(l, "index "), fp)
		case strings.HasPrefix(l, "Binary files "):
			fp.binary = true
		case strings.HasPrefix(l, "--- "):
			if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "+++ ") {
				return 0, errs.Errorf(errs.Invalid, "diff line %d: \"---\" for %s is not followed by \"+++\"", i+1, fp.path)
			}
			i++
		case strings.HasPrefix(l, "similarity index "), strings.HasPrefix(l, "rename "),
			strings.HasPrefix(l, "copy "), strings.HasPrefix(l, "GIT binary patch"):
			return 0, errs.Errorf(errs.Invalid, "diff line %d: %s is not supported (renames, copies and binary patches are not written by mlrun)", i+1, showLine(l))
		default:
			return i, nil // a hunk, the next file, or the end
		}
		if err != nil {
			return 0, errs.Errorf(errs.Invalid, "diff line %d: %v", i+1, err)
		}
	}
	return i, nil
}

// parseMode parses an octal git file mode.
func parseMode(s string) (filemode.FileMode, error) {
	m, err := strconv.ParseUint(strings.TrimSpace(s), 8, 32)
	if err != nil {
		return 0, fmt.Errorf("bad file mode %q", s)
	}
	switch fm := filemode.FileMode(m); fm {
	case filemode.Regular, filemode.Executable, filemode.Symlink:
		return fm, nil
	case filemode.Deprecated:
		return filemode.Regular, nil
	default:
		return 0, fmt.Errorf("unsupported file mode %o", m)
	}
}

// parseIndexLine parses "OLD..NEW [MODE]", the part after "index ".
func parseIndexLine(s string, fp *filePatch) error {
	hashes, mode, hasMode := strings.Cut(s, " ")
	oldHash, newHash, ok := strings.Cut(hashes, "..")
	if !ok || !isHex(oldHash) || !isHex(newHash) {
		return fmt.Errorf("bad index line %q", s)
	}
	if strings.Trim(oldHash, "0") != "" {
		fp.oldHash = oldHash
	}
	if strings.Trim(newHash, "0") != "" {
		fp.newHash = newHash
	}
	if hasMode {
		m, err := parseMode(mode)
		if err != nil {
			return err
		}
		fp.oldMode, fp.newMode = m, m
	}
	return nil
}

func isHex(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// parseHunk parses the hunk starting at lines[i] and returns it with the
// index of the line after it.
func parseHunk(lines []string, i int, file string) (hunk, int, error) {
	header := strings.TrimSuffix(lines[i], "\n")
	h := hunk{header: header}
	var err error
	if h.oldStart, h.oldCount, h.newStart, h.newCount, err = parseHunkHeader(header); err != nil {
		return h, 0, errs.Errorf(errs.Invalid, "diff line %d: %s of %s: %v", i+1, showLine(header), file, err)
	}
	i++
	oldLeft, newLeft := h.oldCount, h.newCount
	for oldLeft > 0 || newLeft > 0 {
		if i >= len(lines) {
			return h, 0, errs.Errorf(errs.Invalid, "diff of %s ends inside hunk %s", file, header)
		}
		l := lines[i]
		kind := byte(' ')
		text := "\n" // an empty line: context whose leading space was stripped
		if l != "\n" {
			kind, text = l[0], l[1:]
		}
		switch kind {
		case ' ':
			oldLeft--
			newLeft--
		case '-':
			oldLeft--
		case '+':
			newLeft--
		default:
			return h, 0, errs.Errorf(errs.Invalid, "diff line %d: unexpected %s inside hunk %s of %s", i+1, showLine(l), header, file)
		}
		if oldLeft < 0 || newLeft < 0 {
			return h, 0, errs.Errorf(errs.Invalid, "diff line %d: hunk %s of %s has more lines than its header says", i+1, header, file)
		}
		h.lines = append(h.lines, op{kind, text})
		i++
		if i < len(lines) && strings.HasPrefix(lines[i], `\`) {
			last := &h.lines[len(h.lines)-1]
			last.line = strings.TrimSuffix(last.line, "\n")
			i++
		}
	}
	return h, i, nil
}

// parseHunkHeader parses "@@ -a[,b] +c[,d] @@[ text]".
func parseHunkHeader(l string) (oldStart, oldCount, newStart, newCount int, err error) {
	rest, ok := strings.CutPrefix(l, "@@ -")
	if !ok {
		return 0, 0, 0, 0, errors.New("bad hunk header")
	}
	ranges, _, ok := strings.Cut(rest, " @@")
	if !ok {
		return 0, 0, 0, 0, errors.New("bad hunk header")
	}
	oldRange, newRange, ok := strings.Cut(ranges, " +")
	if !ok {
		return 0, 0, 0, 0, errors.New("bad hunk header")
	}
	if oldStart, oldCount, err = parseRange(oldRange); err != nil {
		return
	}
	newStart, newCount, err = parseRange(newRange)
	return
}

// parseRange parses "start[,count]"; count defaults to 1.
func parseRange(s string) (start, count int, err error) {
	a, b, hasCount := strings.Cut(s, ",")
	if start, err = strconv.Atoi(a); err != nil || start < 0 {
		return 0, 0, fmt.Errorf("bad hunk range %q", s)
	}
	count = 1
	if hasCount {
		if count, err = strconv.Atoi(b); err != nil || count < 0 {
			return 0, 0, fmt.Errorf("bad hunk range %q", s)
		}
	}
	return start, count, nil
}

// parseGitNames extracts the path from the rest of a "diff --git" line,
// "a/PATH b/PATH" with either name possibly C-quoted. Both names must agree.
func parseGitNames(rest string) (string, error) {
	var a, b string
	if strings.HasPrefix(rest, `"`) {
		name, tail, err := unquoteName(rest)
		if err != nil {
			return "", err
		}
		a = name
		tail = strings.TrimPrefix(tail, " ")
		if strings.HasPrefix(tail, `"`) {
			if b, _, err = unquoteName(tail); err != nil {
				return "", err
			}
		} else {
			b = tail
		}
	} else if strings.HasSuffix(rest, `"`) {
		i := strings.Index(rest, ` "`)
		if i < 0 {
			return "", fmt.Errorf("bad file names %q", rest)
		}
		a = rest[:i]
		var err error
		if b, _, err = unquoteName(rest[i+1:]); err != nil {
			return "", err
		}
	} else {
		// "a/X b/X": X has length (len(rest)-5)/2.
		if (len(rest)-5)%2 != 0 || len(rest) < 7 {
			return "", fmt.Errorf("bad file names %q", rest)
		}
		n := (len(rest) - 5) / 2
		a, b = rest[:2+n], rest[3+n:]
		if rest[2+n] != ' ' {
			return "", fmt.Errorf("bad file names %q (renames are not supported)", rest)
		}
	}
	pa, okA := strings.CutPrefix(a, "a/")
	pb, okB := strings.CutPrefix(b, "b/")
	if !okA || !okB || pa != pb {
		return "", fmt.Errorf("bad file names %q (renames are not supported)", rest)
	}
	if err := checkRelPath(pa); err != nil {
		return "", err
	}
	return pa, nil
}

// checkRelPath rejects paths that would write outside the root or into .git.
func checkRelPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p {
		return fmt.Errorf("unsafe path %q", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." || strings.EqualFold(part, ".git") {
			return fmt.Errorf("unsafe path %q", p)
		}
	}
	return nil
}

// unquoteName parses a C-quoted name at the start of s (as quoteName writes
// it) and returns it with the rest of s.
func unquoteName(s string) (string, string, error) {
	var b bytes.Buffer
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), s[i+1:], nil
		case c != '\\':
			b.WriteByte(c)
		case i+1 >= len(s):
			return "", "", fmt.Errorf("bad quoted name %q", s)
		default:
			i++
			switch e := s[i]; e {
			case 'a':
				b.WriteByte('\a')
			case 'b':
				b.WriteByte('\b')
			case 't':
				b.WriteByte('\t')
			case 'n':
				b.WriteByte('\n')
			case 'v':
				b.WriteByte('\v')
			case 'f':
				b.WriteByte('\f')
			case 'r':
				b.WriteByte('\r')
			case '"', '\\':
				b.WriteByte(e)
			default:
				if i+3 > len(s) {
					return "", "", fmt.Errorf("bad quoted name %q", s)
				}
				v, err := strconv.ParseUint(s[i:i+3], 8, 8)
				if err != nil {
					return "", "", fmt.Errorf("bad quoted name %q", s)
				}
				b.WriteByte(byte(v))
				i += 2
			}
		}
	}
	return "", "", fmt.Errorf("bad quoted name %q", s)
}

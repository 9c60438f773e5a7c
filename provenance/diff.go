package provenance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// contextLines is the number of unchanged lines around each hunk, as git.
const contextLines = 3

// binaryProbe is how many leading bytes are searched for a NUL byte to call
// a file binary, as git does.
const binaryProbe = 8000

// maxEditDistance bounds the line diff: past this many inserted plus deleted
// lines, the changed middle of a file is written as one replacement hunk
// (still a correct diff, only not a minimal one).
const maxEditDistance = 2000

// maxTextDiffSize is the largest file whose content goes into the diff;
// larger files are noted like binary files (their blob hashes are kept).
const maxTextDiffSize = 8 << 20

// side is one side of a file patch: the version and, for text, its content.
type side struct {
	version
	data   []byte
	binary bool // binary or too large: the content is not in the diff
}

// writeDiff renders changes (sorted by path) as one git-format patch.
func (s *scanner) writeDiff(ctx context.Context, changes []change) ([]byte, error) {
	var buf bytes.Buffer
	for _, c := range changes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if c.old.mode == filemode.Submodule || c.new.mode == filemode.Submodule {
			continue
		}
		oldSide, newSide := side{version: c.old}, side{version: c.new}
		var err error
		if c.old.exists() {
			if oldSide.data, oldSide.binary, err = s.readBlob(c.old.hash); err != nil {
				return nil, err
			}
		}
		if c.new.exists() {
			if newSide.data, newSide.binary, err = s.readWorktree(c.path, c.new.mode); err != nil {
				return nil, err
			}
			switch {
			case !newSide.binary:
				// Hash what is actually diffed, in case the file changed since it was scanned.
				newSide.hash = blobHash(newSide.data)
			case newSide.hash.IsZero():
				if newSide.hash, err = s.hashWorktreePath(c.path); err != nil {
					return nil, err
				}
			}
		}
		if c.old.exists() && c.new.exists() && (c.old.mode == filemode.Symlink) != (c.new.mode == filemode.Symlink) {
			// A file became a symlink or the reverse: git writes a deletion and a creation.
			writeFilePatch(&buf, c.path, oldSide, side{})
			writeFilePatch(&buf, c.path, side{}, newSide)
			continue
		}
		if oldSide.version == newSide.version {
			continue
		}
		writeFilePatch(&buf, c.path, oldSide, newSide)
	}
	return buf.Bytes(), nil
}

// writeFilePatch writes the patch of one path from old to new (either may
// not exist) in the format of "git diff --full-index".
func writeFilePatch(buf *bytes.Buffer, path string, old, new side) {
	aName, bName := "a/"+path, "b/"+path
	fmt.Fprintf(buf, "diff --git %s %s\n", quoteName(aName), quoteName(bName))
	switch {
	case !old.exists():
		fmt.Fprintf(buf, "new file mode %o\n", uint32(new.mode))
	case !new.exists():
		fmt.Fprintf(buf, "deleted file mode %o\n", uint32(old.mode))
	case old.mode != new.mode:
		fmt.Fprintf(buf, "old mode %o\nnew mode %o\n", uint32(old.mode), uint32(new.mode))
	}
	if old.hash == new.hash && old.exists() && new.exists() {
		return // a mode change only
	}
	fmt.Fprintf(buf, "index %s..%s", old.hash, new.hash)
	if old.exists() && new.exists() && old.mode == new.mode {
		fmt.Fprintf(buf, " %o", uint32(old.mode))
	}
	buf.WriteString("\n")

	if !old.exists() {
		aName = "/dev/null"
	}
	if !new.exists() {
		bName = "/dev/null"
	}
	if old.binary || new.binary {
		fmt.Fprintf(buf, "Binary files %s and %s differ\n", quoteName(aName), quoteName(bName))
		return
	}
	if len(old.data) == 0 && len(new.data) == 0 {
		return // an empty file created or deleted: the header says it all
	}
	fmt.Fprintf(buf, "--- %s\n+++ %s\n", fileLineName(aName, path), fileLineName(bName, path))
	oldLines := splitLines(old.data)
	writeHunks(buf, oldLines, diffLines(oldLines, splitLines(new.data)))
}

// readForDiff reads size bytes from r for a diff. It stops early, with
// binary set, when the content is binary (a NUL byte in its first
// binaryProbe bytes, as git decides) or larger than maxTextDiffSize.
func readForDiff(r io.Reader, size int64) (data []byte, binary bool, err error) {
	if size > maxTextDiffSize {
		return nil, true, nil
	}
	prefix := make([]byte, min(size, binaryProbe))
	if _, err := io.ReadFull(r, prefix); err != nil {
		return nil, false, err
	}
	if isBinary(prefix) {
		return nil, true, nil
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		return nil, false, err
	}
	return append(prefix, rest...), false, nil
}

// isBinary reports whether data looks binary to git: a NUL byte near the start.
func isBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), binaryProbe)], 0) >= 0
}

// quoteName quotes a path as git does when it holds a double quote, a
// backslash, a control character or a non-ASCII byte (core.quotePath).
func quoteName(name string) string {
	needs := false
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			needs = true
			break
		}
	}
	if !needs {
		return name
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\v':
			b.WriteString(`\v`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < 0x20 || c >= 0x7f {
				fmt.Fprintf(&b, `\%03o`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// fileLineName is the name on a "---" or "+++" line: quoted when needed,
// and, unless it is /dev/null, followed by a tab when the path holds a
// space, as git writes it.
func fileLineName(name, path string) string {
	if name != "/dev/null" && strings.Contains(path, " ") {
		return quoteName(name) + "\t"
	}
	return quoteName(name)
}

// splitLines splits data into lines that keep their "\n"; the last line
// lacks it when the data does not end with a newline.
func splitLines(data []byte) []string {
	var lines []string
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, string(data))
			break
		}
		lines = append(lines, string(data[:i+1]))
		data = data[i+1:]
	}
	return lines
}

// op is one line of an edit script: ' ' kept, '-' deleted, '+' inserted.
type op struct {
	kind byte
	line string
}

// diffLines returns an edit script turning a into b: the common prefix and
// suffix are kept, and the middle is diffed with Myers' algorithm.
func diffLines(a, b []string) []op {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ops := make([]op, 0, len(a)+len(b)-pre-suf)
	for _, l := range a[:pre] {
		ops = append(ops, op{' ', l})
	}
	ops = append(ops, myers(a[pre:len(a)-suf], b[pre:len(b)-suf])...)
	for _, l := range a[len(a)-suf:] {
		ops = append(ops, op{' ', l})
	}
	return ops
}

// myers returns a shortest edit script from a to b (E. Myers, "An O(ND)
// Difference Algorithm", 1986), or a plain replacement of all of a by all
// of b when more than maxEditDistance edits would be needed.
func myers(a, b []string) []op {
	replaceAll := func() []op {
		ops := make([]op, 0, len(a)+len(b))
		for _, l := range a {
			ops = append(ops, op{'-', l})
		}
		for _, l := range b {
			ops = append(ops, op{'+', l})
		}
		return ops
	}
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return replaceAll()
	}
	// Compare small integers rather than strings.
	ids := make(map[string]int32, n+m)
	intern := func(lines []string) []int32 {
		out := make([]int32, len(lines))
		for i, l := range lines {
			id, ok := ids[l]
			if !ok {
				id = int32(len(ids))
				ids[l] = id
			}
			out[i] = id
		}
		return out
	}
	ai, bi := intern(a), intern(b)

	limit := min(n+m, maxEditDistance)
	off := limit + 1
	v := make([]int, 2*limit+3) // v[off+k]: furthest x reached on diagonal k
	// trace[d] holds v for diagonals -d-1..d+1 as it was before step d.
	var trace [][]int32
	for d := 0; d <= limit; d++ {
		snap := make([]int32, 2*d+3)
		for k := -d - 1; k <= d+1; k++ {
			snap[k+d+1] = int32(v[off+k])
		}
		trace = append(trace, snap)
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1] // down: insert b[y]
			} else {
				x = v[off+k-1] + 1 // right: delete a[x]
			}
			y := x - k
			for x < n && y < m && ai[x] == bi[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(trace, a, b)
			}
		}
	}
	return replaceAll()
}

// backtrack walks the saved Myers frontiers back from the end of both
// sequences to their start and returns the edit script in order.
func backtrack(trace [][]int32, a, b []string) []op {
	x, y := len(a), len(b)
	var rev []op
	for d := len(trace) - 1; d >= 0; d-- {
		snap := trace[d]
		at := func(k int) int { return int(snap[k+d+1]) }
		k := x - y
		prevK := k - 1
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			prevK = k + 1
		}
		prevX := at(prevK)
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			rev = append(rev, op{' ', a[x-1]})
			x--
			y--
		}
		if d > 0 {
			if x == prevX {
				rev = append(rev, op{'+', b[y-1]})
			} else {
				rev = append(rev, op{'-', a[x-1]})
			}
		}
		x, y = prevX, prevY
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

// writeHunks writes the edit script as unified diff hunks with
// contextLines lines of context, merging hunks whose context would touch.
// Like git, each hunk header ends with the nearest line of the old file
// before the hunk that looks like a function heading (see funcLine).
func writeHunks(buf *bytes.Buffer, oldLines []string, ops []op) {
	// aBefore[i], bBefore[i]: old and new lines consumed before ops[i].
	aBefore := make([]int, len(ops)+1)
	bBefore := make([]int, len(ops)+1)
	for i, o := range ops {
		aBefore[i+1], bBefore[i+1] = aBefore[i], bBefore[i]
		if o.kind != '+' {
			aBefore[i+1]++
		}
		if o.kind != '-' {
			bBefore[i+1]++
		}
	}
	i := 0
	for {
		for i < len(ops) && ops[i].kind == ' ' {
			i++
		}
		if i == len(ops) {
			return
		}
		start := max(0, i-contextLines)
		// Extend over changes separated by at most 2*contextLines kept lines.
		last := i
		for j := i + 1; j < len(ops) && j-last <= 2*contextLines; j++ {
			if ops[j].kind != ' ' {
				last = j
			}
		}
		end := min(len(ops), last+1+contextLines)
		oldCount := aBefore[end] - aBefore[start]
		newCount := bBefore[end] - bBefore[start]
		fmt.Fprintf(buf, "@@ -%s +%s @@%s\n", hunkRange(aBefore[start], oldCount), hunkRange(bBefore[start], newCount),
			funcLine(oldLines, aBefore[start]))
		for _, o := range ops[start:end] {
			buf.WriteByte(o.kind)
			buf.WriteString(o.line)
			if !strings.HasSuffix(o.line, "\n") {
				buf.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = end
	}
}

// hunkRange formats one side of a hunk header: lines before is the count
// of lines that precede the hunk on that side.
func hunkRange(before, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", before)
	case 1:
		return fmt.Sprintf("%d", before+1)
	default:
		return fmt.Sprintf("%d,%d", before+1, count)
	}
}

// funcLine returns " " and the nearest line before oldLines[before] that
// starts with a letter, "_" or "$" (git's default function heading rule),
// cut to 80 bytes and stripped of trailing white space; "" when none.
func funcLine(oldLines []string, before int) string {
	for i := before - 1; i >= 0; i-- {
		l := oldLines[i]
		if l == "" {
			continue
		}
		if c := l[0]; (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' {
			if len(l) > 80 {
				l = l[:80]
			}
			return " " + strings.TrimRight(l, " \t\n\v\f\r")
		}
	}
	return ""
}

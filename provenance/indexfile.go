package provenance

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// readIndex reads the index ("index" in the git directory fs) with one read
// and decodes it in memory into what go-git's decoder would return (go-git
// reads each field through reflection). It reports ok false, and the caller
// then uses go-git, for anything it does not decode exactly as go-git
// does: an unreadable file, a malformed or unusual one (a required
// extension, a bad checksum). (go-git pairs resolve-undo hashes with stages
// in map order; this decoder pairs them in file order. Nothing here reads
// them.)
//
// It also returns the cache tree with its invalidated entries (which
// go-git leaves out), in file order, for loadHead.
func readIndex(fs billy.Filesystem) (*index.Index, []cacheNode, bool) {
	f, err := fs.Open("index")
	if errors.Is(err, os.ErrNotExist) {
		return &index.Index{Version: 2}, nil, true
	}
	if err != nil {
		return nil, nil, false
	}
	defer f.Close()
	idx := &index.Index{Version: 2}
	fi, err := fs.Stat(f.Name())
	if err != nil {
		return nil, nil, false
	}
	idx.ModTime = fi.ModTime()
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, false
	}
	nodes, ok := decodeIndex(data, idx)
	if !ok {
		return nil, nil, false
	}
	return idx, nodes, true
}

// cacheNode is one entry of the cache tree (the TREE extension): a
// directory (its name within its parent; "" for the root), how many index
// entries it covers (-1 when invalidated), how many subtrees follow it, and
// the hash of the tree the covered entries make.
type cacheNode struct {
	name    string
	entries int
	trees   int
	hash    plumbing.Hash
}

// decodeIndex decodes an index file (versions 2 to 4) into idx, returning
// also its whole cache tree.
func decodeIndex(data []byte, idx *index.Index) ([]cacheNode, bool) {
	if len(data) < 12 || !bytes.Equal(data[:4], []byte("DIRC")) {
		return nil, false
	}
	idx.Version = binary.BigEndian.Uint32(data[4:])
	if idx.Version < 2 || idx.Version > 4 {
		return nil, false
	}
	count := int(binary.BigEndian.Uint32(data[8:]))
	if count > len(data)/40 {
		return nil, false
	}
	pos := 12
	entries := make([]index.Entry, count)
	idx.Entries = make([]*index.Entry, count)
	last := ""
	for i := range entries {
		if pos+62 > len(data) {
			return nil, false
		}
		b := data[pos:]
		e := &entries[i]
		u32 := func(at int) uint32 { return binary.BigEndian.Uint32(b[at:]) }
		if sec, nsec := u32(0), u32(4); sec != 0 || nsec != 0 {
			e.CreatedAt = time.Unix(int64(sec), int64(nsec))
		}
		if sec, nsec := u32(8), u32(12); sec != 0 || nsec != 0 {
			e.ModifiedAt = time.Unix(int64(sec), int64(nsec))
		}
		e.Dev, e.Inode = u32(16), u32(20)
		e.Mode = filemode.FileMode(u32(24))
		e.UID, e.GID, e.Size = u32(28), u32(32), u32(36)
		copy(e.Hash[:], b[40:60])
		flags := binary.BigEndian.Uint16(b[60:])
		e.Stage = index.Stage(flags>>12) & 0x3
		read := 62
		if flags&0x4000 != 0 {
			if pos+64 > len(data) {
				return nil, false
			}
			ext := binary.BigEndian.Uint16(b[62:])
			e.IntentToAdd = ext&(1<<13) != 0
			e.SkipWorktree = ext&(1<<14) != 0
			read = 64
		}
		rest := data[pos+read:]
		switch idx.Version {
		case 2, 3:
			n := int(flags & 0xfff)
			consumed := n
			if n == 0xfff {
				n = bytes.IndexByte(rest, 0)
				if n < 0 {
					return nil, false
				}
				consumed = n + 1
			} else if n > len(rest) {
				return nil, false
			}
			e.Name = string(rest[:n])
			pad := 8 - (read+n)%8 - (consumed - n)
			pos += read + consumed + max(pad, 0)
		case 4:
			strip, k := varint(rest)
			if k <= 0 || strip > int64(len(last)) || (i == 0 && strip > 0) {
				return nil, false
			}
			end := bytes.IndexByte(rest[k:], 0)
			if end < 0 {
				return nil, false
			}
			e.Name = last[:len(last)-int(strip)] + string(rest[k:k+end])
			pos += read + k + end + 1
		}
		if pos > len(data) {
			return nil, false
		}
		last = e.Name
		idx.Entries[i] = e
	}
	// Extensions, as long as one could still fit before the checksum.
	var nodes []cacheNode
	for len(data)-pos >= 4+4+sha1.Size {
		sig := data[pos : pos+4]
		n := int(binary.BigEndian.Uint32(data[pos+4:]))
		start := pos + 8
		if n < 0 || n > len(data)-start {
			return nil, false
		}
		body := data[start : start+n]
		switch {
		case string(sig) == "TREE":
			t, raw, ok := decodeCacheTree(body)
			if !ok {
				return nil, false
			}
			idx.Cache, nodes = t, raw
		case string(sig) == "REUC":
			ru, ok := decodeResolveUndo(body)
			if !ok {
				return nil, false
			}
			idx.ResolveUndo = ru
		case string(sig) == "EOIE":
			if len(body) != 24 {
				return nil, false
			}
			idx.EndOfIndexEntry = &index.EndOfIndexEntry{Offset: binary.BigEndian.Uint32(body)}
			copy(idx.EndOfIndexEntry.Hash[:], body[4:])
		case sig[0] < 'A' || sig[0] > 'Z':
			return nil, false // a required extension: go-git refuses it
		}
		pos = start + n
	}
	if len(data)-pos < sha1.Size {
		return nil, false
	}
	sum := sha1.Sum(data[:pos])
	if !bytes.Equal(sum[:], data[pos:pos+sha1.Size]) {
		return nil, false
	}
	return nodes, true
}

// varint decodes git's offset varint (as in index v4 and OFS_DELTA),
// returning the value and the bytes used, 0 when data ends first.
func varint(data []byte) (int64, int) {
	if len(data) == 0 {
		return 0, 0
	}
	c := data[0]
	v := int64(c & 0x7f)
	k := 1
	for c&0x80 != 0 {
		if k >= len(data) || v >= (1<<62)>>7 {
			return 0, 0
		}
		c = data[k]
		k++
		v = ((v + 1) << 7) + int64(c&0x7f)
	}
	return v, k
}

// decodeCacheTree decodes the TREE extension as go-git does (invalidated
// entries, with a negative entry count, are left out), and also returns
// every entry.
func decodeCacheTree(body []byte) (*index.Tree, []cacheNode, bool) {
	t := &index.Tree{}
	var nodes []cacheNode
	for len(body) > 0 {
		nul := bytes.IndexByte(body, 0)
		if nul < 0 {
			return nil, nil, false
		}
		e := index.TreeEntry{Path: string(body[:nul])}
		body = body[nul+1:]
		sp := bytes.IndexByte(body, ' ')
		if sp < 0 {
			return nil, nil, false
		}
		var err error
		if e.Entries, err = strconv.Atoi(string(body[:sp])); err != nil {
			return nil, nil, false
		}
		body = body[sp+1:]
		nl := bytes.IndexByte(body, '\n')
		if nl < 0 {
			return nil, nil, false
		}
		if e.Trees, err = strconv.Atoi(string(body[:nl])); err != nil {
			return nil, nil, false
		}
		body = body[nl+1:]
		if e.Entries >= 0 {
			if len(body) < len(plumbing.ZeroHash) {
				return nil, nil, false
			}
			copy(e.Hash[:], body)
			body = body[len(plumbing.ZeroHash):]
			t.Entries = append(t.Entries, e)
		}
		nodes = append(nodes, cacheNode{name: e.Path, entries: e.Entries, trees: e.Trees, hash: e.Hash})
	}
	return t, nodes, true
}

// decodeResolveUndo decodes the REUC extension: per path, three octal modes
// then the hash of each stage whose mode is not zero. It reports false for
// anything go-git might decode differently or refuse.
func decodeResolveUndo(body []byte) (*index.ResolveUndo, bool) {
	ru := &index.ResolveUndo{}
	for len(body) > 0 {
		nul := bytes.IndexByte(body, 0)
		if nul < 0 {
			return nil, false
		}
		e := index.ResolveUndoEntry{Path: string(body[:nul]), Stages: make(map[index.Stage]plumbing.Hash)}
		body = body[nul+1:]
		var present []index.Stage
		for s := index.Stage(1); s <= 3; s++ {
			nul := bytes.IndexByte(body, 0)
			if nul < 0 {
				return nil, false
			}
			mode, err := strconv.ParseInt(string(body[:nul]), 8, 64)
			if err != nil {
				return nil, false
			}
			body = body[nul+1:]
			if mode != 0 {
				present = append(present, s)
			}
		}
		for _, s := range present {
			if len(body) < len(plumbing.ZeroHash) {
				return nil, false
			}
			var h plumbing.Hash
			copy(h[:], body)
			e.Stages[s] = h
			body = body[len(plumbing.ZeroHash):]
		}
		ru.Entries = append(ru.Entries, e)
	}
	return ru, true
}

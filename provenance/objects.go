package provenance

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// errNoFastObject means the direct object reader could not serve an object
// (it is absent from the local packs and loose objects, or stored in a way
// the reader does not handle); the caller then asks go-git's storage.
var errNoFastObject = errors.New("object not served by the direct reader")

// maxDeltaCache bounds the bytes of delta bases kept by objectReader.
const maxDeltaCache = 16 << 20

// objectReader reads objects straight from a repository's loose objects and
// version-2 packs. go-git's storage decodes every pack index whole (with
// thousands of small reads) before it serves the first object; this reader
// looks one object up with three positioned reads of the index instead. It
// serves only what it fully understands and otherwise returns
// errNoFastObject, so that callers fall back to go-git (alternates, other
// index versions, corrupt data).
type objectReader struct {
	fs     billy.Filesystem // the git directory (the common one for a linked worktree)
	packs  []*packReader
	listed bool
	zr     io.ReadCloser // a zlib reader kept for reuse (zlib.Resetter)
	// cache holds inflated delta bases by pack and offset.
	cache      map[packOffset]cachedObject
	cacheBytes int
	// bulkNames is the most index names read at once when looking an
	// object up; past it the names are probed one by one (binary search).
	bulkNames int
}

type packOffset struct {
	pack *packReader
	off  int64
}

type cachedObject struct {
	typ  plumbing.ObjectType
	data []byte
}

// packReader is one pack and its index, opened on first use.
type packReader struct {
	name   string // path of the .idx relative to the git directory
	idx    billy.File
	pack   billy.File
	fanout [256]uint32
	err    error // from opening; the pack is then skipped
	opened bool
	// bulkNames is the most names find reads at once (else it probes).
	bulkNames int
}

// close releases every open file.
func (r *objectReader) close() {
	for _, p := range r.packs {
		if p.idx != nil {
			p.idx.Close()
		}
		if p.pack != nil {
			p.pack.Close()
		}
	}
}

// listPacks finds the pack indexes in objects/pack.
func (r *objectReader) listPacks() error {
	if r.listed {
		return nil
	}
	r.listed = true
	infos, err := r.fs.ReadDir(path.Join("objects", "pack"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, fi := range infos {
		if n := fi.Name(); strings.HasPrefix(n, "pack-") && strings.HasSuffix(n, ".idx") {
			r.packs = append(r.packs, &packReader{name: path.Join("objects", "pack", n), bulkNames: r.bulkNames})
		}
	}
	return nil
}

// open opens the pack's index and checks its header.
func (p *packReader) open(fs billy.Filesystem) error {
	if p.opened {
		return p.err
	}
	p.opened = true
	p.err = func() error {
		f, err := fs.Open(p.name)
		if err != nil {
			return err
		}
		p.idx = f
		var head [8 + 256*4]byte
		if _, err := f.ReadAt(head[:], 0); err != nil {
			return err
		}
		if !bytes.Equal(head[:8], []byte{0xff, 't', 'O', 'c', 0, 0, 0, 2}) {
			return errNoFastObject // not a version-2 index
		}
		for i := range p.fanout {
			p.fanout[i] = binary.BigEndian.Uint32(head[8+4*i:])
		}
		pf, err := fs.Open(strings.TrimSuffix(p.name, ".idx") + ".pack")
		if err != nil {
			return err
		}
		p.pack = pf
		return nil
	}()
	return p.err
}

// find returns the offset of h in the pack, or -1 when it is not there.
func (p *packReader) find(h plumbing.Hash) (int64, error) {
	lo := uint32(0)
	if h[0] > 0 {
		lo = p.fanout[h[0]-1]
	}
	hi := p.fanout[h[0]]
	if hi <= lo {
		return -1, nil
	}
	if hi < lo || hi > p.fanout[255] {
		return -1, errNoFastObject
	}
	const namesAt = 8 + 256*4
	// The names with h's first byte: read at once when few (one read for a
	// repository of up to a million objects), else probed one by one.
	var names []byte
	if int(hi-lo) <= p.bulkNames {
		names = make([]byte, int(hi-lo)*20)
		if _, err := p.idx.ReadAt(names, namesAt+int64(lo)*20); err != nil {
			return -1, err
		}
	}
	var probe [20]byte
	name := func(k int) ([]byte, error) {
		if names != nil {
			return names[k*20 : k*20+20], nil
		}
		_, err := p.idx.ReadAt(probe[:], namesAt+(int64(lo)+int64(k))*20)
		return probe[:], err
	}
	i, j := 0, int(hi-lo)
	for i < j {
		m := (i + j) / 2
		nm, err := name(m)
		if err != nil {
			return -1, err
		}
		switch c := bytes.Compare(nm, h[:]); {
		case c == 0:
			i, j = m, m
		case c < 0:
			i = m + 1
		default:
			j = m
		}
	}
	if i >= int(hi-lo) {
		return -1, nil
	}
	if nm, err := name(i); err != nil || !bytes.Equal(nm, h[:]) {
		return -1, err
	}
	n := int64(p.fanout[255])
	pos := int64(lo) + int64(i)
	var b [8]byte
	if _, err := p.idx.ReadAt(b[:4], namesAt+n*24+pos*4); err != nil {
		return -1, err
	}
	off := binary.BigEndian.Uint32(b[:4])
	if off&0x80000000 == 0 {
		return int64(off), nil
	}
	if _, err := p.idx.ReadAt(b[:], namesAt+n*28+int64(off&0x7fffffff)*8); err != nil {
		return -1, err
	}
	big := binary.BigEndian.Uint64(b[:])
	if big > 1<<62 {
		return -1, errNoFastObject
	}
	return int64(big), nil
}

// locate returns the pack and offset holding h, or a nil pack when no pack
// has it.
func (r *objectReader) locate(h plumbing.Hash) (*packReader, int64, error) {
	if err := r.listPacks(); err != nil {
		return nil, 0, err
	}
	for _, p := range r.packs {
		if err := p.open(r.fs); err != nil {
			return nil, 0, err
		}
		off, err := p.find(h)
		if err != nil {
			return nil, 0, err
		}
		if off >= 0 {
			return p, off, nil
		}
	}
	return nil, 0, nil
}

// inflater returns a zlib reader over src, reusing the previous one.
func (r *objectReader) inflater(src io.Reader) (io.ReadCloser, error) {
	if r.zr == nil {
		zr, err := zlib.NewReader(src)
		if err != nil {
			return nil, err
		}
		r.zr = zr
		return zr, nil
	}
	if err := r.zr.(zlib.Resetter).Reset(src, nil); err != nil {
		return nil, err
	}
	return r.zr, nil
}

// read returns the type and content of object h.
func (r *objectReader) read(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	p, off, err := r.locate(h)
	if err != nil {
		return 0, nil, err
	}
	if p != nil {
		return r.readPacked(p, off, 0)
	}
	typ, size, zr, f, err := r.openLoose(h)
	if err != nil {
		return 0, nil, err
	}
	defer readCloser{zr, f}.Close()
	data := make([]byte, size)
	if _, err := io.ReadFull(zr, data); err != nil {
		return 0, nil, err
	}
	return typ, data, nil
}

// openBlob returns the size and a reader of the content of blob h. Objects
// stored whole are streamed; deltified ones are rebuilt in memory.
func (r *objectReader) openBlob(h plumbing.Hash) (int64, io.ReadCloser, error) {
	p, off, err := r.locate(h)
	if err != nil {
		return 0, nil, err
	}
	if p == nil {
		typ, size, zr, f, err := r.openLoose(h)
		if err != nil {
			return 0, nil, err
		}
		if typ != plumbing.BlobObject {
			f.Close()
			return 0, nil, errNoFastObject
		}
		return size, readCloser{zr, f}, nil
	}
	br := bufio.NewReaderSize(io.NewSectionReader(p.pack, off, 1<<62), 4096)
	typ, size, err := readPackHeader(br)
	if err != nil {
		return 0, nil, err
	}
	if typ == plumbing.OFSDeltaObject || typ == plumbing.REFDeltaObject {
		typ, data, err := r.readPacked(p, off, 0)
		if err != nil {
			return 0, nil, err
		}
		if typ != plumbing.BlobObject {
			return 0, nil, errNoFastObject
		}
		return int64(len(data)), io.NopCloser(bytes.NewReader(data)), nil
	}
	if typ != plumbing.BlobObject {
		return 0, nil, errNoFastObject
	}
	zr, err := zlib.NewReader(br) // not the shared reader: the caller holds it
	if err != nil {
		return 0, nil, err
	}
	return size, zr, nil
}

// readCloser reads from one reader and closes both.
type readCloser struct {
	io.ReadCloser
	f io.Closer
}

// Close closes the reader, then the file under it.
func (rc readCloser) Close() error {
	err := rc.ReadCloser.Close()
	if e := rc.f.Close(); err == nil {
		err = e
	}
	return err
}

// openLoose opens loose object h and reads its header. The caller closes f;
// zr is the shared inflater unless it was in use.
func (r *objectReader) openLoose(h plumbing.Hash) (plumbing.ObjectType, int64, io.ReadCloser, billy.File, error) {
	hex := h.String()
	f, err := r.fs.Open(path.Join("objects", hex[:2], hex[2:]))
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, nil, nil, errNoFastObject
	}
	if err != nil {
		return 0, 0, nil, nil, err
	}
	fail := func(err error) (plumbing.ObjectType, int64, io.ReadCloser, billy.File, error) {
		f.Close()
		return 0, 0, nil, nil, err
	}
	zr, err := zlib.NewReader(bufio.NewReader(f))
	if err != nil {
		return fail(err)
	}
	var head []byte
	var b [1]byte
	for len(head) < 64 {
		if _, err := io.ReadFull(zr, b[:]); err != nil {
			return fail(err)
		}
		if b[0] == 0 {
			break
		}
		head = append(head, b[0])
	}
	kind, sizeText, ok := strings.Cut(string(head), " ")
	size, err := strconv.ParseInt(sizeText, 10, 64)
	if !ok || err != nil || size < 0 {
		return fail(errNoFastObject)
	}
	typ, err := plumbing.ParseObjectType(kind)
	if err != nil || typ == plumbing.OFSDeltaObject || typ == plumbing.REFDeltaObject {
		return fail(errNoFastObject)
	}
	return typ, size, zr, f, nil
}

// readPackHeader reads the type and size at the start of a packed object.
func readPackHeader(br *bufio.Reader) (plumbing.ObjectType, int64, error) {
	c, err := br.ReadByte()
	if err != nil {
		return 0, 0, err
	}
	typ := plumbing.ObjectType((c >> 4) & 7)
	size := int64(c & 15)
	for shift := 4; c&0x80 != 0; shift += 7 {
		if shift > 56 {
			return 0, 0, errNoFastObject
		}
		if c, err = br.ReadByte(); err != nil {
			return 0, 0, err
		}
		size |= int64(c&0x7f) << shift
	}
	switch typ {
	case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject,
		plumbing.OFSDeltaObject, plumbing.REFDeltaObject:
		return typ, size, nil
	}
	return 0, 0, errNoFastObject
}

// readPacked returns the type and content of the object at off in p,
// resolving deltas.
func (r *objectReader) readPacked(p *packReader, off int64, depth int) (plumbing.ObjectType, []byte, error) {
	if depth > 100 {
		return 0, nil, errNoFastObject
	}
	if c, ok := r.cache[packOffset{p, off}]; ok {
		return c.typ, c.data, nil
	}
	br := bufio.NewReaderSize(io.NewSectionReader(p.pack, off, 1<<62), 4096)
	typ, size, err := readPackHeader(br)
	if err != nil {
		return 0, nil, err
	}
	var baseType plumbing.ObjectType
	var base []byte
	switch typ {
	case plumbing.OFSDeltaObject:
		c, err := br.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		rel := int64(c & 0x7f)
		for c&0x80 != 0 {
			if c, err = br.ReadByte(); err != nil {
				return 0, nil, err
			}
			if rel > 1<<55 {
				return 0, nil, errNoFastObject
			}
			rel = ((rel + 1) << 7) | int64(c&0x7f)
		}
		if rel <= 0 || rel > off {
			return 0, nil, errNoFastObject
		}
		if baseType, base, err = r.readBase(p, off-rel, depth); err != nil {
			return 0, nil, err
		}
	case plumbing.REFDeltaObject:
		var h plumbing.Hash
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return 0, nil, err
		}
		bp, boff, err := r.locate(h)
		if err != nil {
			return 0, nil, err
		}
		if bp == nil {
			return 0, nil, errNoFastObject
		}
		if baseType, base, err = r.readBase(bp, boff, depth); err != nil {
			return 0, nil, err
		}
	}
	if size > 1<<40 {
		return 0, nil, errNoFastObject
	}
	zr, err := r.inflater(br)
	if err != nil {
		return 0, nil, err
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(zr, data); err != nil {
		return 0, nil, err
	}
	if typ != plumbing.OFSDeltaObject && typ != plumbing.REFDeltaObject {
		return typ, data, nil
	}
	out, err := packfile.PatchDelta(base, data)
	if err != nil {
		return 0, nil, err
	}
	return baseType, out, nil
}

// readBase reads a delta base, keeping it for other deltas on it.
func (r *objectReader) readBase(p *packReader, off int64, depth int) (plumbing.ObjectType, []byte, error) {
	typ, data, err := r.readPacked(p, off, depth+1)
	if err != nil {
		return 0, nil, err
	}
	if r.cacheBytes+len(data) <= maxDeltaCache {
		if r.cache == nil {
			r.cache = make(map[packOffset]cachedObject)
		}
		r.cache[packOffset{p, off}] = cachedObject{typ, data}
		r.cacheBytes += len(data)
	}
	return typ, data, nil
}

// fastStore is an object storer that serves objects with an objectReader
// and asks the wrapped storer (go-git's) for anything the reader cannot
// serve, so that it finds exactly the objects go-git finds.
type fastStore struct {
	storer.EncodedObjectStorer
	r *objectReader
}

// EncodedObject returns object h, which must be of type t unless t is
// plumbing.AnyObject.
func (s fastStore) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	typ, data, err := s.r.read(h)
	if err != nil {
		return s.EncodedObjectStorer.EncodedObject(t, h)
	}
	if t != plumbing.AnyObject && typ != t {
		return nil, plumbing.ErrObjectNotFound
	}
	return &rawObject{typ: typ, hash: h, data: data}, nil
}

// rawObject is an object read whole, with its known hash.
type rawObject struct {
	typ  plumbing.ObjectType
	hash plumbing.Hash
	data []byte
}

// Hash returns the object's hash, as it was looked up.
func (o *rawObject) Hash() plumbing.Hash { return o.hash }

// Type returns the object's type.
func (o *rawObject) Type() plumbing.ObjectType { return o.typ }

// SetType sets the object's type.
func (o *rawObject) SetType(t plumbing.ObjectType) { o.typ = t }

// Size returns the size of the object's content.
func (o *rawObject) Size() int64 { return int64(len(o.data)) }

// SetSize does nothing: the size is that of the content.
func (o *rawObject) SetSize(int64) {}

// Reader returns a reader of the object's content.
func (o *rawObject) Reader() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(o.data)), nil
}

// Writer fails: the object is read only.
func (o *rawObject) Writer() (io.WriteCloser, error) {
	return nil, fmt.Errorf("object %s is read only", o.hash)
}

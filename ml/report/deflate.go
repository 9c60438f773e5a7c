package report

import (
	"bytes"
	"encoding/binary"
	"image"
	"math/bits"
	"slices"
)

// This file holds a deflate encoder made for plots. A plot is mostly
// pixels equal to the pixel above them (background, vertical edges) or to
// the pixel on their left (horizontal lines, filled areas), so instead of
// searching a hash table for earlier matches as a general compressor does,
// it writes the unfiltered rows as three kinds of token: a copy of the row
// above (a deflate match at the distance of one row), a copy of the
// previous pixel (a match at the distance of one pixel) and the bytes of
// any other pixel (literals). Rows equal to the one above, most of a plot,
// cost one comparison of memory. The tokens are coded in one block with
// Huffman codes made for them (a few hundred symbols, so building them is
// cheap). The stream is a valid zlib stream of the filtered rows (filter
// type None), so any PNG decoder reads back exactly img's pixels.

// maxMatch is the longest match deflate can code.
const maxMatch = 258

// maxDistance is the farthest back a deflate match can copy from.
const maxDistance = 32768

// adlerMod is the modulus of the Adler-32 checksum.
const adlerMod = 65521

// code is a bit string to write, least significant bit first: a Huffman
// code (already bit-reversed) followed by its extra bits.
type code struct {
	bits uint32
	n    uint8
}

// lengthBase and lengthExtra are the first length and the number of extra
// bits of the length codes 257 to 285 (RFC 1951, section 3.2.5).
var (
	lengthBase  = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
)

// lengthCodes maps a match length (3 to 258) to the index (0 to 28) of its
// length code, symbol 257 plus it; computed once, never changed.
var lengthCodes = func() (t [maxMatch + 1]uint8) {
	for i, base := range lengthBase {
		for l := base; l <= maxMatch; l++ {
			t[l] = uint8(i)
		}
	}
	return t
}()

// distanceCode returns the distance code (0 to 29) of the match distance
// d (1 to 32768), and its extra bits: their number and value.
func distanceCode(d int) (sym int, extra uint8, value uint32) {
	// Distance codes 0-3 are the distances 1-4; then every pair of codes
	// doubles the range, with one more extra bit every two codes.
	if d <= 4 {
		return d - 1, 0, 0
	}
	hi := bits.Len(uint(d-1)) - 1 // 2^hi <= d-1 < 2^(hi+1)
	e := hi - 1
	half := (d - 1) >> e & 1
	base := 1<<hi + half<<e + 1
	return 2*hi + half, uint8(e), uint32(d - base)
}

// bitWriter packs codes into bytes, least significant bit first.
type bitWriter struct {
	acc uint64
	n   uint
	out []byte
}

// write appends c, of at most 32 bits.
func (w *bitWriter) write(c code) {
	w.acc |= uint64(c.bits) << w.n
	w.n += uint(c.n)
	if w.n >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.acc))
		w.acc >>= 32
		w.n -= 32
	}
}

// align writes the pending bits, padded with zeros to a whole byte.
func (w *bitWriter) align() {
	for w.n > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.n = w.n - min(w.n, 8)
	}
	w.acc = 0
}

// runDeflater gathers the tokens of one image and their frequencies.
type runDeflater struct {
	tokens   []uint32 // see matchToken
	litFreq  [286]int // of literal/length symbols
	distFreq [30]int  // of distance codes
	run, dst int      // bytes of the pending match and its distance, or 0
	stride   int      // the distance of the row above
	dist     [2]distance
}

// distance is a distance code and its extra bits.
type distance struct {
	sym   int
	extra uint8
	value uint32
}

// A token is a literal byte (0 to 255) or a match: matchToken, its length
// shifted by 1, and 1 for a copy of the row above (0 of the pixel on the
// left).
const matchToken = 1 << 16

// literal adds the literal byte v.
func (d *runDeflater) literal(v byte) {
	d.tokens = append(d.tokens, uint32(v))
	d.litFreq[v]++
}

// canRunDeflate reports whether deflateRuns can encode an image of this
// width: the row above must be within deflate's reach.
func canRunDeflate(width int) bool { return 1+3*width <= maxDistance }

// deflateRuns returns the pixels of img, unfiltered and without alpha, as
// a zlib stream, if every pixel is opaque; canRunDeflate must allow img's
// width. It reads every pixel once: it checks the alpha of every pixel it
// writes as a literal, and a pixel it copies has the alpha of its source.
func deflateRuns(img *image.RGBA) (stream []byte, ok bool) {
	stream, _, ok = appendDeflateRuns(nil, img, nil, 0)
	return stream, ok
}

// appendDeflateRuns appends to dst the stream deflateRuns returns, growing
// dst once to room for it and reserve more bytes. tokens is memory for the
// tokens, of any length (nil for new); it returns that memory, grown as
// needed, for the next image.
func appendDeflateRuns(dst []byte, img *image.RGBA, tokens []uint32, reserve int) (out []byte, tokensOut []uint32, ok bool) {
	b := img.Bounds()
	width := b.Dx()
	stride := 1 + 3*width
	if want := tokensFor(len(img.Pix)); cap(tokens) < want {
		tokens = make([]uint32, 0, want) // rather than grown by copies
	}
	d := &runDeflater{tokens: tokens[:0], stride: stride}
	for i, dist := range []int{3, stride} {
		sym, extra, value := distanceCode(dist)
		d.dist[i] = distance{sym, extra, value}
	}

	// Adler-32 of the raw rows, a row at a time: a row of n bytes with sum
	// s and weighted sum w = Σ (n-i)·row[i] turns (a, b) into (a+s, b+n·a+w).
	// A row's s and w are those of the row above plus the change of the
	// pixels that differ from it.
	var adlerA, adlerB uint64 = 1, 0
	var rowSum, rowWeighted int64

	var prev []byte
	for y := b.Min.Y; y < b.Max.Y; y++ {
		i := img.PixOffset(b.Min.X, y)
		row := img.Pix[i : i+4*width : i+4*width]
		ds, dw, ok := d.row(row, prev)
		if !ok {
			return dst, d.tokens, false
		}
		rowSum += ds
		rowWeighted += dw
		adlerB = (adlerB + uint64(stride)*adlerA + uint64(rowWeighted)) % adlerMod
		adlerA = (adlerA + uint64(rowSum)) % adlerMod
		prev = row
	}
	d.end()

	bw := bitWriter{out: dst}
	bw.out = append(bw.out, 0x78, 0x01) // zlib: deflate, 32 KB window, fastest
	d.writeBlock(&bw, 4+reserve)        // the Adler-32 and the caller's reserve
	bw.align()
	return binary.BigEndian.AppendUint32(bw.out, uint32(adlerB<<16|adlerA)), d.tokens, true
}

// tokensFor returns room for the tokens of an image of n bytes: a plot
// has a token per 40 to 60 bytes of its image.
func tokensFor(n int) int { return max(16<<10, n/40) }

// row adds the tokens of a row of RGBA pixels, given the row
// above, prev (nil for the first row), and returns how much the raw row's
// sum and weighted sum (see deflateRuns) differ from prev's (from zeros'
// for the first row), or ok false at a pixel that is not opaque.
func (d *runDeflater) row(row, prev []byte) (dSum, dWeighted int64, ok bool) {
	stride := d.stride
	if prev != nil {
		d.match(1, stride) // the filter byte, 0 in every row, copies the one above
	} else {
		d.end()
		d.literal(0)
	}
	for x := 0; x+3 < len(row); {
		if prev != nil {
			if k := equalPrefix(row[x:], prev[x:]) &^ 3; k > 0 {
				d.match(k/4*3, stride)
				x += k
				continue
			}
		}
		p := binary.LittleEndian.Uint32(row[x:])
		j := x + 4
		if x > 0 && binary.LittleEndian.Uint32(row[x-4:]) == p {
			for j+3 < len(row) && binary.LittleEndian.Uint32(row[j:]) == p {
				j += 4
			}
			d.match((j-x)/4*3, 3)
		} else {
			if p>>24 != 0xff {
				return 0, 0, false
			}
			d.end()
			d.literal(row[x])
			d.literal(row[x+1])
			d.literal(row[x+2])
		}
		// The change of pixels x to j from the row above: the bytes of
		// pixel x/4 are at positions 1+3x/4 to 3+3x/4 of the raw row.
		for ; x < j; x += 4 {
			var r0, g0, b0 int64
			if prev != nil {
				r0, g0, b0 = int64(prev[x]), int64(prev[x+1]), int64(prev[x+2])
			}
			dr, dg, db := int64(row[x])-r0, int64(row[x+1])-g0, int64(row[x+2])-b0
			w := int64(stride - 1 - x/4*3)
			dSum += dr + dg + db
			dWeighted += w*dr + (w-1)*dg + (w-2)*db
		}
	}
	return dSum, dWeighted, true
}

// equalPrefix returns the number of leading bytes a and b have in common.
func equalPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	a, b = a[:n], b[:n]
	i := 0
	// The first word: most calls, at a pixel that differs from the one
	// above, end there.
	if n >= 8 {
		if x := binary.LittleEndian.Uint64(a) ^ binary.LittleEndian.Uint64(b); x != 0 {
			return bits.TrailingZeros64(x) / 8
		}
		i = 8
	}
	// Then blocks that double while they are equal (bytes.Equal compares
	// many bytes at a time, with vector instructions), and halve once one
	// is not: everything before i is equal, and the first difference is in
	// [i, i+size) unless that runs past n.
	size := 64
	for i+size <= n && bytes.Equal(a[i:i+size], b[i:i+size]) {
		i += size
		size = min(2*size, 4096)
	}
	for size > 64 {
		size /= 2
		if i+size <= n && bytes.Equal(a[i:i+size], b[i:i+size]) {
			i += size
		}
	}
	// Words find the first difference, within 64 bytes of i or the end.
	for ; i+8 <= n; i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// opaque reports whether every pixel of img is opaque, as img.Opaque
// does, comparing two pixels at a time.
func opaque(img *image.RGBA) bool {
	b := img.Bounds()
	if b.Empty() {
		return true
	}
	const alphas = 0xff000000_ff000000
	for y := b.Min.Y; y < b.Max.Y; y++ {
		i := img.PixOffset(b.Min.X, y)
		row := img.Pix[i : i+4*b.Dx()]
		x := 0
		for ; x+8 <= len(row); x += 8 {
			if binary.LittleEndian.Uint64(row[x:])&alphas != alphas {
				return false
			}
		}
		if x < len(row) && row[x+3] != 0xff {
			return false
		}
	}
	return true
}

// match adds n bytes copied from dist bytes back (3 or the row above),
// extending the pending match if it copies from as far.
func (d *runDeflater) match(n, dist int) {
	if d.dst != dist {
		d.end()
		d.dst = dist
	}
	d.run += n
}

// end adds the pending match.
func (d *runDeflater) end() {
	n := d.run
	if n == 0 {
		return
	}
	kind := 0
	if d.dst != 3 {
		kind = 1
	}
	d.run, d.dst = 0, 0
	if n < 3 {
		// Only a lone filter byte (a row whose first pixel differs from
		// the one above) makes a match too short for deflate.
		for range n {
			d.literal(0)
		}
		return
	}
	for n > 0 {
		k := min(n, maxMatch)
		if r := n - k; r > 0 && r < 3 {
			k = n - 3 // leave a codable rest
		}
		d.tokens = append(d.tokens, matchToken|uint32(k)<<1|uint32(kind))
		d.litFreq[257+int(lengthCodes[k])]++
		d.distFreq[d.dist[kind].sym]++
		n -= k
	}
}

// writeBlock writes the tokens as the final block of a deflate stream,
// with dynamic Huffman codes (RFC 1951, section 3.2.7), growing bw's
// output once to room for the block and reserve more bytes.
func (d *runDeflater) writeBlock(bw *bitWriter, reserve int) {
	d.litFreq[256] = 1 // end of block
	// Both codes get at least two symbols, so that they are complete
	// (a decoder may reject a code of a single one-bit symbol).
	for _, freq := range [][]int{d.litFreq[:], d.distFreq[:]} {
		used := 0
		for _, f := range freq {
			if f > 0 {
				used++
			}
		}
		for i := 0; used < 2; i++ {
			if freq[i] == 0 {
				freq[i] = 1
				used++
			}
		}
	}
	var litLen [286]uint8
	var distLen [30]uint8
	huffmanLengths(d.litFreq[:], 15, litLen[:])
	huffmanLengths(d.distFreq[:], 15, distLen[:])
	// The block's size: at most 17+3·19 bits of header and 7+7 bits per
	// code length (the code-length code and its extra bits), then the
	// codes of the tokens and their extra bits.
	size := 17 + 3*19 + (286+30)*14
	for sym, f := range d.litFreq {
		size += f * int(litLen[sym])
		if sym > 256 {
			size += f * int(lengthExtra[sym-257])
		}
	}
	for sym, f := range d.distFreq {
		size += f * int(distLen[sym])
		if sym >= 4 {
			size += f * (sym/2 - 1)
		}
	}
	bw.out = slices.Grow(bw.out, (size+7)/8+8+reserve)

	nLit, nDist := 286, 30
	for nLit > 257 && litLen[nLit-1] == 0 {
		nLit--
	}
	for nDist > 1 && distLen[nDist-1] == 0 {
		nDist--
	}

	// The code lengths, run-length coded with the code-length alphabet:
	// 0-15 a length, 16 the previous length 3-6 times, 17 zero 3-10 times,
	// 18 zero 11-138 times.
	lengths := append(append(make([]uint8, 0, nLit+nDist), litLen[:nLit]...), distLen[:nDist]...)
	type clToken struct{ sym, extra uint8 }
	var cl []clToken
	var clFreq [19]int
	add := func(sym, extra uint8) {
		cl = append(cl, clToken{sym, extra})
		clFreq[sym]++
	}
	for i := 0; i < len(lengths); {
		l := lengths[i]
		run := 1
		for i+run < len(lengths) && lengths[i+run] == l {
			run++
		}
		i += run
		if l == 0 {
			for run >= 11 {
				k := min(run, 138)
				add(18, uint8(k-11))
				run -= k
			}
			if run >= 3 {
				add(17, uint8(run-3))
				run = 0
			}
		} else {
			add(l, 0)
			run--
			for run >= 3 {
				k := min(run, 6)
				add(16, uint8(k-3))
				run -= k
			}
		}
		for range run {
			add(l, 0)
		}
	}
	var clLen [19]uint8
	huffmanLengths(clFreq[:], 7, clLen[:])
	order := [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	nCL := 19
	for nCL > 4 && clLen[order[nCL-1]] == 0 {
		nCL--
	}

	bw.write(code{bits: 1 | 2<<1, n: 3}) // final block, dynamic Huffman codes
	bw.write(code{bits: uint32(nLit-257) | uint32(nDist-1)<<5 | uint32(nCL-4)<<10, n: 14})
	for _, sym := range order[:nCL] {
		bw.write(code{bits: uint32(clLen[sym]), n: 3})
	}
	clCodes := canonicalCodes(clLen[:])
	extraBits := [19]uint8{16: 2, 17: 3, 18: 7}
	for _, t := range cl {
		c := clCodes[t.sym]
		bw.write(code{c.bits | uint32(t.extra)<<c.n, c.n + extraBits[t.sym]})
	}

	// The tokens. A match is its length code with extra bits, then its
	// distance code with extra bits, each prepared once.
	litCodes := canonicalCodes(litLen[:])
	distCodes := canonicalCodes(distLen[:])
	var lengthBits [maxMatch + 1]code
	for i, base := range lengthBase {
		next := maxMatch + 1
		if i+1 < len(lengthBase) {
			next = lengthBase[i+1]
		}
		sym := litCodes[257+i]
		for l := base; l < next; l++ {
			lengthBits[l] = code{sym.bits | uint32(l-base)<<sym.n, sym.n + lengthExtra[i]}
		}
	}
	var distances [2]code
	for i, dist := range d.dist {
		c := distCodes[dist.sym]
		distances[i] = code{c.bits | dist.value<<c.n, c.n + dist.extra}
	}
	// bw.write, with the writer in local variables (no write barriers).
	acc, n, out := bw.acc, bw.n, bw.out
	for _, t := range d.tokens {
		c := litCodes[t&0xff]
		if t >= matchToken {
			c = lengthBits[t>>1&0x1ff] // at most 15+5 bits
		}
		acc |= uint64(c.bits) << n
		n += uint(c.n)
		if n >= 32 {
			out = binary.LittleEndian.AppendUint32(out, uint32(acc))
			acc >>= 32
			n -= 32
		}
		if t >= matchToken {
			c = distances[t&1] // at most 15+13 bits
			acc |= uint64(c.bits) << n
			n += uint(c.n)
			if n >= 32 {
				out = binary.LittleEndian.AppendUint32(out, uint32(acc))
				acc >>= 32
				n -= 32
			}
		}
	}
	bw.acc, bw.n, bw.out = acc, n, out
	bw.write(litCodes[256])
}

// huffmanLengths sets lengths[i] to the code length of symbol i in a
// Huffman code for freq (at least two frequencies above zero) whose codes
// are at most limit bits long, 0 for symbols of frequency 0. It is
// deterministic: ties go to the lower symbol.
func huffmanLengths(freq []int, limit uint8, lengths []uint8) {
	var buf [286]int // the largest alphabet's, on the stack
	f := append(buf[:0], freq...)
	for {
		if huffman(f, lengths) <= limit {
			return
		}
		// Too long: flatten the frequencies and build again.
		for i, v := range f {
			if v > 0 {
				f[i] = v>>1 | 1
			}
		}
	}
}

// huffman sets lengths as huffmanLengths does, without a limit, and
// returns the longest.
func huffman(freq []int, lengths []uint8) uint8 {
	clear(lengths)
	// The arrays are for the largest alphabet (286 symbols), on the stack.
	// The symbols are sorted by frequency, then symbol, as keys that hold
	// both (the symbol in the low 9 bits): a sort of integers, several
	// times faster than a stable sort by frequency, for the same order.
	var keyBuf [286]uint64
	keys := keyBuf[:0]
	for sym, f := range freq {
		if f > 0 {
			keys = append(keys, uint64(f)<<9|uint64(sym))
		}
	}
	slices.Sort(keys)
	var leafBuf [286]int
	leaves := leafBuf[:len(keys)] // symbols by frequency, then symbol
	for i, k := range keys {
		leaves[i] = int(k & (1<<9 - 1))
	}
	// Nodes 0 to n-1 are the leaves in that order, then the internal
	// nodes in the order they are made, whose weights never decrease: the
	// two lightest are always at the heads of the two queues.
	n := len(leaves)
	var weightBuf, parentBuf [2*286 - 1]int
	weight, parent := weightBuf[:2*n-1], parentBuf[:2*n-1]
	for i, sym := range leaves {
		weight[i] = freq[sym]
	}
	nextLeaf, nextNode := 0, n
	lightest := func(made int) int {
		if nextLeaf < n && (nextNode >= made || weight[nextLeaf] <= weight[nextNode]) {
			nextLeaf++
			return nextLeaf - 1
		}
		nextNode++
		return nextNode - 1
	}
	for made := n; made < 2*n-1; made++ {
		a := lightest(made)
		b := lightest(made)
		weight[made] = weight[a] + weight[b]
		parent[a], parent[b] = made, made
	}
	var depthBuf [2*286 - 1]uint8
	depth := depthBuf[:2*n-1]
	longest := uint8(0)
	for i := 2*n - 3; i >= 0; i-- {
		depth[i] = depth[parent[i]] + 1
		if i < n {
			lengths[leaves[i]] = depth[i]
			longest = max(longest, depth[i])
		}
	}
	return longest
}

// canonicalCodes returns the canonical Huffman codes (RFC 1951, section
// 3.2.2) of the code lengths, bit-reversed for writing.
func canonicalCodes(lengths []uint8) []code {
	var count, next [16]int
	for _, l := range lengths {
		if l > 0 {
			count[l]++
		}
	}
	c := 0
	for l := 1; l < 16; l++ {
		c = (c + count[l-1]) << 1
		next[l] = c
	}
	codes := make([]code, len(lengths))
	for sym, l := range lengths {
		if l > 0 {
			codes[sym] = code{uint32(bits.Reverse16(uint16(next[l])) >> (16 - l)), l}
			next[l]++
		}
	}
	return codes
}

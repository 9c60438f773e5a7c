package report

import (
	"bytes"
	"encoding/binary"
	"image"
	"math/bits"
)

// This file holds a deflate encoder made for plots. A plot is mostly
// pixels equal to the pixel above them (background, vertical edges) or to
// the pixel on their left (horizontal lines, filled areas), so instead of
// searching a hash table for earlier matches as a general compressor does,
// it writes the unfiltered rows as three kinds of token: a copy of the row
// above (a deflate match at the distance of one row), a copy of the
// previous pixel (a match at the distance of one pixel) and the bytes of
// any other pixel (literals). Rows equal to the one above, most of a plot,
// cost one comparison of memory. The tokens are coded with deflate's fixed
// Huffman code in one block. The stream is a valid zlib stream of the
// filtered rows (filter type None), so any PNG decoder reads back exactly
// img's pixels.

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

// fixedCodes are deflate's fixed Huffman codes for literal bytes and for
// match lengths (with their extra bits), computed once by newFixedCodes and
// never changed.
type fixedCodes struct {
	literal [256]code
	length  [maxMatch + 1]code // for lengths 3 to 258
	end     code               // end of block
}

// fixedCode are the fixed Huffman codes.
var fixedCode = newFixedCodes()

// lengthBase and lengthExtra are the first length and the number of extra
// bits of the length codes 257 to 285 (RFC 1951, section 3.2.5).
var (
	lengthBase  = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
)

// fixedSymbol returns the fixed Huffman code of the literal/length symbol
// s (0 to 287), bit-reversed for writing least significant bit first.
func fixedSymbol(s int) code {
	var c, n int
	switch {
	case s < 144:
		c, n = 0x30+s, 8
	case s < 256:
		c, n = 0x190+s-144, 9
	case s < 280:
		c, n = s-256, 7
	default:
		c, n = 0xc0+s-280, 8
	}
	return code{uint32(bits.Reverse16(uint16(c)) >> (16 - n)), uint8(n)}
}

func newFixedCodes() *fixedCodes {
	f := &fixedCodes{end: fixedSymbol(256)}
	for b := range f.literal {
		f.literal[b] = fixedSymbol(b)
	}
	for i, base := range lengthBase {
		next := maxMatch + 1
		if i+1 < len(lengthBase) {
			next = lengthBase[i+1]
		}
		sym := fixedSymbol(257 + i)
		for l := base; l < next; l++ {
			f.length[l] = code{sym.bits | uint32(l-base)<<sym.n, sym.n + lengthExtra[i]}
		}
	}
	return f
}

// distanceCode returns the fixed code of the match distance d (1 to
// 32768) with its extra bits.
func distanceCode(d int) code {
	// Distance codes 0-3 are the distances 1-4; then every pair of codes
	// doubles the range, with one more extra bit every two codes.
	var sym, extra, base int
	if d <= 4 {
		sym, base = d-1, d
	} else {
		hi := bits.Len(uint(d-1)) - 1 // 2^hi < d-1+1
		extra = hi - 1
		half := (d - 1) >> extra & 1
		sym = 2*hi + half
		base = 1<<hi + half<<extra + 1
	}
	c := uint32(bits.Reverse8(uint8(sym)) >> 3) // 5-bit codes
	return code{c | uint32(d-base)<<5, uint8(5 + extra)}
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

// runDeflater writes the tokens of one image.
type runDeflater struct {
	bw       bitWriter
	run, dst int  // bytes of the pending match and its distance, or 0
	above    code // the distance code of a copy of the row above
	left     code // the distance code of a copy of the pixel on the left
}

// canRunDeflate reports whether deflateRuns can encode an image of this
// width: the row above must be within deflate's reach.
func canRunDeflate(width int) bool { return 1+3*width <= maxDistance }

// deflateRuns returns the pixels of img, unfiltered and without alpha, as
// a zlib stream, if every pixel is opaque; canRunDeflate must allow img's
// width. It reads every pixel once: it checks the alpha of every pixel it
// writes as a literal, and a pixel it copies has the alpha of its source.
func deflateRuns(img *image.RGBA) (stream []byte, ok bool) {
	b := img.Bounds()
	width := b.Dx()
	stride := 1 + 3*width
	d := &runDeflater{
		bw:    bitWriter{out: make([]byte, 0, 64<<10)},
		above: distanceCode(stride),
		left:  distanceCode(3),
	}
	d.bw.out = append(d.bw.out, 0x78, 0x01) // zlib: deflate, 32 KB window, fastest
	d.bw.write(code{bits: 1 | 1<<1, n: 3})  // final block, fixed Huffman codes

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
			return nil, false
		}
		rowSum += ds
		rowWeighted += dw
		adlerB = (adlerB + uint64(stride)*adlerA + uint64(rowWeighted)) % adlerMod
		adlerA = (adlerA + uint64(rowSum)) % adlerMod
		prev = row
	}
	d.end()
	d.bw.write(fixedCode.end)
	d.bw.align()
	return binary.BigEndian.AppendUint32(d.bw.out, uint32(adlerB<<16|adlerA)), true
}

// row writes the tokens of a row of RGBA pixels, given the row
// above, prev (nil for the first row), and returns how much the raw row's
// sum and weighted sum (see deflateRuns) differ from prev's (from zeros'
// for the first row), or ok false at a pixel that is not opaque.
func (d *runDeflater) row(row, prev []byte) (dSum, dWeighted int64, ok bool) {
	stride := len(row)/4*3 + 1
	if prev != nil {
		d.match(1, stride) // the filter byte, 0 in every row, copies the one above
	} else {
		d.end()
		d.bw.write(fixedCode.literal[0])
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
			r, g, b := fixedCode.literal[row[x]], fixedCode.literal[row[x+1]], fixedCode.literal[row[x+2]]
			d.bw.write(code{r.bits | g.bits<<r.n | b.bits<<(r.n+g.n), r.n + g.n + b.n})
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
	// bytes.Equal compares blocks many bytes at a time (vector
	// instructions), then words find the first difference.
	const block = 128
	for i+block <= n && bytes.Equal(a[i:i+block], b[i:i+block]) {
		i += block
	}
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

// match adds n bytes copied from dist bytes back, extending the pending
// match if it copies from as far.
func (d *runDeflater) match(n, dist int) {
	if d.dst != dist {
		d.end()
		d.dst = dist
	}
	d.run += n
}

// end writes the pending match.
func (d *runDeflater) end() {
	n := d.run
	if n == 0 {
		return
	}
	dc := d.left
	if d.dst != 3 {
		dc = d.above
	}
	d.run, d.dst = 0, 0
	if n < 3 {
		// Only a lone filter byte (a row whose first pixel differs from
		// the one above) makes a match too short for deflate.
		for range n {
			d.bw.write(fixedCode.literal[0])
		}
		return
	}
	for n > 0 {
		k := min(n, maxMatch)
		if r := n - k; r > 0 && r < 3 {
			k = n - 3 // leave a codable rest
		}
		d.bw.write(fixedCode.length[k])
		d.bw.write(dc)
		n -= k
	}
}

package report

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"io"
)

// encodePNG writes img as an 8-bit truecolour PNG (RGB when every pixel is
// opaque, as a plot on its white background is, RGBA otherwise). The
// pixels are exactly img's: any PNG decoder reads them back unchanged.
//
// An opaque image goes through deflateRuns, a deflate encoder made for
// plots (see deflate.go) that costs a fraction of compress/flate's fastest
// level; any other, or one too wide for it, is encoded as encodePNGZlib
// does.
func encodePNG(w io.Writer, img *image.RGBA) error {
	file, _, err := pngFile(img, nil)
	if err != nil {
		return err
	}
	if _, err := w.Write(file); err != nil {
		return fmt.Errorf("png: %w", err)
	}
	return nil
}

// pngFile returns the file encodePNG writes. Through deflateRuns, the file
// is built in one allocation of its size; tokens is memory for its tokens
// (see appendDeflateRuns), returned for the next image.
func pngFile(img *image.RGBA, tokens []uint32) (file []byte, tokensOut []uint32, err error) {
	b := img.Bounds()
	width, height := b.Dx(), b.Dy()
	if width > 0 && height > 0 && canRunDeflate(width) {
		head := make([]byte, 0, 64)
		head = append(head, pngSignature...)
		head = appendChunk(head, "IHDR", ihdr(width, height, 2)) // RGB
		head = append(head, 0, 0, 0, 0, 'I', 'D', 'A', 'T')      // its length below
		start := len(head)
		var ok bool
		file, tokens, ok = appendDeflateRuns(head, img, tokens, 4+12) // the CRC and IEND
		if ok {
			binary.BigEndian.PutUint32(file[start-8:], uint32(len(file)-start))
			file = binary.BigEndian.AppendUint32(file, crc32.ChecksumIEEE(file[start-4:]))
			return appendChunk(file, "IEND", nil), tokens, nil
		}
	}
	var buf bytes.Buffer
	if err := encodePNGZlib(&buf, img, nil); err != nil {
		return nil, tokens, err
	}
	return buf.Bytes(), tokens, nil
}

// pngSignature starts every PNG file.
const pngSignature = "\x89PNG\r\n\x1a\n"

// ihdr returns the data of the IHDR chunk of an 8-bit image of colour type
// colorType.
func ihdr(width, height int, colorType byte) []byte {
	var h [13]byte
	binary.BigEndian.PutUint32(h[0:], uint32(width))
	binary.BigEndian.PutUint32(h[4:], uint32(height))
	h[8], h[9] = 8, colorType // bit depth, colour type; compression, filter, interlace 0
	return h[:]
}

// appendChunk appends a chunk: length, type, data and the CRC of type and
// data.
func appendChunk(dst []byte, typ string, data []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)))
	start := len(dst)
	dst = append(dst, typ...)
	dst = append(dst, data...)
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}

// encodePNGZlib writes img as encodePNG does, but always with the "up"
// filter on every row and compress/flate's fastest level.
//
// image/png picks a filter for each row by trying all five, which costs
// more than drawing a plot; it offers no way to choose one. A plot's rows
// mostly repeat the row above (background, axes, vertical edges), so "up"
// turns them into runs of zeros that deflate at full speed, and the file
// stays about as small.
//
// zw, when not nil, is a compressor to reuse (Reset to the new stream).
func encodePNGZlib(w io.Writer, img *image.RGBA, zw *zlib.Writer) error {
	b := img.Bounds()
	width, height := b.Dx(), b.Dy()
	if width <= 0 || height <= 0 {
		return fmt.Errorf("png: empty image %dx%d", width, height)
	}
	bpp, colorType := 3, byte(2) // RGB
	if !opaque(img) {
		bpp, colorType = 4, 6 // RGBA, non-premultiplied
	}
	pw := &pngWriter{w: bufio.NewWriterSize(w, 32<<10)}
	pw.write([]byte(pngSignature))
	pw.chunk("IHDR", ihdr(width, height, colorType))

	idat := &chunkWriter{pw: pw, buf: make([]byte, 0, 32<<10)}
	if zw == nil {
		var err error
		if zw, err = zlib.NewWriterLevel(idat, zlib.BestSpeed); err != nil {
			return fmt.Errorf("png: %w", err)
		}
	} else {
		zw.Reset(idat)
	}
	// Each row is filtered against the row above it in img itself (the
	// row above the first is zeros, as the PNG specification has it).
	stride := 1 + bpp*width
	out := make([]byte, stride)
	out[0] = 2 // filter type "up"
	above := make([]byte, 4*width)
	var rgba, prevRGBA []byte
	if bpp == 4 {
		rgba, prevRGBA = make([]byte, 4*width), make([]byte, 4*width)
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		i := img.PixOffset(b.Min.X, y)
		row := img.Pix[i : i+4*width : i+4*width]
		if bpp == 3 {
			o := out[1:stride:stride]
			if bytes.Equal(row, above) {
				clear(o) // most rows of a plot repeat the one above
			} else {
				above := above[:len(row)]
				for x, j := 0, 0; x+3 < len(row) && j+2 < len(o); x, j = x+4, j+3 {
					o[j] = row[x] - above[x]
					o[j+1] = row[x+1] - above[x+1]
					o[j+2] = row[x+2] - above[x+2]
				}
			}
			above = row
		} else {
			unpremultiply(rgba, row)
			for i, v := range rgba {
				out[1+i] = v - prevRGBA[i]
			}
			rgba, prevRGBA = prevRGBA, rgba
		}
		if _, err := zw.Write(out); err != nil {
			return fmt.Errorf("png: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("png: %w", err)
	}
	idat.flush()
	return pw.finish()
}

// finish writes the IEND chunk and flushes the output.
func (p *pngWriter) finish() error {
	p.chunk("IEND", nil)
	if p.err == nil {
		p.err = p.w.Flush()
	}
	if p.err != nil {
		return fmt.Errorf("png: %w", p.err)
	}
	return nil
}

// unpremultiply writes the alpha-premultiplied RGBA pixels of src to dst
// as non-premultiplied RGBA, the PNG form, as image/png does.
func unpremultiply(dst, src []byte) {
	for x := 0; x+3 < len(src) && x+3 < len(dst); x += 4 {
		r, g, b, a := src[x], src[x+1], src[x+2], src[x+3]
		switch a {
		case 0:
			r, g, b = 0, 0, 0
		case 255:
		default:
			// 0x101 widens to 16 bits, 0xffff/a un-premultiplies.
			const m = 0x101 * 0xffff
			a16 := uint32(a) * 0x101
			r = uint8((uint32(r) * m / a16) >> 8)
			g = uint8((uint32(g) * m / a16) >> 8)
			b = uint8((uint32(b) * m / a16) >> 8)
		}
		dst[x], dst[x+1], dst[x+2], dst[x+3] = r, g, b, a
	}
}

// pngWriter writes PNG chunks, keeping the first write error.
type pngWriter struct {
	w   *bufio.Writer
	err error
}

func (p *pngWriter) write(b []byte) {
	if p.err == nil {
		_, p.err = p.w.Write(b)
	}
}

// chunk writes one chunk: length, type, data and the CRC of type and data.
func (p *pngWriter) chunk(typ string, data []byte) {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)))
	copy(hdr[4:], typ)
	crc := crc32.NewIEEE()
	crc.Write(hdr[4:])
	crc.Write(data)
	p.write(hdr[:])
	p.write(data)
	p.write(binary.BigEndian.AppendUint32(nil, crc.Sum32()))
}

// chunkWriter gathers the compressed stream into IDAT chunks of up to
// its buffer's capacity.
type chunkWriter struct {
	pw  *pngWriter
	buf []byte
}

// Write implements io.Writer.
func (c *chunkWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		k := min(len(b), cap(c.buf)-len(c.buf))
		c.buf = append(c.buf, b[:k]...)
		b = b[k:]
		if len(c.buf) == cap(c.buf) {
			c.flush()
		}
	}
	return n, c.pw.err
}

func (c *chunkWriter) flush() {
	if len(c.buf) > 0 {
		c.pw.chunk("IDAT", c.buf)
		c.buf = c.buf[:0]
	}
}

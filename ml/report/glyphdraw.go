package report

import (
	"image"
	"image/color"
	"math"

	"golang.org/x/image/math/f64"
)

// This file draws rotated text (the y axis label, slanted tick labels) as
// golang.org/x/image/draw's bilinear Kernel.Transform does: a glyph is a
// uniform colour through an alpha mask, which that code reads pixel by
// pixel through interfaces (src.At, mask.At, dst.At, dst.Set). The copy
// below, made for those types, performs the very same arithmetic in the
// same order (transformRect, invert and the kernel loop of
// transform_Image_Image_Over, x/image v0.30.0, BSD licence), so it gives
// the same pixels; only the reads and writes are direct.

// bilinearGlyphOver draws src through mask (at mp) over dst, mapping the
// source rectangle sr by s2d, as BiLinear.Transform(dst, s2d, src, sr,
// draw.Over, &draw.Options{SrcMask: mask, SrcMaskP: mp}) does.
func bilinearGlyphOver(dst *image.RGBA, s2d f64.Aff3, src *image.Uniform, sr image.Rectangle, mask *image.Alpha, mp image.Point) {
	dr := transformRect(&s2d, &sr)
	adr := dst.Bounds().Intersect(dr)
	if adr.Empty() || sr.Empty() {
		return
	}
	d2s := invertAff3(&s2d)
	bias := transformRect(&d2s, &adr).Min
	bias.X--
	bias.Y--
	d2s[2] -= float64(bias.X)
	d2s[5] -= float64(bias.Y)
	adr = adr.Sub(dr.Min)

	xscale := math.Abs(d2s[0])
	if s := math.Abs(d2s[1]); xscale < s {
		xscale = s
	}
	yscale := math.Abs(d2s[3])
	if s := math.Abs(d2s[4]); yscale < s {
		yscale = s
	}
	const support = 1.0 // of the bilinear (tent) kernel, 1-t
	xHalfWidth, xKernelArgScale := support, 1.0
	if xscale > 1 {
		xHalfWidth *= xscale
		xKernelArgScale = 1 / xscale
	}
	yHalfWidth, yKernelArgScale := support, 1.0
	if yscale > 1 {
		yHalfWidth *= yscale
		yKernelArgScale = 1 / yscale
	}
	xWeights := make([]float64, 1+2*int(math.Ceil(xHalfWidth)))
	yWeights := make([]float64, 1+2*int(math.Ceil(yHalfWidth)))

	sr16, sg16, sb16, sa16 := src.C.RGBA()
	for dy := int32(adr.Min.Y); dy < int32(adr.Max.Y); dy++ {
		dyf := float64(dr.Min.Y+int(dy)) + 0.5
		for dx := int32(adr.Min.X); dx < int32(adr.Max.X); dx++ {
			dxf := float64(dr.Min.X+int(dx)) + 0.5
			sx := float64(d2s[0]*dxf) + float64(d2s[1]*dyf) + d2s[2]
			sy := float64(d2s[3]*dxf) + float64(d2s[4]*dyf) + d2s[5]
			if !(image.Point{int(sx) + bias.X, int(sy) + bias.Y}).In(sr) {
				continue
			}

			sx += float64(bias.X)
			sx -= 0.5
			ix := int(math.Floor(sx - xHalfWidth))
			if ix < sr.Min.X {
				ix = sr.Min.X
			}
			jx := int(math.Ceil(sx + xHalfWidth))
			if jx > sr.Max.X {
				jx = sr.Max.X
			}
			totalXWeight := 0.0
			for kx := ix; kx < jx; kx++ {
				xWeight := 0.0
				if t := math.Abs((sx - float64(kx)) * xKernelArgScale); t < support {
					xWeight = 1 - t
				}
				xWeights[kx-ix] = xWeight
				totalXWeight += xWeight
			}
			for x := range xWeights[:jx-ix] {
				xWeights[x] /= totalXWeight
			}

			sy += float64(bias.Y)
			sy -= 0.5
			iy := int(math.Floor(sy - yHalfWidth))
			if iy < sr.Min.Y {
				iy = sr.Min.Y
			}
			jy := int(math.Ceil(sy + yHalfWidth))
			if jy > sr.Max.Y {
				jy = sr.Max.Y
			}
			totalYWeight := 0.0
			for ky := iy; ky < jy; ky++ {
				yWeight := 0.0
				if t := math.Abs((sy - float64(ky)) * yKernelArgScale); t < support {
					yWeight = 1 - t
				}
				yWeights[ky-iy] = yWeight
				totalYWeight += yWeight
			}
			for y := range yWeights[:jy-iy] {
				yWeights[y] /= totalYWeight
			}

			var pr, pg, pb, pa float64
			for ky := iy; ky < jy; ky++ {
				if yWeight := yWeights[ky-iy]; yWeight != 0 {
					for kx := ix; kx < jx; kx++ {
						if w := xWeights[kx-ix] * yWeight; w != 0 {
							ma := uint32(mask.AlphaAt(mp.X+kx, mp.Y+ky).A) * 0x101
							pru := sr16 * ma / 0xffff
							pgu := sg16 * ma / 0xffff
							pbu := sb16 * ma / 0xffff
							pau := sa16 * ma / 0xffff
							pr += float64(float64(pru) * w)
							pg += float64(float64(pgu) * w)
							pb += float64(float64(pbu) * w)
							pa += float64(float64(pau) * w)
						}
					}
				}
			}
			if pr > pa {
				pr = pa
			}
			if pg > pa {
				pg = pa
			}
			if pb > pa {
				pb = pa
			}

			x, y := dr.Min.X+int(dx), dr.Min.Y+int(dy)
			q := dst.RGBAAt(x, y)
			qr, qg, qb, qa := q.RGBA()
			pr0 := uint32(fffftou(pr))
			pg0 := uint32(fffftou(pg))
			pb0 := uint32(fffftou(pb))
			pa0 := uint32(fffftou(pa))
			pa1 := 0xffff - pa0
			dst.SetRGBA(x, y, color.RGBA{
				uint8(uint16(qr*pa1/0xffff+pr0) >> 8),
				uint8(uint16(qg*pa1/0xffff+pg0) >> 8),
				uint8(uint16(qb*pa1/0xffff+pb0) >> 8),
				uint8(uint16(qa*pa1/0xffff+pa0) >> 8),
			})
		}
	}
}

// fffftou converts a 16-bit channel from float64, as x/image/draw does.
func fffftou(f float64) uint16 {
	i := int32(f + 0.5)
	if i > 0xffff {
		return 0xffff
	}
	if i > 0 {
		return uint16(i)
	}
	return 0
}

// invertAff3 inverts an affine transform, as x/image/draw does.
func invertAff3(m *f64.Aff3) f64.Aff3 {
	m00 := +m[3*1+1]
	m01 := -m[3*0+1]
	m02 := +float64(m[3*1+2]*m[3*0+1]) - float64(m[3*1+1]*m[3*0+2])
	m10 := -m[3*1+0]
	m11 := +m[3*0+0]
	m12 := +float64(m[3*1+0]*m[3*0+2]) - float64(m[3*1+2]*m[3*0+0])

	det := float64(m00*m11) - float64(m10*m01)

	return f64.Aff3{
		m00 / det,
		m01 / det,
		m02 / det,
		m10 / det,
		m11 / det,
		m12 / det,
	}
}

// transformRect returns the rectangle of destination pixels the source
// rectangle sr maps to, as x/image/draw computes it.
func transformRect(s2d *f64.Aff3, sr *image.Rectangle) (dr image.Rectangle) {
	ps := [...]image.Point{
		{sr.Min.X, sr.Min.Y},
		{sr.Max.X, sr.Min.Y},
		{sr.Min.X, sr.Max.Y},
		{sr.Max.X, sr.Max.Y},
	}
	for i, p := range ps {
		sxf := float64(p.X)
		syf := float64(p.Y)
		dx := int(math.Floor(float64(s2d[0]*sxf) + float64(s2d[1]*syf) + s2d[2]))
		dy := int(math.Floor(float64(s2d[3]*sxf) + float64(s2d[4]*syf) + s2d[5]))
		// An image.Rectangle is inclusive on the low end but exclusive on
		// the high end.
		if i == 0 {
			dr = image.Rectangle{Min: image.Point{dx, dy}, Max: image.Point{dx + 1, dy + 1}}
			continue
		}
		dr.Min.X = min(dr.Min.X, dx)
		dr.Max.X = max(dr.Max.X, dx+1)
		dr.Min.Y = min(dr.Min.Y, dy)
		dr.Max.Y = max(dr.Max.Y, dy+1)
	}
	return dr
}

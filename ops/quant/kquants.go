package quant

import (
	"encoding/binary"
	"math"
)

// The k-quant super-block formats (QK_K = 256 elements). Layouts (little
// endian, packed), as in ggml-common.h:
//
//	q2_K (84):  scales[16] (lo nibble scale, hi nibble min) | qs[64] | d f16 | dmin f16
//	q3_K (110): hmask[32] | qs[64] | scales[12] (16 6-bit, offset 32) | d f16
//	q4_K (144): d f16 | dmin f16 | scales[12] (8 6-bit scales + 8 6-bit mins) | qs[128]
//	q5_K (176): d f16 | dmin f16 | scales[12] | qh[32] | qs[128]
//	q6_K (210): ql[128] | qh[64] | scales[16] int8 | d f16
//	q8_K (292): d f32 | qs[256] int8 | bsums[16] int16 (activations only)

const (
	q2KBytes = 84
	q3KBytes = 110
	q4KBytes = 144
	q5KBytes = 176
	q6KBytes = 210
	q8KBytes = 292
)

// scaleMinK4 unpacks the j-th 6-bit scale and min of a q4_K/q5_K block's
// 12-byte scales field (ggml's get_scale_min_k4): the first four pairs sit
// in the low 6 bits of bytes 0-7, the last four are split between the
// nibbles of bytes 8-11 and the top 2 bits of bytes 0-7.
func scaleMinK4(j int, q *[12]byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// scalesQ3K unpacks the 16 6-bit scales of a q3_K block, minus their offset
// of 32: the low nibbles are in bytes 0-7 (scales 0-7 low, 8-15 high
// nibble), the top 2 bits in bytes 8-11, two bits per scale.
func scalesQ3K(s *[12]byte) (out [16]int8) {
	for j := 0; j < 16; j++ {
		var lo uint8
		if j < 8 {
			lo = s[j] & 0xf
		} else {
			lo = s[j-8] >> 4
		}
		hi := (s[8+j%4] >> (2 * (j / 4))) & 3
		out[j] = int8(lo|hi<<4) - 32
	}
	return out
}

func dequantQ2K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := (*[q2KBytes]byte)(src[i*q2KBytes:])
		y := (*[QK_K]float32)(dst[i*QK_K:])
		d, dmin := f16(b[80:82]), f16(b[82:84])
		for h := 0; h < 2; h++ { // two halves of 128, 32 bytes of qs each
			q := (*[32]byte)(b[16+32*h:])
			for s := 0; s < 4; s++ { // four 2-bit planes
				shift := 2 * s
				for g := 0; g < 2; g++ { // two groups of 16 per plane
					sc := b[8*h+2*s+g]
					dl := d * float32(sc&0xf)
					ml := dmin * float32(sc>>4)
					o := 128*h + 32*s + 16*g
					for l := 0; l < 16; l++ {
						y[o+l] = float32(dl*float32(q[16*g+l]>>shift&3)) - ml
					}
				}
			}
		}
	}
}

func dequantQ3K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := (*[q3KBytes]byte)(src[i*q3KBytes:])
		y := (*[QK_K]float32)(dst[i*QK_K:])
		hm := (*[32]byte)(b[0:32])
		d := f16(b[108:110])
		sc := scalesQ3K((*[12]byte)(b[96:108]))
		for h := 0; h < 2; h++ {
			q := (*[32]byte)(b[32+32*h:])
			for s := 0; s < 4; s++ {
				shift := 2 * s
				m := byte(1) << (4*h + s)
				for g := 0; g < 2; g++ {
					dl := d * float32(sc[8*h+2*s+g])
					o := 128*h + 32*s + 16*g
					for l := 0; l < 16; l++ {
						v := int8(q[16*g+l] >> shift & 3)
						if hm[16*g+l]&m == 0 {
							v -= 4
						}
						y[o+l] = dl * float32(v)
					}
				}
			}
		}
	}
}

func dequantQ4K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := (*[q4KBytes]byte)(src[i*q4KBytes:])
		y := (*[QK_K]float32)(dst[i*QK_K:])
		d, dmin := f16(b[0:2]), f16(b[2:4])
		scales := (*[12]byte)(b[4:16])
		for c := 0; c < 4; c++ { // chunks of 64: low nibbles then high nibbles of 32 bytes
			q := (*[32]byte)(b[16+32*c:])
			sc, m := scaleMinK4(2*c, scales)
			d1, m1 := d*float32(sc), dmin*float32(m)
			sc, m = scaleMinK4(2*c+1, scales)
			d2, m2 := d*float32(sc), dmin*float32(m)
			for l := 0; l < 32; l++ {
				y[64*c+l] = float32(d1*float32(q[l]&0xf)) - m1
				y[64*c+32+l] = float32(d2*float32(q[l]>>4)) - m2
			}
		}
	}
}

func dequantQ5K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := (*[q5KBytes]byte)(src[i*q5KBytes:])
		y := (*[QK_K]float32)(dst[i*QK_K:])
		d, dmin := f16(b[0:2]), f16(b[2:4])
		scales := (*[12]byte)(b[4:16])
		qh := (*[32]byte)(b[16:48])
		for c := 0; c < 4; c++ {
			q := (*[32]byte)(b[48+32*c:])
			u1, u2 := byte(1)<<(2*c), byte(2)<<(2*c)
			sc, m := scaleMinK4(2*c, scales)
			d1, m1 := d*float32(sc), dmin*float32(m)
			sc, m = scaleMinK4(2*c+1, scales)
			d2, m2 := d*float32(sc), dmin*float32(m)
			for l := 0; l < 32; l++ {
				lo, hi := q[l]&0xf, q[l]>>4
				if qh[l]&u1 != 0 {
					lo += 16
				}
				if qh[l]&u2 != 0 {
					hi += 16
				}
				y[64*c+l] = float32(d1*float32(lo)) - m1
				y[64*c+32+l] = float32(d2*float32(hi)) - m2
			}
		}
	}
}

func dequantQ6K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := (*[q6KBytes]byte)(src[i*q6KBytes:])
		y := (*[QK_K]float32)(dst[i*QK_K:])
		d := f16(b[208:210])
		for h := 0; h < 2; h++ { // halves of 128: 64 bytes of ql, 32 of qh, 8 scales
			ql := (*[64]byte)(b[64*h:])
			qh := (*[32]byte)(b[128+32*h:])
			sc := (*[8]byte)(b[192+8*h:])
			yh := (*[128]float32)(y[128*h:])
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int8(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
				q2 := int8(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
				q3 := int8(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int8(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				// (d*sc)*q, in ggml's order
				yh[l] = float32(d*float32(int8(sc[is]))) * float32(q1)
				yh[l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
				yh[l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
				yh[l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
			}
		}
	}
}

func dequantQ8K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := (*[q8KBytes]byte)(src[i*q8KBytes:])
		y := (*[QK_K]float32)(dst[i*QK_K:])
		d := math.Float32frombits(binary.LittleEndian.Uint32(b[0:4]))
		for j := 0; j < QK_K; j++ {
			y[j] = d * float32(int8(b[4+j]))
		}
	}
}

// nearestInt is ggml's nearest_int: adding 1.5*2^23 leaves the rounded
// integer (nearest, ties to even) in the low mantissa bits. Valid for
// |f| <= 4194303, as in ggml.
func nearestInt(f float32) int32 {
	v := float32(f) + 12582912 // the conversion stops arm64 fusing a caller's product into this add
	return int32(math.Float32bits(v)&0x007fffff) - 0x00400000
}

// quantQ8K is quantize_row_q8_K_ref: iscale = -127/max where max is the
// signed element of largest magnitude, q = min(127, nearest_int(iscale*x)),
// d = 1/iscale stored as float32, and bsums holds the sum of each 16 quants.
// (ggml used -128/max before IQ2_XXS; current ggml uses -127.)
func quantQ8K(x []float32, dst []byte) {
	for i := 0; i < len(x)/QK_K; i++ {
		xb := (*[QK_K]float32)(x[i*QK_K:])
		b := (*[q8KBytes]byte)(dst[i*q8KBytes:])
		amax, max := absMaxSigned(xb[:])
		if amax == 0 {
			// ggml zeroes d and qs and leaves bsums alone; we zero the whole
			// block so that the output never depends on dst's old contents.
			clear(b[:])
			continue
		}
		iscale := -127 / max
		for j, v := range xb {
			b[4+j] = byte(int8(min(127, nearestInt(iscale*v))))
		}
		for j := 0; j < QK_K/16; j++ {
			var sum int32
			for _, q := range b[4+16*j : 4+16*j+16] {
				sum += int32(int8(q))
			}
			binary.LittleEndian.PutUint16(b[260+2*j:], uint16(int16(sum)))
		}
		binary.LittleEndian.PutUint32(b[0:4], math.Float32bits(1/iscale))
	}
}

// The weight quantizers below port ggml's quantize_row_q*_K_ref (no
// importance matrix), which is what llama-quantize uses without --imatrix.

const groupMaxEps = 1e-15

// makeQKX2Quants is ggml's make_qkx2_quants: fit x ≈ scale*L - min with L
// in [0, nmax] by a small grid search over the scale, weighted by weights.
// It returns scale and the (positive) min.
func makeQKX2Quants(x, weights []float32, L, laux []uint8, nmax int, rmin, rdelta float32, nstep int, useMad bool) (scale, theMin float32) {
	n := len(x)
	mn, mx := x[0], x[0]
	sumW := weights[0]
	sumX := sumW * x[0]
	for i := 1; i < n; i++ {
		if x[i] < mn {
			mn = x[i]
		}
		if x[i] > mx {
			mx = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if mn > 0 {
		mn = 0
	}
	if mx == mn {
		for i := range n {
			L[i] = 0
		}
		return 0, -mn
	}
	fnmax := float32(nmax)
	iscale := fnmax / (mx - mn)
	scale = 1 / iscale
	var bestError float32
	for i := range n {
		l := nearestInt(iscale * (x[i] - mn))
		L[i] = uint8(max(0, min(int32(nmax), l)))
		diff := float32(float32(scale*float32(L[i]))+mn) - x[i]
		if useMad {
			diff = abs32(diff)
		} else {
			diff *= diff
		}
		bestError += float32(weights[i] * diff)
	}
	if nstep < 1 {
		return scale, -mn
	}
	for is := 0; is <= nstep; is++ {
		iscale = (float32(rmin+float32(rdelta*float32(is))) + fnmax) / (mx - mn)
		var sumL, sumL2, sumXL float32
		for i := range n {
			l := max(0, min(int32(nmax), nearestInt(iscale*(x[i]-mn))))
			laux[i] = uint8(l)
			w := weights[i]
			fl := float32(l)
			sumL += float32(w * fl)
			sumL2 += float32(float32(w*fl) * fl)
			sumXL += float32(float32(w*fl) * x[i])
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var curError float32
			for i := range n {
				diff := float32(float32(thisScale*float32(laux[i]))+thisMin) - x[i]
				if useMad {
					diff = abs32(diff)
				} else {
					diff *= diff
				}
				curError += float32(weights[i] * diff)
			}
			if curError < bestError {
				copy(L[:n], laux[:n])
				bestError = curError
				scale = thisScale
				mn = thisMin
			}
		}
	}
	return scale, -mn
}

// makeQXQuants is ggml's make_qx_quants for rmse_type 1 without quant
// weights (weights x²), the variant q6_K's reference quantizer uses: a
// symmetric fit x ≈ scale*(L-nmax) with L in [0, 2*nmax).
func makeQXQuants(x []float32, L []int8, nmax int) float32 {
	n := len(x)
	amax, max := absMaxSigned(x)
	if amax < groupMaxEps {
		for i := range n {
			L[i] = 0
		}
		return 0
	}
	fnmax := float32(nmax)
	clampL := func(l int32) int32 { return maxI32(-int32(nmax), minI32(int32(nmax)-1, l)) }
	iscale := -fnmax / max
	var sumlx, suml2 float32
	for i := range n {
		l := clampL(nearestInt(iscale * x[i]))
		L[i] = int8(l + int32(nmax))
		w := float32(x[i] * x[i])
		fl := float32(l)
		sumlx += float32(float32(w*x[i]) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := scale * sumlx
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(fnmax + float32(0.1*float32(is))) / max
		sumlx, suml2 = 0, 0
		for i := range n {
			l := clampL(nearestInt(iscale * x[i]))
			w := float32(x[i] * x[i])
			fl := float32(l)
			sumlx += float32(float32(w*x[i]) * fl)
			suml2 += float32(float32(w*fl) * fl)
		}
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			for i := range n {
				L[i] = int8(clampL(nearestInt(iscale*x[i])) + int32(nmax))
			}
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	return scale
}

// makeQ3Quants is ggml's make_q3_quants with do_rmse: a symmetric fit with
// L in [-nmax, nmax) refined by coordinate descent, returned offset by nmax.
func makeQ3Quants(x []float32, L []int8, nmax int) float32 {
	n := len(x)
	amax, max := absMaxSigned(x)
	if amax < groupMaxEps {
		for i := range n {
			L[i] = 0
		}
		return 0
	}
	iscale := -float32(nmax) / max
	lo, hi := -int32(nmax), int32(nmax)-1
	var sumlx, suml2 float32
	for i := range n {
		l := maxI32(lo, minI32(hi, nearestInt(iscale*x[i])))
		L[i] = int8(l)
		w := float32(x[i] * x[i])
		fl := float32(l)
		sumlx += float32(float32(w*x[i]) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	for itry := 0; itry < 5; itry++ {
		nChanged := 0
		for i := range n {
			w := float32(x[i] * x[i])
			fli := float32(L[i])
			slx := sumlx - float32(float32(w*x[i])*fli)
			if slx > 0 {
				sl2 := suml2 - float32(float32(w*fli)*fli)
				newL := maxI32(lo, minI32(hi, nearestInt(float32(x[i]*sl2)/slx)))
				if newL != int32(L[i]) {
					fnl := float32(newL)
					slx += float32(float32(w*x[i]) * fnl)
					sl2 += float32(float32(w*fnl) * fnl)
					if sl2 > 0 && float32(float32(slx*slx)*suml2) > float32(float32(sumlx*sumlx)*sl2) {
						L[i] = int8(newL)
						sumlx, suml2 = slx, sl2
						nChanged++
					}
				}
			}
		}
		if nChanged == 0 {
			break
		}
	}
	for i := range n {
		L[i] += int8(nmax)
	}
	if suml2 > 0 {
		return sumlx / suml2
	}
	return 0
}

func minI32(a, b int32) int32 { return min(a, b) }
func maxI32(a, b int32) int32 { return max(a, b) }

// packQ2 stores 2-bit values L (256, each < 4) into qs[64] the way q2_K and
// q3_K lay them out: byte l of half h holds elements 128h+l, +32, +64, +96.
func packQ2(L *[QK_K]uint8, qs []byte) {
	for j := 0; j < QK_K; j += 128 {
		for l := 0; l < 32; l++ {
			qs[j/4+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
		}
	}
}

// quantQ2K is quantize_row_q2_K_ref.
func quantQ2K(x []float32, dst []byte) {
	var (
		L       [QK_K]uint8
		laux    [16]uint8
		weights [16]float32
		mins    [QK_K / 16]float32
		scales  [QK_K / 16]float32
	)
	const q4scale = 15
	for i := 0; i < len(x)/QK_K; i++ {
		xb := x[i*QK_K : (i+1)*QK_K]
		b := (*[q2KBytes]byte)(dst[i*q2KBytes:])
		var maxScale, maxMin float32
		for j := 0; j < QK_K/16; j++ {
			xg := xb[16*j : 16*j+16]
			for l := range weights {
				weights[l] = abs32(xg[l])
			}
			scales[j], mins[j] = makeQKX2Quants(xg, weights[:], L[16*j:16*j+16], laux[:], 3, -0.5, 0.1, 15, true)
			maxScale = max(maxScale, scales[j])
			maxMin = max(maxMin, mins[j])
		}
		if maxScale > 0 {
			iscale := q4scale / maxScale
			for j := 0; j < QK_K/16; j++ {
				b[j] = uint8(nearestInt(iscale * scales[j]))
			}
			putF16(b[80:82], maxScale/q4scale)
		} else {
			clear(b[0:16])
			putF16(b[80:82], 0)
		}
		if maxMin > 0 {
			iscale := q4scale / maxMin
			for j := 0; j < QK_K/16; j++ {
				b[j] |= uint8(nearestInt(iscale*mins[j])) << 4
			}
			putF16(b[82:84], maxMin/q4scale)
		} else {
			putF16(b[82:84], 0)
		}
		dAll, mAll := f16(b[80:82]), f16(b[82:84])
		for j := 0; j < QK_K/16; j++ {
			d := dAll * float32(b[j]&0xf)
			if d == 0 {
				continue
			}
			dm := mAll * float32(b[j]>>4)
			for ii := 0; ii < 16; ii++ {
				l := nearestInt((xb[16*j+ii] + dm) / d)
				L[16*j+ii] = uint8(max(0, min(3, l)))
			}
		}
		packQ2(&L, b[16:80])
	}
}

// quantQ3K is quantize_row_q3_K_ref.
func quantQ3K(x []float32, dst []byte) {
	var (
		L      [QK_K]int8
		scales [QK_K / 16]float32
		U      [QK_K]uint8
	)
	for i := 0; i < len(x)/QK_K; i++ {
		xb := x[i*QK_K : (i+1)*QK_K]
		b := (*[q3KBytes]byte)(dst[i*q3KBytes:])
		var maxScale, amax float32
		for j := 0; j < QK_K/16; j++ {
			scales[j] = makeQ3Quants(xb[16*j:16*j+16], L[16*j:16*j+16], 4)
			if s := abs32(scales[j]); s > amax {
				amax, maxScale = s, scales[j]
			}
		}
		sb := b[96:108]
		clear(sb)
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := 0; j < QK_K/16; j++ {
				l := int8(nearestInt(iscale * scales[j]))
				u := uint8(max(-32, min(31, l)) + 32)
				if j < 8 {
					sb[j] = u & 0xf
				} else {
					sb[j-8] |= (u & 0xf) << 4
				}
				sb[j%4+8] |= (u >> 4) << (2 * (j / 4))
			}
			putF16(b[108:110], 1/iscale)
		} else {
			putF16(b[108:110], 0)
		}
		dAll := f16(b[108:110])
		sc := scalesQ3K((*[12]byte)(sb))
		for j := 0; j < QK_K/16; j++ {
			d := dAll * float32(sc[j])
			if d == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				l := nearestInt(xb[16*j+ii] / d)
				L[16*j+ii] = int8(max(-4, min(3, l)) + 4)
			}
		}
		hm := b[0:32]
		clear(hm)
		for j := 0; j < QK_K; j++ {
			u := uint8(L[j])
			if u > 3 {
				hm[j%32] |= 1 << (j / 32)
				u -= 4
			}
			U[j] = u
		}
		packQ2(&U, b[32:96])
	}
}

// packScalesK4 stores 8 6-bit scales and mins into a q4_K/q5_K scales field,
// the inverse of scaleMinK4.
func packScalesK4(s []byte, ls, lm *[8]uint8) {
	for j := 0; j < 8; j++ {
		if j < 4 {
			s[j] = ls[j]
			s[j+4] = lm[j]
		} else {
			s[j+4] = ls[j]&0xf | (lm[j]&0xf)<<4
			s[j-4] |= (ls[j] >> 4) << 6
			s[j] |= (lm[j] >> 4) << 6
		}
	}
}

// quantK45 is the shared body of quantize_row_q4_K_ref (nmax 15) and
// quantize_row_q5_K_ref (nmax 31); it fills L and the d, dmin and scales
// fields (b[0:16], identical in both layouts).
func quantK45(xb []float32, b []byte, L *[QK_K]uint8, nmax int, rmin, rdelta float32, nstep int) {
	var (
		laux    [32]uint8
		weights [32]float32
		mins    [8]float32
		scales  [8]float32
		ls, lm  [8]uint8
	)
	var maxScale, maxMin float32
	for j := 0; j < 8; j++ {
		xg := xb[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xg {
			sumX2 += float32(v * v)
		}
		avX := float32(math.Sqrt(float64(sumX2 / 32)))
		for l, v := range xg {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2Quants(xg, weights[:], L[32*j:32*j+32], laux[:], nmax, rmin, rdelta, nstep, false)
		maxScale = max(maxScale, scales[j])
		maxMin = max(maxMin, mins[j])
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	for j := 0; j < 8; j++ {
		ls[j] = min(63, uint8(nearestInt(invScale*scales[j])))
		lm[j] = min(63, uint8(nearestInt(invMin*mins[j])))
	}
	sb := (*[12]byte)(b[4:16])
	packScalesK4(sb[:], &ls, &lm)
	putF16(b[0:2], maxScale/63)
	putF16(b[2:4], maxMin/63)
	dAll, mAll := f16(b[0:2]), f16(b[2:4])
	for j := 0; j < 8; j++ {
		sc, m := scaleMinK4(j, sb)
		d := dAll * float32(sc)
		if d == 0 {
			continue
		}
		dm := mAll * float32(m)
		for ii := 0; ii < 32; ii++ {
			l := nearestInt((xb[32*j+ii] + dm) / d)
			L[32*j+ii] = uint8(max(0, min(int32(nmax), l)))
		}
	}
}

// quantQ4K is quantize_row_q4_K_ref.
func quantQ4K(x []float32, dst []byte) {
	var L [QK_K]uint8
	for i := 0; i < len(x)/QK_K; i++ {
		xb := x[i*QK_K : (i+1)*QK_K]
		b := (*[q4KBytes]byte)(dst[i*q4KBytes:])
		quantK45(xb, b[:], &L, 15, -1, 0.1, 20)
		q := b[16:]
		for j := 0; j < QK_K; j += 64 {
			for l := 0; l < 32; l++ {
				q[j/2+l] = L[j+l] | L[j+l+32]<<4
			}
		}
	}
}

// quantQ5K is quantize_row_q5_K_ref.
func quantQ5K(x []float32, dst []byte) {
	var L [QK_K]uint8
	for i := 0; i < len(x)/QK_K; i++ {
		xb := x[i*QK_K : (i+1)*QK_K]
		b := (*[q5KBytes]byte)(dst[i*q5KBytes:])
		quantK45(xb, b[:], &L, 31, -0.5, 0.1, 15)
		qh := b[16:48]
		clear(qh)
		ql := b[48:]
		m1, m2 := uint8(1), uint8(2)
		for n := 0; n < QK_K; n += 64 {
			for j := 0; j < 32; j++ {
				l1, l2 := L[n+j], L[n+j+32]
				if l1 > 15 {
					l1 -= 16
					qh[j] |= m1
				}
				if l2 > 15 {
					l2 -= 16
					qh[j] |= m2
				}
				ql[n/2+j] = l1 | l2<<4
			}
			m1 <<= 2
			m2 <<= 2
		}
	}
}

// quantQ6K is quantize_row_q6_K_ref.
func quantQ6K(x []float32, dst []byte) {
	var (
		L      [QK_K]int8
		scales [QK_K / 16]float32
	)
	for i := 0; i < len(x)/QK_K; i++ {
		xb := x[i*QK_K : (i+1)*QK_K]
		b := (*[q6KBytes]byte)(dst[i*q6KBytes:])
		var maxScale, maxAbsScale float32
		for ib := 0; ib < QK_K/16; ib++ {
			s := makeQXQuants(xb[16*ib:16*ib+16], L[16*ib:16*ib+16], 32)
			scales[ib] = s
			if a := abs32(s); a > maxAbsScale {
				maxAbsScale, maxScale = a, s
			}
		}
		if maxAbsScale < groupMaxEps {
			clear(b[:])
			continue
		}
		iscale := -128 / maxScale
		putF16(b[208:210], 1/iscale)
		sc := b[192:208]
		for ib := range sc {
			sc[ib] = byte(int8(min(127, nearestInt(iscale*scales[ib]))))
		}
		dAll := f16(b[208:210])
		for j := 0; j < QK_K/16; j++ {
			d := dAll * float32(int8(sc[j]))
			if d == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				l := nearestInt(xb[16*j+ii] / d)
				L[16*j+ii] = int8(max(-32, min(31, l)) + 32)
			}
		}
		for h := 0; h < 2; h++ {
			j := 128 * h
			ql := b[64*h : 64*h+64]
			qh := b[128+32*h : 128+32*h+32]
			for l := 0; l < 32; l++ {
				u1, u2, u3, u4 := uint8(L[j+l]), uint8(L[j+l+32]), uint8(L[j+l+64]), uint8(L[j+l+96])
				ql[l] = u1&0xf | (u3&0xf)<<4
				ql[l+32] = u2&0xf | (u4&0xf)<<4
				qh[l] = u1>>4 | (u2>>4)<<2 | (u3>>4)<<4 | (u4>>4)<<6
			}
		}
	}
}

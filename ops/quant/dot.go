package quant

import (
	"encoding/binary"
	"math"
	"strconv"
)

// DotQ returns the dot product of one weight row w (type t, n elements)
// with an activation row x already quantized by Quantize(VecDotType(t), ...).
// It computes what ggml's generic (scalar) ggml_vec_dot_<t>_<vec_dot_type>
// computes: exact integer sums per block, then the same scale products in
// the same order of float32 operations (F32, F16 and BF16 accumulate the
// float32 products in float64, as ggml_vec_dot_f32/f16/bf16 do). It does
// not allocate. It panics when t has no dot product or when w or x is
// shorter than a row of n elements; n must be a multiple of t's block size.
func DotQ(t Type, n int, w []byte, x []byte) float32 {
	switch t {
	case F32:
		return dotF32(blocks(t, n, 1), w, x)
	case F16:
		return dotF16(blocks(t, n, 1), w, x)
	case BF16:
		return dotBF16(blocks(t, n, 1), w, x)
	case Q4_0:
		return dotQ4_0(blocks(t, n, 32), w, x)
	case Q4_1:
		return dotQ4_1(blocks(t, n, 32), w, x)
	case Q5_0:
		return dotQ5_0(blocks(t, n, 32), w, x)
	case Q5_1:
		return dotQ5_1(blocks(t, n, 32), w, x)
	case Q8_0:
		return dotQ8_0(blocks(t, n, 32), w, x)
	case Q2_K:
		return dotQ2K(blocks(t, n, QK_K), w, x)
	case Q3_K:
		return dotQ3K(blocks(t, n, QK_K), w, x)
	case Q4_K:
		return dotQ4K(blocks(t, n, QK_K), w, x)
	case Q5_K:
		return dotQ5K(blocks(t, n, QK_K), w, x)
	case Q6_K:
		return dotQ6K(blocks(t, n, QK_K), w, x)
	}
	panic("quant.DotQ: no dot product for type " + t.String())
}

// blocks returns n after checking that it is a whole number of blocks of
// size bs (a constant at each call, unlike the map behind t.BlockSize).
func blocks(t Type, n, bs int) int {
	if n < 0 || n%bs != 0 {
		badRowLength(t, n)
	}
	return n
}

// badRowLength panics; kept out of blocks so that blocks inlines.
func badRowLength(t Type, n int) {
	panic("quant.DotQ: row length " + strconv.Itoa(n) + " is not a multiple of the " + t.String() + " block size")
}

// DotRef quantizes x to VecDotType(t) and returns DotQ of it with the
// weight row w. It allocates the quantized row: a convenience for tests.
func DotRef(t Type, w []byte, x []float32) float32 {
	vt := VecDotType(t)
	rb, err := vt.RowBytes(len(x))
	if err != nil {
		panic("quant.DotRef: " + err.Error())
	}
	q := make([]byte, rb)
	if err := Quantize(vt, x, q); err != nil {
		panic("quant.DotRef: " + err.Error())
	}
	return DotQ(t, len(x), w, q)
}

// Float rows: each product rounded to float32, summed in float64
// (ggml_float), as the scalar loops of ggml_vec_dot_f32/f16/bf16.

func dotF32(n int, w, x []byte) float32 {
	w, x = w[:4*n], x[:4*n]
	var sum float64
	for i := 0; i < 4*n; i += 4 {
		a := math.Float32frombits(binary.LittleEndian.Uint32(w[i:]))
		b := math.Float32frombits(binary.LittleEndian.Uint32(x[i:]))
		sum += float64(float32(a * b))
	}
	return float32(sum)
}

func dotF16(n int, w, x []byte) float32 {
	w, x = w[:2*n], x[:2*n]
	var sum float64
	for i := 0; i < 2*n; i += 2 {
		a := fp16Table[binary.LittleEndian.Uint16(w[i:])]
		b := fp16Table[binary.LittleEndian.Uint16(x[i:])]
		sum += float64(float32(a * b))
	}
	return float32(sum)
}

func dotBF16(n int, w, x []byte) float32 {
	w, x = w[:2*n], x[:2*n]
	var sum float64
	for i := 0; i < 2*n; i += 2 {
		a := math.Float32frombits(uint32(binary.LittleEndian.Uint16(w[i:])) << 16)
		b := math.Float32frombits(uint32(binary.LittleEndian.Uint16(x[i:])) << 16)
		sum += float64(float32(a * b))
	}
	return float32(sum)
}

// SWAR helpers: the quants of a block are decoded 8 at a time in a uint64
// (one byte each) into a small int8 buffer, which the unrolled kernels in
// kernels.go then consume.

const (
	m01 = 0x0101010101010101
	m03 = 0x0303030303030303
	m0F = 0x0F0F0F0F0F0F0F0F
)

func le64(b []byte) uint64     { return binary.LittleEndian.Uint64(b) }
func put64(b []byte, v uint64) { binary.LittleEndian.PutUint64(b, v) }

// subN subtracts an offset from 8 packed unsigned bytes, giving int8 bytes:
// v-off as an n-bit two's complement number is v^off, which is then
// sign-extended into the byte (the multiply copies the sign bit upward and
// never carries across bytes).
func sub4(v uint64) uint64  { s := v ^ 0x0404040404040404; return s | (s&0x0404040404040404)*0x3E } // [0,7]  - 4
func sub8(v uint64) uint64  { s := v ^ 0x0808080808080808; return s | (s&0x0808080808080808)*0x1E } // [0,15] - 8
func sub16(v uint64) uint64 { s := v ^ 0x1010101010101010; return s | (s&0x1010101010101010)*0x0F } // [0,31] - 16
func sub32(v uint64) uint64 { s := v ^ 0x2020202020202020; return s | (s&0x2020202020202020)*0x06 } // [0,63] - 32

// spread16[b] has byte k = 0x10 when bit k of b is set: the fifth bits of
// eight q5 quants, ready to OR onto their low nibbles.
var spread16 [256]uint64

func init() {
	for b := range spread16 {
		for k := 0; k < 8; k++ {
			spread16[b] |= uint64(b>>k&1) << (8*k + 4)
		}
	}
}

// nibbles32 decodes 16 packed bytes into 32 quants: the low nibbles are
// elements 0-15, the high nibbles 16-31 (the q4_0/q4_1/q5 order). hi5 holds
// the fifth bits (bit j for element j), zero for 4-bit formats.
func nibbles32(a *[32]byte, qs *[16]byte, hi5 uint32, off16 bool) {
	v0, v1 := le64(qs[0:8]), le64(qs[8:16])
	e0 := v0&m0F | spread16[byte(hi5)]
	e1 := v1&m0F | spread16[byte(hi5>>8)]
	e2 := v0>>4&m0F | spread16[byte(hi5>>16)]
	e3 := v1>>4&m0F | spread16[byte(hi5>>24)]
	if off16 {
		e0, e1, e2, e3 = sub16(e0), sub16(e1), sub16(e2), sub16(e3)
	}
	put64(a[0:8], e0)
	put64(a[8:16], e1)
	put64(a[16:24], e2)
	put64(a[24:32], e3)
}

// ggml_vec_dot_q8_0_q8_0: sumf += sumi*(dx*dy).
func dotQ8_0(n int, w, x []byte) float32 {
	nb := n / 32
	w, x = w[:nb*34], x[:nb*34]
	var sumf float32
	for i := 0; i < nb; i++ {
		wb := (*[34]byte)(w[i*34:])
		xb := (*[34]byte)(x[i*34:])
		sumi := dot32((*[32]byte)(wb[2:34]), (*[32]byte)(xb[2:34]))
		d := fp16Table[binary.LittleEndian.Uint16(wb[0:2])] * fp16Table[binary.LittleEndian.Uint16(xb[0:2])]
		sumf += float32(float32(sumi) * d)
	}
	return sumf
}

// ggml_vec_dot_q4_0_q8_0: sumf += sumi*dx*dy (left to right).
func dotQ4_0(n int, w, x []byte) float32 {
	nb := n / 32
	w, x = w[:nb*18], x[:nb*34]
	var a [32]byte
	var sumf float32
	for i := 0; i < nb; i++ {
		wb := (*[18]byte)(w[i*18:])
		xb := (*[34]byte)(x[i*34:])
		v0, v1 := le64(wb[2:10]), le64(wb[10:18])
		put64(a[0:8], sub8(v0&m0F))
		put64(a[8:16], sub8(v1&m0F))
		put64(a[16:24], sub8(v0>>4&m0F))
		put64(a[24:32], sub8(v1>>4&m0F))
		sumi := dot32(&a, (*[32]byte)(xb[2:34]))
		dx := fp16Table[binary.LittleEndian.Uint16(wb[0:2])]
		dy := fp16Table[binary.LittleEndian.Uint16(xb[0:2])]
		sumf += float32(float32(float32(sumi)*dx) * dy)
	}
	return sumf
}

// ggml_vec_dot_q4_1_q8_1: sumf += (dx*dy)*sumi + mx*sy.
func dotQ4_1(n int, w, x []byte) float32 {
	nb := n / 32
	w, x = w[:nb*20], x[:nb*36]
	var a [32]byte
	var sumf float32
	for i := 0; i < nb; i++ {
		wb := (*[20]byte)(w[i*20:])
		xb := (*[36]byte)(x[i*36:])
		v0, v1 := le64(wb[4:12]), le64(wb[12:20])
		put64(a[0:8], v0&m0F)
		put64(a[8:16], v1&m0F)
		put64(a[16:24], v0>>4&m0F)
		put64(a[24:32], v1>>4&m0F)
		sumi := dot32(&a, (*[32]byte)(xb[4:36]))
		dx := fp16Table[binary.LittleEndian.Uint16(wb[0:2])]
		mx := fp16Table[binary.LittleEndian.Uint16(wb[2:4])]
		dy := fp16Table[binary.LittleEndian.Uint16(xb[0:2])]
		sy := fp16Table[binary.LittleEndian.Uint16(xb[2:4])]
		sumf += float32(float32(dx*dy)*float32(sumi)) + float32(mx*sy)
	}
	return sumf
}

// ggml_vec_dot_q5_0_q8_0: sumf += (dx*dy)*sumi.
func dotQ5_0(n int, w, x []byte) float32 {
	nb := n / 32
	w, x = w[:nb*22], x[:nb*34]
	var a [32]byte
	var sumf float32
	for i := 0; i < nb; i++ {
		wb := (*[22]byte)(w[i*22:])
		xb := (*[34]byte)(x[i*34:])
		nibbles32(&a, (*[16]byte)(wb[6:22]), binary.LittleEndian.Uint32(wb[2:6]), true)
		sumi := dot32(&a, (*[32]byte)(xb[2:34]))
		dx := fp16Table[binary.LittleEndian.Uint16(wb[0:2])]
		dy := fp16Table[binary.LittleEndian.Uint16(xb[0:2])]
		sumf += float32(float32(dx*dy) * float32(sumi))
	}
	return sumf
}

// ggml_vec_dot_q5_1_q8_1: sumf += (dx*dy)*sumi + mx*sy.
func dotQ5_1(n int, w, x []byte) float32 {
	nb := n / 32
	w, x = w[:nb*24], x[:nb*36]
	var a [32]byte
	var sumf float32
	for i := 0; i < nb; i++ {
		wb := (*[24]byte)(w[i*24:])
		xb := (*[36]byte)(x[i*36:])
		nibbles32(&a, (*[16]byte)(wb[8:24]), binary.LittleEndian.Uint32(wb[4:8]), false)
		sumi := dot32(&a, (*[32]byte)(xb[4:36]))
		dx := fp16Table[binary.LittleEndian.Uint16(wb[0:2])]
		mx := fp16Table[binary.LittleEndian.Uint16(wb[2:4])]
		dy := fp16Table[binary.LittleEndian.Uint16(xb[0:2])]
		sy := fp16Table[binary.LittleEndian.Uint16(xb[2:4])]
		sumf += float32(float32(dx*dy)*float32(sumi)) + float32(mx*sy)
	}
	return sumf
}

// q8K returns the parts of a q8_K block: d, the quants and the bsums field.
func q8K(b *[q8KBytes]byte) (float32, *[QK_K]byte, *[32]byte) {
	return math.Float32frombits(binary.LittleEndian.Uint32(b[0:4])), (*[QK_K]byte)(b[4:260]), (*[32]byte)(b[260:292])
}

// bsum returns the j-th int16 bsum of a q8_K block.
func bsum(bs *[32]byte, j int) int32 {
	return int32(int16(uint16(bs[2*j]) | uint16(bs[2*j+1])<<8))
}

// planes32 decodes one 2-bit plane of a q2_K/q3_K half block: quant l is
// bits 2s..2s+1 of q[l].
func planes32(a *[32]byte, q *[32]byte, s uint) {
	for m := 0; m < 32; m += 8 {
		put64(a[m:m+8], le64(q[m:m+8])>>(2*s)&m03)
	}
}

// ggml_vec_dot_q2_K_q8_K: per 16-element group isum += scale*Σq·y, the mins
// come from the activation bsums; sumf += dall*isum - dmin*summs.
func dotQ2K(n int, w, x []byte) float32 {
	nb := n / QK_K
	w, x = w[:nb*q2KBytes], x[:nb*q8KBytes]
	var a [32]byte
	var sumf float32
	for i := 0; i < nb; i++ {
		wb := (*[q2KBytes]byte)(w[i*q2KBytes:])
		yd, q8, bs := q8K((*[q8KBytes]byte)(x[i*q8KBytes:]))
		sc := (*[16]byte)(wb[0:16])
		var summs int32
		for j := 0; j < 16; j++ {
			summs += bsum(bs, j) * int32(sc[j]>>4)
		}
		var isum int32
		for h := 0; h < 2; h++ {
			q2 := (*[32]byte)(wb[16+32*h:])
			for s := 0; s < 4; s++ {
				planes32(&a, q2, uint(s))
				g := 8*h + 2*s
				isum += dot16x2(int32(sc[g]&0xf), int32(sc[g+1]&0xf), &a, (*[32]byte)(q8[128*h+32*s:]))
			}
		}
		dall := yd * fp16Table[binary.LittleEndian.Uint16(wb[80:82])]
		dmin := yd * fp16Table[binary.LittleEndian.Uint16(wb[82:84])]
		sumf += float32(dall*float32(isum)) - float32(dmin*float32(summs))
	}
	return sumf
}

// The q3_K..q6_K generic kernels accumulate scale*q*y into 8 int32 lanes
// (lane = element index mod 8) and only then into 8 float lanes, summed at
// the end. The integer lane sums are exact in any order, so the kernels
// below group the work differently but fill the same lanes.

// sumLanes adds d*aux[l] into the float lanes, as ggml does per block.
func sumLanes(sums *[8]float32, d float32, aux *[8]int32) {
	for l := range aux {
		sums[l] += float32(d * float32(aux[l]))
	}
}

// ggml_vec_dot_q3_K_q8_K.
func dotQ3K(n int, w, x []byte) float32 {
	nb := n / QK_K
	w, x = w[:nb*q3KBytes], x[:nb*q8KBytes]
	var sums [8]float32
	var a [32]byte
	for i := 0; i < nb; i++ {
		wb := (*[q3KBytes]byte)(w[i*q3KBytes:])
		yd, q8, _ := q8K((*[q8KBytes]byte)(x[i*q8KBytes:]))
		hm := (*[32]byte)(wb[0:32])
		sc := scalesQ3K((*[12]byte)(wb[96:108]))
		var aux [8]int32
		for h := 0; h < 2; h++ {
			q3 := (*[32]byte)(wb[32+32*h:])
			for s := 0; s < 4; s++ {
				// quant = 2 low bits | hmask bit (4h+s) << 2, minus 4
				bit := uint(4*h + s)
				for m := 0; m < 32; m += 8 {
					v := le64(q3[m:m+8])>>(2*s)&m03 | (le64(hm[m:m+8])>>bit&m01)<<2
					put64(a[m:m+8], sub4(v))
				}
				g := 8*h + 2*s
				lanes16x2(&aux, int32(sc[g]), int32(sc[g+1]), &a, (*[32]byte)(q8[128*h+32*s:]))
			}
		}
		sumLanes(&sums, fp16Table[binary.LittleEndian.Uint16(wb[108:110])]*yd, &aux)
	}
	var sumf float32
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

// scalesMinsK4 unpacks all 8 scales and mins of a q4_K/q5_K block.
func scalesMinsK4(q *[12]byte) (sc, mn [8]uint8) {
	for j := 0; j < 8; j++ {
		sc[j], mn[j] = scaleMinK4(j, q)
	}
	return sc, mn
}

// minsSum is Σ bsums[j]*mins[j/2], the dmin term of q4_K and q5_K.
func minsSum(bs *[32]byte, mn *[8]uint8) int32 {
	var s int32
	for j := 0; j < 16; j++ {
		s += bsum(bs, j) * int32(mn[j/2])
	}
	return s
}

// dotQ45K is ggml_vec_dot_q4_K_q8_K (qh == nil) and ggml_vec_dot_q5_K_q8_K:
// sumf -= dmin*sumi per block, plus the float lanes at the end.
func dotQ45K(n int, w, x []byte, bb int) float32 {
	nb := n / QK_K
	w, x = w[:nb*bb], x[:nb*q8KBytes]
	var sums [8]float32
	var sumf float32
	var lo, hi [32]byte
	for i := 0; i < nb; i++ {
		wb := w[i*bb : (i+1)*bb]
		yd, q8, bs := q8K((*[q8KBytes]byte)(x[i*q8KBytes:]))
		sc, mn := scalesMinsK4((*[12]byte)(wb[4:16]))
		sumi := minsSum(bs, &mn)
		var qh *[32]byte
		qoff := 16
		if bb == q5KBytes {
			qh, qoff = (*[32]byte)(wb[16:48]), 48
		}
		var aux [8]int32
		for c := 0; c < 4; c++ {
			// chunk c: low nibbles are quants 64c..64c+31, high nibbles the
			// next 32; q5_K adds bits 2c and 2c+1 of qh as the fifth bit.
			q := (*[32]byte)(wb[qoff+32*c:])
			for m := 0; m < 32; m += 8 {
				v := le64(q[m : m+8])
				l, h := v&m0F, v>>4&m0F
				if qh != nil {
					hb := le64(qh[m : m+8])
					l |= (hb >> (2 * c) & m01) << 4
					h |= (hb >> (2*c + 1) & m01) << 4
				}
				put64(lo[m:m+8], l)
				put64(hi[m:m+8], h)
			}
			lanes32(&aux, int32(sc[2*c]), &lo, (*[32]byte)(q8[64*c:]))
			lanes32(&aux, int32(sc[2*c+1]), &hi, (*[32]byte)(q8[64*c+32:]))
		}
		sumLanes(&sums, fp16Table[binary.LittleEndian.Uint16(wb[0:2])]*yd, &aux)
		dmin := fp16Table[binary.LittleEndian.Uint16(wb[2:4])] * yd
		sumf -= float32(dmin * float32(sumi))
	}
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

func dotQ4K(n int, w, x []byte) float32 { return dotQ45K(n, w, x, q4KBytes) }
func dotQ5K(n int, w, x []byte) float32 { return dotQ45K(n, w, x, q5KBytes) }

// ggml_vec_dot_q6_K_q8_K.
func dotQ6K(n int, w, x []byte) float32 {
	nb := n / QK_K
	w, x = w[:nb*q6KBytes], x[:nb*q8KBytes]
	var sums [8]float32
	var a [32]byte
	for i := 0; i < nb; i++ {
		wb := (*[q6KBytes]byte)(w[i*q6KBytes:])
		yd, q8, _ := q8K((*[q8KBytes]byte)(x[i*q8KBytes:]))
		var aux [8]int32
		for h := 0; h < 2; h++ {
			ql := (*[64]byte)(wb[64*h:])
			qh := (*[32]byte)(wb[128+32*h:])
			sc := (*[8]byte)(wb[192+8*h:])
			for k := 0; k < 4; k++ {
				// Quants 32k..32k+31 of this half: low nibbles of ql[0:32]
				// (k=0) or ql[32:64] (k=1), high nibbles for k=2,3; two
				// high bits from qh at bit 2k; minus 32.
				qlk := (*[32]byte)(ql[32*(k&1):])
				ls, hs := uint(4*(k>>1)), uint(2*k)
				for m := 0; m < 32; m += 8 {
					v := le64(qlk[m:m+8])>>ls&m0F | (le64(qh[m:m+8])>>hs&m03)<<4
					put64(a[m:m+8], sub32(v))
				}
				lanes16x2(&aux, int32(int8(sc[2*k])), int32(int8(sc[2*k+1])), &a, (*[32]byte)(q8[128*h+32*k:]))
			}
		}
		sumLanes(&sums, fp16Table[binary.LittleEndian.Uint16(wb[208:210])]*yd, &aux)
	}
	var sumf float32
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

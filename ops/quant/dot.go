package quant

import (
	"encoding/binary"
	"math"
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
		return dotF32(n, w, x)
	case F16:
		return dotF16(n, w, x)
	case BF16:
		return dotBF16(n, w, x)
	case Q4_0:
		return dotQ4_0(n, w, x)
	case Q4_1:
		return dotQ4_1(n, w, x)
	case Q5_0:
		return dotQ5_0(n, w, x)
	case Q5_1:
		return dotQ5_1(n, w, x)
	case Q8_0:
		return dotQ8_0(n, w, x)
	case Q2_K:
		return dotQ2K(n, w, x)
	case Q3_K:
		return dotQ3K(n, w, x)
	case Q4_K:
		return dotQ4K(n, w, x)
	case Q5_K:
		return dotQ5K(n, w, x)
	case Q6_K:
		return dotQ6K(n, w, x)
	}
	panic("quant.DotQ: no dot product for type " + t.String())
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

// dot8 is the int8·int8 dot product of 8 bytes each; small enough to inline.
func dot8(a, b *[8]byte) int32 {
	return int32(int8(a[0]))*int32(int8(b[0])) + int32(int8(a[1]))*int32(int8(b[1])) +
		int32(int8(a[2]))*int32(int8(b[2])) + int32(int8(a[3]))*int32(int8(b[3])) +
		int32(int8(a[4]))*int32(int8(b[4])) + int32(int8(a[5]))*int32(int8(b[5])) +
		int32(int8(a[6]))*int32(int8(b[6])) + int32(int8(a[7]))*int32(int8(b[7]))
}

// dot32 is the int8·int8 dot product of 32 bytes each.
func dot32(a, b *[32]byte) int32 {
	s0 := dot8((*[8]byte)(a[0:8]), (*[8]byte)(b[0:8]))
	s1 := dot8((*[8]byte)(a[8:16]), (*[8]byte)(b[8:16]))
	s2 := dot8((*[8]byte)(a[16:24]), (*[8]byte)(b[16:24]))
	s3 := dot8((*[8]byte)(a[24:32]), (*[8]byte)(b[24:32]))
	return s0 + s1 + s2 + s3
}

// nib4 returns Σ(q[k]&15 + off)·lo[k] and Σ(q[k]>>4 + off)·hi[k] over 4
// bytes: the two nibble halves of 4 packed bytes against their activations.
func nib4(q, lo, hi *[4]byte, off int32) (int32, int32) {
	s0 := (int32(q[0]&15)+off)*int32(int8(lo[0])) + (int32(q[1]&15)+off)*int32(int8(lo[1])) +
		(int32(q[2]&15)+off)*int32(int8(lo[2])) + (int32(q[3]&15)+off)*int32(int8(lo[3]))
	s1 := (int32(q[0]>>4)+off)*int32(int8(hi[0])) + (int32(q[1]>>4)+off)*int32(int8(hi[1])) +
		(int32(q[2]>>4)+off)*int32(int8(hi[2])) + (int32(q[3]>>4)+off)*int32(int8(hi[3]))
	return s0, s1
}

// nib16 is nib4 over 16 packed bytes (a q4_0/q4_1 block) against 32 int8s.
func nib16(q *[16]byte, y *[32]byte, off int32) int32 {
	var s int32
	for k := 0; k < 16; k += 4 {
		a, b := nib4((*[4]byte)(q[k:k+4]), (*[4]byte)(y[k:k+4]), (*[4]byte)(y[16+k:20+k]), off)
		s += a + b
	}
	return s
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
	var sumf float32
	for i := 0; i < nb; i++ {
		wb := (*[18]byte)(w[i*18:])
		xb := (*[34]byte)(x[i*34:])
		sumi := nib16((*[16]byte)(wb[2:18]), (*[32]byte)(xb[2:34]), -8)
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
	var sumf float32
	for i := 0; i < nb; i++ {
		wb := (*[20]byte)(w[i*20:])
		xb := (*[36]byte)(x[i*36:])
		sumi := nib16((*[16]byte)(wb[4:20]), (*[32]byte)(xb[4:36]), 0)
		dx := fp16Table[binary.LittleEndian.Uint16(wb[0:2])]
		mx := fp16Table[binary.LittleEndian.Uint16(wb[2:4])]
		dy := fp16Table[binary.LittleEndian.Uint16(xb[0:2])]
		sy := fp16Table[binary.LittleEndian.Uint16(xb[2:4])]
		sumf += float32(float32(dx*dy)*float32(sumi)) + float32(mx*sy)
	}
	return sumf
}

// q5Block returns Σ((q&15 | h<<4) + off)·y over a 32-element q5 block: qs
// holds the low nibbles, bit j of qh the fifth bit of element j.
func q5Block(qs *[16]byte, qh uint32, y *[32]byte, off int32) int32 {
	var s0, s1 int32
	for j := 0; j < 16; j++ {
		x0 := int32(qs[j]&15) | int32(qh>>j&1)<<4 + off
		x1 := int32(qs[j]>>4) | int32(qh>>(j+16)&1)<<4 + off
		s0 += x0 * int32(int8(y[j]))
		s1 += x1 * int32(int8(y[j+16]))
	}
	return s0 + s1
}

// ggml_vec_dot_q5_0_q8_0: sumf += (dx*dy)*sumi.
func dotQ5_0(n int, w, x []byte) float32 {
	nb := n / 32
	w, x = w[:nb*22], x[:nb*34]
	var sumf float32
	for i := 0; i < nb; i++ {
		wb := (*[22]byte)(w[i*22:])
		xb := (*[34]byte)(x[i*34:])
		qh := binary.LittleEndian.Uint32(wb[2:6])
		sumi := q5Block((*[16]byte)(wb[6:22]), qh, (*[32]byte)(xb[2:34]), -16)
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
	var sumf float32
	for i := 0; i < nb; i++ {
		wb := (*[24]byte)(w[i*24:])
		xb := (*[36]byte)(x[i*36:])
		qh := binary.LittleEndian.Uint32(wb[4:8])
		sumi := q5Block((*[16]byte)(wb[8:24]), qh, (*[32]byte)(xb[4:36]), 0)
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

// ggml_vec_dot_q2_K_q8_K: per 16-element group isum += scale*Σq·y, the mins
// come from the activation bsums; sumf += dall*isum - dmin*summs.
func dotQ2K(n int, w, x []byte) float32 {
	nb := n / QK_K
	w, x = w[:nb*q2KBytes], x[:nb*q8KBytes]
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
				shift := uint(2 * s)
				y := (*[32]byte)(q8[128*h+32*s:])
				var lo, hi int32
				for l := 0; l < 16; l += 4 {
					lo += int32(q2[l]>>shift&3)*int32(int8(y[l])) + int32(q2[l+1]>>shift&3)*int32(int8(y[l+1])) +
						int32(q2[l+2]>>shift&3)*int32(int8(y[l+2])) + int32(q2[l+3]>>shift&3)*int32(int8(y[l+3]))
					hi += int32(q2[l+16]>>shift&3)*int32(int8(y[l+16])) + int32(q2[l+17]>>shift&3)*int32(int8(y[l+17])) +
						int32(q2[l+18]>>shift&3)*int32(int8(y[l+18])) + int32(q2[l+19]>>shift&3)*int32(int8(y[l+19]))
				}
				g := 8*h + 2*s
				isum += int32(sc[g]&0xf)*lo + int32(sc[g+1]&0xf)*hi
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
// the end. The integer lane sums are exact in any order, so the loops below
// group the work differently but fill the same lanes.

// ggml_vec_dot_q3_K_q8_K.
func dotQ3K(n int, w, x []byte) float32 {
	nb := n / QK_K
	w, x = w[:nb*q3KBytes], x[:nb*q8KBytes]
	var sums [8]float32
	for i := 0; i < nb; i++ {
		wb := (*[q3KBytes]byte)(w[i*q3KBytes:])
		yd, q8, _ := q8K((*[q8KBytes]byte)(x[i*q8KBytes:]))
		hm := (*[32]byte)(wb[0:32])
		sc := scalesQ3K((*[12]byte)(wb[96:108]))
		var aux [8]int32
		for h := 0; h < 2; h++ {
			q3 := (*[32]byte)(wb[32+32*h:])
			for s := 0; s < 4; s++ {
				shift := uint(2 * s)
				bit := uint(4*h + s)
				y := (*[32]byte)(q8[128*h+32*s:])
				s0, s1 := int32(sc[8*h+2*s]), int32(sc[8*h+2*s+1])
				for l := 0; l < 8; l++ {
					a0 := int32(q3[l]>>shift&3) - 4 + 4*int32(hm[l]>>bit&1)
					a1 := int32(q3[l+8]>>shift&3) - 4 + 4*int32(hm[l+8]>>bit&1)
					a2 := int32(q3[l+16]>>shift&3) - 4 + 4*int32(hm[l+16]>>bit&1)
					a3 := int32(q3[l+24]>>shift&3) - 4 + 4*int32(hm[l+24]>>bit&1)
					g0 := a0*int32(int8(y[l])) + a1*int32(int8(y[l+8]))
					g1 := a2*int32(int8(y[l+16])) + a3*int32(int8(y[l+24]))
					aux[l] += s0*g0 + s1*g1
				}
			}
		}
		d := fp16Table[binary.LittleEndian.Uint16(wb[108:110])] * yd
		for l := range aux {
			sums[l] += float32(d * float32(aux[l]))
		}
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

// ggml_vec_dot_q4_K_q8_K: sumf -= dmin*sumi per block, plus the float lanes
// at the end.
func dotQ4K(n int, w, x []byte) float32 {
	nb := n / QK_K
	w, x = w[:nb*q4KBytes], x[:nb*q8KBytes]
	var sums [8]float32
	var sumf float32
	for i := 0; i < nb; i++ {
		wb := (*[q4KBytes]byte)(w[i*q4KBytes:])
		yd, q8, bs := q8K((*[q8KBytes]byte)(x[i*q8KBytes:]))
		sc, mn := scalesMinsK4((*[12]byte)(wb[4:16]))
		sumi := minsSum(bs, &mn)
		var aux [8]int32
		for c := 0; c < 4; c++ {
			q4 := (*[32]byte)(wb[16+32*c:])
			ylo := (*[32]byte)(q8[64*c:])
			yhi := (*[32]byte)(q8[64*c+32:])
			s0, s1 := int32(sc[2*c]), int32(sc[2*c+1])
			for l := 0; l < 8; l++ {
				lo := int32(q4[l]&15)*int32(int8(ylo[l])) + int32(q4[l+8]&15)*int32(int8(ylo[l+8])) +
					int32(q4[l+16]&15)*int32(int8(ylo[l+16])) + int32(q4[l+24]&15)*int32(int8(ylo[l+24]))
				hi := int32(q4[l]>>4)*int32(int8(yhi[l])) + int32(q4[l+8]>>4)*int32(int8(yhi[l+8])) +
					int32(q4[l+16]>>4)*int32(int8(yhi[l+16])) + int32(q4[l+24]>>4)*int32(int8(yhi[l+24]))
				aux[l] += s0*lo + s1*hi
			}
		}
		d := fp16Table[binary.LittleEndian.Uint16(wb[0:2])] * yd
		for l := range aux {
			sums[l] += float32(d * float32(aux[l]))
		}
		dmin := fp16Table[binary.LittleEndian.Uint16(wb[2:4])] * yd
		sumf -= float32(dmin * float32(sumi))
	}
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

// ggml_vec_dot_q5_K_q8_K: as q4_K, with the fifth bit from qh.
func dotQ5K(n int, w, x []byte) float32 {
	nb := n / QK_K
	w, x = w[:nb*q5KBytes], x[:nb*q8KBytes]
	var sums [8]float32
	var sumf float32
	for i := 0; i < nb; i++ {
		wb := (*[q5KBytes]byte)(w[i*q5KBytes:])
		yd, q8, bs := q8K((*[q8KBytes]byte)(x[i*q8KBytes:]))
		sc, mn := scalesMinsK4((*[12]byte)(wb[4:16]))
		sumi := minsSum(bs, &mn)
		qh := (*[32]byte)(wb[16:48])
		var aux [8]int32
		for c := 0; c < 4; c++ {
			q4 := (*[32]byte)(wb[48+32*c:])
			ylo := (*[32]byte)(q8[64*c:])
			yhi := (*[32]byte)(q8[64*c+32:])
			b0, b1 := uint(2*c), uint(2*c+1)
			s0, s1 := int32(sc[2*c]), int32(sc[2*c+1])
			for l := 0; l < 8; l++ {
				lo := (int32(q4[l]&15)|int32(qh[l]>>b0&1)<<4)*int32(int8(ylo[l])) +
					(int32(q4[l+8]&15)|int32(qh[l+8]>>b0&1)<<4)*int32(int8(ylo[l+8])) +
					(int32(q4[l+16]&15)|int32(qh[l+16]>>b0&1)<<4)*int32(int8(ylo[l+16])) +
					(int32(q4[l+24]&15)|int32(qh[l+24]>>b0&1)<<4)*int32(int8(ylo[l+24]))
				hi := (int32(q4[l]>>4)|int32(qh[l]>>b1&1)<<4)*int32(int8(yhi[l])) +
					(int32(q4[l+8]>>4)|int32(qh[l+8]>>b1&1)<<4)*int32(int8(yhi[l+8])) +
					(int32(q4[l+16]>>4)|int32(qh[l+16]>>b1&1)<<4)*int32(int8(yhi[l+16])) +
					(int32(q4[l+24]>>4)|int32(qh[l+24]>>b1&1)<<4)*int32(int8(yhi[l+24]))
				aux[l] += s0*lo + s1*hi
			}
		}
		d := fp16Table[binary.LittleEndian.Uint16(wb[0:2])] * yd
		for l := range aux {
			sums[l] += float32(d * float32(aux[l]))
		}
		dmin := fp16Table[binary.LittleEndian.Uint16(wb[2:4])] * yd
		sumf -= float32(dmin * float32(sumi))
	}
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

// ggml_vec_dot_q6_K_q8_K.
func dotQ6K(n int, w, x []byte) float32 {
	nb := n / QK_K
	w, x = w[:nb*q6KBytes], x[:nb*q8KBytes]
	var sums [8]float32
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
				// high bits from qh at bit 2k.
				qlk := (*[32]byte)(ql[32*(k&1):])
				ls := uint(4 * (k >> 1))
				hs := uint(2 * k)
				y := (*[32]byte)(q8[128*h+32*k:])
				s0, s1 := int32(int8(sc[2*k])), int32(int8(sc[2*k+1]))
				for l := 0; l < 8; l++ {
					a0 := int32(qlk[l]>>ls&15|(qh[l]>>hs&3)<<4) - 32
					a1 := int32(qlk[l+8]>>ls&15|(qh[l+8]>>hs&3)<<4) - 32
					a2 := int32(qlk[l+16]>>ls&15|(qh[l+16]>>hs&3)<<4) - 32
					a3 := int32(qlk[l+24]>>ls&15|(qh[l+24]>>hs&3)<<4) - 32
					g0 := a0*int32(int8(y[l])) + a1*int32(int8(y[l+8]))
					g1 := a2*int32(int8(y[l+16])) + a3*int32(int8(y[l+24]))
					aux[l] += s0*g0 + s1*g1
				}
			}
		}
		d := fp16Table[binary.LittleEndian.Uint16(wb[208:210])] * yd
		for l := range aux {
			sums[l] += float32(d * float32(aux[l]))
		}
	}
	var sumf float32
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

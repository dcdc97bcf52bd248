package quant

// DotActivation is the dot product kiln's matmuls use: DotQ, except for the
// k-quants (the DotQ*KLanes twins of llama.cpp's AVX2 kernels) and the
// Q8_0×Q8_0 pair, which follows llama.cpp's AVX2 kernels (ggml_vec_dot_q8_0_q8_0
// and llamafile's tinyBLAS_Q0_AVX compute it the same way): each block's 32
// products are summed into 8 integer lanes of 4, every lane accumulates
// d_w·d_x·lane with a fused multiply-add across blocks, and the lanes are
// reduced pairwise at the end. The float rounding differs from DotQ's
// per-block sum by an ulp or so; matching it keeps 8-bit activations of the
// next layer on the same quantization levels as llama.cpp's.
func DotActivation(t Type, n int, w, x []byte) float32 {
	switch t {
	case Q8_0:
	case Q4_0:
		return dotLegacyLanes(n, w, x, 18, decodeQ4_0)
	case Q5_0:
		return dotLegacyLanes(n, w, x, 22, decodeQ5_0)
	case F16:
		return dotF16Lanes(n, w, x)
	case Q4_1:
		return DotLanesQ4_1(n, w, x)
	case Q5_1:
		return DotLanesQ5_1(n, w, x)
	case Q2_K:
		return DotQ2KLanes(n, w, x)
	case Q3_K:
		return DotQ3KLanes(n, w, x)
	case Q4_K:
		return DotQ4KLanes(n, w, x)
	case Q5_K:
		return DotQ5KLanes(n, w, x)
	case Q6_K:
		return DotQ6KLanes(n, w, x)
	default:
		return DotQ(t, n, w, x)
	}
	var acc [8]float32
	nb := n / 32
	w = w[:nb*34]
	x = x[:nb*34]
	for b := 0; b < nb; b++ {
		wb := w[b*34 : b*34+34]
		xb := x[b*34 : b*34+34]
		d := fp16Table[uint16(wb[0])|uint16(wb[1])<<8] * fp16Table[uint16(xb[0])|uint16(xb[1])<<8]
		qw := wb[2:34]
		qx := xb[2:34]
		for l := 0; l < 8; l++ {
			s := int32(int8(qw[4*l]))*int32(int8(qx[4*l])) + int32(int8(qw[4*l+1]))*int32(int8(qx[4*l+1])) +
				int32(int8(qw[4*l+2]))*int32(int8(qx[4*l+2])) + int32(int8(qw[4*l+3]))*int32(int8(qx[4*l+3]))
			acc[l] = fma32(d, float32(s), acc[l])
		}
	}
	return hsum8(&acc)
}

// hsum8 is the AVX reduction of 8 lanes: high half onto low half, then movehl, then movehdup.
func hsum8(a *[8]float32) float32 {
	r0, r1, r2, r3 := a[4]+a[0], a[5]+a[1], a[6]+a[2], a[7]+a[3]
	return (r0 + r2) + (r1 + r3)
}

// FMA32 returns a*b+c rounded once to float32, as VFMADD231PS computes it.
func FMA32(a, b, c float32) float32 { return fma32(a, b, c) }

// dotLegacyLanes is the AVX2 dot of a 32-element legacy format with Q8_0
// activations (ggml_vec_dot_q4_0_q8_0, q5_0_q8_0): each block's weights
// are unpacked to int8, the products summed in 8 integer lanes of 4 like
// Q8_0's, and acc = d_w·d_x·lane + acc with one FMA per lane.
func dotLegacyLanes(n int, w, x []byte, bs int, decode func(b []byte, q *[32]int8)) float32 {
	var acc [8]float32
	var q [32]int8
	nb := n / 32
	w = w[:nb*bs]
	x = x[:nb*34]
	for b := 0; b < nb; b++ {
		wb := w[b*bs : b*bs+bs]
		xb := x[b*34 : b*34+34]
		d := fp16Table[uint16(wb[0])|uint16(wb[1])<<8] * fp16Table[uint16(xb[0])|uint16(xb[1])<<8]
		decode(wb, &q)
		qx := xb[2:34]
		for l := 0; l < 8; l++ {
			s := int32(q[4*l])*int32(int8(qx[4*l])) + int32(q[4*l+1])*int32(int8(qx[4*l+1])) +
				int32(q[4*l+2])*int32(int8(qx[4*l+2])) + int32(q[4*l+3])*int32(int8(qx[4*l+3]))
			acc[l] = fma32(d, float32(s), acc[l])
		}
	}
	return hsum8(&acc)
}

// decodeQ4_0 unpacks a Q4_0 block: low nibbles are elements 0-15, high 16-31, minus 8.
func decodeQ4_0(b []byte, q *[32]int8) {
	qs := b[2:18]
	for i := 0; i < 16; i++ {
		q[i] = int8(qs[i]&0xF) - 8
		q[i+16] = int8(qs[i]>>4) - 8
	}
}

// decodeQ5_0 unpacks a Q5_0 block: nibbles as Q4_0 plus bit j of qh as bit 4, minus 16.
func decodeQ5_0(b []byte, q *[32]int8) {
	qh := uint32(b[2]) | uint32(b[3])<<8 | uint32(b[4])<<16 | uint32(b[5])<<24
	qs := b[6:22]
	for i := 0; i < 16; i++ {
		q[i] = int8(qs[i]&0xF|byte(qh>>i&1)<<4) - 16
		q[i+16] = int8(qs[i]>>4|byte(qh>>(i+16)&1)<<4) - 16
	}
}

// dotF16Lanes is ggml_vec_dot_f16 on AVX2/F16C: four 8-lane accumulators over
// steps of 32 with fused multiply-adds, reduced as ggml_vec_dot_f32 does,
// then leftovers added in float64. Products of two halves are exact in
// float32, so each FMA rounds only the sum.
func dotF16Lanes(n int, w, x []byte) float32 {
	np := n &^ 31
	var sum float64
	h := func(b []byte, i int) float32 { return fp16Table[uint16(b[2*i])|uint16(b[2*i+1])<<8] }
	if np > 0 {
		var acc [4][8]float32
		for i := 0; i < np; i += 32 {
			for j := 0; j < 4; j++ {
				for l := 0; l < 8; l++ {
					k := i + 8*j + l
					acc[j][l] = fma32(h(w, k), h(x, k), acc[j][l])
				}
			}
		}
		for l := 0; l < 8; l++ {
			acc[0][l] += acc[2][l]
			acc[1][l] += acc[3][l]
			acc[0][l] += acc[1][l]
		}
		var t [4]float32
		for l := 0; l < 4; l++ {
			t[l] = acc[0][l] + acc[0][l+4]
		}
		sum = float64((t[0] + t[1]) + (t[2] + t[3]))
	}
	for i := np; i < n; i++ {
		sum += float64(h(w, i) * h(x, i))
	}
	return float32(sum)
}

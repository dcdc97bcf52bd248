package quant

// Lane-ordered dots for the legacy formats with a minimum (q4_1, q5_1) and
// for F16 rows in llama.cpp's batched (sgemm) path: plain-Go twins of the
// AVX2 kernels in runtime/cpu/simd, computing the same float operations in
// the same order, so that either gives the same bits.

// DotLanesQ4_1 is ggml_vec_dot_q4_1_q8_1 on AVX2 for n elements of Q4_1
// weights and Q8_1 activations: each block's unsigned nibbles times the
// int8 activations are summed in 8 integer lanes of 4 (maddubs, madd), every
// lane accumulates (d_w·d_x)·lane with a fused multiply-add, and the block
// minima go into a scalar summs += m_w·s_x (a product of two halves is
// exact in float32, so whether the compiler fuses it does not matter). The
// result is hsum(lanes) + summs.
func DotLanesQ4_1(n int, w, x []byte) float32 {
	nb := n / 32
	w = w[:nb*20]
	x = x[:nb*36]
	var acc [8]float32
	var summs float32
	for b := 0; b < nb; b++ {
		wb := (*[20]byte)(w[b*20:])
		xb := (*[36]byte)(x[b*36:])
		d := fp16Table[uint16(wb[0])|uint16(wb[1])<<8] * fp16Table[uint16(xb[0])|uint16(xb[1])<<8]
		summs = fma32(fp16Table[uint16(wb[2])|uint16(wb[3])<<8], fp16Table[uint16(xb[2])|uint16(xb[3])<<8], summs)
		var q [32]int32
		for i := 0; i < 16; i++ {
			q[i] = int32(wb[4+i] & 15)
			q[i+16] = int32(wb[4+i] >> 4)
		}
		lanesMin(&acc, d, &q, (*[32]byte)(xb[4:36]))
	}
	return hsum8(&acc) + summs
}

// DotLanesQ5_1 is ggml_vec_dot_q5_1_q8_1 on AVX2: as DotLanesQ4_1, with bit
// j of qh as bit 4 of element j (elements 0-15 are the low nibbles, 16-31
// the high ones).
func DotLanesQ5_1(n int, w, x []byte) float32 {
	nb := n / 32
	w = w[:nb*24]
	x = x[:nb*36]
	var acc [8]float32
	var summs float32
	for b := 0; b < nb; b++ {
		wb := (*[24]byte)(w[b*24:])
		xb := (*[36]byte)(x[b*36:])
		d := fp16Table[uint16(wb[0])|uint16(wb[1])<<8] * fp16Table[uint16(xb[0])|uint16(xb[1])<<8]
		summs = fma32(fp16Table[uint16(wb[2])|uint16(wb[3])<<8], fp16Table[uint16(xb[2])|uint16(xb[3])<<8], summs)
		qh := uint32(wb[4]) | uint32(wb[5])<<8 | uint32(wb[6])<<16 | uint32(wb[7])<<24
		var q [32]int32
		for i := 0; i < 16; i++ {
			q[i] = int32(wb[8+i]&15) | int32(qh>>i&1)<<4
			q[i+16] = int32(wb[8+i]>>4) | int32(qh>>(i+16)&1)<<4
		}
		lanesMin(&acc, d, &q, (*[32]byte)(xb[4:36]))
	}
	return hsum8(&acc) + summs
}

// lanesMin adds d·(lane l's four products) to acc[l] with one FMA per lane.
func lanesMin(acc *[8]float32, d float32, q *[32]int32, qx *[32]byte) {
	for l := 0; l < 8; l++ {
		s := q[4*l]*int32(int8(qx[4*l])) + q[4*l+1]*int32(int8(qx[4*l+1])) +
			q[4*l+2]*int32(int8(qx[4*l+2])) + q[4*l+3]*int32(int8(qx[4*l+3]))
		acc[l] = fma32(d, float32(s), acc[l])
	}
}

// GemmLanes reports whether llama.cpp computes the product of a rows×k
// weight of type t with tokens activation rows in its batched path
// (tinyBLAS) with a single 8-lane accumulator (DotLanesF16Gemm,
// DotLanesF32Gemm) rather than its vec_dot order: F16 and F32 weights, two or
// more tokens, k a multiple of 8 and rows a multiple of 4. Its quantized
// batched kernels sum like the vec_dot ones, so they need no switch.
func GemmLanes(t Type, tokens, rows, k int) bool {
	return (t == F16 || t == BF16 || t == F32) && tokens >= 2 && rows%4 == 0 && k%8 == 0
}

// DotLanesF16Gemm is the dot llama.cpp computes for F16 weights and F16
// activations in its batched matmul (llamafile's tinyBLAS on AVX2/F16C, used
// when the batch has two or more tokens, n is a multiple of 8 and the
// weight has a multiple of 4 rows): one 8-lane accumulator, acc =
// fma(w[i:i+8], x[i:i+8], acc) over the row, reduced high half onto low
// half, then movehl, then movehdup. For n not a multiple of 8 llama.cpp
// falls back to ggml_vec_dot_f16, which quant.DotActivation follows.
func DotLanesF16Gemm(n int, w, x []byte) float32 {
	if n%8 != 0 {
		return DotActivation(F16, n, w, x)
	}
	w = w[:2*n]
	x = x[:2*n]
	var acc [8]float32
	for i := 0; i < n; i += 8 {
		for l := 0; l < 8; l++ {
			k := 2 * (i + l)
			acc[l] = fma32(fp16Table[uint16(w[k])|uint16(w[k+1])<<8], fp16Table[uint16(x[k])|uint16(x[k+1])<<8], acc[l])
		}
	}
	return hsum8(&acc)
}

// DotLanesBF16Gemm is DotLanesF16Gemm for BF16 weights and BF16 activations
// (tinyBLAS<8, __m256> on AVX2: each bf16 widened exactly to float32). For n
// not a multiple of 8 it is DotActivation, as llama.cpp falls back to
// ggml_vec_dot_bf16.
func DotLanesBF16Gemm(n int, w, x []byte) float32 {
	if n%8 != 0 {
		return DotActivation(BF16, n, w, x)
	}
	w = w[:2*n]
	x = x[:2*n]
	var acc [8]float32
	for i := 0; i < n; i += 8 {
		for l := 0; l < 8; l++ {
			k := 2 * (i + l)
			acc[l] = fma32(BF16ToFP32(uint16(w[k])|uint16(w[k+1])<<8), BF16ToFP32(uint16(x[k])|uint16(x[k+1])<<8), acc[l])
		}
	}
	return hsum8(&acc)
}

// DotLanesF32Gemm is DotLanesF16Gemm for F32 rows (tinyBLAS<8, __m256>):
// llama.cpp's batched F32 matmul. len(x) must be a multiple of 8 (tinyBLAS
// declines other lengths).
func DotLanesF32Gemm(x, y []float32) float32 {
	n := len(x)
	if n%8 != 0 {
		panic("quant.DotLanesF32Gemm: length is not a multiple of 8")
	}
	y = y[:n]
	var acc [8]float32
	for i := 0; i+8 <= n; i += 8 {
		for l := 0; l < 8; l++ {
			acc[l] = fma32(x[i+l], y[i+l], acc[l])
		}
	}
	return hsum8(&acc)
}

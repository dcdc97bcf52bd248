package simd

import "github.com/kiln-ml/kiln/ops/quant"

func init() {
	register(quant.Q4_1, DotQ4_1)
	register(quant.Q5_1, DotQ5_1)
}

// DotQ4_1 is quant.DotLanesQ4_1 (ggml_vec_dot_q4_1_q8_1's AVX2 order) for
// Q4_1 weights and Q8_1 activations of n elements.
func DotQ4_1(n int, w, x []byte) float32 {
	if useNEON {
		return neonDotQ4_1(n, w, x)
	}
	nb := n / 32
	if useAVX2 && nb > 0 {
		_ = w[nb*20-1]
		_ = x[nb*36-1]
		return dotQ4_1AVX2(nb, &w[0], &x[0])
	}
	return quant.DotLanesQ4_1(n, w, x)
}

// DotQ5_1 is quant.DotLanesQ5_1 (ggml_vec_dot_q5_1_q8_1's AVX2 order) for
// Q5_1 weights and Q8_1 activations of n elements.
func DotQ5_1(n int, w, x []byte) float32 {
	if useNEON {
		return neonDotQ5_1(n, w, x)
	}
	nb := n / 32
	if useAVX2 && nb > 0 {
		_ = w[nb*24-1]
		_ = x[nb*36-1]
		return dotQ5_1AVX2(nb, &w[0], &x[0])
	}
	return quant.DotLanesQ5_1(n, w, x)
}

// DotF16Gemm is quant.DotLanesF16Gemm: the F16 dot of llama.cpp's batched
// matmul (tinyBLAS; two or more tokens, n a multiple of 8, a multiple of 4
// weight rows). Other n fall back to ggml_vec_dot_f16's order, as llama.cpp
// does.
func DotF16Gemm(n int, w, x []byte) float32 {
	if useNEON {
		return neonDotF16Gemm(n, w, x)
	}
	if useAVX2 && n >= 8 && n%8 == 0 {
		_ = w[2*n-1]
		_ = x[2*n-1]
		return dotF16GemmAVX2(n/8, &w[0], &x[0])
	}
	return quant.DotLanesF16Gemm(n, w, x)
}

// DotF32Gemm is quant.DotLanesF32Gemm: the F32 dot of llama.cpp's batched
// matmul (tinyBLAS), for len(x) a multiple of 8.
func DotF32Gemm(x, y []float32) float32 {
	if useNEON {
		return neonDotF32Gemm(x, y)
	}
	n := len(x)
	if useAVX2 && n >= 8 && n%8 == 0 {
		_ = y[n-1]
		return dotF32GemmAVX2(n/8, &x[0], &y[0])
	}
	return quant.DotLanesF32Gemm(x, y)
}

// DotGemm returns, for weights of type t, the dot llama.cpp's batched
// matmul computes where it differs from Dot(t)'s order, or nil where the
// two agree. llama.cpp takes the batched path (llamafile's tinyBLAS) when
// the batch has two or more tokens, K is a multiple of 8 and the weight has
// a multiple of 4 rows; its quantized kernels there sum like the vec_dot
// ones, but its F16, BF16 (and F32) ones keep a single 8-lane accumulator.
func DotGemm(t quant.Type) DotFunc {
	switch t {
	case quant.F16:
		return DotF16Gemm
	case quant.BF16:
		return DotBF16Gemm
	}
	return nil
}

package simd

import "github.com/kiln-ml/kiln/ops/quant"

// DotBF16Gemm is quant.DotLanesBF16Gemm: the BF16 dot of llama.cpp's
// batched matmul (tinyBLAS on AVX2), one 8-lane FMA accumulator.
func DotBF16Gemm(n int, w, x []byte) float32 {
	if useAVX2 && n >= 8 && n%8 == 0 {
		_ = w[2*n-1]
		_ = x[2*n-1]
		return dotBF16GemmAVX2(n/8, &w[0], &x[0])
	}
	return quant.DotLanesBF16Gemm(n, w, x)
}

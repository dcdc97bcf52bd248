package simd

import "github.com/kiln-ml/kiln/ops/quant"

// QuantizeQ8_0 is quant.QuantizeActivation(quant.Q8_0, src, dst): llama.cpp's
// AVX2 quantize_row_q8_0 (id = 127/amax, round-half-even), vectorized.
func QuantizeQ8_0(src []float32, dst []byte) error {
	nb := len(src) / 32
	if !(useAVX2 || useNEON) || nb == 0 || len(src)%32 != 0 || len(dst) < nb*34 {
		return quant.QuantizeActivation(quant.Q8_0, src, dst)
	}
	if useNEON {
		neonQuantizeQ8_0(src, dst)
		return nil
	}
	quantQ8_0AVX2(nb, &src[0], &dst[0])
	return nil
}

// QuantizeQ8_K is quant.QuantizeActivation(quant.Q8_K, src, dst) (ggml's
// quantize_row_q8_K_ref), vectorized.
func QuantizeQ8_K(src []float32, dst []byte) error {
	nb := len(src) / quant.QK_K
	if !(useAVX2 || useNEON) || nb == 0 || len(src)%quant.QK_K != 0 || len(dst) < nb*q8KBytes {
		return quant.QuantizeActivation(quant.Q8_K, src, dst)
	}
	if useNEON {
		neonQuantizeQ8_K(src, dst)
		return nil
	}
	quantQ8KAVX2(nb, &src[0], &dst[0])
	return nil
}

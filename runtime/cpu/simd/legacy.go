package simd

import "github.com/kiln-ml/kiln/ops/quant"

func init() {
	register(quant.Q4_0, DotQ4_0)
	register(quant.Q5_0, DotQ5_0)
}

// DotQ4_0 is quant.DotActivation for Q4_0 weights and Q8_0 activations.
func DotQ4_0(n int, w, x []byte) float32 {
	nb := n / 32
	if useAVX2 && nb > 0 {
		_ = w[nb*18-1]
		_ = x[nb*34-1]
		return dotQ4_0AVX2(nb, &w[0], &x[0])
	}
	return quant.DotActivation(quant.Q4_0, n, w, x)
}

// DotQ5_0 is quant.DotActivation for Q5_0 weights and Q8_0 activations.
func DotQ5_0(n int, w, x []byte) float32 {
	nb := n / 32
	if useAVX2 && nb > 0 {
		_ = w[nb*22-1]
		_ = x[nb*34-1]
		return dotQ5_0AVX2(nb, &w[0], &x[0])
	}
	return quant.DotActivation(quant.Q5_0, n, w, x)
}

package simd

import "github.com/kiln-ml/kiln/ops/quant"

// The k-quant kernels follow llama.cpp's AVX2 ggml_vec_dot_q*_K_q8_K, so they
// equal quant.DotQ*KLanes bit for bit, not quant.DotQ (ggml's generic order):
// the two differ by float rounding only (the integer block sums are exact).

func init() {
	register(quant.Q2_K, DotQ2_K)
	register(quant.Q3_K, DotQ3_K)
	register(quant.Q4_K, DotQ4_K)
	register(quant.Q5_K, DotQ5_K)
	register(quant.Q6_K, DotQ6_K)
}

// Bytes of one 256-element super-block.
const (
	q2KBytes = 84
	q3KBytes = 110
	q4KBytes = 144
	q5KBytes = 176
	q6KBytes = 210
	q8KBytes = 292
)

// kBlocks returns the super-block count when the vector kernel can take a
// row of n elements, else 0.
func kBlocks(n int) int {
	if !useAVX2 || n < quant.QK_K || n%quant.QK_K != 0 {
		return 0
	}
	return n / quant.QK_K
}

// DotQ2_K is quant.DotQ2KLanes (Q2_K weights, Q8_K activations), vectorized.
func DotQ2_K(n int, w, x []byte) float32 {
	if useNEON {
		return neonDotQ2_K(n, w, x)
	}
	if nb := kBlocks(n); nb > 0 {
		_ = w[nb*q2KBytes-1]
		_ = x[nb*q8KBytes-1]
		return dotQ2KAVX2(nb, &w[0], &x[0])
	}
	return quant.DotQ2KLanes(n, w, x)
}

// DotQ3_K is quant.DotQ3KLanes (Q3_K weights, Q8_K activations), vectorized.
func DotQ3_K(n int, w, x []byte) float32 {
	if useNEON {
		return neonDotQ3_K(n, w, x)
	}
	if nb := kBlocks(n); nb > 0 {
		_ = w[nb*q3KBytes-1]
		_ = x[nb*q8KBytes-1]
		return dotQ3KAVX2(nb, &w[0], &x[0])
	}
	return quant.DotQ3KLanes(n, w, x)
}

// DotQ4_K is quant.DotQ4KLanes (Q4_K weights, Q8_K activations), vectorized.
func DotQ4_K(n int, w, x []byte) float32 {
	if useNEON {
		return neonDotQ4_K(n, w, x)
	}
	if nb := kBlocks(n); nb > 0 {
		_ = w[nb*q4KBytes-1]
		_ = x[nb*q8KBytes-1]
		if decodeVNNI {
			return dotQ4KVNNI(nb, &w[0], &x[0])
		}
		return dotQ4KAVX2(nb, &w[0], &x[0])
	}
	return quant.DotQ4KLanes(n, w, x)
}

// DotQ5_K is quant.DotQ5KLanes (Q5_K weights, Q8_K activations), vectorized.
func DotQ5_K(n int, w, x []byte) float32 {
	if useNEON {
		return neonDotQ5_K(n, w, x)
	}
	if nb := kBlocks(n); nb > 0 {
		_ = w[nb*q5KBytes-1]
		_ = x[nb*q8KBytes-1]
		return dotQ5KAVX2(nb, &w[0], &x[0])
	}
	return quant.DotQ5KLanes(n, w, x)
}

// DotQ6_K is quant.DotQ6KLanes (Q6_K weights, Q8_K activations), vectorized.
func DotQ6_K(n int, w, x []byte) float32 {
	if useNEON {
		return neonDotQ6_K(n, w, x)
	}
	if nb := kBlocks(n); nb > 0 {
		_ = w[nb*q6KBytes-1]
		_ = x[nb*q8KBytes-1]
		if decodeVNNI {
			return dotQ6KVNNI(nb, &w[0], &x[0])
		}
		return dotQ6KAVX2(nb, &w[0], &x[0])
	}
	return quant.DotQ6KLanes(n, w, x)
}

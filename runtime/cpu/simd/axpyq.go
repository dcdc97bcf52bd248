package simd

import "github.com/kiln-ml/kiln/ops/quant"

// AxpyQ sets acc[i] = fma(p, v̂[i], acc[i]), v̂ the Q8_0 or Q4_0 row v
// dequantized (len(acc) values): ggml's dequantize_row then ops.Axpy, bit
// for bit, without the row in memory. It reports false, doing nothing, for
// other types or where no vector kernel applies.
func AxpyQ(t quant.Type, acc []float32, p float32, v []byte) bool {
	n := len(acc)
	if !(useAVX2 || useNEON) || n == 0 || n%32 != 0 {
		return false
	}
	nb := n / 32
	switch t {
	case quant.Q8_0:
		_ = v[nb*34-1]
		if useNEON {
			axpyQ8_0NEON(nb, &acc[0], p, &v[0])
		} else {
			axpyQ8_0AVX2(nb, &acc[0], p, &v[0])
		}
	case quant.Q4_0:
		_ = v[nb*18-1]
		if useNEON {
			axpyQ4_0NEON(nb, &acc[0], p, &v[0])
		} else {
			axpyQ4_0AVX2(nb, &acc[0], p, &v[0])
		}
	default:
		return false
	}
	return true
}

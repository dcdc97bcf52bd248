package simd

import "github.com/kiln-ml/kiln/ops/quant"

// Dot8 returns an eight-row kernel for weights of type t where the CPU has
// one that beats two four-row calls, or nil.
func Dot8(t quant.Type) func(n int, w []byte, stride int, x []byte, out []float32) {
	if !decodeVNNI {
		return nil
	}
	switch t {
	case quant.Q8_0:
		return DotQ8_0x8
	case quant.Q4_0:
		return DotQ4_0x8
	}
	return nil
}

// DotQ4_0x8 writes to out[0:8] the dots of eight Q4_0 rows stride bytes
// apart with x: eight DotQ4_0 calls computed together.
func DotQ4_0x8(n int, w []byte, stride int, x []byte, out []float32) {
	nb := n / 32
	if decodeVNNI && nb > 0 {
		_ = w[7*stride+nb*18-1]
		_ = x[nb*34-1]
		_ = out[7]
		dotQ4_0x8VNNI(nb, &w[0], stride, &x[0], &out[0])
		return
	}
	DotQ4_0x4(n, w, stride, x, out[:4])
	DotQ4_0x4(n, w[4*stride:], stride, x, out[4:8])
}

// DotQ8_0x8 writes to out[0:8] the dots of eight Q8_0 rows stride bytes
// apart with x: eight DotQ8_0 calls computed together.
func DotQ8_0x8(n int, w []byte, stride int, x []byte, out []float32) {
	nb := n / 32
	if decodeVNNI && nb > 0 {
		_ = w[7*stride+nb*34-1]
		_ = x[nb*34-1]
		_ = out[7]
		dotQ8_0x8VNNI(nb, &w[0], stride, &x[0], &out[0])
		return
	}
	DotQ8_0x4(n, w, stride, x, out[:4])
	DotQ8_0x4(n, w[4*stride:], stride, x, out[4:8])
}

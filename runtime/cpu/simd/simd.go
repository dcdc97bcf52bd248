// Package simd holds the CPU runtime's hand-written vector kernels (Go
// assembly) and the start-up choice between them and plain Go. Each kernel
// computes exactly what its plain-Go counterpart in ops/quant computes, in
// the same lane order, so results do not depend on which one ran.
package simd

import "github.com/kiln-ml/kiln/ops/quant"

// Name reports the kernel set chosen at start-up ("avx2" or "generic").
func Name() string {
	if useAVX2 {
		return "avx2"
	}
	return "generic"
}

// DotQ8_0 is quant.DotActivation for Q8_0 weights and Q8_0 activations of n elements.
func DotQ8_0(n int, w, x []byte) float32 {
	if useAVX2 && n >= 32 {
		nb := n / 32
		_ = w[nb*34-1]
		_ = x[nb*34-1]
		return dotQ8_0AVX2(nb, &w[0], &x[0])
	}
	return quant.DotActivation(quant.Q8_0, n, w, x)
}

// Package simd holds the CPU runtime's hand-written vector kernels (Go
// assembly) and the start-up choice between them and plain Go. Each kernel
// computes exactly what its plain-Go counterpart in ops/quant computes, in
// the same lane order, so results do not depend on which one ran.
package simd

import (
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

// Name reports the kernel set chosen at start-up ("avx2", with
// "+vnni-decode" where the VNNI decode kernels run, "neon+dotprod", "neon"
// or "generic").
func Name() string {
	if useNEON {
		return neonName()
	}
	if useAVX2 {
		if decodeVNNI {
			return "avx2+vnni-decode"
		}
		return "avx2"
	}
	return "generic"
}

// DotFunc is a weight-row × quantized-activation dot product of n elements.
type DotFunc func(n int, w, x []byte) float32

// dots holds the vector kernels by weight format; files register theirs in init.
var dots = map[quant.Type]DotFunc{}

func register(t quant.Type, f DotFunc) {
	if useAVX2 {
		dots[t] = f
	}
}

// Dot returns the fastest kernel for weights of type t: a vector kernel when
// the CPU has one, else quant.DotActivation. Either gives the same result
// up to the float summation order that kernel's comment states.
func Dot(t quant.Type) DotFunc {
	if f, ok := dots[t]; ok {
		return f
	}
	return func(n int, w, x []byte) float32 { return quant.DotActivation(t, n, w, x) }
}

func init() { register(quant.Q8_0, DotQ8_0) }

// DotQ8_0 is quant.DotActivation for Q8_0 weights and Q8_0 activations of n elements.
func DotQ8_0(n int, w, x []byte) float32 {
	if useNEON {
		return neonDotQ8_0(n, w, x)
	}
	if useAVX2 && n >= 32 {
		nb := n / 32
		_ = w[nb*34-1]
		_ = x[nb*34-1]
		return dotQ8_0AVX2(nb, &w[0], &x[0])
	}
	return quant.DotActivation(quant.Q8_0, n, w, x)
}

// DotF32 is ops.DotF32 (ggml_vec_dot_f32's lane order), vectorized.
func DotF32(x, y []float32) float32 {
	if useNEON {
		return neonDotF32(x, y)
	}
	n := len(x)
	if useAVX2 && n >= 32 {
		y = y[:n]
		np := n &^ 31
		s := float64(dotF32AVX2(np/32, &x[0], &y[0]))
		for i := np; i < n; i++ {
			s += float64(x[i] * y[i])
		}
		return float32(s)
	}
	return ops.DotF32(x, y)
}

// AxpyFMA sets acc[i] = fma(p, v[i], acc[i]), one rounding per element as ops.AxpyFMA.
func AxpyFMA(acc []float32, p float32, v []float32) {
	if useNEON {
		neonAxpyFMA(acc, p, v)
		return
	}
	n := len(acc)
	if useAVX2 && n >= 8 {
		v = v[:n]
		n8 := n &^ 7
		axpyFMAAVX2(n8/8, p, &v[0], &acc[0])
		ops.AxpyFMA(acc[n8:], p, v[n8:])
		return
	}
	ops.AxpyFMA(acc, p, v)
}

// DotQ8_0x4 writes to out[0:4] the dots of the four Q8_0 rows
// w[0:stride], w[stride:2*stride], ... with x: four DotQ8_0 calls, computed
// together so the rows' accumulation chains overlap.
func DotQ8_0x4(n int, w []byte, stride int, x []byte, out []float32) {
	if useNEON {
		neonDotQ8_0x4(n, w, stride, x, out)
		return
	}
	nb := n / 32
	if useAVX2 && nb > 0 {
		_ = w[3*stride+nb*34-1]
		_ = x[nb*34-1]
		_ = out[3]
		if decodeVNNI {
			dotQ8_0x4VNNI(nb, &w[0], stride, &x[0], &out[0])
			return
		}
		dotQ8_0x4AVX2(nb, &w[0], stride, &x[0], &out[0])
		return
	}
	for r := 0; r < 4; r++ {
		out[r] = DotQ8_0(n, w[r*stride:], x)
	}
}

package ops

import (
	"sync"

	"github.com/kiln-ml/kiln/ops/quant"
)

// The element-wise functions of the architectures beyond llama, computed as
// llama.cpp's CPU backend computes them.

// ScaleRow is ggml_scale: y = x·s, one rounding per element.
func ScaleRow(y, x []float32, s float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] = x[i] * s
	}
}

// Softcap is gemma's soft-capping as llama.cpp builds it from three ops:
// scale by the float32 reciprocal of c, tanh (glibc's tanhf), scale by c.
func Softcap(x, c float32) float32 {
	return Tanhf(x*(1/c)) * c
}

// SoftcapRow applies Softcap to every element.
func SoftcapRow(y, x []float32, c float32) {
	x = x[:len(y)]
	inv := 1 / c
	for i := range y {
		y[i] = Tanhf(x[i]*inv) * c
	}
}

// GELU constants of ggml (vec.h).
const (
	geluCoefA    float32 = 0.044715
	sqrt2OverPi  float32 = 0.79788456080286535587989211986876
	geluTableMin float32 = -10
	geluTableMax float32 = 10
)

// GELU is ggml_gelu_f32, the tanh approximation
// 0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x²))), with the multiply-add
// 0.044715·x·x + 1 fused as GCC compiles it for x86 with FMA, and glibc's
// tanhf. (Its half-precision table equals ggml's, built by that C with
// glibc 2.36, on every entry.)
func GELU(x float32) float32 {
	t := Tanhf(sqrt2OverPi * x * fma32(geluCoefA*x, x, 1))
	return 0.5 * x * (1 + t)
}

var (
	geluOnce  sync.Once
	geluTable []uint16
)

// geluF16 returns ggml_table_gelu_f16: GELU of every half value, rounded to half.
func geluF16() []uint16 {
	geluOnce.Do(func() {
		geluTable = make([]uint16, 1<<16)
		for i := range geluTable {
			geluTable[i] = quant.FP32ToFP16(GELU(quant.FP16ToFP32(uint16(i))))
		}
	})
	return geluTable
}

// GeGLURow is ggml_vec_geglu_f32 with GGML_GELU_FP16 (the CPU default): the
// gate is rounded to half and looked up in the half-precision GELU table,
// except beyond ±10 where GELU is 0 or the identity.
func GeGLURow(y, g, u []float32) {
	tab := geluF16()
	g, u = g[:len(y)], u[:len(y)]
	for i := range y {
		switch x := g[i]; {
		case x <= geluTableMin:
			y[i] = 0
		case x >= geluTableMax:
			y[i] = x * u[i]
		default:
			y[i] = quant.FP16ToFP32(tab[quant.FP32ToFP16(x)]) * u[i]
		}
	}
}

// RMSNormHeads is RMSNormRow on every head-long piece of x; head 0 means the whole row.
func RMSNormHeads(dst, x []float32, eps float32, head int) {
	if head <= 0 {
		RMSNormRow(dst, x, eps)
		return
	}
	for o := 0; o+head <= len(dst); o += head {
		RMSNormRow(dst[o:o+head], x[o:o+head], eps)
	}
}

// RMSNormMulHeads is RMSNormMulRow on every head-long piece of x, each
// multiplied by the same weight w[head]; head 0 means the whole row.
func RMSNormMulHeads(dst, x, w []float32, eps float32, head int) {
	if head <= 0 {
		RMSNormMulRow(dst, x, w, eps)
		return
	}
	for o := 0; o+head <= len(dst); o += head {
		RMSNormMulRow(dst[o:o+head], x[o:o+head], w, eps)
	}
}

// BinaryRow computes y = x·b (mul) or x+b (add) for one row, b repeated
// over the row when it is shorter (a per-head weight).
func BinaryRow(y, x, b []float32, mul bool) {
	x = x[:len(y)]
	for o := 0; o < len(y); o += len(b) {
		yy, xx := y[o:o+len(b)], x[o:o+len(b)]
		if mul {
			for i := range yy {
				yy[i] = xx[i] * b[i]
			}
		} else {
			for i := range yy {
				yy[i] = xx[i] + b[i]
			}
		}
	}
}

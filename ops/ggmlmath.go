package ops

import (
	"math"

	"github.com/kiln-ml/kiln/ops/quant"
)

// llama.cpp's x86 CPU backend evaluates exp, silu and the softmax sum with
// AVX2 routines whose results differ from libm's in the last bits. A bit
// there can flip one activation's 8-bit quantization level, which moves
// every logit downstream, so the reference follows those routines exactly:
// a polynomial exp (ggml_v_expf, from Arm's optimized routines) and sums
// grouped in lanes of 8.

// fma32 is a*b+c with one rounding, as the AVX2 FMA instructions compute it.
func fma32(a, b, c float32) float32 { return quant.FMA32(a, b, c) }

// ExpF is ggml_v_expf for one lane: max error 1.45 ulp plus rounding.
func ExpF(x float32) float32 {
	const r = 0x1.8p23
	z := fma32(x, 0x1.715476p+0, r)
	n := z - r
	b := fma32(-n, 0x1.7f7d1cp-20, fma32(-n, 0x1.62e4p-1, x))
	e := math.Float32bits(z) << 23
	k := math.Float32frombits(e + math.Float32bits(1))
	u := b * b
	j := fma32(fma32(fma32(0x1.0e4020p-7, b, 0x1.573e2ep-5), u, fma32(0x1.555e66p-3, b, 0x1.fffdb6p-2)), u, 0x1.ffffecp-1*b)
	an := float32(math.Abs(float64(n)))
	if !(an > 126) {
		return fma32(j, k, k)
	}
	var g uint32
	if n <= 0 {
		g = 0x82000000
	}
	s1 := math.Float32frombits(g + 0x7f000000)
	s2 := math.Float32frombits(e - g)
	if an > 192 {
		return s1 * s1
	}
	return fma32(s2, j, s2) * s1
}

// SiLUVec is ggml_vec_silu's lane formula: x / (1 + ExpF(-x)).
func SiLUVec(x float32) float32 { return x / (1 + ExpF(-x)) }

// SiLURow is ggml_vec_silu_f32, which ggml's silu op runs on every row:
// lanes of 8 use SiLUVec, the tail uses libm's expf. SwiGLURow is this
// followed by the multiply, element for element.
func SiLURow(y, x []float32) {
	n := len(y)
	x = x[:n]
	tail := n - n%8
	for i := 0; i < tail; i++ {
		y[i] = SiLUVec(x[i])
	}
	for i := tail; i < n; i++ {
		y[i] = SiLU(x[i])
	}
}

// SwiGLURow is ggml_vec_swiglu_f32: lanes of 8 use SiLUVec, the tail uses libm's expf.
func SwiGLURow(y, g, u []float32) {
	n := len(y)
	tail := n - n%8
	for i := 0; i < tail; i++ {
		y[i] = SiLUVec(g[i]) * u[i]
	}
	for i := tail; i < n; i++ {
		y[i] = SiLU(g[i]) * u[i]
	}
}

// softmaxSum is ggml_vec_soft_max_f32: y = exp(x - max), lanes of 8 summed
// pairwise as the AVX2 reduction does, then accumulated in float64.
func softmaxSum(y []float32, m float32) float64 {
	var sum float64
	n := len(y)
	i := 0
	for ; i+8 <= n; i += 8 {
		var v [8]float32
		for l := range v {
			v[l] = ExpF(y[i+l] - m)
			y[i+l] = v[l]
		}
		a0, a1, a2, a3 := v[0]+v[4], v[1]+v[5], v[2]+v[6], v[3]+v[7]
		sum += float64((a0 + a2) + (a1 + a3))
	}
	for ; i < n; i++ {
		e := float32(math.Exp(float64(y[i] - m)))
		y[i] = e
		sum += float64(e)
	}
	return sum
}

// DotF32 is ggml_vec_dot_f32 on AVX2: four 8-lane accumulators over steps of
// 32 with fused multiply-adds, reduced pairwise, then the leftover elements
// added one by one in float64.
func DotF32(x, y []float32) float32 {
	n := len(x)
	y = y[:n]
	np := n &^ 31
	var sum float64
	if np > 0 {
		var acc [4][8]float32
		for i := 0; i < np; i += 32 {
			for j := 0; j < 4; j++ {
				for l := 0; l < 8; l++ {
					k := i + 8*j + l
					acc[j][l] = fma32(x[k], y[k], acc[j][l])
				}
			}
		}
		var t [4]float32
		for l := 0; l < 8; l++ {
			acc[0][l] += acc[2][l]
			acc[1][l] += acc[3][l]
			acc[0][l] += acc[1][l]
		}
		for l := 0; l < 4; l++ {
			t[l] = acc[0][l] + acc[0][l+4]
		}
		sum = float64((t[0] + t[1]) + (t[2] + t[3]))
	}
	for i := np; i < n; i++ {
		sum += float64(x[i] * y[i])
	}
	return float32(sum)
}

package simd

import (
	"math"

	"github.com/kiln-ml/kiln/ops"
)

// SwiGLURow is ops.SwiGLURow (ggml_vec_swiglu_f32), vectorized: lanes of 8
// through ggml_v_expf's fast path, the tail in plain Go. A row holding a
// gate value large enough to need expf's slow path goes to ops whole.
func SwiGLURow(y, g, u []float32) {
	if useNEON {
		neonSwiGLURow(y, g, u)
		return
	}
	n := len(y)
	n8 := n &^ 7
	if !useAVX2 || n8 == 0 || !fastExpRange(g[:n8]) {
		ops.SwiGLURow(y, g, u)
		return
	}
	g, u = g[:n], u[:n]
	swigluAVX2(n8/8, &y[0], &g[0], &u[0])
	ops.SwiGLURow(y[n8:], g[n8:], u[n8:])
}

// fastExpRange reports whether every |x| < 87, so that expf(-x) keeps
// |n| = |round(-x·log2e)| <= 126 and ggml_v_expf takes its fast path.
func fastExpRange(x []float32) bool {
	for _, v := range x {
		if !(v < 87 && v > -87) {
			return false
		}
	}
	return true
}

// SoftmaxInPlace is ops.SoftmaxInPlace (ggml's soft_max: max, exp with
// lanes of 8 summed pairwise into a float64, scale by the reciprocal),
// with the exponentials vectorized. Rows whose spread reaches expf's slow
// path (y - max <= -87, e.g. masked -inf entries) go to ops whole.
func SoftmaxInPlace(y []float32) {
	if useNEON {
		neonSoftmaxInPlace(y)
		return
	}
	n := len(y)
	n8 := n &^ 7
	if !useAVX2 || n8 == 0 {
		ops.SoftmaxInPlace(y)
		return
	}
	m, lo, nan := maxMinAVX2(n8/8, &y[0])
	for _, v := range y[n8:] {
		m = max(m, v)
		lo = min(lo, v)
	}
	if nan || !(lo-m > -87) {
		ops.SoftmaxInPlace(y)
		return
	}
	expSubAVX2(n8/8, &y[0], m)
	sum := sumLanes8AVX2(n8/8, &y[0])
	for i := n8; i < n; i++ {
		e := float32(math.Exp(float64(y[i] - m)))
		y[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	scaleAVX2(n8/8, &y[0], inv)
	for i := n8; i < n; i++ {
		y[i] *= inv
	}
}

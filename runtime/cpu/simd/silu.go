package simd

import "github.com/kiln-ml/kiln/ops"

// SwiGLURow is ops.SwiGLURow (ggml_vec_swiglu_f32), vectorized: lanes of 8
// through ggml_v_expf's fast path, the tail in plain Go. A row holding a
// gate value large enough to need expf's slow path goes to ops whole.
func SwiGLURow(y, g, u []float32) {
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

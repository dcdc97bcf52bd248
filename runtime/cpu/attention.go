package cpu

import (
	"math"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/runtime/cpu/simd"
)

// attentionHead is ops.AttentionHead with its inner loops vectorized; the
// operations and their order are the same, so the results are identical.
func attentionHead(dst, q, k, v []float32, head, kvLen int, a ops.Attrs, scratch []float32) {
	hd := a.HeadDim
	kvd := a.NKVHead * hd
	kvh := head / (a.NHead / a.NKVHead)
	scale := a.Scale
	if scale == 0 {
		scale = float32(1 / math.Sqrt(float64(hd)))
	}
	s := scratch[:kvLen]
	lo := 0
	if a.Window > 0 {
		lo = max(0, kvLen-a.Window)
	}
	for j := range lo {
		s[j] = float32(math.Inf(-1))
	}
	off := kvh * hd
	for j := lo; j < kvLen; j++ {
		s[j] = simd.DotF32(q, k[j*kvd+off:j*kvd+off+hd]) * scale
	}
	simd.SoftmaxInPlace(s)
	lanes := scratch[kvLen : kvLen+8*hd]
	clear(lanes)
	for j := lo; j < kvLen; j++ {
		simd.AxpyFMA(lanes[(j&7)*hd:(j&7)*hd+hd], s[j], v[j*kvd+off:j*kvd+off+hd])
	}
	ops.ReduceLanes8(dst, lanes)
}

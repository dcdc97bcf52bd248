package cpu

import (
	"fmt"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
	"github.com/kiln-ml/kiln/runtime/cpu/simd"
)

// kvKernels are ops.AttentionHeadKV's inner loops, vectorized; they compute
// the same values as ops.RefKVKernels.
var kvKernels = ops.KVKernels{
	VecKernels:   vecKernels,
	DotK:         dotKey,
	ScoresK:      simd.ScoresKeys,
	AxpyLanesF16: simd.AxpyLanesF16,
	Turbo:        simd.TurboScores,
	AxpyF16:      simd.AxpyF16,
	AxpyQ:        simd.AxpyQ,
}

// kvWritePacked packs rows pos.. of x into a cache of format a.Cache, one
// chunk per row. The rotation signs are made here, at load.
// Turbo keys are stored relative to the cache's center: every chunk of the
// write at position 0 computes it (chunk 0 also stores it), later writes
// read it back.
func (e *Executable) kvWritePacked(in []*view, inT []ops.TensorType, a ops.Attrs) (task, error) {
	d := inT[1].Cols()
	rows := inT[1].Rows()
	rb := int(inT[0].Bytes()) / inT[0].Shape[0]
	ctx := inT[0].Shape[0] - ops.KVCenterRows(a.Cache, a.NHead, a.HeadDim)
	signs := ops.KVSigns(a.Cache, a.Layer, a.NHead, a.HeadDim)
	return task{chunks: rows, run: func(c, w int) {
		p0 := int(in[2].i[0])
		sc := e.scratch[w]
		var center []float32
		if a.Cache.Turbo() {
			center = sc[2*a.HeadDim : 2*a.HeadDim+d]
			ops.KVWriteCenter(in[0].b, ctx, rb, center, in[1].f, rows, p0, c == 0)
		}
		pos := p0 + c
		ops.KVWriteRow(a.Cache, in[0].b[pos*rb:(pos+1)*rb], in[1].f[c*d:(c+1)*d], a.NHead, signs, center, sc[:2*a.HeadDim])
	}}, nil
}

// ropeKVWritePacked rotates row c of x into scratch, then packs it into the
// cache. Turbo caches are never fused with rope (their center needs every
// row before the first is packed).
func (e *Executable) ropeKVWritePacked(in []*view, ff *view, inT []ops.TensorType, a ops.Attrs) (task, error) {
	if a.Cache.Turbo() {
		return task{}, fmt.Errorf("rope_kv_write into a %s cache", a.Cache)
	}
	d := inT[1].Cols()
	rb := int(inT[0].Bytes()) / inT[0].Shape[0]
	return task{chunks: inT[1].Rows(), run: func(c, w int) {
		sc := e.scratch[w]
		cs, row, tmp := sc[:a.RopeDims], sc[a.RopeDims:a.RopeDims+d], sc[a.RopeDims+d:a.RopeDims+d+2*a.HeadDim]
		var f []float32
		if ff != nil {
			f = ff.f
		}
		pos := int(in[2].i[0]) + c
		ops.RopeCache(cs, pos, a, f)
		for h := 0; h < a.NHead; h++ {
			o := h * a.HeadDim
			ops.RopeHead(row[o:o+a.HeadDim], in[1].f[c*d+o:c*d+o+a.HeadDim], cs, a.RopeMode)
		}
		ops.KVWriteRow(a.Cache, in[0].b[pos*rb:(pos+1)*rb], row, a.NHead, nil, nil, tmp)
	}}, nil
}

// attentionPacked is attention over caches of any format: one chunk per
// (token, head), as the f32 kernel.
func (e *Executable) attentionPacked(in []*view, out *view, inT []ops.TensorType, a ops.Attrs) (task, error) {
	T := inT[0].Shape[0]
	qd := a.NHead * a.HeadDim
	signs := ops.KVSigns(a.KType, a.Layer, a.NKVHead, a.HeadDim)
	group := a.NHead / a.NKVHead
	return task{chunks: T * a.NHead, run: func(c, w int) {
		t, h := c/a.NHead, c%a.NHead
		o := t*qd + h*a.HeadDim
		pos := int(in[3].i[0])
		k := ops.KVCache{Type: a.KType, F: in[1].f, B: in[1].b}
		v := ops.KVCache{Type: a.VType, F: in[2].f, B: in[2].b}
		var sg []float32
		if signs != nil {
			sg = signs[h/group]
		}
		ops.AttentionHeadKV(out.f[o:o+a.HeadDim], in[0].f[o:o+a.HeadDim], k, v, h, pos+t+1, a, sg, e.scratch[w], e.qrow[w], &kvKernels)
	}}, nil
}

// dotKey is quant.DotActivation for the key formats, vectorized.
func dotKey(t quant.Type, n int, k, q []byte) float32 {
	switch t {
	case quant.F16:
		return simd.DotF16(n, k, q)
	case quant.Q8_0:
		return simd.DotQ8_0(n, k, q)
	case quant.Q4_0:
		return simd.DotQ4_0(n, k, q)
	}
	return quant.DotActivation(t, n, k, q)
}

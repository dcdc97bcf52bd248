package ops

import (
	"fmt"
	"math"

	"github.com/kiln-ml/kiln/ops/kvquant"
	"github.com/kiln-ml/kiln/ops/quant"
)

// Tensor is a value for the reference implementations: F32 activations in F,
// I32 ids in I, anything else (weights of any format) as raw bytes in Raw.
type Tensor struct {
	Type TensorType
	F    []float32
	I    []int32
	Raw  []byte
}

// NewTensor allocates a zeroed tensor of type t (F32 or I32 in their slices, others raw).
func NewTensor(t TensorType) *Tensor {
	x := &Tensor{Type: t}
	switch t.DType {
	case quant.F32:
		x.F = make([]float32, t.Elems())
	case quant.I32:
		x.I = make([]int32, t.Elems())
	default:
		x.Raw = make([]byte, max(t.Bytes(), 0))
	}
	return x
}

// F32Data returns the tensor as float32 values, dequantizing when needed.
func (x *Tensor) F32Data() ([]float32, error) {
	if x.Type.DType == quant.F32 && x.F != nil {
		return x.F, nil
	}
	out := make([]float32, x.Type.Elems())
	if err := quant.Dequantize(x.Type.DType, x.Raw, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Eval runs op o on inputs with reference semantics, writing into out (whose
// type must be the inferred one). It is the oracle: slow and plain.
func Eval(o Op, a Attrs, in []*Tensor, out *Tensor) (err error) {
	types := make([]TensorType, len(in))
	for i, t := range in {
		types[i] = t.Type
	}
	want, err := Infer(o, types, a)
	if err != nil {
		return err
	}
	if !want.Equal(out.Type) {
		return fmt.Errorf("%s: output is %s, want %s", o, out.Type, want)
	}
	switch o {
	case OpGetRows:
		d := in[0].Type.Shape[1]
		rb := int(in[0].Type.Bytes()) / in[0].Type.Shape[0]
		for t, id := range in[1].I {
			if id < 0 || int(id) >= in[0].Type.Shape[0] {
				return fmt.Errorf("get_rows: id %d out of range [0,%d)", id, in[0].Type.Shape[0])
			}
			if err := GetRow(in[0].Type.DType, in[0].Raw[int(id)*rb:(int(id)+1)*rb], in[0].F, int(id), out.F[t*d:(t+1)*d]); err != nil {
				return err
			}
		}
	case OpRMSNorm:
		d := out.Type.Cols()
		for r := 0; r < out.Type.Rows(); r++ {
			RMSNormHeads(out.F[r*d:(r+1)*d], in[0].F[r*d:(r+1)*d], a.Eps, a.HeadDim)
		}
	case OpMul, OpAdd:
		d := out.Type.Cols()
		b := in[1].F
		for r := 0; r < out.Type.Rows(); r++ {
			br := b // one row repeated (over rows, or over heads with head_dim)
			if len(b) == out.Type.Rows()*d && a.HeadDim == 0 {
				br = b[r*d : (r+1)*d]
			}
			BinaryRow(out.F[r*d:(r+1)*d], in[0].F[r*d:(r+1)*d], br, o == OpMul)
		}
	case OpMatMul:
		w := in[1]
		n, k := w.Type.Shape[0], w.Type.Shape[1]
		if w.Type.DType == quant.F32 && in[0].Type.DType == quant.F32 {
			// F32 weights take F32 activations: ggml_vec_dot_f32's lane order.
			wf, err := w.F32Data()
			if err != nil {
				return err
			}
			dot := DotF32
			if quant.GemmLanes(quant.F32, out.Type.Shape[0], n, k) {
				dot = quant.DotLanesF32Gemm
			}
			for t := 0; t < out.Type.Shape[0]; t++ {
				for j := 0; j < n; j++ {
					out.F[t*n+j] = dot(wf[j*k:(j+1)*k], in[0].F[t*k:(t+1)*k])
				}
			}
			break
		}
		vt := quant.VecDotType(w.Type.DType)
		xb, _ := vt.RowBytes(k)
		wb, _ := w.Type.DType.RowBytes(k)
		wraw := w.Raw
		if w.Type.DType == quant.F32 && wraw == nil {
			wraw = f32Bytes(w.F)
		}
		xq := make([]byte, xb)
		wt := w.Type.DType
		dot := func(wr, x []byte) float32 { return quant.DotActivation(wt, k, wr, x) }
		if quant.GemmLanes(wt, out.Type.Shape[0], n, k) {
			switch wt {
			case quant.F16:
				dot = func(wr, x []byte) float32 { return quant.DotLanesF16Gemm(k, wr, x) }
			case quant.BF16:
				dot = func(wr, x []byte) float32 { return quant.DotLanesBF16Gemm(k, wr, x) }
			}
		}
		for t := 0; t < out.Type.Shape[0]; t++ {
			if in[0].Type.DType == quant.F32 {
				if err := quant.QuantizeActivation(vt, in[0].F[t*k:(t+1)*k], xq); err != nil {
					return err
				}
			} else {
				xq = in[0].Raw[t*xb : (t+1)*xb]
			}
			for j := 0; j < n; j++ {
				out.F[t*n+j] = dot(wraw[j*wb:(j+1)*wb], xq)
			}
		}
	case OpRope:
		var ff []float32
		if len(in) == 3 {
			ff = in[2].F
		}
		cs := make([]float32, a.RopeDims)
		d := out.Type.Cols()
		for t := 0; t < out.Type.Rows(); t++ {
			RopeCache(cs, int(in[1].I[0])+t, a, ff)
			for h := 0; h < a.NHead; h++ {
				o := t*d + h*a.HeadDim
				RopeHead(out.F[o:o+a.HeadDim], in[0].F[o:o+a.HeadDim], cs, a.RopeMode)
			}
		}
	case OpSiLU:
		d := out.Type.Cols()
		for r := 0; r < out.Type.Rows(); r++ {
			SiLURow(out.F[r*d:(r+1)*d], in[0].F[r*d:(r+1)*d])
		}
	case OpSwiGLU:
		d := out.Type.Cols()
		for r := 0; r < out.Type.Rows(); r++ {
			SwiGLURow(out.F[r*d:(r+1)*d], in[0].F[r*d:(r+1)*d], in[1].F[r*d:(r+1)*d])
		}
	case OpSoftmax:
		d := out.Type.Cols()
		scale := a.Scale
		if scale == 0 {
			scale = 1
		}
		for r := 0; r < out.Type.Rows(); r++ {
			y := out.F[r*d : (r+1)*d]
			for i, x := range in[0].F[r*d : (r+1)*d] {
				y[i] = x * scale
			}
			SoftmaxInPlace(y)
		}
	case OpKVWrite:
		pos := int(in[2].I[0])
		rows, d := in[1].Type.Shape[0], in[1].Type.Shape[1]
		ctx := in[0].Type.Shape[0] - KVCenterRows(a.Cache, a.NHead, a.HeadDim)
		if pos < 0 || pos+rows > ctx {
			return fmt.Errorf("kv_write: rows [%d,%d) exceed cache length %d", pos, pos+rows, ctx)
		}
		if a.Cache != kvquant.F32 {
			copy(out.Raw, in[0].Raw)
			rb := int(in[0].Type.Bytes()) / in[0].Type.Shape[0]
			signs := KVSigns(a.Cache, a.Layer, a.NHead, a.HeadDim)
			tmp := make([]float32, 2*a.HeadDim)
			var center []float32
			if a.Cache.Turbo() {
				center = make([]float32, d)
				KVWriteCenter(out.Raw, ctx, rb, center, in[1].F, rows, pos, true)
			}
			for t := 0; t < rows; t++ {
				KVWriteRow(a.Cache, out.Raw[(pos+t)*rb:(pos+t+1)*rb], in[1].F[t*d:(t+1)*d], a.NHead, signs, center, tmp)
			}
			break
		}
		copy(out.F, in[0].F)
		copy(out.F[pos*d:(pos+rows)*d], in[1].F)
	case OpAttention:
		pos := int(in[3].I[0])
		T := in[0].Type.Shape[0]
		if pos < 0 || pos+T > in[2].Type.Shape[0] { // the value cache: a turbo key cache has center rows after its keys
			return fmt.Errorf("attention: positions [%d,%d) exceed cache length %d", pos, pos+T, in[2].Type.Shape[0])
		}
		scores := make([]float32, AttentionScratch(pos+T, a.HeadDim))
		qd := a.NHead * a.HeadDim
		if a.KType != kvquant.F32 || a.VType != kvquant.F32 {
			k := KVCache{Type: a.KType, F: in[1].F, B: in[1].Raw}
			v := KVCache{Type: a.VType, F: in[2].F, B: in[2].Raw}
			signs := KVSigns(a.KType, a.Layer, a.NKVHead, a.HeadDim)
			qbuf := make([]byte, QueryScratchBytes(a.HeadDim))
			for t := 0; t < T; t++ {
				for h := 0; h < a.NHead; h++ {
					o := t*qd + h*a.HeadDim
					var sg []float32
					if signs != nil {
						sg = signs[h/(a.NHead/a.NKVHead)]
					}
					AttentionHeadKV(out.F[o:o+a.HeadDim], in[0].F[o:o+a.HeadDim], k, v, h, pos+t+1, a, sg, scores, qbuf, &RefKVKernels)
				}
			}
			break
		}
		for t := 0; t < T; t++ {
			for h := 0; h < a.NHead; h++ {
				o := t*qd + h*a.HeadDim
				AttentionHead(out.F[o:o+a.HeadDim], in[0].F[o:o+a.HeadDim], in[1].F, in[2].F, h, pos+t+1, a, scores, &RefKernels)
			}
		}
	case OpQuantize:
		k := in[0].Type.Cols()
		rb, _ := a.Type.RowBytes(k)
		for t := 0; t < in[0].Type.Rows(); t++ {
			if err := quant.QuantizeActivation(a.Type, in[0].F[t*k:(t+1)*k], out.Raw[t*rb:(t+1)*rb]); err != nil {
				return err
			}
		}
	case OpRMSNormMul:
		d := out.Type.Cols()
		for r := 0; r < out.Type.Rows(); r++ {
			RMSNormMulHeads(out.F[r*d:(r+1)*d], in[0].F[r*d:(r+1)*d], in[1].F, a.Eps, a.HeadDim)
		}
	case OpMatMulGroup:
		return evalGroup(a, in, out)
	case OpSegment:
		T := out.Type.Shape[0]
		copy(out.F, in[0].F[T*a.Start:T*(a.Start+a.Count)])
	case OpMatMulAdd:
		if err := Eval(OpMatMul, a, in[:2], out); err != nil {
			return err
		}
		r := in[2].F // the product's shape, or one row repeated (a bias)
		for i := range out.F {
			out.F[i] += r[i%len(r)]
		}
	case OpRopeKVWrite:
		rin := []*Tensor{in[1], in[2]}
		if len(in) == 4 {
			rin = append(rin, in[3])
		}
		roped := NewTensor(in[1].Type)
		if err := Eval(OpRope, a, rin, roped); err != nil {
			return err
		}
		return Eval(OpKVWrite, a, []*Tensor{in[0], roped, in[2]}, out)
	case OpRows:
		d := out.Type.Cols()
		copy(out.F, in[0].F[a.Start*d:(a.Start+a.Count)*d])
	case OpScale:
		ScaleRow(out.F, in[0].F, a.Scale)
	case OpSoftcap:
		SoftcapRow(out.F, in[0].F, a.Softcap)
	case OpGeGLU:
		d := out.Type.Cols()
		for r := 0; r < out.Type.Rows(); r++ {
			GeGLURow(out.F[r*d:(r+1)*d], in[0].F[r*d:(r+1)*d], in[1].F[r*d:(r+1)*d])
		}
	default:
		return fmt.Errorf("%s: no reference implementation", o)
	}
	return nil
}

// GetRow writes row id of a table into dst. For F32 tables held as floats, f is used.
func GetRow(t quant.Type, raw []byte, f []float32, id int, dst []float32) error {
	if t == quant.F32 && raw == nil {
		copy(dst, f[id*len(dst):(id+1)*len(dst)])
		return nil
	}
	return quant.Dequantize(t, raw, dst)
}

// RMSNormRow is llama.cpp's rms_norm: the sum of squares in float64, then a float32 scale.
func RMSNormRow(dst, x []float32, eps float32) {
	var sum float64
	for _, v := range x {
		sum += float64(v * v) // the square in float32, as ggml does
	}
	mean := float32(sum / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	for i, v := range x {
		dst[i] = v * scale
	}
}

// RMSNormMulRow is RMSNormRow followed by the weight multiply, rounding
// after each step as the unfused pair does.
func RMSNormMulRow(dst, x, w []float32, eps float32) {
	RMSNormRow(dst, x, eps)
	w = w[:len(dst)]
	for i := range dst {
		dst[i] *= w[i]
	}
}

// SiLU is x·σ(x), computed as llama.cpp does.
func SiLU(x float32) float32 {
	return x / (1 + float32(math.Exp(float64(-x))))
}

// SoftmaxInPlace normalizes y to a probability distribution as ggml's
// soft_max does: max, exp with the sum in float64 (softmaxSum), then a scale
// by the float32 reciprocal.
func SoftmaxInPlace(y []float32) {
	m := float32(math.Inf(-1))
	for _, v := range y {
		m = max(m, v)
	}
	inv := float32(1 / softmaxSum(y, m))
	for i := range y {
		y[i] *= inv
	}
}

// RopeCache fills cs with (cos, sin) pairs for position p, as ggml_rope_cache_init
// does: theta starts at p·scale and is multiplied by base^(-2/n_dims) per pair,
// each pair's angle divided by its frequency factor when the model has them.
func RopeCache(cs []float32, p int, a Attrs, ff []float32) {
	scale := a.RopeScale
	if scale == 0 {
		scale = 1
	}
	thetaScale := float32(math.Pow(float64(a.RopeBase), -2.0/float64(a.RopeDims)))
	theta := float32(p)
	for i := 0; i < a.RopeDims; i += 2 {
		f := float32(1)
		if ff != nil {
			f = ff[i/2]
		}
		th := scale * (theta / f)
		cs[i+1], cs[i] = Sincosf(th) // glibc's, as ggml's rope_yarn calls it
		theta *= thetaScale
	}
}

// RopeHead rotates one head (x and dst may alias) with the cos/sin pairs from RopeCache.
// The conversions round each product, so arm64 (where Go fuses a*b+c) gives amd64's bits.
func RopeHead(dst, x, cs []float32, mode RopeMode) {
	n := len(cs)
	if mode == RopeNeox {
		h := n / 2
		for i := 0; i < h; i++ {
			c, s := cs[2*i], cs[2*i+1]
			x0, x1 := x[i], x[i+h]
			// ggml's rotate_pairs as GCC contracts it for NEOX: the first
			// product fused with the second (rounded) one. The conversions
			// keep arm64 from fusing the second product too.
			dst[i] = fma32(x0, c, -float32(x1*s))
			dst[i+h] = fma32(x0, s, float32(x1*c))
		}
	} else {
		for i := 0; i < n; i += 2 {
			c, s := cs[i], cs[i+1]
			x0, x1 := x[i], x[i+1]
			dst[i] = float32(x0*c) - float32(x1*s)
			dst[i+1] = float32(x0*s) + float32(x1*c)
		}
	}
	copy(dst[n:], x[n:])
}

// AttentionHead computes one query head against the first kvLen cached rows:
// softmax(q·kⱼ·scale)·vⱼ over j < kvLen (and within the window, if any).
// scores needs AttentionScratch(kvLen, head_dim) entries. The arithmetic follows llama.cpp's CPU path
// without flash attention: q·k as ggml_vec_dot_f32, the softmax of ggml,
// and the weighted sum of values accumulated in 8 lanes by position (j mod
// 8) with fused multiply-adds, as llamafile's F32 GEMM does, so that the
// next layer's quantized activations land on llama.cpp's levels. The inner
// loops come from vk, so runtimes share this code with their vector kernels.
func AttentionHead(dst, q, k, v []float32, head, kvLen int, a Attrs, scores []float32, vk *VecKernels) {
	hd := a.HeadDim
	kvd := a.NKVHead * hd
	kvh := head / (a.NHead / a.NKVHead)
	scale := a.Scale
	if scale == 0 {
		scale = float32(1 / math.Sqrt(float64(hd)))
	}
	s := scores[:kvLen]
	lo := 0
	if a.Window > 0 {
		// The query sits at kvLen-1 and sees keys p' with (kvLen-1)-p' < Window.
		lo = max(0, kvLen-a.Window)
	}
	for j := range lo {
		s[j] = float32(math.Inf(-1))
	}
	off := kvh * hd
	if c := a.Softcap; c > 0 {
		// llama.cpp caps kq before soft_max_ext applies the scale.
		inv := 1 / c
		for j := lo; j < kvLen; j++ {
			kq := vk.Dot(q, k[j*kvd+off:j*kvd+off+hd])
			s[j] = Tanhf(kq*inv) * c * scale
		}
	} else if vk.Scores != nil {
		vk.Scores(s[lo:kvLen], q, k[lo*kvd+off:], kvd, scale)
	} else {
		for j := lo; j < kvLen; j++ {
			s[j] = vk.Dot(q, k[j*kvd+off:j*kvd+off+hd]) * scale
		}
	}
	vk.Softmax(s)
	// Lane l of every output element sums the positions j ≡ l (mod 8) in
	// order; held as 8 rows of head_dim so each step is an axpy over a V row.
	lanes := scores[kvLen : kvLen+8*hd]
	clear(lanes)
	if vk.AxpyLanes != nil {
		vk.AxpyLanes(lanes, s[lo:kvLen], v[lo*kvd+off:], kvd, lo)
	} else {
		for j := lo; j < kvLen; j++ { // masked keys have weight 0 and add nothing
			vk.Axpy(lanes[(j&7)*hd:(j&7)*hd+hd], s[j], v[j*kvd+off:j*kvd+off+hd])
		}
	}
	ReduceLanes8(dst, lanes)
}

// VecKernels are the inner loops of AttentionHead. Runtimes pass vector
// versions that compute exactly the same values as RefKernels.
type VecKernels struct {
	Dot     func(x, y []float32) float32                // as DotF32
	Axpy    func(acc []float32, p float32, v []float32) // as AxpyFMA
	Softmax func(y []float32)                           // as SoftmaxInPlace
	// Scores, if set, runs the score loop in one call: s[j] =
	// Dot(q, k[j*stride:j*stride+len(q)])*scale for j < len(s).
	Scores func(s, q, k []float32, stride int, scale float32)
	// AxpyLanes, if set, runs the value loop in one call: for j < len(p),
	// Axpy(row (j0+j)&7 of lanes (8 rows of len(lanes)/8), p[j], v[j*stride:]).
	AxpyLanes func(lanes, p, v []float32, stride, j0 int)
}

// RefKernels are the plain-Go inner loops.
var RefKernels = VecKernels{Dot: DotF32, Axpy: AxpyFMA, Softmax: SoftmaxInPlace}

// AxpyFMA sets acc[i] = fma(p, v[i], acc[i]) with one rounding per element.
func AxpyFMA(acc []float32, p float32, v []float32) {
	v = v[:len(acc)]
	for i := range acc {
		acc[i] = fma32(p, v[i], acc[i])
	}
}

// ReduceLanes8 sums 8 rows of len(dst) lanes into dst in the AVX order:
// high half onto low, then movehl, then movehdup.
func ReduceLanes8(dst, lanes []float32) {
	n := len(dst)
	for i := range dst {
		a := func(l int) float32 { return lanes[l*n+i] }
		r0, r1, r2, r3 := a(4)+a(0), a(5)+a(1), a(6)+a(2), a(7)+a(3)
		dst[i] = (r0 + r2) + (r1 + r3)
	}
}

// AttentionScratch is the scratch AttentionHead needs for kvLen keys.
// (AttentionHeadKV uses two more head rows: the rotated query and a decoded value.)
func AttentionScratch(kvLen, headDim int) int { return kvLen + 10*headDim }

func f32Bytes(f []float32) []byte {
	b := make([]byte, 4*len(f))
	for i, v := range f {
		u := math.Float32bits(v)
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	return b
}

// Package ops is kiln's op catalogue: for every op its arity, attributes,
// shape and dtype rule, a cost estimate, and a reference implementation in
// plain Go that is the oracle for every kernel and backend.
//
// Shapes are row-major: the last dimension is contiguous. A weight stored in
// GGUF with ggml dims [K, N] has kiln shape [N, K]. Activations are F32
// [T, D] (T tokens, D features).
package ops

import (
	"fmt"
	"strings"

	"github.com/kiln-ml/kiln/ops/kvquant"
	"github.com/kiln-ml/kiln/ops/quant"
)

// Op names a primitive operation.
type Op uint8

// The primitive ops models emit. Fused ops are added by lower.
const (
	OpInvalid   Op = iota
	OpGetRows      // embedding lookup: table[V,D] (any type), ids[T] i32 -> [T,D]
	OpRMSNorm      // x[T,D] -> x / sqrt(mean(x²)+eps)
	OpMul          // a[T,D] * b[D] or b[T,D] (broadcast over rows)
	OpAdd          // a[T,D] + b[D] or b[T,D]
	OpMatMul       // x[T,K] · w[N,K]ᵀ -> [T,N]; w any weight type
	OpRope         // rotary embedding of x[T, H*hd] at positions pos..pos+T-1; optional freq factors
	OpSiLU         // x * sigmoid(x)
	OpSwiGLU       // silu(gate) * up, the gated FFN activation
	OpSoftmax      // row-wise softmax of x*Scale
	OpKVWrite      // cache[Ctx,KVD] rows pos..pos+T-1 = x[T,KVD]; result aliases cache
	OpAttention    // causal grouped-query attention of q[T,H*hd] over caches k,v [Ctx,KVH*hd]
	OpRows         // rows [Start, Start+Count) of x[T,D]
	OpQuantize     // f32 rows -> Attrs.Type blocks, the activation format a matmul's weights dot with

	// Fused ops, produced by lower's fusion passes. Each computes exactly
	// the composition it replaces, in the same float operations.
	OpRMSNormMul  // rms_norm(x) * w[D]
	OpMatMulAdd   // x·wᵀ + r
	OpRopeKVWrite // kv_write(cache, rope(x, pos, freqs), pos); result aliases cache
	OpMatMulGroup // x·w1ᵀ … x·wkᵀ of one input, the products laid end to end (see group.go)
	OpSegment     // one product of a matmul_group: a view, no kernel

	// Primitive ops the architectures beyond llama need (after the fused
	// ops so that the numbering of the ops above stays put).
	OpScale   // x * Scale (ggml_scale)
	OpSoftcap // tanh(x / Softcap) * Softcap, gemma's logit soft-capping
	OpGeGLU   // gelu_tanh(gate) * up, the GELU-gated FFN activation (ggml_geglu)
	numOps
)

// RopeMode selects which elements rope rotates together.
type RopeMode uint8

const (
	// RopeNorm rotates adjacent pairs (x[2i], x[2i+1]), as llama.cpp's LLAMA_ROPE_TYPE_NORM.
	RopeNorm RopeMode = 0
	// RopeNeox rotates (x[i], x[i+n/2]), as LLAMA_ROPE_TYPE_NEOX.
	RopeNeox RopeMode = 2
)

func (m RopeMode) String() string {
	if m == RopeNeox {
		return "neox"
	}
	return "norm"
}

// Attrs are the constant parameters of a node. One flat struct keeps them
// typed; each op reads only the fields its Spec lists.
type Attrs struct {
	Eps       float32    // rms_norm
	Scale     float32    // softmax, attention (0 means 1/sqrt(head_dim) for attention, 1 for softmax)
	NHead     int        // rope, attention
	NKVHead   int        // attention
	HeadDim   int        // rope, attention
	RopeDims  int        // rope: leading dims of each head that rotate (n_rot)
	RopeMode  RopeMode   // rope
	RopeBase  float32    // rope frequency base
	RopeScale float32    // rope linear position scale (positions are multiplied by it; 0 means 1)
	Start     int        // rows
	Count     int        // rows
	Type      quant.Type // quantize: target format
	Window    int        // attention: sliding window (a query at p sees keys p' with p-p' < Window); 0 for none
	Softcap   float32    // attention: soft-cap the scores, tanh(s/Softcap)*Softcap (0 for none); softcap: the cap
	// KV cache formats (zero values: f32). kv_write stores its rows as
	// Cache; attention reads keys stored as KType and values as VType.
	// Layer seeds the turbo formats' rotation signs (with the head).
	Cache kvquant.Type // kv_write
	KType kvquant.Type // attention
	VType kvquant.Type // attention
	Layer int          // kv_write, attention: turbo rotation seed
}

// kvAttr are the cache-format attributes, printed only where they differ from f32.
var kvAttr = map[string]bool{"cache": true, "k_type": true, "v_type": true, "layer": true}

// Spec is one row of the catalogue.
type Spec struct {
	Name string
	// Arity is the number of inputs; MaxArity > Arity allows optional trailing inputs.
	Arity, MaxArity int
	// Attrs lists the Attrs fields the op reads, for dumps.
	Attrs []string
	// OptAttrs lists fields the op reads only when set; dumps show them when non-zero.
	OptAttrs []string
	// Infer returns the result type for the given inputs or an error naming the mismatch.
	Infer func(in []TensorType, a Attrs) (TensorType, error)
	// Cost estimates FLOPs and bytes touched.
	Cost func(in []TensorType, out TensorType, a Attrs) Cost
}

// Cost is a rough per-invocation estimate used by dumps and schedulers.
type Cost struct {
	FLOPs int64
	Bytes int64
}

// TensorType is a static shape and storage format.
type TensorType struct {
	Shape []int
	DType quant.Type
}

// Elems returns the number of elements.
func (t TensorType) Elems() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= int64(d)
	}
	return n
}

// Bytes returns the storage size, or -1 if the last dimension does not fit the block size.
func (t TensorType) Bytes() int64 {
	if len(t.Shape) == 0 {
		return 0
	}
	last := t.Shape[len(t.Shape)-1]
	rb, err := t.DType.RowBytes(last)
	if err != nil {
		return -1
	}
	return t.Elems() / int64(last) * int64(rb)
}

// Rows returns the product of all but the last dimension, and Cols the last.
func (t TensorType) Rows() int {
	r := 1
	for _, d := range t.Shape[:max(len(t.Shape)-1, 0)] {
		r *= d
	}
	return r
}

// Cols returns the last (contiguous) dimension.
func (t TensorType) Cols() int {
	if len(t.Shape) == 0 {
		return 1
	}
	return t.Shape[len(t.Shape)-1]
}

func (t TensorType) String() string {
	s := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		s[i] = fmt.Sprint(d)
	}
	return fmt.Sprintf("%s[%s]", t.DType, strings.Join(s, ","))
}

// Equal reports whether two types have the same shape and format.
func (t TensorType) Equal(u TensorType) bool {
	if t.DType != u.DType || len(t.Shape) != len(u.Shape) {
		return false
	}
	for i := range t.Shape {
		if t.Shape[i] != u.Shape[i] {
			return false
		}
	}
	return true
}

// F32 is a convenience constructor for an F32 tensor type.
func F32(shape ...int) TensorType { return TensorType{Shape: shape, DType: quant.F32} }

// I32 is a convenience constructor for an I32 tensor type.
func I32(shape ...int) TensorType { return TensorType{Shape: shape, DType: quant.I32} }

func (o Op) String() string {
	if o < numOps && catalogue[o].Name != "" {
		return catalogue[o].Name
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Lookup returns the catalogue entry of o.
func Lookup(o Op) (*Spec, bool) {
	if o == OpInvalid || o >= numOps {
		return nil, false
	}
	return &catalogue[o], true
}

// ByName finds an op by its catalogue name.
func ByName(name string) (Op, bool) {
	for i := range catalogue {
		if catalogue[i].Name == name && Op(i) != OpInvalid {
			return Op(i), true
		}
	}
	return OpInvalid, false
}

// All returns every op in the catalogue.
func All() []Op {
	var r []Op
	for o := OpInvalid + 1; o < numOps; o++ {
		r = append(r, o)
	}
	return r
}

// Infer checks arity and applies o's shape rule.
func Infer(o Op, in []TensorType, a Attrs) (TensorType, error) {
	s, ok := Lookup(o)
	if !ok {
		return TensorType{}, fmt.Errorf("unknown op %d", uint8(o))
	}
	if len(in) < s.Arity || len(in) > max(s.Arity, s.MaxArity) {
		return TensorType{}, fmt.Errorf("%s: want %d inputs, have %d", s.Name, s.Arity, len(in))
	}
	return s.Infer(in, a)
}

// FormatAttrs renders the attributes o reads, for dumps ("eps=1e-05 n_head=8").
func FormatAttrs(o Op, a Attrs) string {
	s, ok := Lookup(o)
	if !ok {
		return ""
	}
	var parts []string
	for i, f := range append(append([]string(nil), s.Attrs...), s.OptAttrs...) {
		var v any
		switch f {
		case "eps":
			v = a.Eps
		case "scale":
			v = a.Scale
		case "n_head":
			v = a.NHead
		case "n_kv_head":
			v = a.NKVHead
		case "head_dim":
			v = a.HeadDim
		case "rope_dims":
			v = a.RopeDims
		case "rope_mode":
			v = a.RopeMode
		case "rope_base":
			v = a.RopeBase
		case "rope_scale":
			v = a.RopeScale
		case "start":
			v = a.Start
		case "count":
			v = a.Count
		case "window":
			v = a.Window
		case "type":
			v = a.Type
		case "softcap":
			v = a.Softcap
		case "cache":
			v = a.Cache
		case "k_type":
			v = a.KType
		case "v_type":
			v = a.VType
		case "layer":
			v = a.Layer
		}
		if kvAttr[f] && !a.Cache.Turbo() && !a.KType.Turbo() && (f == "layer" || v == kvquant.F32) {
			continue // f32 caches print as before; layer matters to turbo only
		}
		if i >= len(s.Attrs) && (v == 0 || v == float32(0)) {
			continue // an optional attribute that is not set
		}
		parts = append(parts, fmt.Sprintf("%s=%v", f, v))
	}
	return strings.Join(parts, " ")
}

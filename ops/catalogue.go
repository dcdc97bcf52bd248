package ops

import (
	"fmt"

	"github.com/kiln-ml/kiln/ops/kvquant"
	"github.com/kiln-ml/kiln/ops/quant"
)

// catalogue is indexed by Op.
var catalogue = [numOps]Spec{
	OpGetRows: {
		Name: "get_rows", Arity: 2,
		Infer: func(in []TensorType, a Attrs) (TensorType, error) {
			tab, ids := in[0], in[1]
			if len(tab.Shape) != 2 {
				return TensorType{}, fmt.Errorf("get_rows: table must be 2-D, have %s", tab)
			}
			if ids.DType != quant.I32 || len(ids.Shape) != 1 {
				return TensorType{}, fmt.Errorf("get_rows: ids must be i32[T], have %s", ids)
			}
			return F32(ids.Shape[0], tab.Shape[1]), nil
		},
		Cost: func(in []TensorType, out TensorType, a Attrs) Cost {
			return Cost{Bytes: out.Elems() * 4 * 2}
		},
	},
	OpRMSNorm: {
		Name: "rms_norm", Arity: 1, Attrs: []string{"eps"}, OptAttrs: []string{"head_dim"},
		Infer: perHead("rms_norm", unaryF32("rms_norm")),
		Cost:  elementwise(3),
	},
	OpMul: {
		Name: "mul", Arity: 2, OptAttrs: []string{"head_dim"},
		Infer: broadcast("mul"),
		Cost:  elementwise(1),
	},
	OpAdd: {
		Name: "add", Arity: 2, OptAttrs: []string{"head_dim"},
		Infer: broadcast("add"),
		Cost:  elementwise(1),
	},
	OpMatMul: {
		Name: "matmul", Arity: 2,
		Infer: matmulInfer,
		Cost:  matmulCost,
	},
	OpRope: {
		Name: "rope", Arity: 2, MaxArity: 3, Attrs: []string{"n_head", "head_dim", "rope_dims", "rope_mode", "rope_base", "rope_scale"},
		Infer: func(in []TensorType, a Attrs) (TensorType, error) {
			x := in[0]
			if err := checkPos("rope", in[1]); err != nil {
				return TensorType{}, err
			}
			if x.DType != quant.F32 || len(x.Shape) != 2 || a.NHead <= 0 || a.HeadDim <= 0 || x.Shape[1] != a.NHead*a.HeadDim {
				return TensorType{}, fmt.Errorf("rope: x %s does not hold %d heads of %d", x, a.NHead, a.HeadDim)
			}
			if a.RopeDims <= 0 || a.RopeDims > a.HeadDim || a.RopeDims%2 != 0 {
				return TensorType{}, fmt.Errorf("rope: rope_dims %d must be even and in (0, head_dim %d]", a.RopeDims, a.HeadDim)
			}
			if len(in) == 3 {
				f := in[2]
				if f.DType != quant.F32 || len(f.Shape) != 1 || f.Shape[0] != a.RopeDims/2 {
					return TensorType{}, fmt.Errorf("rope: freq factors must be f32[%d], have %s", a.RopeDims/2, f)
				}
			}
			return x, nil
		},
		Cost: elementwise(6),
	},
	OpSiLU: {
		Name: "silu", Arity: 1,
		Infer: unaryF32("silu"),
		Cost:  elementwise(4),
	},
	OpSwiGLU: {
		Name: "swiglu", Arity: 2,
		Infer: func(in []TensorType, a Attrs) (TensorType, error) {
			if in[0].DType != quant.F32 || !in[0].Equal(in[1]) {
				return TensorType{}, fmt.Errorf("swiglu: gate %s and up %s must be equal f32 shapes", in[0], in[1])
			}
			return in[0], nil
		},
		Cost: elementwise(5),
	},
	OpSoftmax: {
		Name: "softmax", Arity: 1, Attrs: []string{"scale"},
		Infer: unaryF32("softmax"),
		Cost:  elementwise(4),
	},
	OpKVWrite: {
		Name: "kv_write", Arity: 3, Attrs: []string{"cache", "layer"},
		Infer: func(in []TensorType, a Attrs) (TensorType, error) {
			cache, x := in[0], in[1]
			if err := checkPos("kv_write", in[2]); err != nil {
				return TensorType{}, err
			}
			if a.Cache != kvquant.F32 {
				return kvWriteInfer(cache, x, a)
			}
			if len(cache.Shape) != 2 || len(x.Shape) != 2 || cache.Shape[1] != x.Shape[1] || x.DType != quant.F32 {
				return TensorType{}, fmt.Errorf("kv_write: rows %s do not fit cache %s", x, cache)
			}
			if x.Shape[0] > cache.Shape[0] {
				return TensorType{}, fmt.Errorf("kv_write: %d rows exceed cache length %d", x.Shape[0], cache.Shape[0])
			}
			return cache, nil
		},
		Cost: func(in []TensorType, out TensorType, a Attrs) Cost {
			return Cost{Bytes: in[1].Elems() * 8}
		},
	},
	OpAttention: {
		Name: "attention", Arity: 4, Attrs: []string{"n_head", "n_kv_head", "head_dim", "scale", "window"}, OptAttrs: []string{"softcap", "k_type", "v_type", "layer"},
		Infer: func(in []TensorType, a Attrs) (TensorType, error) {
			q, k, v := in[0], in[1], in[2]
			if err := checkPos("attention", in[3]); err != nil {
				return TensorType{}, err
			}
			if a.NHead <= 0 || a.NKVHead <= 0 || a.HeadDim <= 0 || a.NHead%a.NKVHead != 0 {
				return TensorType{}, fmt.Errorf("attention: n_head %d must be a positive multiple of n_kv_head %d", a.NHead, a.NKVHead)
			}
			if a.Softcap < 0 || a.Window < 0 {
				return TensorType{}, fmt.Errorf("attention: softcap %g and window %d must not be negative", a.Softcap, a.Window)
			}
			if q.DType != quant.F32 || len(q.Shape) != 2 || q.Shape[1] != a.NHead*a.HeadDim {
				return TensorType{}, fmt.Errorf("attention: q %s does not hold %d heads of %d", q, a.NHead, a.HeadDim)
			}
			if a.KType != kvquant.F32 || a.VType != kvquant.F32 {
				return q, attentionCachesInfer(k, v, a)
			}
			kvd := a.NKVHead * a.HeadDim
			if len(k.Shape) != 2 || k.Shape[1] != kvd || !k.Equal(v) {
				return TensorType{}, fmt.Errorf("attention: caches k %s, v %s must be [ctx,%d] and equal", k, v, kvd)
			}
			if k.DType != quant.F32 {
				return TensorType{}, fmt.Errorf("attention: cache type %s is not supported", k.DType)
			}
			return q, nil
		},
		Cost: func(in []TensorType, out TensorType, a Attrs) Cost {
			ctx := int64(in[1].Shape[0])
			t := int64(in[0].Shape[0])
			return Cost{FLOPs: 4 * t * ctx * int64(a.NHead*a.HeadDim), Bytes: 2 * in[1].Bytes()}
		},
	},
	OpQuantize: {
		Name: "quantize", Arity: 1, Attrs: []string{"type"},
		Infer: func(in []TensorType, a Attrs) (TensorType, error) {
			x := in[0]
			if x.DType != quant.F32 || len(x.Shape) != 2 {
				return TensorType{}, fmt.Errorf("quantize: input must be f32[T,K], have %s", x)
			}
			t := TensorType{Shape: x.Shape, DType: a.Type}
			if !a.Type.Known() || t.Bytes() < 0 {
				return TensorType{}, fmt.Errorf("quantize: rows of %d do not fit type %s", x.Cols(), a.Type)
			}
			return t, nil
		},
		Cost: elementwise(3),
	},
	OpRows: {
		Name: "rows", Arity: 1, Attrs: []string{"start", "count"},
		Infer: func(in []TensorType, a Attrs) (TensorType, error) {
			x := in[0]
			if len(x.Shape) != 2 || a.Start < 0 || a.Count <= 0 || a.Start+a.Count > x.Shape[0] {
				return TensorType{}, fmt.Errorf("rows: [%d,%d) out of range for %s", a.Start, a.Start+a.Count, x)
			}
			return TensorType{Shape: []int{a.Count, x.Shape[1]}, DType: x.DType}, nil
		},
		Cost: elementwise(0),
	},
	OpScale: {
		Name: "scale", Arity: 1, Attrs: []string{"scale"},
		Infer: unaryF32("scale"),
		Cost:  elementwise(1),
	},
	OpSoftcap: {
		Name: "softcap", Arity: 1, Attrs: []string{"softcap"},
		Infer: func(in []TensorType, a Attrs) (TensorType, error) {
			if !(a.Softcap > 0) {
				return TensorType{}, fmt.Errorf("softcap: cap %g must be positive", a.Softcap)
			}
			return unaryF32("softcap")(in, a)
		},
		Cost: elementwise(8),
	},
	OpGeGLU: {
		Name: "geglu", Arity: 2,
		Infer: func(in []TensorType, a Attrs) (TensorType, error) {
			if in[0].DType != quant.F32 || !in[0].Equal(in[1]) {
				return TensorType{}, fmt.Errorf("geglu: gate %s and up %s must be equal f32 shapes", in[0], in[1])
			}
			return in[0], nil
		},
		Cost: elementwise(3),
	},
}

func checkPos(op string, p TensorType) error {
	if p.DType != quant.I32 || len(p.Shape) != 1 || p.Shape[0] != 1 {
		return fmt.Errorf("%s: position input must be i32[1], have %s", op, p)
	}
	return nil
}

func unaryF32(name string) func([]TensorType, Attrs) (TensorType, error) {
	return func(in []TensorType, a Attrs) (TensorType, error) {
		if in[0].DType != quant.F32 || len(in[0].Shape) == 0 {
			return TensorType{}, fmt.Errorf("%s: input must be f32, have %s", name, in[0])
		}
		return in[0], nil
	}
}

// broadcast allows b to equal a or to be one row ([D] or [1,D]) repeated over a's rows.
// With head_dim set, b is one row of head_dim repeated over every head of every row.
func broadcast(name string) func([]TensorType, Attrs) (TensorType, error) {
	return func(in []TensorType, at Attrs) (TensorType, error) {
		a, b := in[0], in[1]
		if a.DType != quant.F32 || b.DType != quant.F32 {
			return TensorType{}, fmt.Errorf("%s: inputs must be f32, have %s and %s", name, a, b)
		}
		if at.HeadDim != 0 {
			if at.HeadDim < 0 || a.Cols()%at.HeadDim != 0 || b.Rows() != 1 || b.Cols() != at.HeadDim {
				return TensorType{}, fmt.Errorf("%s: %s does not repeat over heads of %d in %s", name, b, at.HeadDim, a)
			}
			return a, nil
		}
		if a.Equal(b) || (b.Cols() == a.Cols() && b.Rows() == 1) {
			return a, nil
		}
		return TensorType{}, fmt.Errorf("%s: shapes %s and %s do not broadcast", name, a, b)
	}
}

// perHead checks head_dim, when set, against the row length.
func perHead(name string, infer func([]TensorType, Attrs) (TensorType, error)) func([]TensorType, Attrs) (TensorType, error) {
	return func(in []TensorType, a Attrs) (TensorType, error) {
		t, err := infer(in, a)
		if err == nil && (a.HeadDim < 0 || (a.HeadDim > 0 && t.Cols()%a.HeadDim != 0)) {
			return TensorType{}, fmt.Errorf("%s: rows of %d do not split into heads of %d", name, t.Cols(), a.HeadDim)
		}
		return t, err
	}
}

func elementwise(flopsPerElem int64) func([]TensorType, TensorType, Attrs) Cost {
	return func(in []TensorType, out TensorType, a Attrs) Cost {
		var b int64
		for _, t := range in {
			b += t.Bytes()
		}
		return Cost{FLOPs: flopsPerElem * out.Elems(), Bytes: b + out.Bytes()}
	}
}

var matmulInfer = func(in []TensorType, a Attrs) (TensorType, error) {
	x, w := in[0], in[1]
	if (x.DType != quant.F32 && x.DType != quant.VecDotType(w.DType)) || len(x.Shape) != 2 {
		return TensorType{}, fmt.Errorf("matmul: activations must be f32[T,K] or %s[T,K], have %s", quant.VecDotType(w.DType), x)
	}
	if len(w.Shape) != 2 {
		return TensorType{}, fmt.Errorf("matmul: weight must be 2-D, have %s", w)
	}
	if x.Shape[1] != w.Shape[1] {
		return TensorType{}, fmt.Errorf("matmul: inner dimensions differ: x %s, w %s", x, w)
	}
	if w.Bytes() < 0 {
		return TensorType{}, fmt.Errorf("matmul: weight row of %d is not a multiple of the %s block", w.Shape[1], w.DType)
	}
	return F32(x.Shape[0], w.Shape[0]), nil
}

var matmulCost = func(in []TensorType, out TensorType, a Attrs) Cost {
	x, w := in[0], in[1]
	return Cost{FLOPs: 2 * int64(x.Shape[0]) * w.Elems(), Bytes: w.Bytes() + x.Elems()*4 + out.Elems()*4}
}

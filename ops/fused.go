package ops

import (
	"fmt"

	"github.com/kiln-ml/kiln/ops/quant"
)

// The fused ops' rows refer to other rows (a fused op's rule is the
// composition of its parts), so they are filled in here rather than in the
// catalogue's initializer, which may not refer to itself.
func init() {
	catalogue[OpRMSNormMul] = Spec{
		Name: "rms_norm_mul", Arity: 2, Attrs: []string{"eps"}, OptAttrs: []string{"head_dim"},
		Infer: perHead("rms_norm_mul", func(in []TensorType, a Attrs) (TensorType, error) {
			x, w := in[0], in[1]
			n := x.Cols()
			if a.HeadDim > 0 {
				n = a.HeadDim // one weight per element of a head, shared by the heads
			}
			if x.DType != quant.F32 || w.DType != quant.F32 || w.Rows() != 1 || w.Cols() != n {
				return TensorType{}, fmt.Errorf("rms_norm_mul: weight %s must be f32[%d] for x %s", w, n, x)
			}
			return x, nil
		}),
		Cost: elementwise(4),
	}
	catalogue[OpMatMulAdd] = Spec{
		Name: "matmul_add", Arity: 3,
		Infer: func(in []TensorType, a Attrs) (TensorType, error) {
			t, err := matmulInfer(in[:2], a)
			if err != nil {
				return t, err
			}
			if r := in[2]; !r.Equal(t) && (r.DType != quant.F32 || r.Rows() != 1 || r.Cols() != t.Cols()) {
				return TensorType{}, fmt.Errorf("matmul_add: addend %s must equal the product %s or be one f32 row of it (a bias)", r, t)
			}
			return t, nil
		},
		Cost: func(in []TensorType, out TensorType, a Attrs) Cost {
			c := matmulCost(in[:2], out, a)
			c.FLOPs += out.Elems()
			c.Bytes += in[2].Bytes()
			return c
		},
	}
	catalogue[OpRopeKVWrite] = Spec{
		Name: "rope_kv_write", Arity: 3, MaxArity: 4, Attrs: []string{"n_head", "head_dim", "rope_dims", "rope_mode", "rope_base", "rope_scale", "cache", "layer"},
		Infer: func(in []TensorType, a Attrs) (TensorType, error) {
			rin := []TensorType{in[1], in[2]}
			if len(in) == 4 {
				rin = append(rin, in[3])
			}
			r, err := catalogue[OpRope].Infer(rin, a)
			if err != nil {
				return r, err
			}
			return catalogue[OpKVWrite].Infer([]TensorType{in[0], r, in[2]}, a)
		},
		Cost: func(in []TensorType, out TensorType, a Attrs) Cost {
			return Cost{FLOPs: 6 * in[1].Elems(), Bytes: in[1].Elems() * 8}
		},
	}
}

package ops

import (
	"fmt"
)

// A matmul group computes several matmuls that share their input x in one
// kernel: x·w1ᵀ, …, x·wkᵀ. Its result holds the products laid end to end,
// product j ([T, N_j], row-major) starting at element T·(N_1+…+N_{j−1}).
// The declared type is f32[T, ΣN], which has the right size; the layout is
// this blocked one, not the row-wise concatenation, so that each product is
// contiguous and a segment can be a plain view (for T = 1 the two agree).
//
// OpSegment takes product j back out: Start is its first column in ΣN and
// Count its N_j; the result f32[T, N_j] aliases the group's storage at
// element T·Start. Runtimes give a segment no kernel and no storage.

// MaxGroup is the most matmuls one group may hold.
const MaxGroup = 8

// IsView reports whether op o's result is part of its first input's storage
// rather than a new tensor (the scheduler gives such nodes no step).
func IsView(o Op) bool { return o == OpSegment }

func init() {
	catalogue[OpMatMulGroup] = Spec{
		Name: "matmul_group", Arity: 3, MaxArity: MaxGroup + 1,
		Infer: func(in []TensorType, a Attrs) (TensorType, error) {
			var n int
			for i, w := range in[1:] {
				t, err := matmulInfer([]TensorType{in[0], w}, a)
				if err != nil {
					return TensorType{}, fmt.Errorf("matmul_group: weight %d: %w", i, err)
				}
				if w.DType != in[1].DType {
					return TensorType{}, fmt.Errorf("matmul_group: weight %d is %s, weight 0 %s; a group shares one kernel", i, w.DType, in[1].DType)
				}
				n += t.Shape[1]
			}
			return F32(in[0].Shape[0], n), nil
		},
		Cost: func(in []TensorType, out TensorType, a Attrs) Cost {
			var c Cost
			for _, w := range in[1:] {
				p := F32(in[0].Shape[0], w.Shape[0])
				wc := matmulCost([]TensorType{in[0], w}, p, a)
				c.FLOPs += wc.FLOPs
				c.Bytes += wc.Bytes
			}
			return c
		},
	}
	catalogue[OpSegment] = Spec{
		Name: "segment", Arity: 1, Attrs: []string{"start", "count"},
		Infer: func(in []TensorType, a Attrs) (TensorType, error) {
			g := in[0]
			if len(g.Shape) != 2 || a.Start < 0 || a.Count <= 0 || a.Start+a.Count > g.Shape[1] {
				return TensorType{}, fmt.Errorf("segment: columns [%d,%d) outside %s", a.Start, a.Start+a.Count, g)
			}
			return F32(g.Shape[0], a.Count), nil
		},
		Cost: func(in []TensorType, out TensorType, a Attrs) Cost { return Cost{} },
	}
}

// evalGroup is the reference matmul_group: each product by the reference
// matmul, stored at its block.
func evalGroup(a Attrs, in []*Tensor, out *Tensor) error {
	T := out.Type.Shape[0]
	off := 0
	for _, w := range in[1:] {
		n := w.Type.Shape[0]
		p := &Tensor{Type: F32(T, n), F: out.F[off : off+T*n]}
		if err := Eval(OpMatMul, a, []*Tensor{in[0], w}, p); err != nil {
			return err
		}
		off += T * n
	}
	return nil
}

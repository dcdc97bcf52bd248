package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kiln-ml/kiln/ops/quant"
)

// TestFusedEqualsComposition checks the contract of every fused op: it
// computes exactly, bit for bit, the composition of the ops it replaces, so
// switching a fusion pass off never changes a result.
func TestFusedEqualsComposition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rnd := func(shape ...int) *Tensor {
		x := NewTensor(F32(shape...))
		for i := range x.F {
			x.F[i] = 4*r.Float32() - 2
		}
		return x
	}
	eval := func(o Op, a Attrs, in ...*Tensor) *Tensor {
		t.Helper()
		types := make([]TensorType, len(in))
		for i, x := range in {
			types[i] = x.Type
		}
		ot, err := Infer(o, types, a)
		if err != nil {
			t.Fatal(err)
		}
		out := NewTensor(ot)
		if InPlace(o) {
			out.F = append([]float32(nil), in[0].F...)
		}
		if err := Eval(o, a, in, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	same := func(name string, got, want *Tensor) {
		t.Helper()
		for i := range want.F {
			if math.Float32bits(got.F[i]) != math.Float32bits(want.F[i]) {
				t.Errorf("%s %v: element %d is %g fused, %g composed", name, want.Type, i, got.F[i], want.F[i])
				return
			}
		}
	}
	for _, cols := range []int{7, 8, 64, 71} { // with and without a tail past the 8-lane groups
		x, w := rnd(3, cols), rnd(cols)
		same("rms_norm_mul", eval(OpRMSNormMul, Attrs{Eps: 1e-5}, x, w), eval(OpMul, Attrs{}, eval(OpRMSNorm, Attrs{Eps: 1e-5}, x), w))

		g, u := rnd(3, cols), rnd(3, cols)
		same("swiglu", eval(OpSwiGLU, Attrs{}, g, u), eval(OpMul, Attrs{}, eval(OpSiLU, Attrs{}, g), u))

		wt := rnd(5, cols)
		wt.Raw = f32Bytes(wt.F)
		res := rnd(3, 5)
		same("matmul_add", eval(OpMatMulAdd, Attrs{}, x, wt, res), eval(OpAdd, Attrs{}, eval(OpMatMul, Attrs{}, x, wt), res))
	}
	wq := NewTensor(TensorType{Shape: []int{5, 64}, DType: quant.Q8_0})
	if err := quant.Quantize(quant.Q8_0, rnd(5, 64).F, wq.Raw); err != nil {
		t.Fatal(err)
	}
	x, res := rnd(3, 64), rnd(3, 5)
	same("matmul_add q8_0", eval(OpMatMulAdd, Attrs{}, x, wq, res), eval(OpAdd, Attrs{}, eval(OpMatMul, Attrs{}, x, wq), res))

	a := Attrs{NHead: 2, HeadDim: 8, RopeDims: 6, RopeBase: 10000, RopeMode: RopeNeox}
	cache, k, pos, ff := rnd(6, 16), rnd(2, 16), &Tensor{Type: I32(1), I: []int32{3}}, rnd(3)
	same("rope_kv_write", eval(OpRopeKVWrite, a, cache, k, pos, ff), eval(OpKVWrite, Attrs{}, cache, eval(OpRope, a, k, pos, ff), pos))
}

package ops

import (
	"math"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/ops/quant"
)

// TestCatalogue checks that every op has a complete row.
func TestCatalogue(t *testing.T) {
	if len(All()) != int(numOps)-1 {
		t.Fatalf("All() has %d ops, want %d", len(All()), numOps-1)
	}
	for _, o := range All() {
		s, ok := Lookup(o)
		if !ok || s.Name == "" || s.Infer == nil || s.Cost == nil || s.Arity < 1 {
			t.Errorf("op %d: incomplete catalogue row %+v", o, s)
			continue
		}
		if got, ok := ByName(s.Name); !ok || got != o {
			t.Errorf("ByName(%q) = %v, %v", s.Name, got, ok)
		}
		if _, ok := evalCases[o]; !ok {
			t.Errorf("op %s has no case in evalCases", o)
		}
	}
	if _, ok := Lookup(OpInvalid); ok {
		t.Error("OpInvalid is in the catalogue")
	}
	if _, ok := ByName("nope"); ok {
		t.Error(`ByName("nope") found an op`)
	}
}

type evalCase struct {
	a    Attrs
	in   []*Tensor
	want []float32 // nil: only check that Eval runs
}

func f32(shape []int, v ...float32) *Tensor { return &Tensor{Type: F32(shape...), F: v} }
func i32(v ...int32) *Tensor                { return &Tensor{Type: I32(len(v)), I: v} }

// evalCases has a small worked example of every op.
var evalCases = map[Op]evalCase{
	OpGetRows: {in: []*Tensor{
		{Type: F32(3, 2), Raw: f32Bytes([]float32{1, 2, 3, 4, 5, 6})}, i32(2, 0, 2),
	}, want: []float32{5, 6, 1, 2, 5, 6}},
	OpRMSNorm: {a: Attrs{Eps: 0}, in: []*Tensor{f32([]int{1, 2}, 3, 4)},
		want: []float32{3 / float32(math.Sqrt(12.5)), 4 / float32(math.Sqrt(12.5))}},
	OpMul:    {in: []*Tensor{f32([]int{2, 2}, 1, 2, 3, 4), f32([]int{2, 2}, 2, 2, 0, -1)}, want: []float32{2, 4, 0, -4}},
	OpAdd:    {in: []*Tensor{f32([]int{2, 2}, 1, 2, 3, 4), f32([]int{1, 2}, 1, -1)}, want: []float32{2, 1, 4, 3}},
	OpSiLU:   {in: []*Tensor{f32([]int{1, 2}, 0, 1)}, want: []float32{0, 1 / (1 + float32(math.Exp(-1)))}},
	OpSwiGLU: {in: []*Tensor{f32([]int{1, 2}, 0, 1), f32([]int{1, 2}, 5, 2)}, want: []float32{0, 2 / (1 + float32(math.Exp(-1)))}},
	OpSoftmax: {a: Attrs{Scale: 2}, in: []*Tensor{f32([]int{1, 2}, 0, float32(math.Log(3))/2)},
		want: []float32{0.25, 0.75}},
	OpMatMul: {in: []*Tensor{f32([]int{1, 3}, 1, 2, 3), {Type: F32(2, 3), Raw: f32Bytes([]float32{1, 0, 0, 1, 1, 1})}},
		want: []float32{1, 6}},
	// Position 0 rotates by 0: rope is the identity.
	OpRope: {a: Attrs{NHead: 2, HeadDim: 2, RopeDims: 2, RopeBase: 10000}, in: []*Tensor{f32([]int{1, 4}, 1, 2, 3, 4), i32(0)},
		want: []float32{1, 2, 3, 4}},
	OpKVWrite: {in: []*Tensor{f32([]int{3, 2}, 9, 9, 9, 9, 9, 9), f32([]int{1, 2}, 1, 2), i32(1)},
		want: []float32{9, 9, 1, 2, 9, 9}},
	// One key: the output is its value.
	OpAttention: {a: Attrs{NHead: 2, NKVHead: 1, HeadDim: 2}, in: []*Tensor{
		f32([]int{1, 4}, 1, 2, 3, 4), f32([]int{2, 2}, 1, 1, 0, 0), f32([]int{2, 2}, 5, 6, 0, 0), i32(0),
	}, want: []float32{5, 6, 5, 6}},
	OpRows:     {a: Attrs{Start: 1, Count: 1}, in: []*Tensor{f32([]int{2, 2}, 1, 2, 3, 4)}, want: []float32{3, 4}},
	OpQuantize: {a: Attrs{Type: quant.F16}, in: []*Tensor{f32([]int{1, 2}, 1, 0.5)}, want: []float32{1, 0.5}},
	OpRMSNormMul: {a: Attrs{Eps: 0}, in: []*Tensor{f32([]int{1, 2}, 3, 4), f32([]int{2}, 2, -1)},
		want: []float32{3 / float32(math.Sqrt(12.5)) * 2, -4 / float32(math.Sqrt(12.5))}},
	OpMatMulAdd: {in: []*Tensor{f32([]int{1, 3}, 1, 2, 3), {Type: F32(2, 3), Raw: f32Bytes([]float32{1, 0, 0, 1, 1, 1})}, f32([]int{1, 2}, 10, 20)},
		want: []float32{11, 26}},
	// Two tokens: the products are stored one after the other, not interleaved by row.
	OpMatMulGroup: {in: []*Tensor{f32([]int{2, 3}, 1, 2, 3, 0, 1, 0),
		{Type: F32(2, 3), Raw: f32Bytes([]float32{1, 0, 0, 1, 1, 1})}, {Type: F32(1, 3), Raw: f32Bytes([]float32{0, 0, 1})}},
		want: []float32{1, 6, 0, 1, 3, 0}},
	OpSegment: {a: Attrs{Start: 2, Count: 1}, in: []*Tensor{f32([]int{2, 3}, 1, 6, 0, 1, 3, 0)}, want: []float32{3, 0}},
	// Position 1 rotates the pair by 1 radian, into cache row 1.
	OpRopeKVWrite: {a: Attrs{NHead: 1, HeadDim: 2, RopeDims: 2, RopeBase: 10000}, in: []*Tensor{
		f32([]int{3, 2}, 9, 9, 9, 9, 9, 9), f32([]int{1, 2}, 1, 2), i32(1),
	}, want: []float32{9, 9, float32(math.Cos(1)) - 2*float32(math.Sin(1)), float32(math.Sin(1)) + 2*float32(math.Cos(1)), 9, 9}},
	OpScale:   {a: Attrs{Scale: 0.5}, in: []*Tensor{f32([]int{1, 2}, 1, -2)}, want: []float32{0.5, -1}},
	OpSoftcap: {a: Attrs{Softcap: 2}, in: []*Tensor{f32([]int{1, 2}, 0, 2)}, want: []float32{0, 2 * float32(math.Tanh(1))}},
	// GELU is 0 at 0 and below -10, the identity above 10.
	OpGeGLU: {in: []*Tensor{f32([]int{1, 3}, 0, 20, -20), f32([]int{1, 3}, 3, 2, 5)}, want: []float32{0, 40, 0}},
}

func TestEval(t *testing.T) {
	for o, c := range evalCases {
		t.Run(o.String(), func(t *testing.T) {
			types := make([]TensorType, len(c.in))
			for i, x := range c.in {
				types[i] = x.Type
			}
			ot, err := Infer(o, types, c.a)
			if err != nil {
				t.Fatal(err)
			}
			out := NewTensor(ot)
			if err := Eval(o, c.a, c.in, out); err != nil {
				t.Fatal(err)
			}
			got, err := out.F32Data()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if math.Abs(float64(got[i]-c.want[i])) > 1e-6*math.Max(1, math.Abs(float64(c.want[i]))) {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
			// A wrong output type is refused.
			bad := NewTensor(F32(7))
			if err := Eval(o, c.a, c.in, bad); err == nil || !strings.Contains(err.Error(), "output is f32[7]") {
				t.Errorf("wrong output type: error %v", err)
			}
		})
	}
}

// TestRope checks rotation at a non-zero position: every rotated pair keeps
// its length, the dims past rope_dims pass through, and NORM and NEOX pair
// different elements.
func TestRope(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6}
	for _, mode := range []RopeMode{RopeNorm, RopeNeox} {
		a := Attrs{NHead: 1, HeadDim: 6, RopeDims: 4, RopeBase: 10000, RopeMode: mode}
		out := NewTensor(F32(1, 6))
		if err := Eval(OpRope, a, []*Tensor{f32([]int{1, 6}, x...), i32(3)}, out); err != nil {
			t.Fatal(err)
		}
		y := out.F
		pairs := [][2]int{{0, 1}, {2, 3}}
		if mode == RopeNeox {
			pairs = [][2]int{{0, 2}, {1, 3}}
		}
		for _, p := range pairs {
			n0 := math.Hypot(float64(x[p[0]]), float64(x[p[1]]))
			n1 := math.Hypot(float64(y[p[0]]), float64(y[p[1]]))
			if math.Abs(n0-n1) > 1e-5 {
				t.Errorf("%s: pair %v length %g -> %g", mode, p, n0, n1)
			}
		}
		if y[4] != 5 || y[5] != 6 {
			t.Errorf("%s: dims past rope_dims changed: %v", mode, y)
		}
		// The first pair rotates by 3 radians.
		i, j := pairs[0][0], pairs[0][1]
		c, s := math.Cos(3), math.Sin(3)
		want0 := float64(x[i])*c - float64(x[j])*s
		if math.Abs(float64(y[i])-want0) > 1e-5 {
			t.Errorf("%s: y[%d] = %g, want %g", mode, i, y[i], want0)
		}
	}
}

// TestAttentionWindow checks causality and the sliding window: with a
// window of 1 every query sees only its own key.
func TestAttentionWindow(t *testing.T) {
	k := f32([]int{3, 1}, 1, 1, 1)
	v := f32([]int{3, 1}, 10, 20, 30)
	q := f32([]int{3, 1}, 1, 1, 1)
	for _, c := range []struct {
		window int
		want   []float32
	}{
		{0, []float32{10, 15, 20}}, // equal scores: the mean of the visible values
		{1, []float32{10, 20, 30}},
		{2, []float32{10, 15, 25}},
	} {
		a := Attrs{NHead: 1, NKVHead: 1, HeadDim: 1, Window: c.window}
		out := NewTensor(F32(3, 1))
		if err := Eval(OpAttention, a, []*Tensor{q, k, v, i32(0)}, out); err != nil {
			t.Fatal(err)
		}
		for i := range out.F {
			if math.Abs(float64(out.F[i]-c.want[i])) > 1e-5 {
				t.Errorf("window %d: %v, want %v", c.window, out.F, c.want)
				break
			}
		}
	}
}

func TestInferErrors(t *testing.T) {
	tests := []struct {
		o    Op
		in   []TensorType
		a    Attrs
		want string
	}{
		{OpMatMul, []TensorType{F32(1, 8), F32(4, 9)}, Attrs{}, "inner dimensions differ: x f32[1,8], w f32[4,9]"},
		{OpMatMul, []TensorType{F32(1, 40), {Shape: []int{4, 40}, DType: quant.Q8_0}}, Attrs{}, "not a multiple of the q8_0 block"},
		{OpRope, []TensorType{F32(1, 8), I32(1)}, Attrs{NHead: 3, HeadDim: 4, RopeDims: 4}, "does not hold 3 heads of 4"},
		{OpRope, []TensorType{F32(1, 8), I32(1)}, Attrs{NHead: 2, HeadDim: 4, RopeDims: 3}, "rope_dims 3 must be even"},
		{OpRope, []TensorType{F32(1, 8), I32(2)}, Attrs{NHead: 2, HeadDim: 4, RopeDims: 4}, "position input must be i32[1]"},
		{OpAttention, []TensorType{F32(1, 8), F32(4, 4), F32(4, 4), I32(1)}, Attrs{NHead: 2, NKVHead: 3, HeadDim: 4}, "multiple of n_kv_head"},
		{OpKVWrite, []TensorType{F32(2, 4), F32(3, 4), I32(1)}, Attrs{}, "3 rows exceed cache length 2"},
		{OpAdd, []TensorType{F32(2, 4), F32(2, 3)}, Attrs{}, "do not broadcast"},
		{OpRows, []TensorType{F32(2, 4)}, Attrs{Start: 1, Count: 2}, "[1,3) out of range"},
		{OpSiLU, []TensorType{F32(1), F32(1)}, Attrs{}, "want 1 inputs, have 2"},
	}
	for _, tt := range tests {
		_, err := Infer(tt.o, tt.in, tt.a)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Infer(%s, %v): error %v, want %q", tt.o, tt.in, err, tt.want)
		}
	}
}

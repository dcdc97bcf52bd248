package ops

import (
	"math"
	"testing"
)

// TestGELU checks ggml's tanh approximation against the formula in float64,
// and the half-precision table path against GELU to half precision.
func TestGELU(t *testing.T) {
	exact := func(x float64) float64 {
		return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*x*(1+0.044715*x*x)))
	}
	for x := float32(-12); x <= 12; x += 0.01 {
		if got, want := float64(GELU(x)), exact(float64(x)); math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Fatalf("GELU(%g) = %g, want %g", x, got, want)
		}
		y := make([]float32, 1)
		GeGLURow(y, []float32{x}, []float32{2})
		want := 2 * exact(float64(x))
		if x <= -10 {
			want = 0
		} else if x >= 10 {
			want = 2 * float64(x)
		}
		// The gate is rounded to half and so is GELU's value: 2·2⁻¹¹ relative, plus the slope.
		if got := float64(y[0]); math.Abs(got-want) > 3e-3*math.Max(0.1, math.Abs(want)) {
			t.Fatalf("geglu(%g, 2) = %g, want %g", x, got, want)
		}
	}
}

// TestSoftcap checks the cap bounds values and is close to the identity near 0.
func TestSoftcap(t *testing.T) {
	for _, x := range []float32{-100, -1, 0, 0.01, 3, 1e6} {
		got := Softcap(x, 1.5)
		if math.Abs(float64(got)) > 1.5 {
			t.Errorf("Softcap(%g, 1.5) = %g exceeds the cap", x, got)
		}
		if want := 1.5 * math.Tanh(float64(x)/1.5); math.Abs(float64(got)-want) > 1e-6 {
			t.Errorf("Softcap(%g, 1.5) = %g, want %g", x, got, want)
		}
	}
}

// TestPerHead checks head_dim on rms_norm, rms_norm_mul and mul: each head
// of a row is normalized on its own and the weight repeats over heads.
func TestPerHead(t *testing.T) {
	x := f32([]int{1, 4}, 3, 4, 1, 1)
	w := f32([]int{2}, 2, -1)
	out := NewTensor(F32(1, 4))
	if err := Eval(OpRMSNormMul, Attrs{HeadDim: 2}, []*Tensor{x, w}, out); err != nil {
		t.Fatal(err)
	}
	r := float32(math.Sqrt(12.5))
	want := []float32{3 / r * 2, -4 / r, 2, -1}
	for i := range want {
		if math.Abs(float64(out.F[i]-want[i])) > 1e-6 {
			t.Fatalf("rms_norm_mul per head = %v, want %v", out.F, want)
		}
	}
	n := NewTensor(F32(1, 4))
	if err := Eval(OpRMSNorm, Attrs{HeadDim: 2}, []*Tensor{x}, n); err != nil {
		t.Fatal(err)
	}
	m := NewTensor(F32(1, 4))
	if err := Eval(OpMul, Attrs{HeadDim: 2}, []*Tensor{n, w}, m); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if m.F[i] != out.F[i] {
			t.Fatalf("rms_norm then mul per head = %v, fused %v", m.F, out.F)
		}
	}
	if _, err := Infer(OpMul, []TensorType{F32(1, 4), F32(3)}, Attrs{HeadDim: 2}); err == nil {
		t.Error("mul accepted a per-head weight of the wrong length")
	}
	if _, err := Infer(OpRMSNorm, []TensorType{F32(1, 5)}, Attrs{HeadDim: 2}); err == nil {
		t.Error("rms_norm accepted rows that do not split into heads")
	}
}

// TestAttentionSoftcap checks that capped scores stay within the cap: with
// a tiny cap every key gets about the same weight.
func TestAttentionSoftcap(t *testing.T) {
	a := Attrs{NHead: 1, NKVHead: 1, HeadDim: 2, Softcap: 1e-4}
	q := f32([]int{1, 2}, 100, 0)
	k := f32([]int{2, 2}, 1, 0, -1, 0)
	v := f32([]int{2, 2}, 1, 0, 0, 1)
	out := NewTensor(F32(1, 2))
	if err := Eval(OpAttention, a, []*Tensor{q, k, v, i32(1)}, out); err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(out.F[0]-0.5)) > 1e-3 || math.Abs(float64(out.F[1]-0.5)) > 1e-3 {
		t.Errorf("capped attention = %v, want about [0.5 0.5]", out.F)
	}
}

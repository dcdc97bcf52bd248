package graph

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

// weights is an in-memory Weights and ParamSource.
type weights map[string]*ops.Tensor

func (w weights) ParamType(name string) (ops.TensorType, bool) {
	t, ok := w[name]
	if !ok {
		return ops.TensorType{}, false
	}
	return t.Type, true
}

func (w weights) TensorData(name string) ([]byte, bool) {
	t, ok := w[name]
	if !ok {
		return nil, false
	}
	return t.Raw, true
}

func f32Tensor(shape []int, v ...float32) *ops.Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return &ops.Tensor{Type: ops.F32(shape...), Raw: b}
}

// cacheGraph writes x = embd[tokens]·scale into a cache and outputs the
// cache itself and the embedding rows scaled by a weight.
func cacheGraph(t *testing.T, w weights, T int) *Graph {
	t.Helper()
	b := NewBuilder("cache", w)
	tok := b.Input("tokens", I32(T))
	pos := b.Input("pos", I32(1))
	x := b.GetRows("x", b.Param("embd"), tok)
	x = b.Mul("xs", x, b.Param("scale"))
	c := b.State("cache", ops.F32(4, 2))
	c = b.Op(ops.OpKVWrite, "write", ops.Attrs{}, c, x, pos)
	b.Output(c)
	b.Output(x)
	g, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestEvaluate(t *testing.T) {
	w := weights{
		"embd":  f32Tensor([]int{3, 2}, 1, 2, 3, 4, 5, 6),
		"scale": f32Tensor([]int{2}, 10, -1),
	}
	state := map[string][]float32{}
	g := cacheGraph(t, w, 2)
	out, err := Evaluate(g, w, EvalInputs{Tokens: []int32{2, 0}, Pos: 1}, state)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 0, 50, -6, 10, -2, 0, 0}
	if !equalF32(out[0], want) || !equalF32(state["cache"], want) {
		t.Errorf("cache output %v, state %v, want %v", out[0], state["cache"], want)
	}
	if !equalF32(out[1], []float32{50, -6, 10, -2}) {
		t.Errorf("xs = %v", out[1])
	}
	// A second step writes further into the same state, in place.
	cache := state["cache"]
	g1 := cacheGraph(t, w, 1)
	if _, err := Evaluate(g1, w, EvalInputs{Tokens: []int32{1}, Pos: 3}, state); err != nil {
		t.Fatal(err)
	}
	want = []float32{0, 0, 50, -6, 10, -2, 30, -4}
	if !equalF32(cache, want) {
		t.Errorf("after the second step cache = %v, want %v", cache, want)
	}
}

// TestEvaluateMatMul checks a quantized matmul against a dot product of
// the dequantized weights with the quantized activations.
func TestEvaluateMatMul(t *testing.T) {
	const K, N = 64, 3
	wf := make([]float32, N*K)
	xf := make([]float32, K)
	for i := range wf {
		wf[i] = float32(math.Sin(float64(i)))
	}
	for i := range xf {
		xf[i] = float32(math.Cos(float64(i) * 0.3))
	}
	raw := make([]byte, N*34*K/32)
	if err := quant.Quantize(quant.Q8_0, wf, raw); err != nil {
		t.Fatal(err)
	}
	w := weights{
		"w":    {Type: ops.TensorType{Shape: []int{N, K}, DType: quant.Q8_0}, Raw: raw},
		"embd": f32Tensor([]int{1, K}, xf...),
	}
	b := NewBuilder("mm", w)
	x := b.GetRows("x", b.Param("embd"), b.Input("tokens", I32(1)))
	b.Output(b.MatMul("y", x, b.Param("w")))
	g, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	out, err := Evaluate(g, w, EvalInputs{Tokens: []int32{0}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j < N; j++ {
		want := quant.DotRef(quant.Q8_0, raw[j*68:(j+1)*68], xf)
		if d := math.Abs(float64(out[0][j] - want)); d > 1e-4*math.Abs(float64(want))+1e-5 {
			t.Errorf("y[%d] = %g, want %g", j, out[0][j], want)
		}
	}
}

func TestEvaluateErrors(t *testing.T) {
	w := weights{
		"embd":  f32Tensor([]int{3, 2}, 1, 2, 3, 4, 5, 6),
		"scale": f32Tensor([]int{2}, 10, -1),
	}
	g := cacheGraph(t, w, 2)
	short := weights{"embd": w["embd"], "scale": f32Tensor([]int{1}, 1)}
	missing := weights{"embd": w["embd"]}
	tests := []struct {
		name  string
		w     weights
		in    EvalInputs
		state map[string][]float32
		want  string
	}{
		{"missing weight", missing, EvalInputs{Tokens: []int32{0, 1}}, map[string][]float32{}, `"scale": weight not found`},
		{"short weight", short, EvalInputs{Tokens: []int32{0, 1}}, map[string][]float32{}, `"scale": weight f32[2] has 4 bytes, want 8`},
		{"token count", w, EvalInputs{Tokens: []int32{0}}, map[string][]float32{}, `"tokens": 1 tokens given, input is i32[2]`},
		{"token range", w, EvalInputs{Tokens: []int32{0, 3}}, map[string][]float32{}, `"x": get_rows: id 3 out of range [0,3)`},
		{"cache overflow", w, EvalInputs{Tokens: []int32{0, 1}, Pos: 3}, map[string][]float32{}, `"write": kv_write: rows [3,5) exceed cache length 4`},
		{"no state", w, EvalInputs{Tokens: []int32{0, 1}}, nil, `"cache": no state buffers given`},
		{"state size", w, EvalInputs{Tokens: []int32{0, 1}}, map[string][]float32{"cache": make([]float32, 7)}, `"cache": state buffer has 7 elements, f32[4,2] needs 8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Evaluate(g, tt.w, tt.in, tt.state)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

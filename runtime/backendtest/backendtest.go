// Package backendtest is kiln's test-backend-ops: one table of cases, each
// an op (or a small composition of ops) on random data, that every backend's
// tests run through their runtime and through graph.Evaluate, the reference
// interpreter, comparing the outputs. A backend's test chooses the passes,
// the tolerance and which cases it has kernels for; the cases, the weights
// and the stepping are shared, so a kernel added to one backend is held to
// the same inputs on all of them.
package backendtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"unsafe"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/lower"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
	krt "github.com/kiln-ml/kiln/runtime"
)

// Weights is an in-memory model: a graph.ParamSource and a runtime.Weights.
type Weights map[string]Tensor

// Tensor is one weight: its type and its bytes in that format.
type Tensor struct {
	Type ops.TensorType
	Data []byte
}

// ParamType implements graph.ParamSource.
func (m Weights) ParamType(name string) (ops.TensorType, bool) {
	t, ok := m[name]
	return t.Type, ok
}

// TensorData implements runtime.Weights.
func (m Weights) TensorData(name string) ([]byte, bool) {
	t, ok := m[name]
	return t.Data, ok
}

// Add quantizes values to type t and stores them as weight name. The bytes
// are backed by float32s, so F32 weights are 4-byte aligned as in an mmap'd
// file. A shape the format cannot hold is a bug in the test: it panics.
func (m Weights) Add(name string, t quant.Type, shape []int, values []float32) {
	typ := ops.TensorType{Shape: shape, DType: t}
	back := make([]float32, (typ.Bytes()+3)/4)
	data := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(back))), typ.Bytes())
	cols := typ.Cols()
	rb, err := t.RowBytes(cols)
	if err != nil {
		panic(fmt.Sprintf("weight %s %s: %v", name, typ, err))
	}
	for r := 0; r < typ.Rows(); r++ {
		if err := quant.Quantize(t, values[r*cols:(r+1)*cols], data[r*rb:(r+1)*rb]); err != nil {
			panic(fmt.Sprintf("weight %s %s: %v", name, typ, err))
		}
	}
	m[name] = Tensor{typ, data}
}

// RandWeight adds a weight of type t with values uniform in [-1, 1) and
// returns its Param node.
func RandWeight(b *graph.Builder, w Weights, r *rand.Rand, name string, t quant.Type, shape ...int) *graph.Node {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = 2*r.Float32() - 1
	}
	w.Add(name, t, shape, v)
	return b.Param(name)
}

// Act returns a random F32 activation [T, cols] as a graph node. Graphs take
// only token ids and a position as inputs, so activations are rows of a
// random table gathered by the tokens.
type Act func(name string, cols int) *graph.Node

// Case is one entry of the table.
type Case struct {
	Name string
	T    int // tokens per step
	Ctx  int // rows of every cache the case writes; 0 means enough for two steps, at least 16
	// Build adds the case's ops and returns the node to compare.
	Build func(b *graph.Builder, w Weights, act Act, tokens, pos *graph.Node) *graph.Node
}

func (c Case) ctx() int {
	if c.Ctx == 0 {
		return max(16, 2*c.T)
	}
	return c.Ctx
}

// Built is a case made into a graph with weights and lowered to a Program.
type Built struct {
	Case    Case
	Graph   *graph.Graph
	Weights Weights
	Program *lower.Program
	ids     []int32
}

// Lower builds the case with weights drawn from r and compiles it with opt.
func (c Case) Lower(r *rand.Rand, opt lower.Options) (*Built, error) {
	w := Weights{}
	b := graph.NewBuilder(c.Name, w)
	tokens := b.Input("tokens", graph.I32(c.T))
	pos := b.Input("pos", graph.I32(1))
	act := func(name string, cols int) *graph.Node {
		return b.GetRows(name+"_rows", RandWeight(b, w, r, name, quant.F32, c.T, cols), tokens)
	}
	b.Output(c.Build(b, w, act, tokens, pos))
	// Runtimes bound positions by the longest state, so every program
	// needs one: a side cache of one column.
	b.Op(ops.OpKVWrite, "ctx_write", ops.Attrs{}, b.State("ctx", ops.F32(c.ctx(), 1)), act("ctx_in", 1), pos)
	g, err := b.Finish()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	p, err := lower.Compile(g, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	ids := make([]int32, c.T)
	for i := range ids {
		ids[i] = int32(i)
	}
	return &Built{Case: c, Graph: g, Weights: w, Program: p, ids: ids}, nil
}

// Positions are where the case is stepped, in order, so caches hold earlier
// rows; long contexts are also stepped far in and at their end.
func (b *Built) Positions() []int {
	c := b.Case
	if c.ctx() > 64 {
		return []int{0, c.T, 300, c.ctx() - c.T}
	}
	return []int{0, c.T}
}

// Compare steps e (with a fresh state) and graph.Evaluate through the
// positions and calls check with each pair of outputs.
func (b *Built) Compare(e krt.Executable, check func(pos int, got, want []float32)) error {
	st := e.NewState()
	ref := map[string][]float32{}
	for _, at := range b.Positions() {
		want, err := graph.Evaluate(b.Graph, b.Weights, graph.EvalInputs{Tokens: b.ids, Pos: at}, ref)
		if err != nil {
			return fmt.Errorf("%s: reference: %w", b.Case.Name, err)
		}
		if err := e.Step(st, krt.Inputs{Tokens: b.ids, Pos: at}); err != nil {
			return fmt.Errorf("%s: pos %d: %w", b.Case.Name, at, err)
		}
		got := e.Output(0)
		if len(got) != len(want[0]) {
			return fmt.Errorf("%s: output has %d values, want %d", b.Case.Name, len(got), len(want[0]))
		}
		check(at, got, want[0])
	}
	return nil
}

// Step runs e once at position 0 with a state of its own; benchmarks call it.
func (b *Built) Step(e krt.Executable, st krt.State) error {
	return e.Step(st, krt.Inputs{Tokens: b.ids, Pos: 0})
}

// NMSE is Σ(got−want)² / Σwant² (the plain sum when want is all zero).
func NMSE(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if den == 0 {
		return num
	}
	return num / den
}

// BitsDiffer counts the values whose bits differ.
func BitsDiffer(got, want []float32) int {
	n := 0
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			n++
		}
	}
	return n
}

package graph

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

// Weights gives Evaluate the raw bytes of each named parameter, in the
// format its Param node declares (the same interface runtimes load from).
type Weights interface {
	TensorData(name string) ([]byte, bool)
}

// EvalInputs are the values of a graph's Input nodes: "tokens" (i32[T]) and
// "pos" (i32[1], the position of the first token).
type EvalInputs struct {
	Tokens []int32
	Pos    int
}

// Evaluate runs g node by node with ops.Eval, the reference implementations,
// and returns the value of each graph output (dequantized to float32 where
// an output is not F32). It is the oracle runtimes are checked against:
// slow, plain, no memory reuse. (It runs whatever ops g holds, so it also
// evaluates graphs after lowering's fusion passes.)
//
// state maps each State node's name to its F32 buffer; kv_write and the
// other in-place ops (ops.InPlace) update it in place, so calling Evaluate
// step after step with the same map carries the KV cache along as a
// runtime's State does. A State missing from the
// map is created zeroed and added to it (when the map is not nil).
func Evaluate(g *Graph, w Weights, in EvalInputs, state map[string][]float32) ([][]float32, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	val := make(map[*Node]*ops.Tensor, len(g.Nodes))
	for _, n := range g.Nodes {
		var t *ops.Tensor
		var err error
		switch n.Kind {
		case Param:
			t, err = paramTensor(n, w)
		case Input:
			t, err = inputTensor(n, in)
		case State:
			t, err = stateTensor(n, state)
		case Compute:
			args := make([]*ops.Tensor, len(n.Inputs))
			for i, x := range n.Inputs {
				args[i] = val[x]
			}
			if ops.InPlace(n.Op) {
				// The result is the cache itself, written in place.
				t = &ops.Tensor{Type: n.Type, F: args[0].F, Raw: args[0].Raw}
			} else {
				t = ops.NewTensor(n.Type)
			}
			err = ops.Eval(n.Op, n.Attrs, args, t)
		}
		if err != nil {
			return nil, fmt.Errorf("graph %s: evaluate %q: %w", g.Name, n.Name, err)
		}
		val[n] = t
	}
	out := make([][]float32, len(g.Outputs))
	for i, o := range g.Outputs {
		f, err := val[o].F32Data()
		if err != nil {
			return nil, fmt.Errorf("graph %s: output %q: %w", g.Name, o.Name, err)
		}
		out[i] = f
	}
	return out, nil
}

func paramTensor(n *Node, w Weights) (*ops.Tensor, error) {
	if w == nil {
		return nil, fmt.Errorf("no weights given")
	}
	data, ok := w.TensorData(n.Name)
	if !ok {
		return nil, fmt.Errorf("weight not found")
	}
	if want := n.Type.Bytes(); int64(len(data)) != want {
		return nil, fmt.Errorf("weight %s has %d bytes, want %d", n.Type, len(data), want)
	}
	t := &ops.Tensor{Type: n.Type, Raw: data}
	if n.Type.DType == quant.F32 {
		t.F = make([]float32, n.Type.Elems())
		for i := range t.F {
			t.F[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
	}
	return t, nil
}

func inputTensor(n *Node, in EvalInputs) (*ops.Tensor, error) {
	t := ops.NewTensor(n.Type)
	if n.Type.DType != quant.I32 {
		return nil, fmt.Errorf("input %s is not i32", n.Type)
	}
	switch n.Name {
	case "tokens":
		if len(in.Tokens) != len(t.I) {
			return nil, fmt.Errorf("%d tokens given, input is %s", len(in.Tokens), n.Type)
		}
		copy(t.I, in.Tokens)
	case "pos":
		if len(t.I) != 1 {
			return nil, fmt.Errorf("pos input is %s, want i32[1]", n.Type)
		}
		if in.Pos < 0 || in.Pos > math.MaxInt32 {
			return nil, fmt.Errorf("position %d out of range", in.Pos)
		}
		t.I[0] = int32(in.Pos)
	default:
		return nil, fmt.Errorf("unknown input (want tokens or pos)")
	}
	return t, nil
}

func stateTensor(n *Node, state map[string][]float32) (*ops.Tensor, error) {
	if n.Type.DType != quant.F32 && n.Type.Bytes() < 0 {
		return nil, fmt.Errorf("state type %s is not supported", n.Type)
	}
	// Packed caches (f16, q8_0, turbo, ...) are held as bytes in a word buffer.
	words := ops.StateWords(n.Type)
	buf, ok := state[n.Name]
	if !ok {
		if state == nil {
			return nil, fmt.Errorf("no state buffers given")
		}
		buf = make([]float32, words)
		state[n.Name] = buf
	}
	if int64(len(buf)) != words {
		return nil, fmt.Errorf("state buffer has %d elements, %s needs %d", len(buf), n.Type, words)
	}
	if n.Type.DType != quant.F32 {
		return &ops.Tensor{Type: n.Type, Raw: ops.WordBytes(buf)[:n.Type.Bytes()]}, nil
	}
	return &ops.Tensor{Type: n.Type, F: buf}, nil
}

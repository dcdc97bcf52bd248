package lower

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

// A tiny DSL for pass tests, after the Go compiler's Fun/Bloc/Valu: a graph
// is a list of named values, each a leaf with a type or an op over earlier
// values by name; compute types are inferred.
//
//	g := Fun(t, "g",
//		Input("x", ops.F32(1, 32)),
//		Valu("n", ops.OpRMSNorm, ops.Attrs{Eps: 1e-5}, "x"),
//		Output("n"))

type valu struct {
	name  string
	kind  graph.Kind
	op    ops.Op
	attrs ops.Attrs
	typ   ops.TensorType
	in    []string
	out   []string // Output only
}

func Param(name string, t ops.TensorType) valu { return valu{name: name, kind: graph.Param, typ: t} }
func Input(name string, t ops.TensorType) valu { return valu{name: name, kind: graph.Input, typ: t} }
func State(name string, t ops.TensorType) valu { return valu{name: name, kind: graph.State, typ: t} }

func Valu(name string, op ops.Op, a ops.Attrs, in ...string) valu {
	return valu{name: name, kind: graph.Compute, op: op, attrs: a, in: in}
}

// Output marks the named values as the graph outputs.
func Output(names ...string) valu { return valu{out: names} }

// Fun builds and validates a graph.
func Fun(t testing.TB, name string, vs ...valu) *graph.Graph {
	t.Helper()
	g := &graph.Graph{Name: name}
	byName := map[string]*graph.Node{}
	for _, v := range vs {
		if v.out != nil {
			for _, o := range v.out {
				n := byName[o]
				if n == nil {
					t.Fatalf("Fun %s: output %q is not defined", name, o)
				}
				g.Outputs = append(g.Outputs, n)
			}
			continue
		}
		n := &graph.Node{ID: len(g.Nodes), Name: v.name, Kind: v.kind, Op: v.op, Attrs: v.attrs, Type: v.typ}
		types := make([]ops.TensorType, len(v.in))
		for i, in := range v.in {
			x := byName[in]
			if x == nil {
				t.Fatalf("Fun %s: %q uses undefined %q", name, v.name, in)
			}
			n.Inputs = append(n.Inputs, x)
			types[i] = x.Type
		}
		if v.kind == graph.Compute {
			typ, err := ops.Infer(v.op, types, v.attrs)
			if err != nil {
				t.Fatalf("Fun %s: %q: %v", name, v.name, err)
			}
			n.Type = typ
		}
		byName[v.name] = n
		g.Nodes = append(g.Nodes, n)
	}
	if err := g.Validate(); err != nil {
		t.Fatalf("Fun: %v", err)
	}
	return g
}

// equiv reports how got differs from want: node by node, the same names,
// kinds, ops, attributes, types and inputs (by name), and the same outputs.
func equiv(got, want *graph.Graph) error {
	var diffs []string
	for i := 0; i < max(len(got.Nodes), len(want.Nodes)); i++ {
		switch {
		case i >= len(got.Nodes):
			diffs = append(diffs, fmt.Sprintf("missing %s", want.Nodes[i].Line(false)))
		case i >= len(want.Nodes):
			diffs = append(diffs, fmt.Sprintf("extra   %s", got.Nodes[i].Line(false)))
		default:
			g, w := got.Nodes[i], want.Nodes[i]
			if g.ID != i {
				diffs = append(diffs, fmt.Sprintf("node %d (%s) has ID %d", i, g.Name, g.ID))
			}
			if g.Name != w.Name || g.Kind != w.Kind || g.Op != w.Op || g.Attrs != w.Attrs || !g.Type.Equal(w.Type) ||
				inputNames(g) != inputNames(w) || strings.Join(g.Fused, "+") != strings.Join(w.Fused, "+") {
				diffs = append(diffs, fmt.Sprintf("node %d:\n\tgot  %s (%s)\n\twant %s (%s)", i, g.Line(false), inputNames(g), w.Line(false), inputNames(w)))
			}
		}
	}
	var go_, wo []string
	for _, o := range got.Outputs {
		go_ = append(go_, o.Name)
	}
	for _, o := range want.Outputs {
		wo = append(wo, o.Name)
	}
	if strings.Join(go_, ",") != strings.Join(wo, ",") {
		diffs = append(diffs, fmt.Sprintf("outputs %v, want %v", go_, wo))
	}
	if diffs != nil {
		return fmt.Errorf("graphs differ:\n%s", strings.Join(diffs, "\n"))
	}
	return nil
}

func inputNames(n *graph.Node) string {
	var s []string
	for _, in := range n.Inputs {
		s = append(s, in.Name)
	}
	return strings.Join(s, ", ")
}

// run applies the named passes, in the order given, to a clone of g.
func run(t testing.TB, g *graph.Graph, names ...string) *Func {
	t.Helper()
	f := &Func{G: g.Clone()}
	for _, name := range names {
		p, ok := findPass(name)
		if !ok {
			t.Fatalf("no pass %q", name)
		}
		f.counts = map[string]int{}
		if err := runPass(p, f); err != nil {
			t.Fatal(err)
		}
		if err := check(name, f); err != nil {
			t.Fatalf("after %s: %v", name, err)
		}
	}
	return f
}

// Shorthands for types.
var (
	f32 = ops.F32
	i32 = ops.I32
)

func q(t quant.Type, shape ...int) ops.TensorType { return ops.TensorType{Shape: shape, DType: t} }

// block is one llama layer over 64 features with 2 query heads per KV head:
// the shape every pass meets in real models.
func block(t testing.TB, wt quant.Type) *graph.Graph {
	rope := ops.Attrs{NHead: 4, HeadDim: 16, RopeDims: 16, RopeBase: 10000}
	ropeK := rope
	ropeK.NHead = 2
	return Fun(t, "block",
		Input("tokens", i32(1)),
		Input("pos", i32(1)),
		Param("token_embd.weight", q(wt, 32, 64)),
		Param("attn_norm.weight", f32(64)),
		Param("attn_q.weight", q(wt, 64, 64)),
		Param("attn_k.weight", q(wt, 32, 64)),
		Param("attn_v.weight", q(wt, 32, 64)),
		Param("attn_output.weight", q(wt, 64, 64)),
		Param("ffn_gate.weight", q(wt, 96, 64)),
		Param("ffn_up.weight", q(wt, 96, 64)),
		Param("ffn_down.weight", q(wt, 64, 96)),
		State("cache_k", f32(8, 32)),
		State("cache_v", f32(8, 32)),
		Valu("inp_embd", ops.OpGetRows, ops.Attrs{}, "token_embd.weight", "tokens"), // L0
		Valu("attn_rms", ops.OpRMSNorm, ops.Attrs{Eps: 1e-5}, "inp_embd"),           // L1
		Valu("attn_norm", ops.OpMul, ops.Attrs{}, "attn_rms", "attn_norm.weight"),   // L2
		Valu("Qcur", ops.OpMatMul, ops.Attrs{}, "attn_norm", "attn_q.weight"),       // L3
		Valu("Kcur", ops.OpMatMul, ops.Attrs{}, "attn_norm", "attn_k.weight"),       // L3
		Valu("Vcur", ops.OpMatMul, ops.Attrs{}, "attn_norm", "attn_v.weight"),       // L3
		Valu("Qcur_rope", ops.OpRope, rope, "Qcur", "pos"),                          // L4
		Valu("Kcur_rope", ops.OpRope, ropeK, "Kcur", "pos"),                         // L4
		Valu("k_write", ops.OpKVWrite, ops.Attrs{}, "cache_k", "Kcur_rope", "pos"),  // L5
		Valu("v_write", ops.OpKVWrite, ops.Attrs{}, "cache_v", "Vcur", "pos"),       // L4
		Valu("kqv_out", ops.OpAttention, ops.Attrs{NHead: 4, NKVHead: 2, HeadDim: 16}, "Qcur_rope", "k_write", "v_write", "pos"), // L6
		Valu("attn_out", ops.OpMatMul, ops.Attrs{}, "kqv_out", "attn_output.weight"),                                             // L7
		Valu("ffn_inp", ops.OpAdd, ops.Attrs{}, "attn_out", "inp_embd"),                                                          // L8
		Valu("ffn_gate", ops.OpMatMul, ops.Attrs{}, "ffn_inp", "ffn_gate.weight"),                                                // L9
		Valu("ffn_up", ops.OpMatMul, ops.Attrs{}, "ffn_inp", "ffn_up.weight"),                                                    // L9
		Valu("ffn_swiglu", ops.OpSwiGLU, ops.Attrs{}, "ffn_gate", "ffn_up"),                                                      // L10
		Valu("ffn_out", ops.OpMatMul, ops.Attrs{}, "ffn_swiglu", "ffn_down.weight"),                                              // L11
		Valu("l_out", ops.OpAdd, ops.Attrs{}, "ffn_out", "ffn_inp"),                                                              // L12
		Output("l_out"))
}

// TestEquiv checks the checker: equal graphs pass, any difference is named.
func TestEquiv(t *testing.T) {
	a := block(t, quant.Q8_0)
	if err := equiv(a, a.Clone()); err != nil {
		t.Fatal(err)
	}
	b := a.Clone()
	b.Lookup("attn_rms").Attrs.Eps = 1e-6
	if err := equiv(b, a); err == nil || !strings.Contains(err.Error(), "attn_rms") {
		t.Errorf("changed eps: %v", err)
	}
	c := a.Clone()
	c.Lookup("ffn_up").Inputs[0] = c.Lookup("attn_norm")
	if err := equiv(c, a); err == nil || !strings.Contains(err.Error(), "ffn_up") {
		t.Errorf("changed input: %v", err)
	}
	d := a.Clone()
	d.Nodes = d.Nodes[:len(d.Nodes)-1]
	if err := equiv(d, a); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("dropped node: %v", err)
	}
}

package graph

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

// params is an in-memory ParamSource: weight name -> type.
type params map[string]ops.TensorType

func (p params) ParamType(name string) (ops.TensorType, bool) {
	t, ok := p[name]
	return t, ok
}

// tinyParams are the weights of tiny: two blocks of norm + matmul + residual.
var tinyParams = params{
	"token_embd.weight":       ops.F32(10, 8),
	"blk.0.attn_norm.weight":  ops.F32(8),
	"blk.0.attn_q.weight":     {Shape: []int{8, 8}, DType: quant.F16},
	"blk.1.attn_norm.weight":  ops.F32(8),
	"blk.1.attn_q.weight":     {Shape: []int{8, 8}, DType: quant.F16},
	"output.weight":           ops.F32(10, 8),
	"blk.0.attn_k.weight":     ops.F32(4, 8),
	"blk.0.attn_wrong.weight": ops.F32(4, 7),
}

// tiny builds a small two-layer graph: embedding, then per block
// rms_norm, mul by the norm weight, a matmul and a residual add, then logits.
func tiny(t *testing.T) *Graph {
	t.Helper()
	b := NewBuilder("tiny", tinyParams)
	tok := b.Input("tokens", I32(2))
	x := b.GetRows("inp_embd", b.Param("token_embd.weight"), tok)
	for il := 0; il < 2; il++ {
		b.Layer(il)
		w := b.Param("blk." + string(rune('0'+il)) + ".attn_norm.weight")
		q := b.Param("blk." + string(rune('0'+il)) + ".attn_q.weight")
		cur := b.RMSNorm("attn_rms", x, 1e-5)
		cur = b.Mul("attn_norm", cur, w)
		cur = b.MatMul("Qcur", cur, q)
		x = b.Add("l_out", cur, x)
	}
	b.Layer(-1)
	b.Output(b.MatMul("result_output", x, b.Param("output.weight")))
	g, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestBuilderErrors checks that each kind of build error is reported by
// Finish, names the offending node and shows the shapes involved.
func TestBuilderErrors(t *testing.T) {
	rope := ops.Attrs{NHead: 3, HeadDim: 4, RopeDims: 4, RopeBase: 10000}
	tests := []struct {
		name  string
		build func(b *Builder)
		want  []string // substrings of the error
	}{
		{"matmul inner dims", func(b *Builder) {
			x := b.Input("x", ops.F32(2, 8))
			b.Layer(0)
			b.MatMul("Qcur", x, b.Param("blk.0.attn_wrong.weight"))
		}, []string{`"blk.0.Qcur"`, "inner dimensions", "f32[2,8]", "f32[4,7]", "blk.0.attn_wrong.weight"}},
		{"rope head count", func(b *Builder) {
			x := b.Input("x", ops.F32(2, 8))
			pos := b.Input("pos", I32(1))
			b.Op(ops.OpRope, "Qcur_rope", rope, x, pos)
		}, []string{`"Qcur_rope"`, "f32[2,8]", "3 heads of 4"}},
		{"duplicate name", func(b *Builder) {
			x := b.Input("x", ops.F32(2, 8))
			b.RMSNorm("norm", x, 1e-5)
			b.RMSNorm("norm", x, 1e-5)
		}, []string{`duplicate node name "norm"`}},
		{"missing param", func(b *Builder) {
			b.Param("blk.7.ffn_up.weight")
		}, []string{`missing tensor "blk.7.ffn_up.weight"`}},
		{"wrong param shape", func(b *Builder) {
			b.ParamShaped("blk.0.attn_k.weight", 8, 8)
		}, []string{`"blk.0.attn_k.weight"`, "[4 8]", "[8 8]"}},
		{"nil input", func(b *Builder) {
			x := b.Input("x", ops.F32(2, 8))
			b.Mul("scaled", x, b.OptionalParam("absent.weight"))
		}, []string{`"scaled"`, "nil input"}},
		{"first error wins", func(b *Builder) {
			b.Param("first.weight")
			b.Param("second.weight")
		}, []string{`"first.weight"`}},
		{"no outputs", func(b *Builder) {
			b.Input("x", ops.F32(2, 8))
		}, []string{"no outputs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder("g", tinyParams)
			tt.build(b)
			_, err := b.Finish()
			if err == nil {
				t.Fatal("Finish succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestValidate checks hand-made graphs that the Builder would refuse.
func TestValidate(t *testing.T) {
	x := &Node{Name: "x", Kind: Input, Type: ops.F32(2, 8)}
	w := &Node{Name: "w", Kind: Param, Type: ops.F32(4, 7)}
	norm := &Node{Name: "norm", Op: ops.OpRMSNorm, Inputs: []*Node{x}, Type: ops.F32(2, 8)}
	tests := []struct {
		name string
		g    *Graph
		want []string
	}{
		{"use before define", &Graph{Name: "g", Nodes: []*Node{norm, x}, Outputs: []*Node{norm}},
			[]string{`"norm" uses "x" before it is defined`}},
		{"duplicate names", &Graph{Name: "g", Nodes: []*Node{x, norm, {Name: "x", Kind: Input, Type: ops.F32(1)}}, Outputs: []*Node{norm}},
			[]string{`both named "x"`}},
		{"matmul shapes", &Graph{Name: "g", Nodes: []*Node{x, w, {Name: "mm", Op: ops.OpMatMul, Inputs: []*Node{x, w}, Type: ops.F32(2, 4)}}},
			[]string{`node "mm"`, "inner dimensions", "x f32[2,8]", "w f32[4,7]"}},
		{"stale type", &Graph{Name: "g", Nodes: []*Node{x, {Name: "n2", Op: ops.OpRMSNorm, Inputs: []*Node{x}, Type: ops.F32(2, 9)}}},
			[]string{`"n2" (rms_norm) has type f32[2,9], its inputs give f32[2,8]`}},
		{"leaf with op", &Graph{Name: "g", Nodes: []*Node{{Name: "p", Kind: Param, Op: ops.OpAdd, Type: ops.F32(1)}}},
			[]string{`param node "p" must not have an op`}},
		{"nil input", &Graph{Name: "g", Nodes: []*Node{{Name: "s", Op: ops.OpSiLU, Inputs: []*Node{nil}, Type: ops.F32(1)}}},
			[]string{`node "s": input 0 is nil`}},
		{"output not in graph", &Graph{Name: "g", Nodes: []*Node{x}, Outputs: []*Node{norm}},
			[]string{`output "norm" is not in the graph`}},
		{"nil output", &Graph{Name: "g", Nodes: []*Node{x}, Outputs: []*Node{nil}},
			[]string{"output 0 is nil"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.g.Validate()
			if err == nil {
				t.Fatal("Validate succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestDumpText(t *testing.T) {
	g := tiny(t)
	var buf bytes.Buffer
	if err := g.DumpText(&buf, DumpOptions{Layer: -1}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if want := len(g.Nodes) + 1; len(lines) != want {
		t.Fatalf("%d lines, want %d (header + one per node):\n%s", len(lines), want, out)
	}
	for _, want := range []string{
		"graph tiny: 17 nodes, 1 outputs",
		"%0    tokens = input i32[2]",
		"%2    inp_embd = get_rows(%1, %0) f32[2,8]",
		"blk.0.attn_rms = rms_norm(%2) {eps=1e-05} f32[2,8]",
		"blk.1.Qcur = matmul(%12, %10) f32[2,8]",
		"result_output = matmul(%14, %15) f32[2,10] output",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dump lacks %q:\n%s", want, out)
		}
	}
}

// TestDumpLayer checks the --layer filter: the nodes of blk.N plus the
// nodes they read, nothing of other blocks' computation.
func TestDumpLayer(t *testing.T) {
	g := tiny(t)
	var buf bytes.Buffer
	if err := g.DumpText(&buf, DumpOptions{Layer: 1}); err != nil {
		t.Fatal(err)
	}
	shown := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n")[1:] {
		f := strings.Fields(l)
		shown[f[1]] = true
	}
	want := map[string]bool{
		// blk.1's own nodes
		"blk.1.attn_norm.weight": true, "blk.1.attn_q.weight": true, "blk.1.attn_rms": true,
		"blk.1.attn_norm": true, "blk.1.Qcur": true, "blk.1.l_out": true,
		// and what they read from outside the block
		"blk.0.l_out": true,
	}
	for name := range want {
		if !shown[name] {
			t.Errorf("layer 1 dump lacks %s", name)
		}
	}
	for name := range shown {
		if !want[name] {
			t.Errorf("layer 1 dump shows %s", name)
		}
	}

	buf.Reset()
	if err := g.DumpDOT(&buf, DumpOptions{Layer: 1}); err != nil {
		t.Fatal(err)
	}
	// The same nodes as the text dump; the input from blk.0 keeps its cluster.
	if s := buf.String(); strings.Count(s, "[shape=") != len(want) || !strings.Contains(s, "cluster_blk1") || strings.Contains(s, "n7 ") {
		t.Errorf("layer 1 DOT should show the %d nodes of the text dump:\n%s", len(want), s)
	}
}

func TestDumpDOT(t *testing.T) {
	g := tiny(t)
	var buf bytes.Buffer
	if err := g.DumpDOT(&buf, DumpOptions{Layer: -1}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, `digraph "tiny" {`) || !strings.HasSuffix(out, "}\n") {
		t.Errorf("not a digraph:\n%s", out)
	}
	// One edge per input, and every node declared once.
	edges := 0
	for _, n := range g.Nodes {
		edges += len(n.Inputs)
		for _, in := range n.Inputs {
			e := "  n" + strconv.Itoa(in.ID) + " -> n" + strconv.Itoa(n.ID) + ";\n"
			if !strings.Contains(out, e) {
				t.Errorf("DOT lacks edge %s (%s -> %s)", e, in.Name, n.Name)
			}
		}
		if c := strings.Count(out, "  n"+strconv.Itoa(n.ID)+" [shape="); c != 1 {
			t.Errorf("node %s declared %d times", n.Name, c)
		}
	}
	if got := strings.Count(out, " -> "); got != edges {
		t.Errorf("%d edges, want %d", got, edges)
	}
	for _, want := range []string{"subgraph cluster_blk0", "subgraph cluster_blk1", `label="blk.0.Qcur\nmatmul\nf32[2,8]"`, "peripheries=2"} {
		if !strings.Contains(out, want) {
			t.Errorf("DOT lacks %q", want)
		}
	}
}

func TestDumpJSON(t *testing.T) {
	g := tiny(t)
	var buf bytes.Buffer
	if err := g.DumpJSON(&buf, DumpOptions{Layer: -1}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Name  string     `json:"name"`
		Nodes []JSONNode `json:"nodes"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v:\n%s", err, buf.String())
	}
	if got.Name != "tiny" || len(got.Nodes) != len(g.Nodes) {
		t.Fatalf("name %q with %d nodes, want tiny with %d", got.Name, len(got.Nodes), len(g.Nodes))
	}
	for i, j := range got.Nodes {
		n := g.Nodes[i]
		if j.ID != n.ID || j.Name != n.Name || j.Kind != n.Kind.String() || j.Layer != n.Layer() || j.Output != g.IsOutput(n) {
			t.Errorf("node %d: %+v does not match %s", i, j, n.Line(g.IsOutput(n)))
		}
		if n.Kind == Compute && j.Op != n.Op.String() {
			t.Errorf("node %s: op %q, want %q", n.Name, j.Op, n.Op)
		}
		if len(j.Inputs) != len(n.Inputs) {
			t.Errorf("node %s: %d inputs, want %d", n.Name, len(j.Inputs), len(n.Inputs))
		}
		for k, in := range n.Inputs {
			if k < len(j.Inputs) && j.Inputs[k] != in.ID {
				t.Errorf("node %s: input %d is %d, want %d", n.Name, k, j.Inputs[k], in.ID)
			}
		}
	}
	mm := got.Nodes[g.Lookup("result_output").ID]
	if mm.FLOPs != 2*2*10*8 || mm.DType != "f32" || len(mm.Shape) != 2 || mm.Shape[1] != 10 {
		t.Errorf("result_output: %+v", mm)
	}
}

// TestClone checks that a clone shares nothing a pass might edit.
func TestClone(t *testing.T) {
	g := tiny(t)
	var before bytes.Buffer
	g.DumpText(&before, DumpOptions{Layer: -1})

	c := g.Clone()
	if len(c.Nodes) != len(g.Nodes) || len(c.Outputs) != 1 {
		t.Fatalf("clone has %d nodes %d outputs", len(c.Nodes), len(c.Outputs))
	}
	for i, n := range c.Nodes {
		if n == g.Nodes[i] {
			t.Fatalf("node %s is shared", n.Name)
		}
		for _, in := range n.Inputs {
			if c.Nodes[in.ID] != in {
				t.Fatalf("node %s of the clone reads %s outside the clone", n.Name, in.Name)
			}
		}
	}
	if c.Outputs[0] != c.Nodes[len(c.Nodes)-1] {
		t.Fatal("clone output is not the clone's node")
	}
	// Edit the clone the ways passes do.
	q := c.Lookup("blk.0.Qcur")
	q.Name = "renamed"
	q.Inputs[0] = c.Nodes[0]
	q.Type.Shape[1] = 99
	q.Fused = append(q.Fused, "mul")
	q.Attrs.Eps = 3
	c.Nodes = c.Nodes[:3]
	c.Outputs[0] = c.Nodes[2]
	c.Renumber()

	var after bytes.Buffer
	g.DumpText(&after, DumpOptions{Layer: -1})
	if before.String() != after.String() {
		t.Errorf("editing the clone changed the original:\n%s\nwant\n%s", after.String(), before.String())
	}
	if err := g.Validate(); err != nil {
		t.Error(err)
	}
}

func TestLayer(t *testing.T) {
	for name, want := range map[string]int{"blk.3.attn_norm": 3, "blk.12.x": 12, "blk.x": -1, "token_embd.weight": -1, "xblk.1.y": -1} {
		if got := (&Node{Name: name}).Layer(); got != want {
			t.Errorf("Layer(%q) = %d, want %d", name, got, want)
		}
	}
}

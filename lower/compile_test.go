package lower

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

// withPasses swaps the pass table for one test (the hook for injecting passes).
func withPasses(t *testing.T, ps []Pass) {
	saved := passes
	passes = ps
	t.Cleanup(func() { passes = saved })
}

// insertPass returns the pass table with p before the pass named before.
func insertPass(p Pass, before string) []Pass {
	ps := Passes()
	i := slices.IndexFunc(ps, func(q Pass) bool { return q.Name == before })
	return slices.Insert(ps, i, p)
}

func TestCompile(t *testing.T) {
	g := block(t, quant.Q4_0)
	var before strings.Builder
	g.DumpText(&before, graph.DumpOptions{Layer: -1})
	var after []string
	p, err := Compile(g, Options{Check: true, After: func(pass string, g *graph.Graph) { after = append(after, pass) }})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ps := range passes {
		names = append(names, ps.Name)
	}
	if !slices.Equal(after, names) {
		t.Errorf("After saw %v, want %v", after, names)
	}
	var now strings.Builder
	g.DumpText(&now, graph.DumpOptions{Layer: -1})
	if now.String() != before.String() {
		t.Errorf("Compile changed its input graph:\n%s", now.String())
	}
	if p.Graph.Lookup("attn_norm.q8_0") == nil {
		t.Error("the program's graph is not the lowered one")
	}
	if len(p.Stats) != len(passes) {
		t.Errorf("stats %v", p.Stats)
	}
	for _, s := range p.Stats {
		if s.Pass == "quantize-activations" && s.String() != "quantize-activations: matmul=7 quantize=4" {
			t.Errorf("stats: %s", s)
		}
	}
	var sb strings.Builder
	if err := p.Dump(&sb); err != nil {
		t.Fatal(err)
	}
	head := fmt.Sprintf("program block: %d steps in %d levels", len(p.Steps), p.Levels)
	for _, want := range []string{head, "kernels: get_rows_q4_0×1 ", "quantize_q8_0×4", "out=state:cache_k"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("dump lacks %q:\n%s", want, sb.String())
		}
	}
}

// TestCompileEveryPassSet compiles with every subset of the optional
// passes switched off; every program must pass the checker.
func TestCompileEveryPassSet(t *testing.T) {
	var optional []string
	for _, p := range Passes() {
		if !p.Required {
			optional = append(optional, p.Name)
		}
	}
	for mask := range 1 << len(optional) {
		var off []string
		for i, name := range optional {
			if mask&(1<<i) != 0 {
				off = append(off, name)
			}
		}
		p, err := Compile(block(t, quant.Q8_0), Options{Disable: off, Check: true})
		if err != nil {
			t.Fatalf("disable %v: %v", off, err)
		}
		for i, s := range p.Stats {
			if s.Enabled == slices.Contains(off, s.Pass) || s.Pass != passes[i].Name {
				t.Errorf("disable %v: stats %v", off, s)
			}
		}
		// Liveness lets buffers share: the arena is well under the sum.
		// (checkMemPlan holds it to the aligned sum in general: a lone
		// buffer of 4 bytes still takes a 64-byte slot.)
		if p.ArenaSize > p.IntermediateBytes/2 {
			t.Errorf("disable %v: arena %d for %d bytes of intermediates", off, p.ArenaSize, p.IntermediateBytes)
		}
	}
}

func TestCompileStop(t *testing.T) {
	var last *graph.Graph
	p, err := Compile(block(t, quant.Q8_0), Options{Stop: "quantize-activations", After: func(_ string, g *graph.Graph) { last = g }})
	if p != nil || err != nil || last == nil || last.Lookup("attn_norm.q8_0") == nil {
		t.Errorf("Stop: program %v, error %v, graph %v", p, err, last)
	}
}

func TestCompileErrors(t *testing.T) {
	g := block(t, quant.Q8_0)
	tests := []struct {
		name string
		opt  Options
		want string
	}{
		{"required", Options{Disable: []string{"schedule"}}, `pass "schedule" is required`},
		{"unknown", Options{Disable: []string{"fuse-everything"}}, `unknown pass "fuse-everything" (passes: deadcode, `},
		{"unknown stop", Options{Stop: "nope"}, `unknown pass "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(g, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestPassPanic checks that a panic inside a pass comes back as an error
// naming the pass and the graph.
func TestPassPanic(t *testing.T) {
	withPasses(t, insertPass(Pass{Name: "boom", Run: func(f *Func) error {
		var n *graph.Node
		_ = n.Name // nil dereference
		return nil
	}}, "schedule"))
	_, err := Compile(block(t, quant.Q8_0), Options{})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"lower: pass boom on graph block panicked", "nil pointer dereference", "compile_test.go"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

func TestPassError(t *testing.T) {
	sentinel := errors.New("node \"Qcur\": cannot fuse")
	withPasses(t, insertPass(Pass{Name: "fail", Run: func(f *Func) error { return sentinel }}, "schedule"))
	_, err := Compile(block(t, quant.Q8_0), Options{})
	if !errors.Is(err, sentinel) || !strings.Contains(err.Error(), `lower: pass fail on graph block: node "Qcur"`) {
		t.Errorf("error %v", err)
	}
}

// TestCheckAfterPass checks that Options.Check catches a pass that leaves
// the graph inconsistent, and names the pass and the node.
func TestCheckAfterPass(t *testing.T) {
	withPasses(t, insertPass(Pass{Name: "break-types", Run: func(f *Func) error {
		f.G.Lookup("Qcur").Type = ops.F32(1, 65)
		return nil
	}}, "schedule"))
	g := block(t, quant.Q8_0)
	if _, err := Compile(g, Options{}); err != nil {
		t.Fatalf("without Check: %v", err)
	}
	_, err := Compile(g, Options{Check: true})
	if err == nil || !strings.Contains(err.Error(), `lower: after pass break-types: graph block: node "Qcur" (segment) has type f32[1,65]`) {
		t.Errorf("error %v", err)
	}
}

func TestCheckPassOrder(t *testing.T) {
	if err := checkPassOrder(passes, passOrder); err != nil {
		t.Fatalf("the real table: %v", err)
	}
	ps := []Pass{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	for _, tt := range []struct {
		order [][2]string
		want  string
	}{
		{[][2]string{{"a", "c"}, {"c", "b"}}, `pass "c" must run before "b"`},
		{[][2]string{{"a", "a"}}, `pass "a" must run before "a"`},
		{[][2]string{{"a", "z"}}, `unknown pass "a" or "z"`},
	} {
		err := checkPassOrder(ps, tt.order)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("order %v: error %v, want %q", tt.order, err, tt.want)
		}
	}
	if err := checkPassOrder(ps, [][2]string{{"a", "b"}, {"b", "c"}, {"a", "c"}}); err != nil {
		t.Error(err)
	}
}

// TestPassesCopy checks that Passes cannot be used to edit the table.
func TestPassesCopy(t *testing.T) {
	ps := Passes()
	ps[0].Name = "changed"
	if passes[0].Name == "changed" {
		t.Error("Passes returned the table itself")
	}
	for _, p := range passes {
		if p.Help == "" || p.Run == nil {
			t.Errorf("pass %s lacks Help or Run", p.Name)
		}
	}
}

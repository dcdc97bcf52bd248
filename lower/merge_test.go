package lower

import (
	"testing"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

func TestMergeMatMuls(t *testing.T) {
	p, err := Compile(block(t, quant.Q8_0), Options{Check: true})
	if err != nil {
		t.Fatal(err)
	}
	st := statsOf(t, p, "merge-matmuls")
	if st.Counts["groups"] != 2 || st.Counts["matmuls"] != 5 {
		t.Errorf("stats %v, want 2 groups of 5 matmuls", st)
	}
	g := p.Graph
	for _, c := range []struct {
		name         string
		start, count int
		group        string
	}{
		{"Qcur", 0, 64, "Qcur+Kcur+Vcur"},
		{"Kcur", 64, 32, "Qcur+Kcur+Vcur"},
		{"Vcur", 96, 32, "Qcur+Kcur+Vcur"},
		{"ffn_gate", 0, 96, "ffn_gate+ffn_up"},
		{"ffn_up", 96, 96, "ffn_gate+ffn_up"},
	} {
		n := g.Lookup(c.name)
		if n.Op != ops.OpSegment || n.Attrs.Start != c.start || n.Attrs.Count != c.count || n.Inputs[0].Name != c.group {
			t.Errorf("%s: %s start=%d count=%d of %q, want segment %d+%d of %q", c.name, n.Op, n.Attrs.Start, n.Attrs.Count, n.Inputs[0].Name, c.start, c.count, c.group)
		}
	}
	// Views get no step and live inside their group's buffer.
	steps := 0
	for _, s := range p.Steps {
		if s.Op == ops.OpSegment {
			t.Errorf("segment %q has a step", s.Name)
		}
		if s.Op == ops.OpMatMulGroup {
			steps++
		}
	}
	if steps != 2 {
		t.Errorf("%d matmul_group steps, want 2", steps)
	}
}

// TestMergeMatMulsTypes checks that only weights of one format share a
// group, and that graph outputs stay plain matmuls.
func TestMergeMatMulsTypes(t *testing.T) {
	g := block(t, quant.Q8_0)
	g.Lookup("attn_k.weight").Type.DType = quant.Q4_0
	p, err := Compile(g, Options{Check: true})
	if err != nil {
		t.Fatal(err)
	}
	if k := p.Graph.Lookup("Kcur"); k.Op != ops.OpMatMul {
		t.Errorf("Kcur (q4_0 among q8_0) became %s", k.Op)
	}
	if v := p.Graph.Lookup("Vcur"); v.Op != ops.OpSegment || v.Inputs[0].Name != "Qcur+Vcur" || v.Attrs.Start != 64 {
		t.Errorf("Vcur: %s of %q at %d, want a segment of Qcur+Vcur at 64", v.Op, v.Inputs[0].Name, v.Attrs.Start)
	}
	off, err := Compile(block(t, quant.Q8_0), Options{Check: true, Disable: []string{"merge-matmuls"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range off.Graph.Nodes {
		if n.Op == ops.OpMatMulGroup || n.Op == ops.OpSegment {
			t.Errorf("with merge-matmuls off, %q is a %s", n.Name, n.Op)
		}
	}
}

// TestViewMemPlan checks that a view keeps its parent's bytes from being
// reused while the view is read, and that the checker notices otherwise.
func TestViewMemPlan(t *testing.T) {
	p, err := Compile(block(t, quant.Q8_0), Options{Check: true})
	if err != nil {
		t.Fatal(err)
	}
	var vcur *Buffer
	for i := range p.Buffers {
		if p.Buffers[i].Name == "Vcur" {
			vcur = &p.Buffers[i]
		}
	}
	if vcur == nil || !vcur.View {
		t.Fatalf("Vcur buffer %+v is not a view", vcur)
	}
	par := p.Buffer(vcur.Parent)
	if vcur.Offset != par.Offset+vcur.ViewOffset || par.Last < vcur.Last {
		t.Errorf("view %+v, parent %+v", vcur, par)
	}
	par.Last = vcur.Last - 1
	if err := checkMemPlan(p); err == nil {
		t.Error("checkMemPlan passed a parent that dies before its view is read")
	}
}

func statsOf(t *testing.T, p *Program, pass string) PassStats {
	t.Helper()
	for _, s := range p.Stats {
		if s.Pass == pass {
			return s
		}
	}
	t.Fatalf("no stats for %s", pass)
	return PassStats{}
}

func TestGroupName(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"blk.0.attn_q", "blk.0.attn_k", "blk.0.attn_v"}, "blk.0.attn_q+attn_k+attn_v"},
		{[]string{"a", "b"}, "a+b"},
		{[]string{"blk.1.x", "other"}, "blk.1.x+other"},
	} {
		if got := groupName(c.in); got != c.want {
			t.Errorf("groupName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

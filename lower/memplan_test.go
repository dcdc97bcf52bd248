package lower

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

// TestMemplanChain checks the packing of a chain: each buffer lives from
// its level to the next, so two slots suffice, used alternately.
func TestMemplanChain(t *testing.T) {
	vs := []valu{Input("x", f32(1, 100))}
	prev := "x"
	for i := range 6 {
		name := fmt.Sprintf("s%d", i)
		vs = append(vs, Valu(name, ops.OpSiLU, ops.Attrs{}, prev))
		prev = name
	}
	vs = append(vs, Output(prev))
	p := run(t, Fun(t, "chain", vs...), "schedule", "memplan").Prog
	if p.IntermediateBytes != 6*400 || p.ArenaSize != 2*448 {
		t.Errorf("arena %d for intermediates %d, want %d for %d", p.ArenaSize, p.IntermediateBytes, 2*448, 6*400)
	}
	for i, s := range p.Steps {
		b := p.Buffer(s.Out)
		wantOff := int64(i%2) * 448
		if b.Offset != wantOff || b.First != i || b.Last != i+1 {
			t.Errorf("%s: offset %d levels [%d,%d], want %d [%d,%d]", b.Name, b.Offset, b.First, b.Last, wantOff, i, i+1)
		}
	}
	// The output lives to the end of the program.
	if b := p.Buffer(p.Outputs[0]); b.Last != p.Levels {
		t.Errorf("output live to %d, want %d", b.Last, p.Levels)
	}
}

// TestMemplanLevelSharing checks that steps of one level never share bytes,
// even when neither's buffer is read afterwards.
func TestMemplanLevelSharing(t *testing.T) {
	p := run(t, Fun(t, "wide",
		Input("x", f32(1, 64)),
		Valu("a", ops.OpSiLU, ops.Attrs{}, "x"),
		Valu("b", ops.OpRMSNorm, ops.Attrs{Eps: 1e-5}, "x"), // dead, and the same level as a
		Valu("c", ops.OpSiLU, ops.Attrs{}, "a"),
		Output("c")), "schedule", "memplan").Prog
	a, b := p.Buffer(p.Steps[0].Out), p.Buffer(p.Steps[1].Out)
	if a.Offset == b.Offset {
		t.Errorf("a and b of level 0 share offset %d", a.Offset)
	}
}

// TestMemplanRandom packs random graphs and checks every plan.
func TestMemplanRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := range 200 {
		g := randomGraph(t, r, fmt.Sprintf("rand%d", iter))
		p, err := Compile(g, Options{Check: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := checkMemPlan(p); err != nil {
			t.Fatalf("%s: %v", g.Name, err)
		}
		var aligned int64
		for _, b := range p.Buffers {
			if b.Space == Arena {
				aligned += alignUp(b.Size)
			}
		}
		if p.ArenaSize > aligned || p.ArenaSize%arenaAlign != 0 {
			t.Fatalf("%s: arena %d, aligned intermediates %d", g.Name, p.ArenaSize, aligned)
		}
	}
}

// randomGraph makes a DAG of elementwise ops and matmuls of random widths
// (multiples of 32, so every weight format fits) over random earlier values.
func randomGraph(t testing.TB, r *rand.Rand, name string) *graph.Graph {
	T := 1 + r.IntN(4)
	vs := []valu{Input("tokens", i32(T)), Param("embd", q(quant.Q8_0, 16, 64))}
	vs = append(vs, Valu("x", ops.OpGetRows, ops.Attrs{}, "embd", "tokens"))
	type val struct {
		name string
		cols int
	}
	vals := []val{{"x", 64}}
	n := 3 + r.IntN(25)
	for i := range n {
		a := vals[r.IntN(len(vals))]
		v := fmt.Sprintf("v%d", i)
		switch r.IntN(5) {
		case 0:
			vs = append(vs, Valu(v, ops.OpSiLU, ops.Attrs{}, a.name))
		case 1:
			vs = append(vs, Valu(v, ops.OpRMSNorm, ops.Attrs{Eps: 1e-5}, a.name))
		case 2:
			var same []val
			for _, b := range vals {
				if b.cols == a.cols {
					same = append(same, b)
				}
			}
			b := same[r.IntN(len(same))]
			vs = append(vs, Valu(v, ops.OpAdd, ops.Attrs{}, a.name, b.name))
		default:
			cols := 32 * (1 + r.IntN(4))
			wt := []quant.Type{quant.F32, quant.F16, quant.Q8_0, quant.Q4_0}[r.IntN(4)]
			vs = append(vs, Param(v+".weight", q(wt, cols, a.cols)), Valu(v, ops.OpMatMul, ops.Attrs{}, a.name, v+".weight"))
			vals = append(vals, val{v, cols})
			continue
		}
		vals = append(vals, val{v, a.cols})
	}
	var outs []string
	for _, v := range vals[1:] {
		if r.IntN(4) == 0 {
			outs = append(outs, v.name)
		}
	}
	outs = append(outs, vals[len(vals)-1].name)
	vs = append(vs, Output(outs...))
	return Fun(t, name, vs...)
}

// TestCheckMemPlan checks the checker on broken plans.
func TestCheckMemPlan(t *testing.T) {
	build := func() *Program {
		return run(t, block(t, quant.Q8_0), "quantize-activations", "schedule", "memplan").Prog
	}
	buf := func(p *Program, name string) *Buffer { return p.Buffer(p.Steps[stepIndex(p, name)].Out) }
	tests := []struct {
		name   string
		break_ func(p *Program)
		want   string
	}{
		{"overlap", func(p *Program) { buf(p, "Kcur").Offset = buf(p, "Qcur").Offset }, "overlap"},
		{"misaligned", func(p *Program) { buf(p, "Kcur").Offset += 4 }, "not 64-byte aligned"},
		{"outside", func(p *Program) { p.ArenaSize = 64 }, "outside the arena"},
		{"short live range", func(p *Program) { buf(p, "attn_norm").Last-- }, `"attn_norm" is live over levels`},
		{"output dies early", func(p *Program) { p.Buffer(p.Outputs[0]).Last-- }, `"l_out" is live over levels`},
	}
	if err := checkMemPlan(build()); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := build()
			tt.break_(p)
			err := checkMemPlan(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

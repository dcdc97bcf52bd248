package lower

import (
	"slices"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/ops"
	"github.com/kiln-ml/kiln/ops/quant"
)

func TestScheduleLevels(t *testing.T) {
	f := run(t, block(t, quant.Q8_0), "schedule")
	p := f.Prog
	want := map[string]int{
		"inp_embd": 0, "attn_rms": 1, "attn_norm": 2,
		"Qcur": 3, "Kcur": 3, "Vcur": 3, // independent matmuls share a level
		"Qcur_rope": 4, "Kcur_rope": 4, "v_write": 4,
		"k_write": 5, "kqv_out": 6, "attn_out": 7, "ffn_inp": 8,
		"ffn_gate": 9, "ffn_up": 9, "ffn_swiglu": 10, "ffn_out": 11, "l_out": 12,
	}
	if len(p.Steps) != len(want) || p.Levels != 13 {
		t.Fatalf("%d steps in %d levels, want %d in 13", len(p.Steps), p.Levels, len(want))
	}
	for _, s := range p.Steps {
		if s.Level != want[s.Name] {
			t.Errorf("%s at level %d, want %d", s.Name, s.Level, want[s.Name])
		}
	}
	if f.counts["steps"] != 18 || f.counts["levels"] != 13 {
		t.Errorf("counts %v", f.counts)
	}
	// Buffers: the cache writes alias the state; weights and inputs are bound by name.
	kw := p.Steps[stepIndex(p, "k_write")]
	if b := p.Buffer(kw.Out); b.Space != StateSpace || b.Name != "cache_k" || kw.In[0] != kw.Out {
		t.Errorf("k_write writes %s:%s, reads %v", b.Space, b.Name, kw.In)
	}
	if p.Inputs["tokens"] != 0 || p.Inputs["pos"] != 1 || len(p.States) != 2 || len(p.Outputs) != 1 {
		t.Errorf("inputs %v states %v outputs %v", p.Inputs, p.States, p.Outputs)
	}
	for _, s := range p.Steps {
		if s.Name == "Qcur" && s.Kernel != "matmul_q8_0" || s.Name == "inp_embd" && s.Kernel != "get_rows_q8_0" {
			t.Errorf("%s uses kernel %s", s.Name, s.Kernel)
		}
	}
	if ls := p.LevelSteps(3); len(ls) != 3 || ls[0].Name != "Qcur" || ls[2].Name != "Vcur" {
		t.Errorf("LevelSteps(3) = %v", ls)
	}
}

func stepIndex(p *Program, name string) int {
	for i, s := range p.Steps {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// TestCheckSchedule checks the checker: it accepts what schedule builds and
// names the step of every kind of broken schedule.
func TestCheckSchedule(t *testing.T) {
	build := func() *Program {
		return run(t, block(t, quant.Q4_0), "quantize-activations", "schedule").Prog
	}
	if err := checkSchedule(build()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		break_ func(p *Program)
		want   string
	}{
		{"reads same level", func(p *Program) { p.Steps[stepIndex(p, "Qcur_rope")].Level = p.Steps[stepIndex(p, "Qcur")].Level },
			`"Qcur_rope" (level 4) reads "Qcur", written at level 4`},
		{"not as early as possible", func(p *Program) { p.Steps[stepIndex(p, "v_write")].Level++ },
			`"v_write" is at level 6, its inputs allow 5`},
		{"unsorted", func(p *Program) { p.Steps[0], p.Steps[1] = p.Steps[1], p.Steps[0] }, "comes after"},
		{"two writers", func(p *Program) { p.Steps[stepIndex(p, "Kcur")].Out = p.Steps[stepIndex(p, "Qcur")].Out },
			`arena buffer "Qcur" has 2 writers`},
		{"cache written and read in one level", func(p *Program) {
			// A step reading cache_k in the level of its write races with it.
			v := &p.Steps[stepIndex(p, "v_write")]
			v.Level++
			v.In = append(v.In, p.States["cache_k"])
		}, `"v_write" reads "cache_k" while step "k_write" of the same level 6 writes it`},
		{"empty level", func(p *Program) { p.Levels++ }, "has no steps"},
		{"writes a weight", func(p *Program) { p.Steps[0].Out = p.Steps[0].In[0] }, "writes weight buffer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := build()
			tt.break_(p)
			if tt.name != "unsorted" {
				slices.SortStableFunc(p.Steps, func(a, b Step) int { return a.Level - b.Level })
			}
			err := checkSchedule(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestScheduleStateUses checks that a state read other than through its
// kv_write, which would race with the write, is refused.
func TestScheduleStateUses(t *testing.T) {
	for _, tt := range []struct {
		name string
		vs   []valu
		want string
	}{
		{"direct read", []valu{
			Valu("k", ops.OpSiLU, ops.Attrs{}, "x"),
			Valu("write", ops.OpKVWrite, ops.Attrs{}, "cache", "k", "pos"),
			Valu("peek", ops.OpAdd, ops.Attrs{}, "cache", "k"), // same level as the write
			Output("peek", "write"),
		}, `node "peek" reads state "cache" directly`},
		{"two writers", []valu{
			Valu("w1", ops.OpKVWrite, ops.Attrs{}, "cache", "x", "pos"),
			Valu("w2", ops.OpKVWrite, ops.Attrs{}, "cache", "x", "pos"),
			Output("w1", "w2"),
		}, `nodes "w1" and "w2" both write state "cache"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := Fun(t, "st", append([]valu{Input("x", f32(1, 8)), Input("pos", i32(1)), State("cache", f32(4, 8))}, tt.vs...)...)
			_, err := Compile(g, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "pass schedule") {
				t.Errorf("error %v, want one from pass schedule containing %q", err, tt.want)
			}
		})
	}
}

package gemma3

import (
	"testing"

	"github.com/kiln-ml/kiln/models/archtest"
	"github.com/kiln-ml/kiln/models/llama"
)

func TestLoad(t *testing.T) {
	m, g := archtest.Build(t, archtest.Open(t, "gemma3"))
	c := m.(*llama.Config)
	if !c.QKNorm || c.AttnSoftcap != 0 || c.FinalSoftcap != 0 || c.RopeBase != 1e6 || c.RopeBaseLocal != 10000 {
		t.Errorf("config %+v: want Q/K norms, no softcaps, rope base 1e6 (10000 local)", c)
	}
	// Layer 0 is local: window 64, rope base 10000; layer 1 global.
	for il, want := range []struct {
		window int
		base   float32
	}{{64, 10000}, {0, 1e6}} {
		blk := "blk." + string(rune('0'+il)) + "."
		a, r := g.Lookup(blk+"kqv_out"), g.Lookup(blk+"Kcur_rope")
		if a.Attrs.Window != want.window || r.Attrs.RopeBase != want.base {
			t.Errorf("layer %d: window %d, rope base %g; want %d, %g", il, a.Attrs.Window, r.Attrs.RopeBase, want.window, want.base)
		}
	}
}

// TestPattern checks the layer pattern key and llama.cpp's default of 6.
func TestPattern(t *testing.T) {
	f := archtest.Open(t, "gemma3")
	for _, c := range []struct {
		pattern any
		local   []bool
	}{{uint32(1), []bool{false, false}}, {nil, []bool{true, true}}} {
		m, err := Load(archtest.Rewrite(t, f, archtest.Edit{Set: map[string]any{"gemma3.attention.sliding_window_pattern": c.pattern}}))
		if err != nil {
			t.Fatal(err)
		}
		cfg := m.(*llama.Config)
		for il, want := range c.local {
			if cfg.Local(il) != want {
				t.Errorf("pattern %v: layer %d local %v, want %v", c.pattern, il, cfg.Local(il), want)
			}
		}
	}
}

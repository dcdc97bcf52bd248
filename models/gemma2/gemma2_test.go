package gemma2

import (
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/models/archtest"
	"github.com/kiln-ml/kiln/models/llama"
)

func TestLoad(t *testing.T) {
	m, g := archtest.Build(t, archtest.Open(t, "gemma2"))
	c := m.(*llama.Config)
	if c.EmbedScale != 16 || c.AttnSoftcap != 0.2 || c.FinalSoftcap != 1.5 || !c.GELU || !c.PostNorms || c.QScale != 0.125 {
		t.Errorf("config %+v: want embeddings ×16, softcaps 0.2 and 1.5, GELU, post-norms, Q×0.125", c)
	}
	// Layer 0 is local (window 64), layer 1 global; both capped.
	for il, window := range []int{64, 0} {
		n := g.Lookup("blk." + string(rune('0'+il)) + ".kqv_out")
		if n == nil || n.Attrs.Window != window || n.Attrs.Softcap != 0.2 || n.Attrs.Scale != 1 {
			t.Errorf("layer %d attention %+v, want window %d, softcap 0.2, scale 1", il, n.Attrs, window)
		}
	}
	if n := archtest.HasNodes(g, "inp_scaled", "blk.0.attn_post_norm", "blk.1.ffn_post_norm", "blk.0.ffn_geglu", "result_softcap"); n != "" {
		t.Errorf("graph lacks %s", n)
	}
}

// TestDefaults checks llama.cpp's soft-caps for files without the keys.
func TestDefaults(t *testing.T) {
	f := archtest.Rewrite(t, archtest.Open(t, "gemma2"), archtest.Edit{Set: map[string]any{
		"gemma2.attn_logit_softcapping": nil, "gemma2.final_logit_softcapping": nil}})
	m, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if c := m.(*llama.Config); c.AttnSoftcap != 50 || c.FinalSoftcap != 30 {
		t.Errorf("softcaps %g, %g; want 50, 30", c.AttnSoftcap, c.FinalSoftcap)
	}
}

func TestBadSoftcap(t *testing.T) {
	f := archtest.Rewrite(t, archtest.Open(t, "gemma2"), archtest.Edit{Set: map[string]any{"gemma2.attn_logit_softcapping": float32(-1)}})
	if _, err := Load(f); err == nil || !strings.Contains(err.Error(), "gemma2.attn_logit_softcapping") {
		t.Errorf("error %v, want one naming gemma2.attn_logit_softcapping", err)
	}
}

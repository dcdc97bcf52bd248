package qwen3

import (
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/models"
	"github.com/kiln-ml/kiln/models/archtest"
	"github.com/kiln-ml/kiln/models/llama"
	"github.com/kiln-ml/kiln/ops"
)

func TestLoad(t *testing.T) {
	m, g := archtest.Build(t, archtest.Open(t, "qwen3"))
	c := m.(*llama.Config)
	if c.RopeMode != ops.RopeNeox || !c.QKNorm || c.QKVBias || c.H.HeadDim != 64 {
		t.Errorf("config %+v: want NEOX rope, Q/K norms, head size 64", c)
	}
	// The norms work per head: head_dim on the node, a weight of one head.
	for _, name := range []string{"blk.0.Qcur_norm", "blk.1.Kcur_norm"} {
		n := g.Lookup(name)
		if n == nil || n.Attrs.HeadDim != 64 || n.Inputs[1].Type.Shape[0] != 64 {
			t.Errorf("%s = %v, want a per-head multiply by a weight of 64", name, n)
		}
	}
}

func TestMissingNorm(t *testing.T) {
	f := archtest.Rewrite(t, archtest.Open(t, "qwen3"), archtest.Edit{Drop: []string{"blk.0.attn_q_norm.weight"}})
	m, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	_, err = models.BuildGraph(m, f, models.Shape{Tokens: 1, Ctx: 8})
	if err == nil || !strings.Contains(err.Error(), `"blk.0.attn_q_norm.weight"`) {
		t.Errorf("error %v, want one naming blk.0.attn_q_norm.weight", err)
	}
}

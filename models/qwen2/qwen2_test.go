package qwen2

import (
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/models"
	"github.com/kiln-ml/kiln/models/archtest"
	"github.com/kiln-ml/kiln/models/llama"
	"github.com/kiln-ml/kiln/ops"
)

func TestLoad(t *testing.T) {
	m, g := archtest.Build(t, archtest.Open(t, "qwen2"))
	c := m.(*llama.Config)
	if c.RopeMode != ops.RopeNeox || !c.QKVBias || c.RopeBase != 1e6 || c.Eps != 1e-6 {
		t.Errorf("config %+v: want NEOX rope, QKV biases, base 1e6, eps 1e-6", c)
	}
	if n := archtest.HasNodes(g, "blk.0.Qcur_b", "blk.0.Kcur_b", "blk.1.Vcur_b"); n != "" {
		t.Errorf("graph lacks %s", n)
	}
}

// TestMissingBias checks that a qwen2 file without a bias is refused, naming it.
func TestMissingBias(t *testing.T) {
	f := archtest.Rewrite(t, archtest.Open(t, "qwen2"), archtest.Edit{Drop: []string{"blk.1.attn_k.bias"}})
	m, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	_, err = models.BuildGraph(m, f, models.Shape{Tokens: 1, Ctx: 8})
	if err == nil || !strings.Contains(err.Error(), `"blk.1.attn_k.bias"`) {
		t.Errorf("error %v, want one naming blk.1.attn_k.bias", err)
	}
}

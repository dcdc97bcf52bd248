package phi3

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kiln-ml/kiln/models"
	"github.com/kiln-ml/kiln/models/archtest"
	"github.com/kiln-ml/kiln/models/llama"
)

func TestLoad(t *testing.T) {
	f := archtest.Open(t, "phi3")
	m, g := archtest.Build(t, f)
	c := m.(*llama.Config)
	if !c.FusedQKV || !c.FusedGateUp || c.QScale != 0.125 {
		t.Errorf("config %+v: want fused QKV and gate/up, Q×0.125", c)
	}
	// The matmuls read row ranges of the fused tensors, in place.
	slices := []string{"blk.0.attn_qkv.weight[0:256]", "blk.0.attn_qkv.weight[256:384]", "blk.0.attn_qkv.weight[384:512]",
		"blk.1.ffn_up.weight[0:512]", "blk.1.ffn_up.weight[512:1024]"}
	if n := archtest.HasNodes(g, slices...); n != "" {
		t.Fatalf("graph lacks %s", n)
	}
	p := models.Params{F: f}
	whole, _ := p.TensorData("blk.0.attn_qkv.weight")
	rb := len(whole) / 512
	k, ok := p.TensorData(slices[1])
	if !ok || !bytes.Equal(k, whole[256*rb:384*rb]) || &k[0] != &whole[256*rb] {
		t.Error("the K slice is not a view of rows 256..383 of attn_qkv")
	}
}

// TestFusedShape checks that a fused tensor of the wrong size is refused, naming it.
func TestFusedShape(t *testing.T) {
	f := archtest.Rewrite(t, archtest.Open(t, "phi3"), archtest.Edit{Set: map[string]any{"phi3.attention.head_count_kv": uint32(4)}})
	m, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	_, err = models.BuildGraph(m, f, models.Shape{Tokens: 1, Ctx: 8})
	if err == nil || !strings.Contains(err.Error(), `tensor "blk.0.attn_qkv.weight" has shape [512 256], want [768 256]`) {
		t.Errorf("error %v, want one naming blk.0.attn_qkv.weight and its shapes", err)
	}
}

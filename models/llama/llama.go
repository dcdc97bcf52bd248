// Package llama defines the llama architecture (Llama 2/3, SmolLM2, Mistral,
// TinyLlama) as a kiln graph.
package llama

import (
	"math"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/models"
	"github.com/kiln-ml/kiln/models/gguf"
	"github.com/kiln-ml/kiln/ops"
)

func init() { models.Register("llama", Load) }

// Config is a llama file's hyperparameters.
type Config struct {
	H         models.Hyper
	Eps       float32
	RopeBase  float32
	RopeDims  int
	RopeScale float32 // linear position scale (1/factor)
	Window    int     // sliding-window attention length, 0 for none
}

// Load reads and validates the configuration.
func Load(f *gguf.File) (models.Model, error) {
	c := &models.Config{F: f, Arch: "llama"}
	m := &Config{}
	h := &m.H
	h.Arch = "llama"
	h.Name, _ = f.String("general.name")
	h.NCtxTrain = c.Int("context_length")
	h.NEmbd = c.Int("embedding_length")
	h.NLayer = c.Int("block_count")
	h.NFF = c.Int("feed_forward_length")
	h.NHead = c.Int("attention.head_count")
	h.NKVHead = c.IntOr("attention.head_count_kv", h.NHead)
	h.NVocab = c.VocabSize()
	m.Eps = c.Float("attention.layer_norm_rms_epsilon")
	m.RopeBase = c.FloatOr("rope.freq_base", 10000)
	m.Window = c.IntOr("attention.sliding_window", 0)
	if c.Err != nil {
		return nil, c.Err
	}
	c.Check(h.NEmbd%h.NHead == 0, "embedding_length", "%d is not a multiple of attention.head_count %d", h.NEmbd, h.NHead)
	c.Check(h.NHead%h.NKVHead == 0, "attention.head_count_kv", "%d does not divide attention.head_count %d", h.NKVHead, h.NHead)
	if c.Err != nil {
		return nil, c.Err
	}
	h.HeadDim = c.IntOr("attention.key_length", h.NEmbd/h.NHead)
	m.RopeDims = c.IntOr("rope.dimension_count", h.HeadDim)
	c.Check(m.RopeDims <= h.HeadDim && m.RopeDims%2 == 0, "rope.dimension_count", "%d must be even and at most the head size %d", m.RopeDims, h.HeadDim)
	c.Check(m.Eps > 0 && m.Eps < 1, "attention.layer_norm_rms_epsilon", "%g out of range", m.Eps)
	c.Check(m.RopeBase > 0, "rope.freq_base", "%g must be positive", m.RopeBase)
	m.RopeScale = 1
	switch c.StringOr("rope.scaling.type", "none") {
	case "none", "":
	case "linear":
		factor := c.FloatOr("rope.scaling.factor", 1)
		c.Check(factor > 0, "rope.scaling.factor", "%g must be positive", factor)
		m.RopeScale = 1 / factor
	default:
		c.Check(false, "rope.scaling.type", "scaling %q is not supported", c.StringOr("rope.scaling.type", ""))
	}
	if c.Err != nil {
		return nil, c.Err
	}
	return m, nil
}

// Hyper returns the shared hyperparameters.
func (m *Config) Hyper() models.Hyper { return m.H }

// Build emits the llama graph with llama.cpp's tensor names.
func (m *Config) Build(b *graph.Builder, s models.Shape) error {
	h := m.H
	T := s.Tokens
	kvDim := h.NKVHead * h.HeadDim
	tokens := b.Input("tokens", graph.I32(T))
	pos := b.Input("pos", graph.I32(1))
	embd := b.ParamShaped("token_embd.weight", h.NVocab, h.NEmbd)
	freqs := b.OptionalParam("rope_freqs.weight")
	rope := ops.Attrs{NHead: h.NHead, HeadDim: h.HeadDim, RopeDims: m.RopeDims, RopeMode: ops.RopeNorm, RopeBase: m.RopeBase, RopeScale: m.RopeScale}
	ropeK := rope
	ropeK.NHead = h.NKVHead
	attn := ops.Attrs{NHead: h.NHead, NKVHead: h.NKVHead, HeadDim: h.HeadDim, Scale: float32(1 / math.Sqrt(float64(h.HeadDim))), Window: m.Window}
	withFreqs := func(in ...*graph.Node) []*graph.Node {
		if freqs != nil {
			return append(in, freqs)
		}
		return in
	}

	x := b.GetRows("inp_embd", embd, tokens)
	for il := 0; il < h.NLayer; il++ {
		b.Layer(il)
		p := func(name string) string { return "blk." + itoa(il) + "." + name + ".weight" }
		cur := b.RMSNorm("attn_rms", x, m.Eps)
		cur = b.Mul("attn_norm", cur, b.ParamShaped(p("attn_norm"), h.NEmbd))
		q := b.MatMul("Qcur", cur, b.ParamShaped(p("attn_q"), h.NHead*h.HeadDim, h.NEmbd))
		k := b.MatMul("Kcur", cur, b.ParamShaped(p("attn_k"), kvDim, h.NEmbd))
		v := b.MatMul("Vcur", cur, b.ParamShaped(p("attn_v"), kvDim, h.NEmbd))
		q = b.Op(ops.OpRope, "Qcur_rope", rope, withFreqs(q, pos)...)
		k = b.Op(ops.OpRope, "Kcur_rope", ropeK, withFreqs(k, pos)...)
		b.Layer(-1)
		ck, cv, kw, vw := s.KVCache(b, il, h.NKVHead, h.HeadDim)
		b.Layer(il)
		ck = b.Op(ops.OpKVWrite, "k_write", kw, ck, k, pos)
		cv = b.Op(ops.OpKVWrite, "v_write", vw, cv, v, pos)
		cur = b.Op(ops.OpAttention, "kqv_out", s.AttentionKV(attn, il), q, ck, cv, pos)
		cur = b.MatMul("attn_out", cur, b.ParamShaped(p("attn_output"), h.NEmbd, h.NHead*h.HeadDim))
		ffnIn := b.Add("ffn_inp", cur, x)
		cur = b.RMSNorm("ffn_rms", ffnIn, m.Eps)
		cur = b.Mul("ffn_norm", cur, b.ParamShaped(p("ffn_norm"), h.NEmbd))
		gate := b.MatMul("ffn_gate", cur, b.ParamShaped(p("ffn_gate"), h.NFF, h.NEmbd))
		up := b.MatMul("ffn_up", cur, b.ParamShaped(p("ffn_up"), h.NFF, h.NEmbd))
		cur = b.SwiGLU("ffn_swiglu", gate, up)
		cur = b.MatMul("ffn_out", cur, b.ParamShaped(p("ffn_down"), h.NEmbd, h.NFF))
		x = b.Add("l_out", cur, ffnIn)
	}
	b.Layer(-1)
	if !s.AllLogits && T > 1 {
		x = b.Op(ops.OpRows, "inp_out_last", ops.Attrs{Start: T - 1, Count: 1}, x)
	}
	x = b.RMSNorm("result_rms", x, m.Eps)
	x = b.Mul("result_norm", x, b.ParamShaped("output_norm.weight", h.NEmbd))
	out := b.OptionalParam("output.weight")
	if out == nil {
		out = embd // tied embeddings (SmolLM2, gocoder)
	}
	b.Output(b.MatMul("result_output", x, out))
	return b.Err()
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

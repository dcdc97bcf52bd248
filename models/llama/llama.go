// Package llama defines the llama architecture (Llama 2/3, SmolLM2, Mistral,
// TinyLlama) as a kiln graph. Its Config is also the decoder block the other
// architectures (qwen2, qwen3, gemma2, gemma3, phi3) share: each of their
// files reads its keys into a Config, switching on the variations below.
package llama

import (
	"fmt"
	"math"

	"github.com/kiln-ml/kiln/graph"
	"github.com/kiln-ml/kiln/models"
	"github.com/kiln-ml/kiln/models/gguf"
	"github.com/kiln-ml/kiln/ops"
)

func init() { models.Register("llama", Load) }

// Config is a llama-family file's hyperparameters. The fields after Window
// are the variations of the family; their zero values are llama's.
type Config struct {
	H         models.Hyper
	Eps       float32
	RopeBase  float32
	RopeDims  int
	RopeScale float32 // linear position scale (1/factor)
	Window    int     // sliding-window attention length, 0 for none

	RopeMode ops.RopeMode // which elements rope pairs: NORM (llama) or NEOX
	// LocalLayers marks the layers that use Window (nil: every layer).
	LocalLayers []bool
	// RopeBaseLocal and RopeScaleLocal are the rope of the local layers
	// (gemma3's rope.freq_base_swa); 0 means the same as the others.
	RopeBaseLocal, RopeScaleLocal float32
	QKVBias                       bool    // attn_{q,k,v}.bias must exist (qwen2); they are used wherever present
	QKNorm                        bool    // attn_q_norm, attn_k_norm: RMS norm per head before rope (qwen3, gemma3)
	QScale                        float32 // scale Q by this before attention, which then scales by 1 (gemma, phi3); 0: attention scales by 1/√head_dim
	AttnSoftcap                   float32 // soft-cap the attention scores (gemma2); 0 for none
	EmbedScale                    float32 // multiply the embeddings by this (gemma: √n_embd); 0 for none
	PostNorms                     bool    // post_attention_norm and post_ffw_norm after each sub-block (gemma)
	GELU                          bool    // FFN gate activation GELU-tanh (gemma) instead of SiLU
	FusedQKV                      bool    // one attn_qkv tensor: Q rows, then K, then V (phi3)
	FusedGateUp                   bool    // ffn_up holds 2×n_ff rows: gate, then up (phi3)
	FinalSoftcap                  float32 // soft-cap the logits (gemma2); 0 for none
}

// Load reads and validates the configuration.
func Load(f *gguf.File) (models.Model, error) {
	m, c := Read(f, "llama")
	m.Window = c.IntOr("attention.sliding_window", 0) // Mistral
	return m.Done(c)
}

// Read reads the keys the whole family shares, under arch's prefix, and
// validates them. Problems are kept in c.Err: an architecture's loader reads
// its own keys from c and ends with Done, which reports the first problem.
func Read(f *gguf.File, arch string) (*Config, *models.Config) {
	c := &models.Config{F: f, Arch: arch}
	m := &Config{}
	h := &m.H
	h.Arch = arch
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
	if c.Err != nil {
		return m, c
	}
	c.Check(h.NEmbd%h.NHead == 0, "embedding_length", "%d is not a multiple of attention.head_count %d", h.NEmbd, h.NHead)
	c.Check(h.NHead%h.NKVHead == 0, "attention.head_count_kv", "%d does not divide attention.head_count %d", h.NKVHead, h.NHead)
	if c.Err != nil {
		return m, c
	}
	h.HeadDim = c.IntOr("attention.key_length", h.NEmbd/h.NHead)
	vd := c.IntOr("attention.value_length", h.HeadDim)
	c.Check(vd == h.HeadDim, "attention.value_length", "%d differs from attention.key_length %d", vd, h.HeadDim)
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
	return m, c
}

// Done checks the variations and returns the model, or c's first problem.
func (m *Config) Done(c *models.Config) (models.Model, error) {
	if c.Err != nil {
		return nil, c.Err
	}
	c.Check(m.Window >= 0, "attention.sliding_window", "%d must not be negative", m.Window)
	c.Check(m.LocalLayers == nil || len(m.LocalLayers) == m.H.NLayer, "attention.sliding_window_pattern", "marks %d layers of %d", len(m.LocalLayers), m.H.NLayer)
	c.Check(m.AttnSoftcap >= 0, "attn_logit_softcapping", "%g must not be negative", m.AttnSoftcap)
	c.Check(m.FinalSoftcap >= 0, "final_logit_softcapping", "%g must not be negative", m.FinalSoftcap)
	c.Check(m.RopeBaseLocal >= 0, "rope.freq_base_swa", "%g must not be negative", m.RopeBaseLocal)
	if c.Err != nil {
		return nil, c.Err
	}
	return m, nil
}

// SWAPattern marks the local layers of a sliding-window pattern of period n,
// as llama.cpp's set_swa_pattern: in every n layers all but the last are
// local; n = 1 makes none local, 0 all.
func SWAPattern(layers, n int) []bool {
	local := make([]bool, layers)
	for il := range local {
		local[il] = n == 0 || il%n < n-1
	}
	return local
}

// Local reports whether layer il uses the sliding window.
func (m *Config) Local(il int) bool {
	return m.Window > 0 && (m.LocalLayers == nil || m.LocalLayers[il])
}

// Hyper returns the shared hyperparameters.
func (m *Config) Hyper() models.Hyper { return m.H }

// Build emits the llama graph with llama.cpp's tensor names.
func (m *Config) Build(b *graph.Builder, s models.Shape) error {
	h := m.H
	T := s.Tokens
	tokens := b.Input("tokens", graph.I32(T))
	pos := b.Input("pos", graph.I32(1))
	embd := b.ParamShaped("token_embd.weight", h.NVocab, h.NEmbd)
	freqs := b.OptionalParam("rope_freqs.weight")
	attnScale := float32(1 / math.Sqrt(float64(h.HeadDim)))
	if m.QScale != 0 {
		attnScale = 1
	}
	withFreqs := func(in ...*graph.Node) []*graph.Node {
		if freqs != nil {
			return append(in, freqs)
		}
		return in
	}
	// norm is RMS norm times a weight of n (per head when n is the head size).
	norm := func(rms, name string, x *graph.Node, w string, n int) *graph.Node {
		a := ops.Attrs{}
		if n != x.Type.Cols() {
			a.HeadDim = n
		}
		x = b.Op(ops.OpRMSNorm, rms, ops.Attrs{Eps: m.Eps, HeadDim: a.HeadDim}, x)
		return b.Op(ops.OpMul, name, a, x, b.ParamShaped(w, n))
	}

	x := b.GetRows("inp_embd", embd, tokens)
	if m.EmbedScale != 0 {
		x = b.Op(ops.OpScale, "inp_scaled", ops.Attrs{Scale: m.EmbedScale}, x)
	}
	for il := 0; il < h.NLayer; il++ {
		b.Layer(il)
		p := func(name string) string { return "blk." + itoa(il) + "." + name + ".weight" }
		rope := ops.Attrs{NHead: h.NHead, HeadDim: h.HeadDim, RopeDims: m.RopeDims, RopeMode: m.RopeMode, RopeBase: m.RopeBase, RopeScale: m.RopeScale}
		attn := ops.Attrs{NHead: h.NHead, NKVHead: h.NKVHead, HeadDim: h.HeadDim, Scale: attnScale, Softcap: m.AttnSoftcap}
		if m.Local(il) {
			attn.Window = m.Window
			if m.RopeBaseLocal != 0 {
				rope.RopeBase, rope.RopeScale = m.RopeBaseLocal, m.RopeScaleLocal
			}
		}
		ropeK := rope
		ropeK.NHead = h.NKVHead
		cur := norm("attn_rms", "attn_norm", x, p("attn_norm"), h.NEmbd)
		q, k, v := m.qkv(b, cur, il)
		if m.QKNorm {
			q = norm("Qcur_rms", "Qcur_norm", q, p("attn_q_norm"), h.HeadDim)
			k = norm("Kcur_rms", "Kcur_norm", k, p("attn_k_norm"), h.HeadDim)
		}
		q = b.Op(ops.OpRope, "Qcur_rope", rope, withFreqs(q, pos)...)
		k = b.Op(ops.OpRope, "Kcur_rope", ropeK, withFreqs(k, pos)...)
		if m.QScale != 0 {
			q = b.Op(ops.OpScale, "Qcur_scaled", ops.Attrs{Scale: m.QScale}, q)
		}
		b.Layer(-1)
		ck, cv, kw, vw := s.KVCache(b, il, h.NKVHead, h.HeadDim)
		b.Layer(il)
		ck = b.Op(ops.OpKVWrite, "k_write", kw, ck, k, pos)
		cv = b.Op(ops.OpKVWrite, "v_write", vw, cv, v, pos)
		cur = b.Op(ops.OpAttention, "kqv_out", s.AttentionKV(attn, il), q, ck, cv, pos)
		cur = b.MatMul("attn_out", cur, b.ParamShaped(p("attn_output"), h.NEmbd, h.NHead*h.HeadDim))
		if m.PostNorms {
			cur = norm("attn_post_rms", "attn_post_norm", cur, p("post_attention_norm"), h.NEmbd)
		}
		ffnIn := b.Add("ffn_inp", cur, x)
		cur = norm("ffn_rms", "ffn_norm", ffnIn, p("ffn_norm"), h.NEmbd)
		cur = m.ffn(b, cur, il)
		if m.PostNorms {
			cur = norm("ffn_post_rms", "ffn_post_norm", cur, p("post_ffw_norm"), h.NEmbd)
		}
		x = b.Add("l_out", cur, ffnIn)
	}
	b.Layer(-1)
	if !s.AllLogits && T > 1 {
		x = b.Op(ops.OpRows, "inp_out_last", ops.Attrs{Start: T - 1, Count: 1}, x)
	}
	x = norm("result_rms", "result_norm", x, "output_norm.weight", h.NEmbd)
	out := b.OptionalParam("output.weight")
	if out == nil {
		out = embd // tied embeddings (SmolLM2, gocoder, qwen3, gemma)
	}
	logits := b.MatMul("result_output", x, out)
	if m.FinalSoftcap != 0 {
		logits = b.Op(ops.OpSoftcap, "result_softcap", ops.Attrs{Softcap: m.FinalSoftcap}, logits)
	}
	b.Output(logits)
	return b.Err()
}

// qkv projects the normed input to Q, K and V: three weights, or row ranges
// of one fused attn_qkv (read in place, no copy); plus biases where present.
func (m *Config) qkv(b *graph.Builder, x *graph.Node, il int) (q, k, v *graph.Node) {
	h := m.H
	qd, kvd := h.NHead*h.HeadDim, h.NKVHead*h.HeadDim
	blk := "blk." + itoa(il) + "."
	w := [3]string{blk + "attn_q.weight", blk + "attn_k.weight", blk + "attn_v.weight"}
	if m.FusedQKV {
		fused := blk + "attn_qkv.weight"
		b.CheckParam(fused, qd+2*kvd, h.NEmbd)
		w = [3]string{models.RowSlice(fused, 0, qd), models.RowSlice(fused, qd, qd+kvd), models.RowSlice(fused, qd+kvd, qd+2*kvd)}
	}
	var out [3]*graph.Node
	for i, name := range [3]string{"Qcur", "Kcur", "Vcur"} {
		rows := kvd
		if i == 0 {
			rows = qd
		}
		out[i] = b.MatMul(name, x, b.ParamShaped(w[i], rows, h.NEmbd))
		if bias := blk + [3]string{"attn_q", "attn_k", "attn_v"}[i] + ".bias"; m.QKVBias || b.HasParam(bias) {
			out[i] = b.Add(name+"_b", out[i], b.ParamShaped(bias, rows))
		}
	}
	return out[0], out[1], out[2]
}

// ffn is the gated feed-forward block: down(act(gate(x)) · up(x)).
func (m *Config) ffn(b *graph.Builder, x *graph.Node, il int) *graph.Node {
	h := m.H
	blk := "blk." + itoa(il) + "."
	gw, uw := blk+"ffn_gate.weight", blk+"ffn_up.weight"
	if m.FusedGateUp {
		b.CheckParam(uw, 2*h.NFF, h.NEmbd)
		gw, uw = models.RowSlice(uw, 0, h.NFF), models.RowSlice(uw, h.NFF, 2*h.NFF)
	}
	gate := b.MatMul("ffn_gate", x, b.ParamShaped(gw, h.NFF, h.NEmbd))
	up := b.MatMul("ffn_up", x, b.ParamShaped(uw, h.NFF, h.NEmbd))
	var cur *graph.Node
	if m.GELU {
		cur = b.Op(ops.OpGeGLU, "ffn_geglu", ops.Attrs{}, gate, up)
	} else {
		cur = b.SwiGLU("ffn_swiglu", gate, up)
	}
	return b.MatMul("ffn_out", cur, b.ParamShaped(blk+"ffn_down.weight", h.NEmbd, h.NFF))
}

// Describe lists the architecture-specific structure, for kiln inspect and graph.
func (m *Config) Describe() []string {
	var d []string
	add := func(format string, args ...any) { d = append(d, fmt.Sprintf(format, args...)) }
	add("rope: %s, base %g, %d of %d dims per head", m.RopeMode, m.RopeBase, m.RopeDims, m.H.HeadDim)
	if m.Window > 0 {
		var local, global []int
		for il := 0; il < m.H.NLayer; il++ {
			if m.Local(il) {
				local = append(local, il)
			} else {
				global = append(global, il)
			}
		}
		add("sliding window %d on layers %v, full attention on layers %v", m.Window, local, global)
		if m.RopeBaseLocal != 0 {
			add("rope base %g on the sliding-window layers", m.RopeBaseLocal)
		}
	}
	if m.QKVBias {
		add("Q, K, V biases")
	}
	if m.QKNorm {
		add("per-head RMS norms on Q and K before rope")
	}
	if m.EmbedScale != 0 {
		add("embeddings scaled by %g", m.EmbedScale)
	}
	if m.QScale != 0 {
		add("Q scaled by %g before attention", m.QScale)
	}
	if m.PostNorms {
		add("post-attention and post-FFN norms")
	}
	if m.GELU {
		add("FFN gate: GELU (tanh)")
	}
	if m.AttnSoftcap != 0 {
		add("attention scores soft-capped at %g", m.AttnSoftcap)
	}
	if m.FinalSoftcap != 0 {
		add("logits soft-capped at %g", m.FinalSoftcap)
	}
	if m.FusedQKV {
		qd, kvd := m.H.NHead*m.H.HeadDim, m.H.NKVHead*m.H.HeadDim
		add("fused attn_qkv: Q rows [0,%d), K rows [%d,%d), V rows [%d,%d)", qd, qd, qd+kvd, qd+kvd, qd+2*kvd)
	}
	if m.FusedGateUp {
		add("fused ffn_up: gate rows [0,%d), up rows [%d,%d)", m.H.NFF, m.H.NFF, 2*m.H.NFF)
	}
	return d
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// Package gemma2 defines the gemma2 architecture: embeddings scaled by
// √n_embd, norms after attention and after the FFN as well as before, a
// GELU-gated FFN, soft-capped attention scores and logits, and a sliding
// window on alternate layers.
package gemma2

import (
	"math"

	"github.com/kiln-ml/kiln/models"
	"github.com/kiln-ml/kiln/models/gguf"
	"github.com/kiln-ml/kiln/models/llama"
	"github.com/kiln-ml/kiln/ops"
)

func init() { models.Register("gemma2", Load) }

// Load reads and validates a gemma2 file's configuration.
func Load(f *gguf.File) (models.Model, error) {
	m, c := llama.Read(f, "gemma2")
	h := m.H
	m.RopeMode = ops.RopeNeox
	m.EmbedScale = float32(math.Sqrt(float64(h.NEmbd)))
	m.PostNorms, m.GELU = true, true
	m.QScale = QueryScale(h, h.NLayer == 46) // llama.cpp's test for the 27B model
	// llama.cpp's defaults when the file lacks the keys.
	m.AttnSoftcap = c.FloatOr("attn_logit_softcapping", 50)
	m.FinalSoftcap = c.FloatOr("final_logit_softcapping", 30)
	m.Window = c.IntOr("attention.sliding_window", 0)
	m.LocalLayers = llama.SWAPattern(h.NLayer, c.IntOr("attention.sliding_window_pattern", 2))
	return m.Done(c)
}

// QueryScale is gemma's query_pre_attn_scalar as llama.cpp sets it:
// 1/√head_dim, except 1/√(n_embd/n_head) for the 27B models.
func QueryScale(h models.Hyper, is27B bool) float32 {
	d := h.HeadDim
	if is27B {
		d = h.NEmbd / h.NHead
	}
	return 1 / float32(math.Sqrt(float64(d)))
}
